"""The local engine: DuckDB over the lake's real S3 objects, for the embedded mode and the tests.

Each run builds a fresh in-memory DuckDB:
- catalog ``definer`` holds every relation in full: base tables as the Arrow data read from S3,
  views as their Glue view text translated from Athena's dialect (a view reads its sources with
  its definer's rights, as Athena's views do);
- the main catalog holds what the role may read: per relation a view of the columns Lake Formation
  grants it (identity.roles.readable_columns). The user's SQL, translated by sqlglot, runs there,
  so a column outside the grant is "not found" exactly as under Lake Formation.
File access is switched off inside DuckDB: a query reads catalog tables, never the machine's files.
"""

from __future__ import annotations

import datetime
import decimal
import math
import threading
import time
import uuid
from typing import Any

import duckdb
from django.db import connections
from sqlglot import exp

from catalog.models import Table
from identity.roles import Role, readable_columns
from lineage.sql import ViewSqlError, view_text
from portal import aws
from portal import lake_permissions
from queries import lake_files
from queries.engines import Limits, Outcome, QueryCancelled, ShouldStop, table_for
from queries.sql import (
    DIALECT,
    QueryError,
    QueryRefused,
    columns_named,
    pinned_values,
    read_statement,
    tables_read,
    to_duckdb,
)

DEFINER = "definer"
_WATCH_SECONDS = 0.2


def jsonable(value: Any) -> Any:
    """A result value as JSON can carry it (dates ISO, decimals as numbers, bytes as text, NaN as text)."""
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON (and PostgreSQL's jsonb) has no NaN or infinity
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class LocalEngine:
    """One run (a query or a preview) under ``role``; not reusable across runs."""

    def __init__(self, role: Role, limits: Limits, *, should_stop: ShouldStop | None = None) -> None:
        self.role = role
        self.principal = aws.role_arn_for(role)
        self.limits = limits
        self.should_stop = should_stop
        self.deadline = time.monotonic() + limits.time_limit_seconds
        self.bytes_scanned = 0
        self.stopped_for = ""
        self._grants: dict[tuple[str, str], list[Any]] | None = None
        self._in_definer: dict[int, list[str]] = {}
        self._exposed: dict[int, list[str]] = {}
        self.db = duckdb.connect(config={"enable_external_access": False})
        self.db.execute(f"ATTACH ':memory:' AS {DEFINER}")

    # --- public entry points -------------------------------------------------------------

    def run(self, sql: str) -> Outcome:
        """Run one Athena SELECT; raises QueryRefused / QueryError / QueryCancelled."""
        statement = read_statement(sql)
        tables = [table_for(self.role, ref) for ref in tables_read(statement)]
        mentioned = columns_named(statement)
        pinned = pinned_values(statement)
        # A view reads its sources in full, so with one in the query every table is read in full too.
        read_all = "*" in mentioned or any(t.is_view for t in tables)
        with self._watched():
            for table in tables:
                needed = None if read_all else mentioned
                self._expose(table, needed, pinned)
            self._refuse_masked(tables, mentioned)
            outcome = self._fetch(to_duckdb(statement))
        outcome.reads = {t.pk: self._read_columns(t, mentioned) for t in tables}
        return outcome

    def preview(self, table: Table, rows: int, partition: dict[str, str] | None = None) -> tuple[Outcome, list[str]]:
        """The first ``rows`` rows of a table (of one partition), every column listed and the ones
        the role may not read masked (None); returns the outcome and the masked column names."""
        names = self._column_names(table)
        with self._watched():
            readable = self._expose(table, None, {k.lower(): {v} for k, v in (partition or {}).items()},
                                    row_limit=None if table.is_view else rows)
            if readable:
                select = ", ".join(_quote(c) for c in readable)
                sql = f"SELECT {select} FROM {_quote(table.database_name)}.{_quote(table.name)} LIMIT {int(rows)}"
                fetched = self._fetch(sql)
            else:
                fetched = Outcome(columns=[], rows=[])
        index = {c: i for i, c in enumerate(readable)}
        fetched.rows = [[row[index[c]] if c in index else None for c in names] for row in fetched.rows]
        fetched.columns = names
        fetched.reads = {table.pk: readable}
        return fetched, [c for c in names if c not in index]

    # --- which tables and columns -----------------------------------------------------------

    @staticmethod
    def _column_names(table: Table) -> list[str]:
        return [c.name for c in table.columns.order_by("is_partition_key", "position")]

    def _readable(self, table: Table) -> list[str]:
        if self._grants is None:
            self._grants = lake_permissions.table_grants()
        names = self._column_names(table)
        allowed = readable_columns(self.role, self.principal, names,
                                   lake_permissions.grants_on(self._grants, table.database_name, table.name))
        return [n for n in names if n in allowed]

    def _refuse_masked(self, tables: list[Table], mentioned: set[str]) -> None:
        exposed = {c.lower() for t in tables for c in self._exposed.get(t.pk, [])}
        for table in tables:
            for name in self._column_names(table):
                if name.lower() in mentioned and name.lower() not in exposed:
                    raise QueryError(f"Your role may not read column {name} of {table.qualified_name} "
                                     "(Lake Formation grants it no SELECT on that column).")

    def _read_columns(self, table: Table, mentioned: set[str]) -> list[str]:
        exposed = self._exposed.get(table.pk, [])
        return exposed if "*" in mentioned else [c for c in exposed if c.lower() in mentioned]

    # --- building the DuckDB relations ------------------------------------------------------

    def _expose(self, table: Table, needed: set[str] | None, pinned: dict[str, set[str]],
                row_limit: int | None = None) -> list[str]:
        """Make ``db.table`` readable in the main catalog with the role's columns; returns them."""
        if table.pk in self._exposed:
            return self._exposed[table.pk]
        readable = self._readable(table)
        if not readable:
            raise QueryError(f"Your role may not read any column of {table.qualified_name} "
                             "(Lake Formation grants it no SELECT).")
        wanted = readable if needed is None else [c for c in readable if c.lower() in needed] or readable[:1]
        self._define(table, wanted, pinned, row_limit)
        self.db.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(table.database_name)}")
        select = ", ".join(_quote(c) for c in readable if c in self._in_definer[table.pk])
        self.db.execute(f"CREATE VIEW {_quote(table.database_name)}.{_quote(table.name)} AS SELECT {select} "
                        f"FROM {DEFINER}.{_quote(table.database_name)}.{_quote(table.name)}")
        self._exposed[table.pk] = [c for c in readable if c in self._in_definer[table.pk]]
        return self._exposed[table.pk]

    def _define(self, table: Table, wanted: list[str], pinned: dict[str, set[str]],
                row_limit: int | None = None) -> None:
        """Put the table in full (or ``wanted`` of its columns) into the definer catalog."""
        if table.pk in self._in_definer:
            return
        self.db.execute(f"CREATE SCHEMA IF NOT EXISTS {DEFINER}.{_quote(table.database_name)}")
        target = f"{DEFINER}.{_quote(table.database_name)}.{_quote(table.name)}"
        if table.is_view:
            self._define_view(table, target)
            self._in_definer[table.pk] = self._column_names(table)
            return
        keys = list(table.columns.filter(is_partition_key=True).order_by("position").values_list("name", flat=True))
        spec = lake_files.TableFiles(
            qualified_name=table.qualified_name, location=table.location, format=table.format,
            columns=[c for c in self._column_names(table) if c not in keys], partition_keys=keys,
            has_header=str(table.parameters.get("skip.header.line.count", "0")) != "0" or table.format == "csv",
        )
        parts = None
        if keys:
            parts = lake_files.pick_partitions(lake_files.partitions(table.database_name, table.name), keys, pinned)
        data, scanned = lake_files.read_table(spec, wanted, parts, check=self._check, row_limit=row_limit,
                                              max_bytes=self.limits.max_bytes_scanned - self.bytes_scanned)
        self.bytes_scanned += scanned
        arrow_name = f"arrow_{table.pk}"
        self.db.register(arrow_name, data)
        self.db.execute(f"CREATE VIEW {target} AS SELECT * FROM {arrow_name}")
        self._in_definer[table.pk] = wanted

    def _define_view(self, table: Table, target: str) -> None:
        try:
            statement = read_statement(view_text(table.view_sql))
        except (ViewSqlError, QueryRefused) as exc:
            raise QueryError(f"The view {table.qualified_name} cannot be read: {exc}") from None
        for ref in tables_read(_with_default_database(statement, table.database_name)):
            source = (Table.objects.live().filter(catalog_id=table.catalog_id, database_name__iexact=ref.database,
                                                  name__iexact=ref.name).first())
            if source is None:
                raise QueryError(f"The view {table.qualified_name} reads {ref.qualified_name}, which is not in the catalog.")
            self._define(source, self._column_names(source), {})

        def to_definer(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Table) and node.name and not (not node.db and node.name.lower() in ctes):
                node = node.copy()
                node.set("db", exp.to_identifier(node.db or table.database_name))
                node.set("catalog", exp.to_identifier(DEFINER))
            return node

        ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
        try:
            self.db.execute(f"CREATE VIEW {target} AS {statement.transform(to_definer).sql(dialect='duckdb')}")
        except duckdb.Error as exc:
            raise QueryError(f"The view {table.qualified_name} cannot be built locally: {exc}") from None

    # --- running, limits and cancel ------------------------------------------------------------

    def _check(self) -> None:
        if self.stopped_for == "cancel" or (self.should_stop is not None and self.should_stop()):
            raise QueryCancelled()
        if time.monotonic() > self.deadline:
            raise QueryError(self._time_message())

    def _time_message(self) -> str:
        return (f"The query ran longer than the limit of {self.limits.time_limit_seconds:g} s "
                "(QUERY_TIME_LIMIT_SECONDS) and was stopped.")

    def _watched(self) -> "_Watch":
        return _Watch(self)

    def _fetch(self, sql: str) -> Outcome:
        try:
            cursor = self.db.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            rows = cursor.fetchmany(self.limits.max_rows + 1)
        except duckdb.InterruptException:
            if self.stopped_for == "cancel":
                raise QueryCancelled() from None
            raise QueryError(self._time_message()) from None
        except duckdb.Error as exc:
            raise QueryError(str(exc)) from None
        truncated = len(rows) > self.limits.max_rows
        return Outcome(columns=columns, rows=[[jsonable(v) for v in row] for row in rows[:self.limits.max_rows]],
                       truncated=truncated, bytes_scanned=self.bytes_scanned)


class _Watch:
    """A thread that interrupts DuckDB when the time limit passes or the user cancels."""

    def __init__(self, engine: LocalEngine) -> None:
        self.engine = engine
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True, name="query-watch")

    def __enter__(self) -> "_Watch":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()

    def _watch(self) -> None:
        engine = self.engine
        try:
            while not self.done.wait(_WATCH_SECONDS):
                if time.monotonic() > engine.deadline:
                    engine.stopped_for = "time"
                elif engine.should_stop is not None and engine.should_stop():
                    engine.stopped_for = "cancel"
                if engine.stopped_for:
                    engine.db.interrupt()
                    return
        finally:
            connections.close_all()  # this thread's own: should_stop may have opened one


def _with_default_database(statement: exp.Expr, database: str) -> exp.Expr:
    """Unqualified table names of a view's SQL read the view's own database (as Athena's views do)."""
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}

    def qualify(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and node.name and not node.db and node.name.lower() not in ctes:
            node = node.copy()
            node.set("db", exp.to_identifier(database))
        return node

    return statement.transform(qualify)


__all__ = ["DIALECT", "LocalEngine", "jsonable"]
