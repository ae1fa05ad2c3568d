"""Glossary CSV: a lossless round trip (hierarchy, links, state kept), the diff shown before an
import is applied (API and page), and refusals for rows a role may not write."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from glossary import csv_io
from glossary.demo import DEMO_GLOSSARY, load_demo_glossary
from glossary.models import Term
from identity.models import AuditEvent
from portal.testing.personas import login_persona

pytestmark = pytest.mark.django_db
# A three-level hierarchy whose child comes before its parent, quoting, and every list column.
SAMPLE = """name,parent,definition,synonyms,abbreviations,owner_hub,state,datasets,columns
National drug code,Pharmacy claim,"The FDA's 11-digit id, ""NDC"".",drug code,ndc,finance,approved,,claims.pharmacy_claim.ndc_code
Pharmacy claim,Claim,"A claim for a drug,
dispensed.",pharmacy|prescription,rx|pde,finance,approved,claims.pharmacy_claim|core.pharmacy_claim,
Claim,,A bill.,,,finance,draft,,
"""


def test_export_then_import_gives_back_the_same_glossary_hierarchy_links_and_state() -> None:
    load_demo_glossary()
    exported = csv_io.export_csv()
    assert csv_io.plan_import(exported, None).errors  # no role: nothing may be written
    plan = csv_io.plan_import(exported, _admin())
    assert (plan.added, plan.changed, plan.errors) == ([], [], []) and plan.unchanged == Term.objects.count()
    # Wipe it and import the export: the same terms, parents, links and states come back.
    Term.objects.update(parent=None)
    Term.objects.all().delete()
    csv_io.apply_import(exported, actor=None, role=_admin())
    assert csv_io.export_csv() == exported
    assert Term.objects.get(name="Pharmacy claim").parent.name == "Claim"  # type: ignore[union-attr]
    assert Term.objects.get(name="General ledger").state == "draft"


def test_a_hierarchy_in_any_row_order_with_quotes_and_newlines_round_trips() -> None:
    csv_io.apply_import(SAMPLE, actor=None, role=_admin())
    ndc = Term.objects.get(name="National drug code")
    assert ndc.parent.name == "Pharmacy claim" and ndc.parent.parent.name == "Claim"  # type: ignore[union-attr]
    assert Term.objects.get(name="Pharmacy claim").definition == "A claim for a drug,\ndispensed."
    again = csv_io.plan_import(csv_io.export_csv(), _admin())
    assert (again.added, again.changed, again.unchanged) == ([], [], 3)


def test_the_api_shows_the_diff_first_and_imports_only_with_apply() -> None:
    client = APIClient()
    login_persona(client, "finance_steward")
    preview = client.post("/api/v1/glossary/import", {"csv": SAMPLE}, format="json").json()
    assert preview["applied"] is False and [a["name"] for a in preview["added"]] == [
        "National drug code", "Pharmacy claim", "Claim"]
    assert preview["added"][0]["changes"]["parent"] == {"from": None, "to": "Pharmacy claim"}
    assert Term.objects.count() == 0
    applied = client.post("/api/v1/glossary/import", {"csv": SAMPLE, "apply": True}, format="json").json()
    assert applied["applied"] is True and Term.objects.count() == 3
    changed = SAMPLE.replace("A bill.", "A bill sent to the payer.")
    diff = client.post("/api/v1/glossary/import", {"csv": changed}, format="json").json()
    assert diff["changed"] == [{"name": "Claim", "changes": {"definition": {"from": "A bill.",
                                                                            "to": "A bill sent to the payer."}}}]
    assert diff["unchanged"] == 2
    assert AuditEvent.objects.filter(action="glossary.import").count() == 1


def test_an_import_with_rows_the_role_may_not_write_imports_nothing() -> None:
    client = APIClient()
    login_persona(client, "finance_steward")
    foreign = SAMPLE.replace("Claim,,A bill.,,,finance", "Claim,,A bill.,,,marketing")
    answer = client.post("/api/v1/glossary/import", {"csv": foreign, "apply": True}, format="json")
    assert answer.status_code == 400 and "hub 'marketing'" in answer.json()["errors"][0]
    assert Term.objects.count() == 0
    broken = client.post("/api/v1/glossary/import", {"csv": "title\nx\n"}, format="json").json()
    assert broken["errors"] == [f"line 1: the header must name the columns {', '.join(csv_io.COLUMNS)}."]


def test_the_import_page_shows_the_diff_then_applies_it() -> None:
    client = Client()
    login_persona(client, "finance_steward")
    preview = client.post("/glossary/import/", {"csv": SAMPLE})
    assert preview.status_code == 200 and b"3 added, 0 changed, 0 unchanged" in preview.content
    assert Term.objects.count() == 0
    applied = client.post("/glossary/import/", {"csv": SAMPLE, "apply": "1"})
    assert applied.status_code == 302 and Term.objects.count() == 3
    assert client.get("/glossary/export.csv").content.decode() == csv_io.export_csv()


def test_the_demo_glossary_is_written_as_stewards_write_it() -> None:
    plan = load_demo_glossary()
    assert len(plan.added) >= 25 and not plan.errors
    assert load_demo_glossary().unchanged == len(plan.added)  # loading it again changes nothing
    rx = Term.objects.get(name="Pharmacy claim")
    assert "rx" in rx.abbreviations and rx.parent.name == "Claim" and rx.state == "approved"  # type: ignore[union-attr]
    assert all(t.definition for t in Term.objects.all())
    assert DEMO_GLOSSARY.read_text().count("\n") == Term.objects.count() + 1


def _admin():  # type: ignore[no-untyped-def]
    from identity.roles import Role

    return Role("admin")
