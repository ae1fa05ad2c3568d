"""The real openlineage-python client, HTTP transport with a bearer token, against the live server."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
import requests
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset, schema_dataset
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

from lineage.models import ColumnEdge, Edge, Event, Run as StoredRun
from identity.roles import Role
from portal.testing.personas import token_for

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"


def client_for(live_server, token: str) -> OpenLineageClient:
    config = HttpConfig(url=live_server.url, endpoint="api/v1/lineage", auth=ApiKeyTokenProvider({"apiKey": token}), retry={"total": 0})
    return OpenLineageClient(transport=HttpTransport(config))


@pytest.mark.django_db(transaction=True)
def test_the_python_client_posts_run_events_with_column_lineage(live_server):
    client = client_for(live_server, token_for("etl_bot", Role("provider", "finance")))
    run = Run(runId=str(uuid.uuid4()))
    job = Job(namespace="airflow", name="crm_to_raw.load_customers")
    source = InputDataset(namespace="postgres://crm.internal:5432", name="crm.public.customers")
    column_facet = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={"email": column_lineage_dataset.Fields(inputFields=[
            column_lineage_dataset.InputField(namespace=source.namespace, name=source.name, field="email_address")
        ])}
    )
    schema = schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(name="email", type="string")])
    target = OutputDataset(namespace="s3://landing", name="crm/customers", facets={"columnLineage": column_facet, "schema": schema})
    now = datetime.now(timezone.utc).isoformat()
    client.emit(RunEvent(eventType=RunState.START, eventTime=now, run=run, job=job, producer=PRODUCER, inputs=[source], outputs=[target]))
    client.emit(RunEvent(eventType=RunState.COMPLETE, eventTime=datetime.now(timezone.utc).isoformat(), run=run, job=job, producer=PRODUCER, inputs=[source], outputs=[target]))

    assert Event.objects.count() == 2
    edge = Edge.objects.get()
    assert (edge.source.name, edge.target.name, edge.job.name) == ("crm.public.customers", "crm/customers", "crm_to_raw.load_customers")
    assert list(ColumnEdge.objects.values_list("source_column", "target_column")) == [("email_address", "email")]
    assert [s.state for s in StoredRun.objects.get().states.all()] == ["START", "COMPLETE"]
    assert edge.target.hub == "finance"  # tied to the posting provider's hub


@pytest.mark.django_db(transaction=True)
def test_a_consumer_token_is_refused(live_server):
    client = client_for(live_server, token_for("reader", Role("consumer", "finance")))
    event = RunEvent(eventType=RunState.START, eventTime=datetime.now(timezone.utc).isoformat(), run=Run(runId=str(uuid.uuid4())),
                     job=Job(namespace="x", name="y"), producer=PRODUCER)
    with pytest.raises(requests.HTTPError, match="403"):
        client.emit(event)
    assert Event.objects.count() == 0
