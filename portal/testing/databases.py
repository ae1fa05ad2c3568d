"""A bench's own PostgreSQL database, created on first use (benches never borrow a developer's)."""

from __future__ import annotations


def ensure_database(url: str) -> None:
    """Create the database ``url`` names when it does not exist yet (on the same server, through
    its ``postgres`` database). Does nothing for a URL that is not PostgreSQL's."""
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        return
    name = parsed.path.lstrip("/")
    with psycopg.connect(url[: url.rfind("/")] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
