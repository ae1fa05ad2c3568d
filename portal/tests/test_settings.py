"""Settings fail loudly, naming the variable, on bad values."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int, parse_glue_catalogs


def test_it_reads_catalog_pairs_across_regions():
    refs = parse_glue_catalogs("123456789012:eu-central-1, 210987654321:us-east-1", "123456789012", "eu-west-1")
    assert [r.key for r in refs] == ["123456789012:eu-central-1", "210987654321:us-east-1"]


def test_it_defaults_to_the_portal_account_and_region():
    assert [r.key for r in parse_glue_catalogs("", "123456789012", "eu-west-1")] == ["123456789012:eu-west-1"]


def test_an_unknown_catalog_names_the_variable_and_entry():
    with pytest.raises(ImproperlyConfigured, match="GLUE_CATALOGS.*'nowhere'"):
        parse_glue_catalogs("nowhere", "123456789012", "eu-west-1")


def test_bad_booleans_and_integers_name_the_variable(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env_bool("SOME_FLAG", False)
    monkeypatch.setenv("SOME_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="SOME_INT"):
        env_int("SOME_INT", 1)


def _start(**env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh process with production-like variables (no embedded mode, no tests)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OIDC_", "PORTAL_"))}
    clean.update({"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused", "SECRET_KEY": "x", "DEBUG": "false",
                  "PORTAL_EMBEDDED": "false", **env})
    return subprocess.run([sys.executable, "-c", "import portal.settings"], env=clean, capture_output=True,
                          text=True, timeout=60)


def test_an_http_issuer_stops_start_up_in_production_naming_the_variable():
    started = _start(OIDC_ISSUER_URL="http://login.example.com", OIDC_CLIENT_ID="portal")
    assert started.returncode != 0
    assert "OIDC_ISSUER_URL must be an https:// URL" in started.stderr
    started = _start(OIDC_PROVIDERS='[{"id": "corp", "issuer": "http://login.example.com", "client_id": "p"}]')
    assert started.returncode != 0 and "OIDC_PROVIDERS[0].issuer" in started.stderr


def test_an_https_issuer_starts_and_the_embedded_mode_admits_http():
    assert _start(OIDC_ISSUER_URL="https://login.example.com", OIDC_CLIENT_ID="portal").returncode == 0
    assert _start(OIDC_ISSUER_URL="http://127.0.0.1:9400", OIDC_CLIENT_ID="portal",
                  PORTAL_EMBEDDED="true").returncode == 0


def test_bad_oidc_client_settings_name_the_variable():
    from identity.sso import ClientAuth, oidc_apps

    with pytest.raises(ImproperlyConfigured, match="OIDC_TOKEN_AUTH_METHOD.*client_secret_jwt"):
        oidc_apps("https://idp", "portal", "s", "groups", None, auth=ClientAuth(token_auth_method="client_secret_jwt"))
    with pytest.raises(ImproperlyConfigured, match="private_key_jwt needs a private key"):
        oidc_apps("https://idp", "portal", "s", "groups", None, auth=ClientAuth(token_auth_method="private_key_jwt"))
    with pytest.raises(ImproperlyConfigured, match="not an unencrypted PEM key"):
        oidc_apps("", "", "", "groups", [{"id": "c", "issuer": "https://idp", "client_id": "p",
                                          "token_auth_method": "private_key_jwt", "private_key": "nope"}])
    with pytest.raises(ImproperlyConfigured, match=r"OIDC_PROVIDERS\[0\].scopes"):
        oidc_apps("", "", "", "groups", [{"id": "c", "issuer": "https://idp", "client_id": "p", "scopes": 3}])
    apps = oidc_apps("", "", "", "groups", [{"id": "c", "issuer": "https://idp", "client_id": "p",
                                             "scopes": ["email", "groups"], "token_auth_method": "client_secret_post"}])
    assert apps[0]["settings"]["scope"] == ["openid", "email", "groups"]
    assert apps[0]["settings"]["token_auth_method"] == "client_secret_post"
    assert oidc_apps("https://idp", "p", "s", "groups", None)[0]["settings"]["token_auth_method"] == "client_secret_basic"
