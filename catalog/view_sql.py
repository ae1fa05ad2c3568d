"""View SQL with the names a role may not see masked (pure: no ORM; the caller says what is hidden).

A public view may read hub-only tables; its SQL text would name them and their columns to
every role. ``mask_view_sql`` rewrites the parsed query: each hidden table becomes
``hidden.hidden_table_N`` (aliases kept, so the query still reads), qualifiers naming it follow,
and the hidden columns become ``hidden_column_N``. Comments are dropped (they may name anything).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

HIDDEN_DATABASE = "hidden"


def mask_view_sql(sql: str, *, default_database: str, hidden_tables: set[tuple[str, str]],
                  hidden_columns: set[str], dialect: str = "athena") -> str | None:
    """The query with hidden tables and columns renamed; None when it cannot be parsed.

    ``hidden_tables``: lower-case (database, table) pairs; ``hidden_columns``: lower-case names.
    """
    try:
        parsed = sqlglot.parse_one(sql, read=dialect)
    except SqlglotError:
        return None
    if parsed is None:
        return None
    tables: dict[tuple[str, str], str] = {}
    by_name: dict[str, str] = {}
    columns: dict[str, str] = {}

    def table_label(key: tuple[str, str]) -> str:
        if key not in tables:
            tables[key] = f"hidden_table_{len(tables) + 1}"
        return tables[key]

    def column_label(name: str) -> str:
        if name not in columns:
            columns[name] = f"hidden_column_{len(columns) + 1}"
        return columns[name]

    # Tables first, so qualifiers (table.column) can be mapped whatever order the tree is walked in.
    for table in parsed.find_all(exp.Table):
        key = ((table.db or default_database).lower(), table.name.lower())
        if table.name and key in hidden_tables:
            by_name[table.name.lower()] = table_label(key)

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and node.name:
            key = ((node.db or default_database).lower(), node.name.lower())
            if key in hidden_tables:
                return exp.Table(this=exp.to_identifier(table_label(key)), db=exp.to_identifier(HIDDEN_DATABASE),
                                 alias=node.args.get("alias"))
        if isinstance(node, exp.Column):
            qualifier = node.table.lower()
            name = node.name.lower()
            changed = node.copy()
            if qualifier in by_name:
                changed.set("table", exp.to_identifier(by_name[qualifier]))
                changed.set("db", None)
            if name in hidden_columns and not isinstance(node.this, exp.Star):
                changed.set("this", exp.to_identifier(column_label(name)))
            return changed
        return node

    try:
        return parsed.transform(rewrite).sql(dialect=dialect, pretty=True, comments=False)
    except SqlglotError:
        return None
