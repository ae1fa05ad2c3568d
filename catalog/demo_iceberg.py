"""A few real Apache Iceberg tables for the demo lake, written with pyiceberg into the configured S3 and Glue.

``finance_lakehouse.orders`` gets several appends and one schema change (a column added), and
``finance_lakehouse.payments`` is partitioned by payment method and sorted by time, so the dataset page's History tab has
snapshots and a schema change to show. Idempotent: tables already there are left as they are.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from django.conf import settings

from catalog.demo_lake import DatabaseSpec, _ensure_bucket, database_input
from catalog.sources.iceberg import glue_catalog

DATABASE = DatabaseSpec("finance_lakehouse", "finance", "prepared", "hub", "finance")
TABLES = ("orders", "payments")


def seed_iceberg_tables(bucket: str | None = None) -> list[str]:
    """Write the demo Iceberg tables (those missing); returns their ``database.table`` names."""
    import pyarrow as pa
    from pyiceberg.exceptions import NoSuchTableError
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.table.sorting import SortField, SortOrder
    from pyiceberg.transforms import IdentityTransform
    from pyiceberg.types import DoubleType, LongType, NestedField, StringType, TimestamptzType

    from portal import aws

    bucket = bucket or settings.LAKE_BUCKET
    _ensure_bucket(aws.client("s3"), bucket, settings.AWS_DEFAULT_REGION)
    glue = aws.client("glue")
    try:
        glue.create_database(DatabaseInput=database_input(DATABASE, bucket))
    except glue.exceptions.AlreadyExistsException:
        pass
    catalog = glue_catalog()
    location = f"s3://{bucket}/{DATABASE.hub}/{DATABASE.layer}/{DATABASE.name}"
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)

    def orders(first: int, count: int, amounts: bool = False) -> Any:
        columns: dict[str, Any] = {"order_id": pa.array(range(first, first + count), pa.int64()),
                                   "customer": pa.array([f"c{n % 7}" for n in range(first, first + count)])}
        if amounts:
            columns["amount_eur"] = pa.array([round(n * 1.5, 2) for n in range(first, first + count)])
        return pa.table(columns)

    made = []
    try:
        catalog.load_table(f"{DATABASE.name}.orders")
    except NoSuchTableError:
        table = catalog.create_table(f"{DATABASE.name}.orders", schema=orders(0, 1).schema,
                                     location=f"{location}/orders", properties={"hub": "finance"})
        for batch in range(3):
            table.append(orders(batch * 100, 100))
        with table.update_schema() as update:
            update.add_column("amount_eur", DoubleType(), doc="Order total in euro")
        table = catalog.load_table(f"{DATABASE.name}.orders")
        table.append(orders(300, 100, amounts=True))
        made.append(f"{DATABASE.name}.orders")
    try:
        catalog.load_table(f"{DATABASE.name}.payments")
    except NoSuchTableError:
        schema = Schema(NestedField(1, "payment_id", LongType(), required=False),
                        NestedField(2, "paid_at", TimestamptzType(), required=False),
                        NestedField(3, "method", StringType(), required=False))
        table = catalog.create_table(
            f"{DATABASE.name}.payments", schema=schema, location=f"{location}/payments",
            # Identity partitions: pyiceberg writes time transforms only with its optional native core.
            partition_spec=PartitionSpec(PartitionField(source_id=3, field_id=1000, transform=IdentityTransform(),
                                                        name="method")),
            sort_order=SortOrder(SortField(source_id=2, transform=IdentityTransform())))
        for day in range(2):
            table.append(pa.table({
                "payment_id": pa.array(range(day * 50, day * 50 + 50), pa.int64()),
                "paid_at": pa.array([start + timedelta(days=day, minutes=n) for n in range(50)],
                                    pa.timestamp("us", tz="UTC")),
                "method": pa.array(["card" if n % 3 else "transfer" for n in range(50)]),
            }))
        made.append(f"{DATABASE.name}.payments")
    return made
