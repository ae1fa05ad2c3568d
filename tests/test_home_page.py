"""The home page: for the selected role, datasets per hub and layer (only what the role may see,
each count a link to the filtered search), the datasets changed last, and the role's own work.

Who sees what (portal.testing.personas): finance roles see public datasets and finance's hub-only
ones; the marketing consumer public ones and marketing's; the admin everything.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Curation, SyncRun, TableVersion
from catalog.tests.search_support import make_table
from ingestion_wizard.models import Pipeline, PipelineRun
from identity.roles import Role
from portal.testing.personas import login_as, login_persona
from workspaces.models import Notification, Subscription, Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def lake():
    """finance: 3 prepared (one curated in the portal, one with Glue's description only, one bare),
    1 source; marketing: 1 hub-only semantic (hidden from finance), 1 public semantic."""
    orders = make_table("fin_prepared.orders", description="", owner="")
    curated = make_table("fin_prepared.invoices", description="", owner="")
    Curation.objects.create(table=curated, description="Every invoice.", owner="billing-team")
    make_table("fin_prepared.refunds", description="Refunds from Glue.", owner="")
    make_table("fin_raw.erp_orders", layer="source", description="ERP extract", owner="erp-team")
    secret = make_table("mkt_semantic.campaign_costs", hub="marketing", layer="semantic")
    public = make_table("mkt_semantic.web_visits", hub="marketing", layer="semantic", visibility="public")
    now = timezone.now()
    TableVersion.objects.create(table=orders, version_id="2", updated_at=now - timedelta(hours=2),
                                diff={"added": ["amount", "currency"], "removed": [], "type_changed": []})
    TableVersion.objects.create(table=public, version_id="1", updated_at=now - timedelta(hours=1),
                                diff={"first_seen": True})
    TableVersion.objects.create(table=secret, version_id="5", updated_at=now,
                                diff={"added": [], "removed": ["cost"], "type_changed": []})
    return {"orders": orders, "secret": secret, "public": public}


def test_anonymous_visitors_get_the_sign_in_button_and_no_data(client, lake):
    page = client.get("/").content.decode()
    assert "Sign in" in page and "fin_prepared" not in page and "web_visits" not in page


def test_counts_per_hub_and_layer_are_the_roles_and_link_to_the_filtered_search(client, lake):
    login_persona(client, "finance_consumer")
    response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 200
    # finance: prepared 3, source 1; marketing: only the public dataset (the hub-only one is hidden).
    assert 'href="/search?hub=finance&amp;layer=prepared" data-layer="prepared">3<' in page
    assert 'href="/search?hub=finance&amp;layer=source" data-layer="source">1<' in page
    assert 'href="/search?hub=marketing&amp;layer=semantic" data-layer="semantic">1<' in page
    assert 'href="/search?hub=marketing" class="fw-semibold" data-layer="">1<' in page

    login_persona(client, "admin")
    page = client.get("/").content.decode()
    assert 'href="/search?hub=marketing&amp;layer=semantic" data-layer="semantic">2<' in page


def test_recent_changes_come_from_the_version_history_and_skip_hidden_datasets(client, lake):
    login_persona(client, "finance_consumer")
    page = client.get("/").content.decode()
    changes = page[page.index('data-testid="recent-changes"'):]
    assert changes.index("mkt_semantic.web_visits") < changes.index("fin_prepared.orders")  # newest first
    assert "new in the catalog" in changes and "2 columns added" in changes
    assert "campaign_costs" not in page

    login_persona(client, "admin")
    changes = client.get("/").content.decode().split('data-testid="recent-changes"')[1]
    assert changes.index("campaign_costs") < changes.index("web_visits") and "1 removed" in changes


def test_the_steward_sees_the_curation_queue_of_the_hub_with_the_share_curated(client, lake):
    login_persona(client, "finance_steward")
    page = client.get("/").content.decode()
    queue = page[page.index('data-testid="curation-queue"'):page.index("</ul>", page.index('data-testid="curation-queue"'))]
    # Curated in the portal counts; Glue's description counts; an owner is still needed for refunds.
    assert "fin_prepared.orders" in queue and "no description, no owner" in queue
    assert "fin_prepared.refunds" in queue and "fin_prepared.invoices" not in queue
    assert "fin_raw.erp_orders" not in queue and "mkt_semantic" not in queue
    assert '<span data-testid="curated-share">50% curated</span>' in page
    assert '<span data-testid="queue-size">2</span> of 4 datasets' in page


def test_a_steward_of_a_hub_without_datasets_is_told_what_comes_next(client, lake):
    login_as(client, "sid", Role("steward", "logistics"))
    page = client.get("/").content.decode()
    assert 'data-testid="queue-empty"' in page and "Hub logistics has no dataset in the catalog yet" in page


def test_the_provider_sees_the_hubs_pipelines_with_last_run_and_next_schedule(client, lake):
    nightly = Pipeline.objects.create(name="erp-nightly", hub="finance", status="ready", source_kind="postgresql",
                                      target_database="fin_raw", schedule="0 2 * * *")
    PipelineRun.objects.create(pipeline=nightly, status="succeeded", rows=120)
    Pipeline.objects.create(name="crm-adhoc", hub="finance", status="ready", source_kind="mysql",
                            target_database="fin_crm")
    Pipeline.objects.create(name="ads-feed", hub="marketing", status="ready", source_kind="mysql",
                            target_database="mkt_ads", schedule="0 3 * * *")
    login_persona(client, "finance_provider")
    page = client.get("/").content.decode()
    table = page[page.index('data-testid="home-pipelines"'):]
    assert "erp-nightly" in table and "crm-adhoc" in table and "ads-feed" not in page
    assert "succeeded" in table and "120 rows" in table and "never run" in table
    tomorrow_or_today = [(timezone.now() + timedelta(days=d)).strftime("%Y-%m-%d") for d in (0, 1)]
    assert any(f"{day} 02:00 UTC" in table for day in tomorrow_or_today) and "on demand" in table


def test_a_provider_without_pipelines_is_pointed_at_the_wizard(client, lake):
    login_persona(client, "finance_provider")
    page = client.get("/").content.decode()
    assert 'data-testid="empty-pipelines"' in page and 'href="/ingestion/new/"' in page


def test_the_consumer_sees_own_workspaces_subscriptions_and_newest_notifications(client, lake):
    user = login_persona(client, "finance_consumer")
    other = login_persona(client.__class__(), "marketing_consumer")
    Workspace.objects.create(owner=user, role=Role("consumer", "finance").as_dict(), role_arn="arn:aws:iam::1:role/c",
                             name="dh-ws-mine", instance_type="ml.t3.medium", volume_gb=5, status="in_service",
                             datasets=[{"name": "fin_prepared.orders"}])
    Workspace.objects.create(owner=other, role=Role("consumer", "marketing").as_dict(), role_arn="arn:aws:iam::1:role/c",
                             name="dh-ws-theirs", instance_type="ml.t3.medium", volume_gb=5)
    Subscription.objects.create(user=user, dataset="fin_prepared.orders", protocol="sqs", endpoint="arn:q",
                                topic_arn="arn:t", subscription_arn="arn:s")
    now = timezone.now()
    for i in range(7):
        Notification.objects.create(user=user, dataset="fin_prepared.orders", partition=f"load_date=2026-11-0{i + 1}",
                                    rows=10 * i, at=now - timedelta(days=7 - i))
    login_persona(client, "finance_consumer")
    page = client.get("/").content.decode()
    assert "dh-ws-mine" in page and "in service" in page and "dh-ws-theirs" not in page
    assert page.split('data-testid="home-subscriptions"')[1].split("</ul>")[0].count("<li>") == 1
    feed = page.split('data-testid="home-notifications"')[1].split("</ul>")[0]
    assert feed.count("<li>") == 5 and "load_date=2026-11-07" in feed and "load_date=2026-11-02" not in feed


def test_a_new_consumer_is_told_how_to_get_a_workspace_and_subscriptions(client, lake):
    login_persona(client, "marketing_consumer")
    page = client.get("/").content.decode()
    for empty in ("empty-workspaces", "empty-subscriptions", "empty-notifications"):
        assert f'data-testid="{empty}"' in page


def test_the_admin_sees_the_last_syncs_and_what_failed(client, lake):
    SyncRun.objects.create(kind="full", status="succeeded", finished_at=timezone.now())
    SyncRun.objects.create(kind="incremental", status="failed", error="Glue answered AccessDenied",
                           finished_at=timezone.now())
    Pipeline.objects.create(name="broken", hub="finance", status="failed", source_kind="mysql",
                            target_database="fin_broken", error="Glue job quota reached")
    login_persona(client, "admin")
    page = client.get("/").content.decode()
    assert page.split('data-testid="home-sync-runs"')[1].split("</table>")[0].count("<tr>") == 3  # header + 2 runs
    failures = page.split('data-testid="home-failures"')[1]
    assert "Glue answered AccessDenied" in failures and "broken" in failures and "Glue job quota reached" in failures


def test_an_admin_of_an_empty_portal_is_told_to_run_a_sync(client):
    login_persona(client, "admin")
    page = client.get("/").content.decode()
    for empty in ("empty-lake", "empty-changes", "empty-sync-runs", "nothing-failed"):
        assert f'data-testid="{empty}"' in page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_home_page_loads_with_bootstrap_and_htmx(page):
    page.goto("/")
    assert page.title() == "Data Hub Portal"
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("typeof window.bootstrap") == "object"
