"""Reading a user's Athena SQL before it runs (pure: no ORM, no I/O).

``read_statement`` refuses anything but one SELECT (or WITH … SELECT) with a clear reason and the
position of a syntax error; the helpers list the tables it reads, the partition values it pins and
its DuckDB translation for the local engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

DIALECT = "athena"


class QueryError(Exception):
    """A query that cannot run; ``str()`` is the message shown to the user."""


class QueryRefused(QueryError):
    """A statement the portal does not run (not a query, several statements, a syntax error)."""


@dataclass(frozen=True)
class TableRef:
    database: str
    name: str

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.name}"


def read_statement(sql: str) -> exp.Query:
    """The parsed query; raises QueryRefused unless ``sql`` is exactly one SELECT/WITH statement."""
    if not sql.strip():
        raise QueryRefused("Write a SELECT statement.")
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" at line {first.get('line')}, column {first.get('col')}" if first.get("line") else ""
        raise QueryRefused(f"Syntax error{where}: {first.get('description') or exc}") from None
    except (SqlglotError, RecursionError, ValueError) as exc:
        # Whatever the text, the answer is a refusal with the parser's reason, never a 500.
        raise QueryRefused(f"Syntax error: {exc}") from None
    if len(statements) != 1:
        raise QueryRefused("Run one statement at a time.")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        kind = statement.key.upper()
        raise QueryRefused(f"Only SELECT and WITH queries may run here, not {kind}: the portal reads the lake, "
                           "it never changes it.")
    return statement


def tables_read(statement: exp.Expr) -> list[TableRef]:
    """The catalog tables a query names (CTE names excluded), in order of appearance, without repeats."""
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    found: list[TableRef] = []
    for table in statement.find_all(exp.Table):
        if not table.name:
            raise QueryRefused("Read catalog tables (DATABASE.TABLE), not files or table functions.")
        if not table.db and table.name.lower() in ctes:
            continue
        if not table.db:
            raise QueryRefused(f"Name the table as DATABASE.TABLE: {table.name}.")
        ref = TableRef(table.db.lower(), table.name.lower())
        if ref not in found:
            found.append(ref)
    return found


def columns_named(statement: exp.Expr) -> set[str]:
    """Lower-case names of the columns a query mentions ("*" when it selects a star)."""
    names = {c.name.lower() for c in statement.find_all(exp.Column) if c.name}
    if any(True for _ in statement.find_all(exp.Star)):
        names.add("*")
    return names


def pinned_values(statement: exp.Expr) -> dict[str, set[str]]:
    """Column → the literal values a query pins it to (``col = 'v'`` or ``col IN ('v', …)``), for partition
    pruning: a partition whose value for a pinned key is not among them holds no row the query keeps.

    Only conditions every row must meet count (ANDed at the top of the outer SELECT's WHERE, which
    reads a single table), so pruning never drops a row a subquery or another table needed.
    """
    pinned: dict[str, set[str]] = {}
    where = statement.args.get("where") if isinstance(statement, exp.Select) else None
    if where is None or len(tables_read(statement)) != 1 or any(True for _ in statement.find_all(exp.Subquery)):
        return pinned
    for condition in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        if isinstance(condition, exp.EQ):
            column, value = condition.this, condition.expression
            if isinstance(value, exp.Column):
                column, value = value, column
            if isinstance(column, exp.Column) and isinstance(value, exp.Literal):
                pinned.setdefault(column.name.lower(), set()).add(value.this)
        elif isinstance(condition, exp.In) and isinstance(condition.this, exp.Column):
            values = condition.expressions
            if values and all(isinstance(v, exp.Literal) for v in values):
                pinned.setdefault(condition.this.name.lower(), set()).update(v.this for v in values)
    return pinned


def to_duckdb(statement: exp.Expr) -> str:
    """The query in DuckDB's dialect, catalog prefixes (``awsdatacatalog.db.t``) dropped."""
    def drop_catalog(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and node.args.get("catalog"):
            node = node.copy()
            node.set("catalog", None)
        return node

    return statement.transform(drop_catalog).sql(dialect="duckdb")
