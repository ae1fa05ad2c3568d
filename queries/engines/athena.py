"""The Athena engine: the query runs in Athena with the STS credentials of the user's role (so Lake
Formation decides what it reads) in the hub's workgroup, which the portal creates when missing with
its result location and bytes-scanned cutoff (QUERY_MAX_BYTES_SCANNED)."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings

from catalog.models import Table
from identity.roles import Role
from portal import aws
from queries.engines import Limits, Outcome, QueryCancelled, ShouldStop, table_for
from queries.engines.local import jsonable
from queries.sql import QueryError, columns_named, read_statement, tables_read

POLL_SECONDS = 0.5
_DONE = {"SUCCEEDED", "FAILED", "CANCELLED"}


def workgroup_name(role: Role) -> str:
    return f"{settings.QUERY_WORKGROUP_PREFIX}{role.hub or 'admin'}"


def ensure_workgroup(role: Role, limits: Limits, client: Any = None) -> str:
    """The role's hub workgroup, created (with the portal's own credentials) if missing; returns its name."""
    athena = client or aws.client("athena")
    name = workgroup_name(role)
    try:
        if athena.get_work_group(WorkGroup=name).get("WorkGroup"):
            return name
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "InvalidRequestException":
            raise
    athena.create_work_group(Name=name, Description=f"Data Hub Portal queries of hub {role.hub or 'admin'}",
                             Configuration={
                                 "ResultConfiguration": {
                                     "OutputLocation": f"s3://{settings.QUERY_RESULTS_BUCKET}/{role.hub or 'admin'}/"},
                                 "EnforceWorkGroupConfiguration": True,
                                 "PublishCloudWatchMetricsEnabled": True,
                                 "BytesScannedCutoffPerQuery": max(limits.max_bytes_scanned, 10 * 1024**2),
                             })
    return name


class AthenaEngine:
    def __init__(self, role: Role, username: str, limits: Limits, *, should_stop: ShouldStop | None = None) -> None:
        self.role = role
        self.username = username
        self.limits = limits
        self.should_stop = should_stop

    def run(self, sql: str) -> Outcome:
        statement = read_statement(sql)
        tables = [table_for(self.role, ref) for ref in tables_read(statement)]
        mentioned = columns_named(statement)
        outcome = self._execute(sql)
        outcome.reads = {t.pk: [c.name for c in t.columns.all() if "*" in mentioned or c.name.lower() in mentioned]
                         for t in tables}
        return outcome

    def preview(self, table: Table, rows: int, partition: dict[str, str] | None = None) -> tuple[Outcome, list[str]]:
        """Athena returns only the columns Lake Formation lets the role read: the others are masked."""
        where = " AND ".join(f"\"{k}\" = '{v.replace(chr(39), chr(39) * 2)}'" for k, v in (partition or {}).items())
        sql = f'SELECT * FROM "{table.database_name}"."{table.name}"' + (f" WHERE {where}" if where else "") \
            + f" LIMIT {int(rows)}"
        fetched = self._execute(sql)
        names = [c.name for c in table.columns.order_by("is_partition_key", "position")]
        index = {c: i for i, c in enumerate(fetched.columns)}
        fetched.rows = [[row[index[c]] if c in index else None for c in names] for row in fetched.rows]
        fetched.columns = names
        fetched.reads = {table.pk: [c for c in names if c in index]}
        return fetched, [c for c in names if c not in index]

    def _execute(self, sql: str) -> Outcome:
        workgroup = ensure_workgroup(self.role, self.limits)
        athena = aws.client_for_user("athena", self.role, self.username)
        execution_id = athena.start_query_execution(QueryString=sql, WorkGroup=workgroup)["QueryExecutionId"]
        deadline = time.monotonic() + self.limits.time_limit_seconds
        while True:
            execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
            state = execution["Status"]["State"]
            if state in _DONE:
                break
            if self.should_stop is not None and self.should_stop():
                athena.stop_query_execution(QueryExecutionId=execution_id)
                raise QueryCancelled()
            if time.monotonic() > deadline:
                athena.stop_query_execution(QueryExecutionId=execution_id)
                raise QueryError(f"The query ran longer than the limit of {self.limits.time_limit_seconds:g} s "
                                 "(QUERY_TIME_LIMIT_SECONDS) and was stopped.")
            time.sleep(POLL_SECONDS)
        if state == "CANCELLED":
            raise QueryCancelled()
        if state == "FAILED":
            raise QueryError(execution["Status"].get("StateChangeReason") or "Athena failed the query.")
        columns: list[str] = []
        rows: list[list[Any]] = []
        for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id):
            result = page["ResultSet"]
            columns = columns or [c["Name"] for c in result.get("ResultSetMetadata", {}).get("ColumnInfo", [])]
            for row in result.get("Rows", []):
                values = [d.get("VarCharValue") for d in row.get("Data", [])]
                if not rows and values == columns:
                    continue  # Athena repeats the header as the first row of a SELECT
                rows.append([jsonable(v) for v in values])
            if len(rows) > self.limits.max_rows:
                break
        return Outcome(columns=columns, rows=rows[:self.limits.max_rows], truncated=len(rows) > self.limits.max_rows,
                       bytes_scanned=int(execution.get("Statistics", {}).get("DataScannedInBytes", 0)),
                       execution_id=execution_id)
