"""pytest plugin: Playwright driving Debian's Chromium against pytest-django's live server."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: object, live_server: object) -> Iterator[object]:
    """A fresh browser page; ``page.base_url`` is the live server's URL.

    Every browser test also checks the Content-Security-Policy: a violation Chromium reports on the
    console (an inline script or handler, an eval, a foreign source) fails the test at teardown.
    """
    context = chromium.new_context(base_url=live_server.url)  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    pg = context.new_page()
    violations: list[str] = []
    pg.on("console", lambda message: violations.append(f"{pg.url}: {message.text}")
          if "Content Security Policy" in message.text else None)
    yield pg
    context.close()
    if violations:
        pytest.fail("Content-Security-Policy violations in the browser console:\n" + "\n".join(violations))


def log_in(page: object, live_server: object, username: str, role: object) -> object:
    """Log the browser in as ``username`` acting in ``role``, without the login form.

    Copies a force_login session cookie into the browser context; returns the user.
    """
    from django.test import Client

    from portal.testing.personas import login_as

    client = Client()
    user = login_as(client, username, role)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,  # type: ignore[attr-defined]
                               "url": live_server.url}])  # type: ignore[attr-defined]
    return user
