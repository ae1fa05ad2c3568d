"""Builders for Glue catalogs in moto, shared by the sync tests (not a test module)."""

from __future__ import annotations

import base64
import json
from typing import Any

from portal import aws

ACCOUNT = "123456789012"


def glue() -> Any:
    return aws.client("glue")


def create_database(name: str, **params: str) -> None:
    glue().create_database(CatalogId=ACCOUNT, DatabaseInput={"Name": name, "Parameters": params})


def table_input(name: str, columns: list[tuple[str, str]] | None = None, *, partition_keys: list[str] = (),
                fmt: str = "parquet", **params: str) -> dict[str, Any]:
    serde = {
        "parquet": ("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"),
        "json": ("org.apache.hadoop.mapred.TextInputFormat", "org.openx.data.jsonserde.JsonSerDe"),
        "csv": ("org.apache.hadoop.mapred.TextInputFormat", "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"),
    }[fmt]
    columns = columns if columns is not None else [("id", "bigint"), ("amount", "decimal(12,2)")]
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": params,
        "PartitionKeys": [{"Name": key, "Type": "string"} for key in partition_keys],
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t, "Comment": f"the {n}"} for n, t in columns],
            "Location": f"s3://lake/{name}/",
            "InputFormat": serde[0],
            "SerdeInfo": {"SerializationLibrary": serde[1]},
        },
    }


def create_table(database: str, name: str, columns: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
    glue().create_table(CatalogId=ACCOUNT, DatabaseName=database, TableInput=table_input(name, columns, **kwargs))


def update_table(database: str, name: str, columns: list[tuple[str, str]], **kwargs: Any) -> None:
    glue().update_table(CatalogId=ACCOUNT, DatabaseName=database, TableInput=table_input(name, columns, **kwargs))


def athena_view_text(sql: str) -> str:
    payload = {"originalSql": sql, "catalog": "awsdatacatalog", "schema": "x", "columns": []}
    return "/* Presto View: " + base64.b64encode(json.dumps(payload).encode()).decode() + " */"


def create_view(database: str, name: str, sql: str) -> None:
    glue().create_table(CatalogId=ACCOUNT, DatabaseName=database, TableInput={
        "Name": name,
        "TableType": "VIRTUAL_VIEW",
        "Parameters": {"presto_view": "true"},
        "ViewOriginalText": athena_view_text(sql),
        "ViewExpandedText": "/* Presto View */",
        "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "bigint"}]},
    })


def add_partitions(database: str, name: str, values: list[list[str]]) -> None:
    glue().batch_create_partition(CatalogId=ACCOUNT, DatabaseName=database, TableName=name, PartitionInputList=[
        {"Values": v, "StorageDescriptor": {"Location": f"s3://lake/{name}/{'/'.join(v)}/"}} for v in values
    ])
