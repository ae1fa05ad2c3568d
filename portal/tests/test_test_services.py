"""The real services the suite relies on answer: PostgreSQL, Redis (Celery), osmem."""

import pytest
from celery import shared_task
from opensearchpy import OpenSearch

from catalog.models import GlueCatalog


@shared_task
def _add(a: int, b: int) -> int:
    return a + b


def test_osmem_clone_is_a_working_opensearch(search):
    client = OpenSearch(hosts=[search])
    client.index(index="probe", id="1", body={"name": "orders"}, refresh=True)
    assert client.count(index="probe")["count"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_tasks_from_redis(celery_worker):
    GlueCatalog.objects.create(account_id="123456789012", region="eu-central-1")
    assert _add.delay(2, 3).get(timeout=20) == 5
