"""/api/v1/glossary/terms per persona: who may read and write terms, bad input, the audit trail.

Personas (portal.testing.personas): the finance steward keeps finance's terms; an admin keeps
every hub's; the finance consumer and provider read terms only; a term of hub "marketing" is
out of the finance steward's reach.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from glossary.models import Term
from identity.models import AuditEvent
from portal.testing.personas import login_persona

pytestmark = pytest.mark.django_db
TERMS = "/api/v1/glossary/terms"


def api(persona: str) -> APIClient:
    client = APIClient()
    login_persona(client, persona)
    return client


def new_term(client: APIClient, **fields: Any) -> Any:
    return client.post(TERMS, {"name": "Pharmacy claim", "definition": "A claim for a dispensed drug.",
                               "synonyms": ["pharmacy"], "abbreviations": ["rx"], **fields}, format="json")


def test_a_steward_creates_changes_and_deletes_terms_of_their_own_hub_and_each_change_is_audited() -> None:
    steward = api("finance_steward")
    created = new_term(steward, datasets=["claims.pharmacy_claim"], columns=["claims.pharmacy_claim.ndc_code"])
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["owner_hub"], body["state"], body["abbreviations"]) == ("finance", "draft", ["rx"])
    assert body["datasets"] == ["claims.pharmacy_claim"] and body["columns"] == ["claims.pharmacy_claim.ndc_code"]
    child = steward.post(TERMS, {"name": "National drug code", "parent": "Pharmacy claim"}, format="json")
    assert child.status_code == 201 and child.json()["parent"] == "Pharmacy claim"
    changed = steward.patch(f"{TERMS}/{body['id']}", {"state": "approved"}, format="json")
    assert changed.status_code == 200 and changed.json()["state"] == "approved"
    assert changed.json()["children"] == ["National drug code"]
    refused = steward.delete(f"{TERMS}/{body['id']}")
    assert refused.status_code == 400 and "parent of National drug code" in str(refused.json())
    assert steward.delete(f"{TERMS}/{child.json()['id']}").status_code == 204
    assert steward.delete(f"{TERMS}/{body['id']}").status_code == 204
    actions = list(AuditEvent.objects.filter(action__startswith="glossary.").order_by("id")
                   .values_list("action", "target"))
    assert actions == [("glossary.create", "Pharmacy claim"), ("glossary.create", "National drug code"),
                       ("glossary.update", "Pharmacy claim"), ("glossary.delete", "National drug code"),
                       ("glossary.delete", "Pharmacy claim")]


def test_another_hubs_steward_and_consumers_are_refused_but_read_every_term() -> None:
    marketing_term = Term.objects.create(name="Campaign", owner_hub="marketing", state="approved")
    steward = api("finance_steward")
    for response in (
        new_term(steward, owner_hub="marketing"),
        steward.patch(f"{TERMS}/{marketing_term.pk}", {"definition": "mine now"}, format="json"),
        steward.delete(f"{TERMS}/{marketing_term.pk}"),
        new_term(api("finance_consumer")),
        new_term(api("finance_provider")),
    ):
        assert response.status_code == 403, response.content
        assert "may not change glossary terms" in response.json()["detail"]
    assert Term.objects.get(pk=marketing_term.pk).definition == ""
    listed = api("finance_consumer").get(TERMS, {"state": "approved"}).json()
    assert [t["name"] for t in listed["results"]] == ["Campaign"]
    assert api("admin").patch(f"{TERMS}/{marketing_term.pk}", {"definition": "An outreach."},
                              format="json").status_code == 200


def test_bad_input_is_a_400_naming_the_field_never_a_500() -> None:
    admin = api("admin")
    assert "owner_hub" in new_term(admin).json()["detail"]  # an admin has no hub of its own: the term names one
    assert new_term(api("finance_steward"), parent="No such term").json()["detail"] == {
        "parent": ["No term 'No such term' to be the parent."]}
    assert "datasets" in new_term(api("finance_steward"), datasets=["no-dot"]).json()["detail"]
    assert "synonyms" in new_term(api("finance_steward"), synonyms=["a|b"]).json()["detail"]
    assert new_term(api("finance_steward"), state="final").status_code == 400
    assert new_term(api("finance_steward")).status_code == 201
    duplicate = new_term(api("finance_steward"), name="pharmacy CLAIM")
    assert duplicate.status_code == 400 and "exists already" in str(duplicate.json())
    assert api("finance_steward").get(TERMS, {"state": "nope"}).status_code == 400
    assert APIClient().get(TERMS).status_code in (401, 403)


def test_a_term_cannot_become_its_own_ancestor() -> None:
    steward = api("finance_steward")
    top = new_term(steward).json()
    child = steward.post(TERMS, {"name": "Rx line", "parent": "Pharmacy claim"}, format="json").json()
    loop = steward.patch(f"{TERMS}/{top['id']}", {"parent": "Rx line"}, format="json")
    assert loop.status_code == 400 and "below it" in str(loop.json())
    assert Term.objects.get(pk=top["id"]).parent is None and child["parent"] == "Pharmacy claim"
