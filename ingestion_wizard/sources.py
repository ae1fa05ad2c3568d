"""Pluggable JDBC-style sources: connect, report the version, discover tables, stream rows.

Each kind is a small class behind ``Source``; ``SOURCES`` maps a kind to its lazy
import path. Errors reach the caller as ``SourceError`` carrying the driver's own
message (never the password, which no driver puts in its messages).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

CONNECT_TIMEOUT_SECONDS = 5
SYSTEM_SCHEMAS_PG = ("pg_catalog", "information_schema", "pg_toast")
PG_TEXT_TYPES = ("text", "character varying", "character", "name")
SYSTEM_SCHEMAS_MYSQL = ("information_schema", "mysql", "performance_schema", "sys")


class SourceError(Exception):
    """The source could not be reached or answered with an error; ``str()`` is the exact reason.

    ``reached_database``: a database server answered (it refused the login or the database),
    as opposed to no server, another kind of server, or a refused host."""

    def __init__(self, message: str, *, reached_database: bool = False) -> None:
        super().__init__(message)
        self.reached_database = reached_database


# Server answers to a login: wrong password / user / database (PostgreSQL SQLSTATE, MySQL error numbers).
PG_LOGIN_STATES = ("28000", "28P01", "3D000", "42501")
MYSQL_LOGIN_ERRORS = (1044, 1045, 1049, 1698)


class TableMissing(SourceError):
    """A chosen table is no longer in the source."""


class HostNotAllowed(SourceError):
    """The host is one the portal may not connect to (see ``hosts``); ``str()`` says why."""


def _vetted_address(spec: "ConnectionSpec") -> str:
    """The address to connect to for ``spec.host`` (checked by ``hosts.vet``)."""
    from ingestion_wizard import hosts

    try:
        return str(hosts.vet(spec.host, spec.port, spec.database))
    except hosts.HostRefused as exc:
        raise HostNotAllowed(str(exc)) from None


def _check_peer(spec: "ConnectionSpec", conn: Any, peer: str | None) -> None:
    """Checks the address the open connection actually reached; closes it and raises if refused."""
    from ingestion_wizard import hosts

    try:
        hosts.vet_peer(peer, spec.port, spec.database)
    except hosts.HostRefused as exc:
        conn.close()
        raise HostNotAllowed(str(exc)) from None


@dataclass(frozen=True)
class ConnectionSpec:
    kind: str
    host: str
    port: int
    database: str
    user: str
    password: str = field(repr=False)


@dataclass
class ColumnInfo:
    name: str
    source_type: str
    arrow_type: str  # one of: int64, float64, bool, string, timestamp, date, decimal, binary
    # How read_batches delivers the values: "native" Python objects, "text" (decimals as
    # strings) or "epoch_us" (timestamps as integer microseconds). Arrow casts the encoded
    # ones in C, which is what makes a load fast; the driver's Decimal/datetime objects are slow.
    wire: str = "native"


@dataclass
class TableInfo:
    schema: str
    name: str
    columns: list[ColumnInfo]

    @property
    def ref(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


class Source:
    """Interface of a source; concrete classes implement each method."""

    def __init__(self, spec: ConnectionSpec) -> None:
        self.spec = spec
        self._conn: Any = None

    # information_schema query of (schema, table, column, data_type) rows, filtered by
    # (schema, table) when describing one table; each kind maps types with ``to_arrow``.
    DESCRIBE_SQL = """select table_schema, table_name, column_name, data_type from information_schema.columns
                      where table_schema = %s and table_name = %s order by ordinal_position"""

    WIRES: dict[str, str] = {}  # arrow type -> how read_batches encodes it (see ColumnInfo.wire)

    def _connect(self) -> Any:
        raise NotImplementedError

    @staticmethod
    def to_arrow(data_type: str) -> str:
        raise NotImplementedError

    @property
    def default_schema(self) -> str:
        raise NotImplementedError

    def _rows(self, sql: str, params: tuple) -> list[tuple]:
        with self._connect().cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def test_connection(self) -> str:
        """Connects and returns the server version; raises SourceError with the exact reason."""
        return self._rows("select version()", ())[0][0]

    def list_tables(self) -> list[TableInfo]:
        raise NotImplementedError

    def describe(self, schema: str, table: str) -> TableInfo:
        """Columns of one table; raises TableMissing when it is gone."""
        found = _group_tables(self._rows(self.DESCRIBE_SQL, (schema or self.default_schema, table)), self.to_arrow,
                              self.WIRES)
        if not found:
            raise TableMissing(f"Table {schema}.{table} no longer exists in the source database.")
        return found[0]

    def read_batches(self, table: TableInfo, batch_size: int = 50_000, incremental_column: str = "",
                     after: Any = None) -> Iterator[list[tuple]]:
        """Rows of ``table`` in batches through a server-side cursor (memory stays flat)."""
        raise NotImplementedError

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pg_arrow_type(data_type: str) -> str:
    t = data_type.lower()
    if t in ("smallint", "integer", "bigint"):
        return "int64"
    if t in ("real", "double precision"):
        return "float64"
    if t == "numeric":
        return "decimal"
    if t == "boolean":
        return "bool"
    if t.startswith("timestamp"):
        return "timestamp"
    if t == "date":
        return "date"
    if t == "bytea":
        return "binary"
    return "string"


def _mysql_arrow_type(data_type: str) -> str:
    t = data_type.lower()
    if t in ("tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"):
        return "int64"
    if t in ("float", "double", "real"):
        return "float64"
    if t == "decimal":
        return "decimal"
    if t in ("datetime", "timestamp"):
        return "timestamp"
    if t == "date":
        return "date"
    if t in ("blob", "tinyblob", "mediumblob", "longblob", "binary", "varbinary", "bit"):
        return "binary"
    return "string"


class PostgresSource(Source):
    def _connect(self) -> Any:
        if self._conn is None:
            import psycopg

            address = _vetted_address(self.spec)
            try:
                # hostaddr: libpq connects to the vetted address and keeps host for TLS/authentication.
                conn = psycopg.connect(
                    host=self.spec.host.strip("[]"), hostaddr=address, port=self.spec.port,
                    dbname=self.spec.database, user=self.spec.user,
                    password=self.spec.password, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                    application_name="datahub-ingestion",
                )
            except psycopg.Error as exc:
                raise SourceError(str(exc).strip(), reached_database=exc.sqlstate in PG_LOGIN_STATES) from None
            _check_peer(self.spec, conn, conn.info.hostaddr)
            self._conn = conn
        return self._conn

    to_arrow = staticmethod(_pg_arrow_type)
    default_schema = "public"
    WIRES = {"decimal": "text", "timestamp": "epoch_us"}

    def list_tables(self) -> list[TableInfo]:
        rows = self._rows(
            """select c.table_schema, c.table_name, c.column_name, c.data_type
               from information_schema.columns c
               join information_schema.tables t using (table_schema, table_name)
               where t.table_type in ('BASE TABLE', 'VIEW') and c.table_schema <> all(%s)
               order by 1, 2, c.ordinal_position""",
            (list(SYSTEM_SCHEMAS_PG),),
        )
        return _group_tables(rows, _pg_arrow_type, self.WIRES)

    def read_batches(self, table: TableInfo, batch_size: int = 50_000, incremental_column: str = "",
                     after: Any = None) -> Iterator[list[tuple]]:
        from psycopg import sql

        def select(c: ColumnInfo) -> Any:
            ident = sql.Identifier(c.name)
            if c.wire == "text" or (c.arrow_type == "string" and c.source_type not in PG_TEXT_TYPES):
                # PostgreSQL's own text form: JSON stays JSON, UUIDs and arrays read as written.
                return sql.SQL("{}::text").format(ident)
            if c.wire == "epoch_us":
                # Naive timestamps are read as UTC, like the driver would for the lake.
                expr = "(extract(epoch from {})*1000000)::int8" if c.source_type.endswith("with time zone") \
                    else "(extract(epoch from {} at time zone 'UTC')*1000000)::int8"
                return sql.SQL(expr).format(ident)
            return ident

        conn = self._connect()
        query = sql.SQL("select {} from {}.{}").format(
            sql.SQL(", ").join(select(c) for c in table.columns),
            sql.Identifier(table.schema or "public"), sql.Identifier(table.name),
        )
        params: tuple = ()
        if incremental_column and after is not None:
            query = query + sql.SQL(" where {} > %s").format(sql.Identifier(incremental_column))
            params = (after,)
        try:
            # A named cursor is a server-side cursor: rows arrive batch by batch.
            with conn.transaction(), conn.cursor(name="datahub_ingest", binary=True) as cur:
                cur.itersize = batch_size
                cur.execute(query, params)
                while batch := cur.fetchmany(batch_size):
                    yield batch
        except Exception as exc:
            import psycopg

            if isinstance(exc, psycopg.errors.UndefinedTable):
                raise TableMissing(f"Table {table.ref} no longer exists in the source database.") from None
            if isinstance(exc, psycopg.Error):
                raise SourceError(str(exc).strip()) from None
            raise


class MySQLSource(Source):
    def _connect(self) -> Any:
        if self._conn is None:
            import pymysql

            address = _vetted_address(self.spec)
            try:
                conn = pymysql.connect(
                    host=address, port=self.spec.port, database=self.spec.database, user=self.spec.user,
                    password=self.spec.password, connect_timeout=CONNECT_TIMEOUT_SECONDS, charset="utf8mb4",
                )
            except pymysql.Error as exc:
                raise SourceError(_mysql_message(exc),
                                  reached_database=bool(exc.args) and exc.args[0] in MYSQL_LOGIN_ERRORS) from None
            sock = getattr(conn, "_sock", None)  # pymysql has no public accessor for the peer
            _check_peer(self.spec, conn, sock.getpeername()[0] if sock is not None else None)
            self._conn = conn
        return self._conn

    to_arrow = staticmethod(_mysql_arrow_type)

    @property
    def default_schema(self) -> str:
        return self.spec.database

    def list_tables(self) -> list[TableInfo]:
        rows = self._rows(
            """select table_schema, table_name, column_name, data_type from information_schema.columns
               where table_schema = %s order by 1, 2, ordinal_position""",
            (self.spec.database,),
        )
        return _group_tables(rows, _mysql_arrow_type)

    def read_batches(self, table: TableInfo, batch_size: int = 50_000, incremental_column: str = "",
                     after: Any = None) -> Iterator[list[tuple]]:
        import pymysql
        import pymysql.cursors

        def q(name: str) -> str:
            return "`" + name.replace("`", "``") + "`"

        query = "select {} from {}.{}".format(
            ", ".join(q(c.name) for c in table.columns), q(table.schema or self.spec.database), q(table.name)
        )
        params: tuple = ()
        if incremental_column and after is not None:
            query += f" where {q(incremental_column)} > %s"
            params = (after,)
        conn = self._connect()
        try:
            # SSCursor streams rows from the server instead of buffering the whole result.
            with conn.cursor(pymysql.cursors.SSCursor) as cur:
                cur.execute(query, params)
                while batch := cur.fetchmany(batch_size):
                    yield [tuple(row) for row in batch]
        except pymysql.Error as exc:
            if exc.args and exc.args[0] == 1146:
                raise TableMissing(f"Table {table.ref} no longer exists in the source database.") from None
            raise SourceError(_mysql_message(exc)) from None


def _mysql_message(exc: Exception) -> str:
    if len(exc.args) >= 2:
        return f"({exc.args[0]}) {exc.args[1]}"
    return str(exc)


def _group_tables(rows: list[tuple], to_arrow: Any, wires: dict[str, str] | None = None) -> list[TableInfo]:
    tables: dict[tuple[str, str], TableInfo] = {}
    for schema, name, column, data_type in rows:
        info = tables.setdefault((schema, name), TableInfo(schema, name, []))
        arrow_type = to_arrow(data_type)
        info.columns.append(ColumnInfo(column, data_type, arrow_type, (wires or {}).get(arrow_type, "native")))
    return list(tables.values())


SOURCES: dict[str, str] = {
    "postgresql": "ingestion_wizard.sources.PostgresSource",
    "mysql": "ingestion_wizard.sources.MySQLSource",
}


def open_source(spec: ConnectionSpec) -> Source:
    """The Source for ``spec.kind``; raises SourceError for kinds only Glue can read."""
    path = SOURCES.get(spec.kind)
    if path is None:
        raise SourceError(
            f"The portal cannot connect to {spec.kind} sources itself; the Glue job reads them through its "
            "JDBC connection once provisioned."
        )
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)(spec)
