"""Production settings: HTTPS, HSTS, cookies, the proxy header, CSP, mail and password reset.

Settings are read at start-up, so the production defaults are checked in fresh processes
(``manage.py check --deploy``, a settings dump) with a production-like environment; nothing in
them connects anywhere (``check`` touches no database or network).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client, override_settings

from portal.testing.personas import login_persona
from portal.testing.services import free_port

BASE = Path(settings.BASE_DIR)
# Variables the test session sets for its plain-HTTP servers; production leaves them unset.
TEST_ONLY = ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS",
             "SECURE_PROXY_SSL_HEADER", "PORTAL_EMBEDDED", "DEBUG", "CELERY_TASK_ALWAYS_EAGER",
             "DJANGO_ALLOW_ASYNC_UNSAFE")


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
    env.update(DEBUG="false", SECRET_KEY=secrets.token_urlsafe(60), ALLOWED_HOSTS="portal.example.com",
               DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/datahub"), **extra)
    return env


def settings_in(env: dict[str, str]) -> dict[str, Any]:
    code = ("import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({k: "
            "getattr(s, k) for k in ('SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
            "'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_PROXY_SSL_HEADER', 'EMAIL_HOST', "
            "'EMAIL_PORT', 'EMAIL_HOST_USER', 'EMAIL_USE_TLS', 'MAIL_CONFIGURED', 'EMBEDDED')}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=BASE, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_with_production_settings() -> None:
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=BASE,
                          env=production_env(), capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_https_settings_are_on_outside_the_embedded_mode_and_each_can_be_set() -> None:
    production = settings_in(production_env())
    assert production["SECURE_SSL_REDIRECT"] and production["SESSION_COOKIE_SECURE"]
    assert production["CSRF_COOKIE_SECURE"] and production["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert production["SECURE_HSTS_SECONDS"] == 31_536_000
    assert production["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert production["EMBEDDED"] is False and production["MAIL_CONFIGURED"] is False

    tuned = settings_in(production_env(SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="600",
                                       SECURE_PROXY_SSL_HEADER="X-Forwarded-Scheme"))
    assert tuned["SECURE_SSL_REDIRECT"] is False and tuned["SECURE_HSTS_SECONDS"] == 600
    assert tuned["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_SCHEME", "https"]

    embedded = {k: v for k, v in production_env(PORTAL_EMBEDDED="true").items()}
    local = settings_in(embedded)
    assert not (local["SECURE_SSL_REDIRECT"] or local["SESSION_COOKIE_SECURE"] or local["SECURE_HSTS_SECONDS"])
    assert local["SECURE_PROXY_SSL_HEADER"] is None


def test_mail_comes_from_email_url_or_email_host() -> None:
    from_url = settings_in(production_env(EMAIL_URL="smtp://mailer:p%40ss@mail.internal:2525?tls=true"))
    assert (from_url["EMAIL_HOST"], from_url["EMAIL_PORT"], from_url["EMAIL_HOST_USER"]) == (
        "mail.internal", 2525, "mailer")
    assert from_url["EMAIL_USE_TLS"] is True and from_url["MAIL_CONFIGURED"] is True
    from_host = settings_in(production_env(EMAIL_HOST="relay.internal", EMAIL_PORT="587"))
    assert (from_host["EMAIL_HOST"], from_host["EMAIL_PORT"], from_host["MAIL_CONFIGURED"]) == (
        "relay.internal", 587, True)


def test_a_bad_email_url_stops_start_up_naming_the_variable() -> None:
    done = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=BASE, text=True,
                          env=production_env(EMAIL_URL="ftp://nowhere"), capture_output=True, timeout=120)
    assert done.returncode != 0 and "EMAIL_URL" in done.stderr


@pytest.mark.django_db
def test_every_page_carries_a_content_security_policy_without_inline_script() -> None:
    client = Client()
    login_persona(client, "finance_consumer")

    policy = client.get("/")["Content-Security-Policy"]

    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "Content-Security-Policy" in Client().get("/accounts/login/")


def _templates() -> list[Path]:
    roots = [BASE / "templates", *sorted(BASE.glob("*/templates"))]
    return [p for root in roots for p in root.rglob("*.html")]


def test_no_template_holds_an_inline_script_or_event_handler() -> None:
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    js_eval = re.compile(r"hx-(vals|vars)=['\"]\s*js:|hx-on|javascript:", re.I)
    found = [f"{p.relative_to(BASE)}: {m.group(0)}" for p in _templates()
             for rx in (inline_script, handler, js_eval) for m in rx.finditer(p.read_text())]

    assert len(_templates()) > 20
    assert found == []


# --- Password reset: only with local accounts and mail, never a 500.

@pytest.mark.django_db
@override_settings(MAIL_CONFIGURED=False, ALLOW_LOCAL_ACCOUNTS=True)
def test_without_mail_the_password_reset_says_why_instead_of_failing() -> None:
    client = Client()

    page = client.get("/accounts/password/reset/")
    posted = client.post("/accounts/password/reset/", {"email": "someone@example.com"})

    assert page.status_code == posted.status_code == 404
    assert "cannot send mail" in page.content.decode()
    assert "Forgot your password?" not in client.get("/accounts/login/").content.decode()


@pytest.mark.django_db
@override_settings(MAIL_CONFIGURED=True, ALLOW_LOCAL_ACCOUNTS=False)
def test_without_local_accounts_there_is_no_password_reset() -> None:
    page = Client().get("/accounts/password/reset/")

    assert page.status_code == 404 and "single sign-on" in page.content.decode()


@pytest.mark.django_db
@override_settings(MAIL_CONFIGURED=True, ALLOW_LOCAL_ACCOUNTS=True,
                   EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_with_local_accounts_and_mail_a_reset_link_is_mailed() -> None:
    get_user_model().objects.create_user("resetme", email="resetme@example.com", password="x-1234-long")
    client = Client()
    assert "Forgot your password?" in client.get("/accounts/login/").content.decode()

    response = client.post("/accounts/password/reset/", {"email": "resetme@example.com"})

    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "resetme@example.com" in mail.outbox[0].to


@pytest.mark.django_db
def test_a_mail_server_that_does_not_answer_gives_a_clear_503() -> None:
    unused_tcp_port = free_port()  # a loopback port nothing listens on
    get_user_model().objects.create_user("resetme", email="resetme@example.com", password="x-1234-long")
    with override_settings(MAIL_CONFIGURED=True, ALLOW_LOCAL_ACCOUNTS=True, EMAIL_HOST="127.0.0.1",
                           EMAIL_PORT=unused_tcp_port, EMAIL_TIMEOUT=2,
                           EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend"):
        response = Client().post("/accounts/password/reset/", {"email": "resetme@example.com"})

    assert response.status_code == 503 and "mail server" in response.content.decode()
