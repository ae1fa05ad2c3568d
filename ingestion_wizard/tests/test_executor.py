"""Turning source rows into Arrow: the fast path and the column-by-column one for odd types."""

from __future__ import annotations

from decimal import Decimal

from ingestion_wizard.executor import _batch_to_arrow, arrow_schema
from ingestion_wizard.sources import ConnectionSpec, open_source
from ingestion_wizard.tests import sources


def test_uuids_json_nulls_and_long_decimals_survive_the_conversion():
    sources.ensure_pg_database()
    with sources.pg_admin(sources.SOURCE_DB) as conn:
        conn.execute("create schema if not exists odd")
        conn.execute("drop table if exists odd.things")
        conn.execute("create table odd.things (id uuid, doc jsonb, precise numeric, note text, at timestamp)")
        conn.execute("""insert into odd.things values
            ('8c6d1f0e-5b7a-4a43-9a55-0f3c2b1d9e01', '{"a": 1}', 1.1234567891234, 'x', '2026-05-01 12:00:00'),
            (null, null, null, null, null)""")
    spec = ConnectionSpec("postgresql", sources.PG_HOST, sources.PG_PORT, sources.SOURCE_DB, "postgres", "")
    with open_source(spec) as source:
        info = source.describe("odd", "things")
        schema = arrow_schema(info)
        batches = [_batch_to_arrow(batch, schema, info) for batch in source.read_batches(info, 10)]
    rows = batches[0].to_pylist()
    assert rows[0]["id"] == "8c6d1f0e-5b7a-4a43-9a55-0f3c2b1d9e01"
    assert rows[0]["doc"] == '{"a": 1}'
    assert rows[0]["precise"] == Decimal("1.123456789")  # rounded to the lake's decimal(38,9)
    assert rows[0]["at"].isoformat() == "2026-05-01T12:00:00+00:00"  # naive timestamps are read as UTC
    assert rows[1] == {"id": None, "doc": None, "precise": None, "note": None, "at": None}
