"""Provisioning makes the lake bucket own every object written into it (BucketOwnerEnforced)."""

from __future__ import annotations

import pytest

from ingestion_wizard.aws import provisioning
from ingestion_wizard.models import Pipeline
from portal import aws

pytestmark = pytest.mark.django_db


def ownership() -> list[str]:
    controls = aws.client("s3").get_bucket_ownership_controls(Bucket=provisioning.bucket())["OwnershipControls"]
    return [rule["ObjectOwnership"] for rule in controls["Rules"]]


def test_provisioning_sets_bucket_owner_enforced_on_a_lake_bucket_that_lacks_it(aws_endpoint):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=provisioning.bucket(), CreateBucketConfiguration={"LocationConstraint": "eu-central-1"},
                     ObjectOwnership="ObjectWriter")
    assert ownership() == ["ObjectWriter"]
    pipeline = Pipeline(name="orders", hub="finance", source_kind="postgresql", target_database="finance_orders")
    provisioning.ensure_s3_prefix(pipeline)
    assert ownership() == ["BucketOwnerEnforced"]
    provisioning.ensure_s3_prefix(pipeline)  # a re-run finds it set
    assert ownership() == ["BucketOwnerEnforced"]


def test_a_new_lake_bucket_is_made_bucket_owner_enforced(aws_endpoint):
    provisioning.ensure_s3_prefix(Pipeline(name="orders", hub="finance", source_kind="postgresql",
                                           target_database="finance_orders"))
    assert ownership() == ["BucketOwnerEnforced"]
