"""Benchmark of the identity layer (issue 4): what a bearer token costs per API request.

    python bench/identity.py --tokens 20000 --requests 500

Prints, against PostgreSQL (DATABASE_URL, default the bench's own database dh_identity_bench):
1. auth      mean/p95 ms of services.authenticate_token (hash lookup + live role check), with --tokens in the table
2. me_token  mean/p95 ms of GET /api/v1/me with a bearer token (whole Django/DRF stack, in process)
3. me_session mean/p95 ms of the same request with a session (the baseline the token is compared with)
4. queries   SQL queries per token-authenticated request, and one SELECT 1 round trip for scale
5. live_grants  the same session request with and without the live grants check (issue 22: every session
   request re-reads the user's grants version; it comes with the user's row, joined, so no extra query),
   as a ratio; target under 1.1x. Requests alternate one by one, medians, so the machine's noise hits
   both alike.
Target: token auth costs at most 2 SQL queries (1 for SSO users: the token with its user and stored groups)
and stays flat with the number of tokens (unique index on the sha256).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.testing.databases import ensure_database  # noqa: E402


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"mean {statistics.mean(ordered) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dh_identity_bench")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # the in-process client speaks plain HTTP
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from identity import services
    from identity.models import AccessToken
    from identity.roles import SESSION_KEY, Role
    from portal.testing.personas import make_user

    call_command("migrate", verbosity=0)
    AccessToken.objects.all().delete()
    user = make_user("bench-user", ["dh-finance-consumer"])
    now = timezone.now()
    AccessToken.objects.bulk_create([
        AccessToken(user=user, name=f"t{i}", persona="consumer", hub="finance", token_hash=f"{i:064x}",
                    prefix="dhp_bench", created_at=now, expires_at=now + timezone.timedelta(days=1))
        for i in range(args.tokens)
    ], batch_size=5000)
    secret = services.create_token(user, "consumer:finance", name="bench", days=1).secret

    auth = []
    for _ in range(args.requests):
        started = time.perf_counter()
        services.authenticate_token(secret, ip="10.0.0.1")
        auth.append(time.perf_counter() - started)

    client = Client()
    header = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    me_token = []
    for _ in range(args.requests):
        started = time.perf_counter()
        answer = client.get("/api/v1/me", **header)
        assert answer.status_code == 200, (answer.status_code, answer.content[:300])
        me_token.append(time.perf_counter() - started)
    executed: list[str] = []
    # An execute wrapper, since the request_started signal resets connection.queries mid-capture.
    with connection.execute_wrapper(lambda execute, sql, *a: executed.append(sql) or execute(sql, *a)):
        client.get("/api/v1/me", **header)
    select_one = []
    for _ in range(args.requests):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        select_one.append(time.perf_counter() - started)

    session_client = Client()
    session_client.force_login(user)
    session = session_client.session
    session[SESSION_KEY] = Role("consumer", "finance").as_dict()
    session.save()
    me_session = []
    for _ in range(args.requests):
        started = time.perf_counter()
        assert session_client.get("/api/v1/me").status_code == 200
        me_session.append(time.perf_counter() - started)

    live, baseline = _live_grants(user, args.requests)

    print(f"tokens in table: {args.tokens + 1}, requests: {args.requests}")
    print(f"auth       {_ms(auth)}")
    print(f"me_token   {_ms(me_token)}")
    print(f"me_session {_ms(me_session)}")
    print(f"token overhead over session: {(statistics.mean(me_token) - statistics.mean(me_session)) * 1000:.2f} ms")
    print(f"queries per token request: {len(executed)} (a SELECT 1 round trip here: {_ms(select_one)})")
    print(f"live_grants  session request with the check: {_ms(live)}; without: {_ms(baseline)}")
    print(f"live_grants  ratio to today's session request: {statistics.median(live) / statistics.median(baseline):.3f}x "
          f"(median; mean {statistics.mean(live) / statistics.mean(baseline):.3f}x; target < 1.1x)")
    AccessToken.objects.filter(user=user).delete()


def _live_grants(user: object, requests: int) -> tuple[list[float], list[float]]:
    """Per-request times of GET /api/v1/me in a session, with and without LiveGrantsMiddleware."""
    from django.conf import settings
    from django.test import Client, override_settings

    from identity.roles import SESSION_KEY, Role

    def session_client() -> Client:
        client = Client()
        client.force_login(user)
        session = client.session
        session[SESSION_KEY] = Role("consumer", "finance").as_dict()
        session.save()
        return client

    with_check = session_client()
    without = [m for m in settings.MIDDLEWARE if m != "identity.middleware.LiveGrantsMiddleware"]
    with override_settings(MIDDLEWARE=without):
        without_check = session_client()
        assert without_check.get("/api/v1/me").status_code == 200  # loads its middleware chain now
    assert with_check.get("/api/v1/me").status_code == 200  # stamps the session once
    live: list[float] = []
    baseline: list[float] = []
    # Alternate request by request, so load from other processes on the machine hits both alike.
    for i in range(requests * 2):
        client, samples = (with_check, live) if i % 2 else (without_check, baseline)
        started = time.perf_counter()
        assert client.get("/api/v1/me").status_code == 200
        samples.append(time.perf_counter() - started)
    return live, baseline


if __name__ == "__main__":
    main()
