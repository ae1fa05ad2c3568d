"""The main pages in a real browser: nothing is fetched from outside the portal, no console error,
the API docs render from the portal's own static files, and every page fits the screen at
desktop widths and on a phone, with sign-out and the role switcher always reachable.

Real services: PostgreSQL behind the live server, osmem for search, headless Chromium. Requests
off the portal's origin are aborted in the browser (and recorded), so nothing leaves loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from catalog.search.indexer import index_tables
from catalog.tests.search_support import make_table
from identity.roles import Role
from portal.testing.browser import log_in

DESKTOP_WIDTHS = (1280, 1440, 1920)
PHONE_WIDTH = 390
# The widest header belongs to the admin (every nav link); the consumer's has the selection badge.
PAGES = {
    "admin": ["/", "/browse", "/search?q=orders", "/datasets/sales_prepared.customer_orders", "/lineage/",
              "/ingestion/", "/ingestion/new/", "/workspaces/", "/workspaces/selection/",
              "/workspaces/subscriptions/", "/tokens/", "/audit/", "/operations/"],
    "consumer": ["/", "/browse", "/search?q=orders&layer=prepared", "/datasets/sales_prepared.customer_orders",
                 "/workspaces/", "/workspaces/subscriptions/", "/tokens/"],
}
ROLES = {"admin": Role("admin"), "consumer": Role("consumer", "finance")}


class Watch:
    """Records what a page must not do: fetch off its origin, log a console error, throw."""

    def __init__(self, page: Any, origin: str) -> None:
        self.origin = origin
        self.off_origin: list[str] = []
        self.errors: list[str] = []
        page.context.route("**/*", self._route)
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"{page.url}: {msg.text}"))
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(self.origin + "/") or url == self.origin or url.startswith(("data:", "blob:")):
            route.continue_()
        else:  # never let the browser leave loopback, even when a page asks it to
            self.off_origin.append(url)
            route.abort()


@pytest.fixture
def lake(search: str) -> None:
    tables = [
        make_table("sales_prepared.customer_orders", [("order_id", "bigint", "Order number"),
                                                      ("amount_eur", "decimal(12,2)", "Order total")],
                   description="Every web shop order.", layer="prepared"),
        make_table("sales_semantic.order_kpis_with_a_rather_long_name_that_does_not_wrap_by_itself_at_all",
                   [("orders", "bigint", "")], layer="semantic", visibility="public"),
    ]
    index_tables([t.id for t in tables])


@pytest.fixture
def watched(page: Any, live_server: Any) -> Iterator[tuple[Any, Watch]]:
    yield page, Watch(page, live_server.url)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("persona", ["admin", "consumer"])
def test_main_pages_fetch_nothing_from_elsewhere_and_log_no_console_error(watched, live_server, lake, persona) -> None:
    page, watch = watched
    log_in(page, live_server, f"pages-{persona}", ROLES[persona])
    for path in PAGES[persona] + ["/api/v1/docs", "/api/v1/docs/redoc"]:
        response = page.goto(path)
        assert response is not None and response.status == 200, f"{path} answered {response and response.status}"
        page.wait_for_load_state("networkidle")
    assert watch.off_origin == []
    assert watch.errors == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_swagger_ui_renders_the_operations_from_the_portals_own_files(watched, live_server) -> None:
    page, watch = watched
    page.goto("/api/v1/docs")
    page.locator(".opblock").first.wait_for()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/search" in p for p in paths), paths[:10]
    assert page.locator(".opblock").count() > 10
    assert watch.off_origin == [] and watch.errors == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_redoc_renders_the_operations_without_web_fonts(watched, live_server) -> None:
    page, watch = watched
    page.goto("/api/v1/docs/redoc")
    page.get_by_text("Data Hub Portal API").first.wait_for()
    page.locator("[data-section-id^='operation/']").first.wait_for()
    assert page.locator("[data-section-id^='operation/']").count() > 10
    assert watch.off_origin == [] and watch.errors == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_page_requests_an_icon_that_exists(watched, live_server) -> None:
    page, watch = watched
    page.goto("/")
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(href).status == 200
    assert page.request.get("/favicon.ico").status == 200  # redirected to the same file


def _overflow(page: Any) -> int:
    """How many pixels the document is wider than the window (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("persona", ["admin", "consumer"])
def test_no_page_is_wider_than_the_screen_and_sign_out_stays_in_the_header(page, live_server, lake, persona) -> None:
    log_in(page, live_server, f"pages-{persona}", ROLES[persona])
    too_wide = []
    for width in DESKTOP_WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in PAGES[persona]:
            page.goto(path)
            if _overflow(page) > 0:
                too_wide.append((width, path, _overflow(page)))
            header = page.locator("#portal-header").bounding_box()
            sign_out = page.locator("#sign-out button")
            if sign_out.is_visible():  # expanded header: sign-out sits inside the window, not cut off
                box = sign_out.bounding_box()
                assert box["x"] + box["width"] <= width, (width, path, box)
                assert box["y"] + box["height"] <= header["y"] + header["height"], (width, path, "header wraps")
            else:  # collapsed header: one click on the toggler shows it
                page.locator(".navbar-toggler").click()
                sign_out.wait_for(state="visible")
    assert too_wide == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_the_nav_folds_into_a_menu_with_the_role_switcher_and_sign_out(page, live_server, lake) -> None:
    from portal.testing.personas import make_user

    make_user("pages-multi", ["dh-finance-consumer", "dh-finance-steward"])
    log_in(page, live_server, "pages-multi", Role("consumer", "finance"))
    page.goto("/roles/select/")  # as at sign-in: the session learns the granted roles for the switcher
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    too_wide = []
    for path in PAGES["consumer"]:
        page.goto(path)
        if _overflow(page) > 0:
            too_wide.append((path, _overflow(page)))
        toggler = page.locator(".navbar-toggler")
        assert toggler.is_visible()
        assert not page.locator("#sign-out button").is_visible()  # folded away until asked for
        toggler.click()
        page.locator("#sign-out button").wait_for(state="visible")
        assert page.locator("#role-switch").is_visible()
        assert _overflow(page) <= 0, (path, "open menu overflows")
    assert too_wide == []

    # The switcher works from the folded menu.
    page.goto("/tokens/")
    page.locator(".navbar-toggler").click()
    page.locator("#role-switch").select_option("steward:finance")
    page.click("#role-switcher button:has-text('Switch')")
    page.wait_for_load_state()
    assert page.locator("#role-switch").input_value() == "steward:finance"
