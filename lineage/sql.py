"""Table- and column-level lineage of a view from its SQL, with sqlglot (pure, no ORM).

Glue stores Athena views as ``/* Presto View: <base64 JSON> */``; the JSON's
``originalSql`` is the query. ``view_lineage`` returns the tables the view
reads and, per output column, the source columns it is computed from.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import build_scope
from sqlglot.schema import ensure_schema

_PRESTO_VIEW = re.compile(r"^\s*/\*\s*Presto View:\s*(?P<payload>[A-Za-z0-9+/=\s]+)\*/\s*$")

# {database: {table: {column: type}}}: what the catalog knows, so SELECT * expands.
Schema = dict[str, dict[str, dict[str, str]]]


class ViewSqlError(ValueError):
    """The SQL could not be parsed into lineage (reason in the message)."""


@dataclass(frozen=True)
class ColumnSource:
    database: str
    table: str
    column: str
    target_column: str
    transformation: str


@dataclass
class ViewLineage:
    sources: set[tuple[str, str]] = field(default_factory=set)
    columns: list[ColumnSource] = field(default_factory=list)


def view_text(view_sql: str) -> str:
    """The SQL of a view as stored by Glue: Presto/Athena views are wrapped in base64 JSON."""
    match = _PRESTO_VIEW.match(view_sql)
    if not match:
        return view_sql
    try:
        payload = json.loads(base64.b64decode(match["payload"]))
        return str(payload["originalSql"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ViewSqlError(f"unreadable Presto view payload: {exc}") from None


def _transformation(expression: exp.Expression) -> str:
    inner = expression.unalias() if isinstance(expression, exp.Alias) else expression
    if isinstance(inner, exp.Column):
        return "DIRECT/IDENTITY"
    if inner.find(exp.AggFunc):
        return "DIRECT/AGGREGATION"
    return "DIRECT/TRANSFORMATION"


def referenced_tables(view_sql: str, *, default_database: str, dialect: str = "athena") -> set[tuple[str, str]]:
    """(database, table) pairs a view reads, before any schema is known (to load just their columns)."""
    try:
        parsed = sqlglot.parse_one(view_text(view_sql), read=dialect)
    except SqlglotError as exc:
        raise ViewSqlError(f"cannot parse view SQL: {exc}") from None
    ctes = {cte.alias_or_name for cte in parsed.find_all(exp.CTE)}
    return {
        (t.db or default_database, t.name)
        for t in parsed.find_all(exp.Table)
        if t.name and (t.db or t.name not in ctes)
    }


def view_lineage(view_sql: str, *, default_database: str, schema: Schema | None = None, dialect: str = "athena") -> ViewLineage:
    """Lineage of one view. Raises ViewSqlError when the SQL cannot be read."""
    sql = view_text(view_sql)
    try:
        parsed = sqlglot.parse_one(sql, read=dialect)
    except SqlglotError as exc:
        raise ViewSqlError(f"cannot parse view SQL: {exc}") from None
    if isinstance(parsed, exp.Create):
        parsed = parsed.expression
    if not isinstance(parsed, exp.Query):
        raise ViewSqlError(f"a view must be a query, not {type(parsed).__name__}")
    # sqlglot types its schema argument as dict[str, object]; ours is the nested form it reads.
    sqlglot_schema: dict[str, object] = dict(schema or {})
    try:
        query = qualify(parsed, db=default_database, schema=sqlglot_schema, dialect=dialect, validate_qualify_columns=False)
    except SqlglotError as exc:
        raise ViewSqlError(f"cannot resolve view SQL: {exc}") from None

    result = ViewLineage()
    cte_names = {cte.alias_or_name for cte in query.find_all(exp.CTE)}
    for table in query.find_all(exp.Table):
        if table.name and not (not table.db and table.name in cte_names):
            result.sources.add((table.db or default_database, table.name))

    first_select = query.selects if isinstance(query, exp.Select) else query.find(exp.Select).selects  # type: ignore[union-attr]
    # Qualify and scope the view once for all its columns: lineage() would otherwise
    # re-qualify the whole query per column (most of a large sync's time went there).
    scope = build_scope(query)
    if scope is None:
        raise ViewSqlError("cannot resolve view SQL: no query scope")
    mapping_schema = ensure_schema(sqlglot_schema, dialect=dialect)
    seen: set[tuple[str, str, str, str]] = set()
    for projection in first_select:
        target = projection.alias_or_name
        if not target or target == "*":
            continue
        try:
            root = lineage(target, query, schema=mapping_schema, dialect=dialect, scope=scope, trim_selects=False, copy=False)
        except SqlglotError:
            continue  # one unreadable column does not lose the table-level lineage
        transformation = _transformation(root.expression)  # type: ignore[arg-type]  # sqlglot's Expr is an Expression
        for node in root.walk():
            if node.downstream or not isinstance(node.source, exp.Table):
                continue
            source = node.source
            if not source.name or (not source.db and source.name in cte_names):
                continue
            column = node.name.split(".")[-1].strip('"`')
            key = (source.db or default_database, source.name, column, target)
            if column and column != "*" and key not in seen:
                seen.add(key)
                result.columns.append(ColumnSource(*key, transformation))
    return result
