"""An admin presses "Sync now" on the operations page and watches the run finish (Chromium, real worker, moto)."""

from __future__ import annotations

import pytest

from catalog.models import Table
from catalog.services.sync import ensure_catalogs
from catalog.tests import sync_glue as g
from identity.roles import Role
from portal.testing.browser import log_in


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_admin_syncs_now_and_sees_live_progress_to_the_outcome(celery_worker, aws_endpoint, page,
                                                                  live_server) -> None:
    g.create_database("sales", hub="sales")
    g.create_table("sales", "orders")
    g.create_table("sales", "customers")
    ensure_catalogs()
    log_in(page, live_server, "ada", Role("admin"))

    page.goto("/operations/")
    assert page.locator("text=No sync has run yet.").is_visible()
    page.locator("button", has_text="Sync now").click()

    page.locator(".alert", has_text="started").wait_for()
    # The panel polls while the run goes and stops on its outcome.
    page.locator('.sync-status[data-status="succeeded"]').wait_for(timeout=20_000)
    row = page.locator("table[aria-label='Sync runs'] tbody tr").first
    assert "2 / 0 / 0 / 0 / 0" in row.inner_text()
    assert Table.objects.count() == 2
    assert page.locator("button", has_text="Sync now").is_enabled()
