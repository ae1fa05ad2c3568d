"""Subscribers really receive new-data messages over SNS, and see them in their portal feed."""

from __future__ import annotations

import json

from catalog.signals import partitions_added
from catalog.models import Column
from portal import aws
from workspaces.notifications import ensure_dataset_topic, publish_new_data, topic_name


def make_queue(name: str = "finance-new-data") -> tuple[str, str]:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def received(queue_url: str) -> list[dict]:
    messages = aws.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [json.loads(json.loads(m["Body"])["Message"]) for m in messages.get("Messages", [])]


def test_an_sqs_subscriber_receives_one_message_per_new_data_event(aws_endpoint, lake, consumer):
    queue_url, queue_arn = make_queue()
    created = consumer.post("/api/v1/subscriptions", {"dataset": "finance_curated.invoices", "protocol": "sqs",
                                                      "endpoint": queue_arn}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["subscription_arn"].startswith(ensure_dataset_topic("finance_curated.invoices") + ":")

    publish_new_data("finance_curated.invoices", partition="year=2024/month=05", rows=1200, source="ingestion")

    (message,) = received(queue_url)
    assert message["dataset"] == "finance_curated.invoices"
    assert message["partition"] == "year=2024/month=05"
    assert message["rows"] == 1200 and message["source"] == "ingestion" and message["time"]
    feed = consumer.get("/api/v1/notifications").json()
    assert feed["count"] == 1
    assert feed["results"][0]["dataset"] == "finance_curated.invoices" and feed["results"][0]["rows"] == 1200


def test_new_partitions_from_the_catalog_sync_are_announced_in_one_message(aws_endpoint, lake, consumer):
    invoices = lake["invoices"]
    Column.objects.create(table=invoices, name="year", type="string", position=0, is_partition_key=True)
    Column.objects.create(table=invoices, name="month", type="string", position=1, is_partition_key=True)
    queue_url, queue_arn = make_queue()
    consumer.post("/api/v1/subscriptions", {"dataset": "finance_curated.invoices", "protocol": "sqs",
                                            "endpoint": queue_arn}, format="json")

    partitions_added.send(sender=None, table_id=invoices.pk, partitions=[
        {"values": ["2024", "05"], "location": "s3://datahub-lake/finance_curated/invoices/year=2024/month=05/"},
        {"values": ["2024", "06"], "location": "s3://datahub-lake/finance_curated/invoices/year=2024/month=06/"},
    ])

    (message,) = received(queue_url)
    assert message["partition"] == "year=2024/month=05, year=2024/month=06"
    assert message["source"] == "catalog-sync"


def test_unsubscribing_removes_the_sns_subscription(aws_endpoint, lake, consumer):
    queue_url, queue_arn = make_queue()
    subscription = consumer.post("/api/v1/subscriptions", {"dataset": "shared.fx_rates", "protocol": "sqs",
                                                           "endpoint": queue_arn}, format="json").json()
    assert consumer.delete(f"/api/v1/subscriptions/{subscription['id']}").status_code == 204

    topic = ensure_dataset_topic("shared.fx_rates")
    assert aws.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    publish_new_data("shared.fx_rates")
    assert received(queue_url) == []
    assert consumer.get("/api/v1/subscriptions").json()["results"] == []


def test_email_subscriptions_are_made_on_the_datasets_topic(aws_endpoint, lake, consumer):
    response = consumer.post("/api/v1/subscriptions", {"dataset": "shared.fx_rates", "protocol": "email",
                                                       "endpoint": "ana@example.com"}, format="json")
    assert response.status_code == 201
    topic = ensure_dataset_topic("shared.fx_rates")
    endpoints = [s["Endpoint"] for s in aws.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]]
    assert endpoints == ["ana@example.com"]


def test_bad_subscriptions_are_refused_clearly(aws_endpoint, lake, consumer, marketing):
    cases = [
        ({"dataset": "shared.fx_rates", "protocol": "sqs", "endpoint": "not-an-arn"}, 400, "SQS queue ARN"),
        ({"dataset": "shared.fx_rates", "protocol": "email", "endpoint": "nobody"}, 400, "e-mail"),
        ({"dataset": "shared.nothing", "protocol": "email", "endpoint": "a@example.com"}, 404, "not found"),
    ]
    for body, status, text in cases:
        response = consumer.post("/api/v1/subscriptions", body, format="json")
        assert response.status_code == status and text in response.json()["error"], response.content
    hidden = marketing.post("/api/v1/subscriptions", {"dataset": "finance_curated.invoices", "protocol": "email",
                                                      "endpoint": "m@example.com"}, format="json")
    assert hidden.status_code == 404


def test_only_subscribers_get_the_notification_in_their_feed(aws_endpoint, lake, consumer, marketing):
    consumer.post("/api/v1/subscriptions", {"dataset": "shared.fx_rates", "protocol": "email",
                                            "endpoint": "ana@example.com"}, format="json")
    publish_new_data("shared.fx_rates", rows=10)
    assert consumer.get("/api/v1/notifications").json()["count"] == 1
    assert marketing.get("/api/v1/notifications").json()["count"] == 0


def test_topic_names_are_valid_sns_names_even_for_odd_or_long_dataset_names():
    assert topic_name("sales.orders") == "datahub-new-data-sales--orders"
    long_name = topic_name("db." + "t" * 300)
    assert len(long_name) <= 256 and long_name != topic_name("db." + "t" * 299)
    assert topic_name("my db.ta$ble") == "datahub-new-data-my-db--ta-ble"


def test_a_catalog_sync_that_finds_new_partitions_sends_subscribers_one_message(
        aws_endpoint, consumer, django_capture_on_commit_callbacks):
    from catalog.services.partitions import sync_partitions
    from catalog.services.sync import ensure_catalogs, full_sync, refresh_tables
    from catalog.tests import sync_glue as glue

    glue.create_database("finance_curated", hub="finance", visibility="public")
    glue.create_table("finance_curated", "payments", partition_keys=["dt"])
    glue.add_partitions("finance_curated", "payments", [["2026-11-25"]])
    (catalog,) = ensure_catalogs()
    with django_capture_on_commit_callbacks(execute=True):
        full_sync(catalog)
        sync_partitions(catalog)  # the pass after the full sync mirrors the partition already there
    queue_url, queue_arn = make_queue()
    consumer.post("/api/v1/subscriptions", {"dataset": "finance_curated.payments", "protocol": "sqs",
                                            "endpoint": queue_arn}, format="json")

    glue.add_partitions("finance_curated", "payments", [["2026-11-26"], ["2026-11-27"]])
    with django_capture_on_commit_callbacks(execute=True):
        refresh_tables(catalog, [("finance_curated", "payments")])  # as after a Glue change event

    (message,) = received(queue_url)
    assert message["dataset"] == "finance_curated.payments"
    assert set(message["partition"].split(", ")) == {"dt=2026-11-26", "dt=2026-11-27"}
