"""Real source databases for the ingestion tests and the benchmark.

PostgreSQL: database ``dh_ingestion_src`` on 127.0.0.1:5432 (trust auth, so it cannot
check passwords); MariaDB: database ``dh_ingestion_src`` on 127.0.0.1:3306 with a
user ``dh_ingest`` whose password is checked (wrong-password cases run there).
Both are separate from the portal's own database.
"""

from __future__ import annotations

import os

import psycopg
import pymysql

PG_HOST = os.environ.get("INGESTION_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("INGESTION_TEST_PG_PORT", "5432"))
MY_HOST = os.environ.get("INGESTION_TEST_MYSQL_HOST", "127.0.0.1")
MY_PORT = int(os.environ.get("INGESTION_TEST_MYSQL_PORT", "3306"))
SOURCE_DB = os.environ.get("INGESTION_TEST_SOURCE_DB", "dh_ingestion_src")
MY_USER = "dh_ingest"
MY_PASSWORD = "S3cr3t-Source-Pw!42"
# What a provider types as the PostgreSQL password (trust auth accepts anything): the
# secret-leak test searches for it everywhere.
PG_PASSWORD = "pg-Unique-Password-7731"


def pg_admin(dbname: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname=dbname, autocommit=True)


def ensure_pg_database(name: str = SOURCE_DB) -> None:
    with pg_admin() as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            conn.execute(f'create database "{name}"')


def reset_pg_orders(rows: int = 120, *, schema: str = "sales", table: str = "orders", name: str = SOURCE_DB) -> None:
    """``schema.table``: id, customer, amount numeric, active, created_at timestamptz; ``rows`` rows."""
    ensure_pg_database(name)
    with pg_admin(name) as conn:
        conn.execute(f"create schema if not exists {schema}")
        conn.execute(f"drop table if exists {schema}.{table}")
        conn.execute(
            f"""create table {schema}.{table} (id bigint primary key, customer text not null,
                amount numeric(12,2), active boolean, created_at timestamptz not null)"""
        )
        conn.execute(
            f"""insert into {schema}.{table}
                select g, 'customer-' || (g %% 97), round((g * 1.37)::numeric, 2), g %% 3 = 0,
                       timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute'
                from generate_series(1, %s) g""",
            (rows,),
        )


def drop_pg_table(schema: str, table: str, name: str = SOURCE_DB) -> None:
    with pg_admin(name) as conn:
        conn.execute(f"drop table if exists {schema}.{table}")


def my_admin(database: str | None = None) -> pymysql.Connection:
    return pymysql.connect(host=MY_HOST, port=MY_PORT, user="root", password="", database=database,
                           autocommit=True)


def reset_mysql_orders(rows: int = 50, name: str = SOURCE_DB) -> None:
    conn = my_admin()
    try:
        with conn.cursor() as cur:
            cur.execute(f"create database if not exists `{name}`")
            cur.execute(f"create user if not exists '{MY_USER}'@'%' identified by '{MY_PASSWORD}'")
            cur.execute(f"create user if not exists '{MY_USER}'@'localhost' identified by '{MY_PASSWORD}'")
            cur.execute(f"grant select on `{name}`.* to '{MY_USER}'@'%'")
            cur.execute(f"grant select on `{name}`.* to '{MY_USER}'@'localhost'")
            cur.execute(f"drop table if exists `{name}`.customers")
            cur.execute(
                f"""create table `{name}`.customers (id int primary key, name varchar(100), score double,
                    joined datetime, updated_at datetime)"""
            )
            values = ",".join(
                f"({i}, 'name-{i}', {i * 0.5}, '2026-02-01 10:00:00', '2026-03-01 00:{i % 60:02d}:00')"
                for i in range(1, rows + 1)
            )
            cur.execute(f"insert into `{name}`.customers values {values}")
    finally:
        conn.close()
