"""Curation that travels along lineage: proposals over view lineage and OpenLineage column lineage, PII suspected
at once (through a view that renames the column), a chain of three hops, bulk decisions, rejected staying rejected,
and removal when the lineage goes away.

Who is who: claims_prepared (hub finance) feeds views and jobs writing into hub marketing. The finance steward
curates the upstream columns; the marketing steward decides the proposals queued for marketing's columns
(the finance steward may not); admins decide any.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import PropagationProposal
from catalog.search.indexer import index_tables
from catalog.services.column_curation import NOT_PII, ColumnCurationInput, curate_column
from lineage import services as lineage_services
from lineage.naming import glue_identity
from lineage.tests.conftest import fresh_graph, make_table, run_event  # noqa: F401 - fresh_graph: autouse
from identity.roles import Role
from portal.testing.personas import login_as, login_persona

pytestmark = pytest.mark.django_db

FINANCE_STEWARD, MARKETING_STEWARD = Role("steward", "finance"), Role("steward", "marketing")
Status = PropagationProposal.Status
GLUE_NS, _ = glue_identity("eu-central-1", "123456789012", "x", "y")


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks: Any) -> Any:
    """Run what services leave for after commit (re-indexing, propagation, lineage follow-ups) at once."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def members() -> Any:
    return make_table("claims_prepared", "members", columns=[("member_id", "bigint"), ("member_name", "string"),
                                                             ("zip", "string")])


@pytest.fixture
def renaming_view(members: Any, on_commit: Any) -> Any:
    """claims_semantic.member_view (hub marketing) renames member_name to name and computes a zip prefix."""
    view = make_table("claims_semantic", "member_view", hub="marketing", columns=[("name", "string"), ("member_id", "bigint"),
                                                                                  ("zip3", "string")],
                      view_sql="SELECT member_name AS name, member_id, substr(zip, 1, 3) AS zip3 FROM claims_prepared.members")
    with on_commit():
        lineage_services.derive_view_lineage([view.pk])
    return view


def _curate(table: Any, column: str, on_commit: Any, role: Role = FINANCE_STEWARD, **values: Any) -> None:
    with on_commit():
        curate_column(table, column, ColumnCurationInput(**values), actor=None, role=role)


def _api(username: str, role: Role) -> APIClient:
    client = APIClient()
    login_as(client, username, role)
    return client


def _column(client: APIClient, dataset: str, name: str) -> dict[str, Any]:
    return next(c for c in client.get(f"/api/v1/datasets/{dataset}").json()["columns"] if c["name"] == name)


def test_a_description_is_proposed_to_the_renamed_view_column_and_accepted_by_its_hubs_steward(
        renaming_view: Any, members: Any, on_commit: Any) -> None:
    _curate(members, "member_name", on_commit, description="Member's full name", tags=["identity"])
    _curate(members, "zip", on_commit, description="Postal code")  # only a transformation reads it: no proposal
    queued = _api("mara", MARKETING_STEWARD).get("/api/v1/curation/proposals").json()["proposals"]
    assert sorted((p["dataset"], p["column"], p["field"], str(p["value"])) for p in queued) == [
        ("claims_semantic.member_view", "name", "description", "Member's full name"),
        ("claims_semantic.member_view", "name", "tags", "['identity']"),
    ]
    assert queued[0]["explanation"] == "from claims_prepared.members.member_name via job view:claims_semantic.member_view"
    finance = _api("fin", FINANCE_STEWARD)
    assert finance.get("/api/v1/curation/proposals").json()["proposals"] == []  # not finance's columns
    ids = [p["id"] for p in queued]
    assert finance.post("/api/v1/curation/proposals/decide", {"ids": ids, "decision": "accept"}, format="json").status_code == 403
    assert _column(finance, "claims_semantic.member_view", "name")["description"] == ""  # nothing shows while pending
    marketing = _api("mara", MARKETING_STEWARD)
    with on_commit():
        decided = marketing.post("/api/v1/curation/proposals/decide", {"ids": ids, "decision": "accept"}, format="json")
    assert decided.json() == {"decided": 2}
    column = _column(marketing, "claims_semantic.member_view", "name")
    assert (column["description"], column["tags"]) == ("Member's full name", ["identity"])
    assert column["sources"] == {"description": "propagation", "tags": "propagation"}
    assert {p["explanation"] for p in column["propagated"]} == {
        "from claims_prepared.members.member_name via job view:claims_semantic.member_view"}
    again = marketing.post("/api/v1/curation/proposals/decide", {"ids": ids, "decision": "reject"}, format="json")
    assert again.status_code == 400 and "not pending" in str(again.json())


def test_pii_is_suspected_at_once_through_a_renaming_view_until_its_steward_clears_it(
        renaming_view: Any, members: Any, on_commit: Any, search: str, client: Any) -> None:
    index_tables([members.pk, renaming_view.pk])
    _curate(members, "member_name", on_commit, pii="name")
    marketing = _api("mara", MARKETING_STEWARD)
    column = _column(marketing, "claims_semantic.member_view", "name")
    assert (column["pii"], column["pii_status"], column["sources"]["pii"]) == ("name", "suspected", "propagation")
    assert _column(marketing, "claims_semantic.member_view", "zip3")["pii_status"] is None
    detail = marketing.get("/api/v1/datasets/claims_semantic.member_view").json()
    assert detail["classification"] == "confidential" and "name is suspected PII" in detail["classification_reason"]
    found = marketing.get("/api/v1/search", {"pii": "suspected"}).json()
    assert [r["qualified_name"] for r in found["results"]] == ["claims_semantic.member_view"]
    login_as(client, "mara", MARKETING_STEWARD)
    assert b"suspected PII" in client.get("/datasets/claims_semantic.member_view").content
    _curate(renaming_view, "name", on_commit, role=MARKETING_STEWARD, pii=NOT_PII)
    column = _column(marketing, "claims_semantic.member_view", "name")
    assert (column["pii"], column["pii_status"]) == (None, None)
    assert marketing.get("/api/v1/datasets/claims_semantic.member_view").json()["classification_reason"] == ""
    assert marketing.get("/api/v1/search", {"pii": "suspected"}).json()["count"] == 0


def _chain(on_commit: Any) -> dict[str, Any]:
    """raw.a.x →job1→ prep.b.x →job2→ sem.c.y (renamed) →job3→ mart.d.y, all DIRECT/IDENTITY; job2 also
    computes c.z from b.x (DIRECT/TRANSFORMATION). raw is finance's, the rest marketing's."""
    tables = {"a": make_table("raw", "a", columns=[("x", "string")]),
              "b": make_table("prep", "b", hub="marketing", columns=[("x", "string")]),
              "c": make_table("sem", "c", hub="marketing", columns=[("y", "string"), ("z", "string")]),
              "d": make_table("mart", "d", hub="marketing", columns=[("y", "string")])}
    hops = [("job1", "raw/a", "prep/b", {"x": "x"}), ("job2", "prep/b", "sem/c", {"y": "x", "z": "x"}),
            ("job3", "sem/c", "mart/d", {"y": "y"})]
    for n, (job, source, target, columns) in enumerate(hops):
        src, dst = f"table/{source}", f"table/{target}"
        with on_commit():
            lineage_services.ingest_event(run_event(
                [(GLUE_NS, src)], [(GLUE_NS, dst)], job=job, run_id=f"3f5e83fa-3480-44ff-99c5-ff943904e5e{n}",
                columns={out: [(GLUE_NS, src, inp)] for out, inp in columns.items()},
                transformations={out: "DIRECT/TRANSFORMATION" if out == "z" else "DIRECT/IDENTITY" for out in columns}))
    return tables


def test_a_chain_of_three_hops_gets_proposals_decided_in_bulk_and_openlineage_removal_withdraws_them(on_commit: Any) -> None:
    t = _chain(on_commit)
    _curate(t["a"], "x", on_commit, description="Claim amount in cents")
    pending = PropagationProposal.objects.filter(status=Status.PENDING)
    assert {(p.target_table.qualified_name, p.target_column) for p in pending} == {("prep.b", "x"), ("sem.c", "y"), ("mart.d", "y")}
    assert pending.get(target_column="y", target_table=t["d"]).explanation == "from raw.a.x via job job1 → job2 → job3"
    admin = APIClient()
    login_persona(admin, "admin")
    with on_commit():
        assert admin.post("/api/v1/curation/proposals/decide", {"ids": [p.pk for p in pending], "decision": "accept"},
                          format="json").json() == {"decided": 3}
    assert _column(admin, "mart.d", "y")["description"] == "Claim amount in cents"
    # job2's next run no longer copies b.x into c.y: c and d lose what came through it, b keeps it.
    with on_commit():
        lineage_services.ingest_event(run_event(
            [(GLUE_NS, "table/prep/b")], [(GLUE_NS, "table/sem/c")], job="job2", run_id="3f5e83fa-3480-44ff-99c5-ff943904e5f9",
            event_time="2024-05-02T12:00:00Z"))
    assert _column(admin, "mart.d", "y")["description"] == ""
    assert _column(admin, "sem.c", "y")["propagated"] == []
    assert _column(admin, "prep.b", "x")["description"] == "Claim amount in cents"
    assert set(PropagationProposal.objects.filter(status=Status.WITHDRAWN).values_list("target_table__name", flat=True)) == {"c", "d"}


def test_a_stewards_own_value_downstream_stops_what_comes_from_further_up(on_commit: Any) -> None:
    t = _chain(on_commit)
    _curate(t["a"], "x", on_commit, description="From raw")
    _curate(t["b"], "x", on_commit, role=MARKETING_STEWARD, description="Prepared amount")
    live = PropagationProposal.objects.exclude(status=Status.WITHDRAWN)
    assert {(p.origin_table.name, p.target_table.name) for p in live} == {("b", "c"), ("b", "d")}


def test_a_rejected_proposal_stays_rejected_when_the_upstream_value_changes(renaming_view: Any, members: Any, on_commit: Any) -> None:
    _curate(members, "member_name", on_commit, description="Full name")
    proposal = PropagationProposal.objects.get()
    marketing = _api("mara", MARKETING_STEWARD)
    with on_commit():
        marketing.post("/api/v1/curation/proposals/decide", {"ids": [proposal.pk], "decision": "reject"}, format="json")
    _curate(members, "member_name", on_commit, description="Full legal name")
    proposal.refresh_from_db()
    assert (proposal.status, proposal.value) == (Status.REJECTED, "Full name")
    assert marketing.get("/api/v1/curation/proposals").json()["proposals"] == []
    assert _column(marketing, "claims_semantic.member_view", "name")["description"] == ""


def test_when_the_view_stops_reading_the_column_propagation_is_undone(renaming_view: Any, members: Any, on_commit: Any) -> None:
    _curate(members, "member_name", on_commit, description="Full name", pii="name")
    PropagationProposal.objects.filter(field="description").update(status=Status.ACCEPTED)
    admin = APIClient()
    login_persona(admin, "admin")
    assert _column(admin, "claims_semantic.member_view", "name")["pii_status"] == "suspected"
    renaming_view.view_sql = "SELECT 'n/a' AS name, member_id, substr(zip, 1, 3) AS zip3 FROM claims_prepared.members"
    renaming_view.save()
    with on_commit():
        lineage_services.derive_view_lineage([renaming_view.pk])
    column = _column(admin, "claims_semantic.member_view", "name")
    assert (column["description"], column["pii_status"], column["propagated"]) == ("", None, [])
    assert set(PropagationProposal.objects.values_list("status", flat=True)) == {Status.WITHDRAWN}


def test_new_lineage_brings_proposals_for_columns_curated_before(members: Any, on_commit: Any) -> None:
    _curate(members, "member_name", on_commit, description="Full name", pii="name")
    assert not PropagationProposal.objects.exists()
    view = make_table("claims_semantic", "names", hub="marketing", columns=[("member_name", "string")],
                      view_sql="SELECT member_name FROM claims_prepared.members")
    with on_commit():
        lineage_services.derive_view_lineage([view.pk])
    assert dict(PropagationProposal.objects.values_list("field", "status")) == {"description": Status.PENDING,
                                                                                "pii": Status.APPLIED}


def test_the_queue_page_decides_in_bulk(renaming_view: Any, members: Any, on_commit: Any, client: Any) -> None:
    _curate(members, "member_name", on_commit, description="Full name", tags=["identity"])
    login_as(client, "mara", MARKETING_STEWARD)
    page = client.get("/curation/proposals")
    assert page.status_code == 200 and b"via job view:claims_semantic.member_view" in page.content
    ids = list(PropagationProposal.objects.values_list("pk", flat=True))
    with on_commit():
        done = client.post("/curation/proposals", {"ids": ids, "decision": "reject"})
    assert done.status_code == 302
    assert set(PropagationProposal.objects.values_list("status", flat=True)) == {Status.REJECTED}
    login_as(client, "fin", FINANCE_STEWARD)
    assert b"Nothing pending" in client.get("/curation/proposals").content
