"""The generated Glue script's logic in local PySpark (tests and ``bench/ingestion.py``).

The script is rendered exactly as provisioning uploads it and executed as a module; only its Glue
entry (``glue_main``: GlueContext, job bookmarks, catalog update) is replaced: ``run`` hands the
script's own ``load_all`` a plain Spark JDBC reader (the bookmark kept as a high-water mark in a
dict, as Glue keeps it per job), a local-folder ``clear`` and a Parquet writer into a folder laid
out like the lake bucket (``<root>/<raw prefix><table>/load_date=…/``).

Needs a JDK and Debian's JDBC drivers (``libpostgresql-jdbc-java``, ``libmariadb-java``; bin/test
installs them) and ``pyspark`` from requirements.txt.
"""

from __future__ import annotations

import logging
import shutil
import types
from pathlib import Path
from typing import Any

from ingestion_wizard.aws import glue_script, provisioning
from ingestion_wizard.models import Pipeline
from ingestion_wizard.sources import ConnectionSpec

JDBC_JARS = ("/usr/share/java/postgresql.jar", "/usr/share/java/mariadb-java-client.jar")
JDBC_DRIVERS = {"postgresql": "org.postgresql.Driver", "mysql": "org.mariadb.jdbc.Driver"}
# Rows per round trip; PostgreSQL's driver otherwise holds the whole result in memory.
FETCH_SIZE = 10_000


def spark_session() -> Any:
    """One local Spark (one core) for the process: UTC everywhere, like Glue and the local executor."""
    from pyspark.sql import SparkSession

    # py4j logs its socket closing from finalizers, after pytest closed the log streams.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    missing = [jar for jar in JDBC_JARS if not Path(jar).exists()]
    if missing:
        raise RuntimeError(f"JDBC drivers missing: {missing} (bin/test installs libpostgresql-jdbc-java "
                           "and libmariadb-java)")
    return (SparkSession.builder.master("local[1]").appName("datahub-glue-script")
            .config("spark.driver.extraClassPath", ":".join(JDBC_JARS))
            .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
            .config("spark.driver.memory", "1g")
            .config("spark.sql.session.timeZone", "UTC")
            # Glue writes Parquet timestamps as microseconds adjusted to UTC, not Spark's INT96 default.
            .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
            .config("spark.sql.shuffle.partitions", "1")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate())


def job_module(p: Pipeline) -> types.ModuleType:
    """The script provisioning uploads for ``p``, executed as a module (its Glue entry not called)."""
    source = glue_script.render(p, provisioning.bucket(), provisioning.connection_name(p))
    module = types.ModuleType("datahub_glue_job")
    exec(compile(source, "job.py", "exec"), module.__dict__)  # noqa: S102 - our own generated script
    return module


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def run(spark: Any, p: Pipeline, spec: ConnectionSpec, root: Path, load_date: str,
        bookmarks: dict[str, str]) -> dict[str, int]:
    """One run of the job's logic; ``bookmarks`` ({source table: last value of its incremental
    column}) is read and advanced like Glue's job bookmark. Returns the rows written per table."""
    from pyspark.sql import functions

    job = job_module(p)
    lake = f"s3://{provisioning.bucket()}/"
    url = provisioning.JDBC_URLS[p.source_kind].format(host=spec.host, port=spec.port, database=spec.database)
    written: dict[str, int] = {}

    def local(path: str) -> Path:
        return root / path.removeprefix(lake)

    def read(table: dict[str, str]) -> Any:
        reader = (spark.read.format("jdbc").option("url", url).option("driver", JDBC_DRIVERS[p.source_kind])
                  .option("user", spec.user).option("password", spec.password).option("fetchsize", FETCH_SIZE))
        after = bookmarks.get(table["source"]) if table["incremental_column"] else None
        if after is None:
            return reader.option("dbtable", table["source"]).load()
        query = f"select * from {table['source']} where {table['incremental_column']} > {_quoted(after)}"
        return reader.option("dbtable", f"({query}) bookmarked").load()

    def clear(path: str) -> None:
        shutil.rmtree(local(path), ignore_errors=True)

    def write(frame: Any, table: dict[str, str]) -> None:
        column = table["incremental_column"]
        frame = frame.cache()  # the source is read once: written, then counted with its top value
        frame.write.mode("append").partitionBy(*job.PARTITION_KEYS).parquet(str(local(job.table_path(table))))
        top = functions.max(functions.col(column)).cast("string") if column else functions.lit(None)
        rows, highest = frame.agg(functions.count(functions.lit(1)), top).first()
        written[table["source"]] = rows
        if highest is not None:
            bookmarks[table["source"]] = highest
        frame.unpersist()

    job.load_all(read, clear, write, load_date)
    return written
