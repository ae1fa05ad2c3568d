"""The generated Glue script uses only names that exist: every awsglue import, attribute and method
it touches is resolved on the ``awsglue`` package of PyPI's ``awsglue-dev`` (AWS's Python interface
of the Glue ETL library), and no name in it is undefined (ruff's pyflakes rules)."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from ingestion_wizard.aws import glue_script, provisioning
from ingestion_wizard.models import Pipeline
from ingestion_wizard.tests import spark_job
from portal import aws

# What the awsglue methods the script chains on return (their sources: ``return DataSink(...)``,
# ``return DynamicFrame(...)``, or a delegate's such return); a chain through a method missing here
# is reported, so the table grows with the script rather than letting a name pass unchecked.
RETURNS = {
    ("GlueContext", "getSink"): ("awsglue.data_sink", "DataSink"),
    ("DynamicFrameReader", "from_options"): ("awsglue.dynamicframe", "DynamicFrame"),
    ("DynamicFrame", "fromDF"): ("awsglue.dynamicframe", "DynamicFrame"),
}
# Methods whose result the script leaves to Spark (DataFrame) or ignores.
UNTYPED_RESULTS = {("DynamicFrame", "toDF"), ("GlueContext", "purge_s3_path"), ("DataSink", "setFormat"),
                   ("DataSink", "setCatalogInfo"), ("DataSink", "writeFrame"), ("Job", "init"), ("Job", "commit")}


def _instance_attributes(cls: type) -> dict[str, type | None]:
    """Attributes an awsglue class sets on ``self`` in ``__init__``, with the class they are built
    from when that is a class of its module (``self.create_dynamic_frame = DynamicFrameReader(self)``)."""
    found: dict[str, type | None] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or not klass.__module__.startswith("awsglue"):
            continue
        names = vars(sys.modules[klass.__module__])
        for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(init)))):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                            and target.value.id == "self":
                        built = node.value.func.id if isinstance(node.value, ast.Call) and isinstance(
                            node.value.func, ast.Name) else None
                        kind = names.get(built) if built else None
                        found.setdefault(target.attr, kind if isinstance(kind, type) else None)
    return found


class GlueNames(ast.NodeVisitor):
    """Walks a script in order, typing the variables bound to awsglue objects; ``resolved`` and
    ``unknown`` hold ``Class.name`` for each name used on an awsglue class or instance."""

    def __init__(self) -> None:
        self.types: dict[str, tuple[str, type]] = {}  # variable -> ("class" | "instance", awsglue class)
        self.resolved: set[str] = set()
        self.unknown: set[str] = set()

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if not (node.module or "").startswith("awsglue"):
            return
        module = importlib.import_module(node.module or "")
        for alias in node.names:
            if not hasattr(module, alias.name):
                self.unknown.add(f"{node.module}.{alias.name}")
                continue
            self.resolved.add(f"{node.module}.{alias.name}")
            value = getattr(module, alias.name)
            if isinstance(value, type):
                self.types[alias.asname or alias.name] = ("class", value)

    def visit_Assign(self, node: ast.Assign) -> None:
        typed = self.type_of(node.value)
        self.generic_visit(node)
        for target in node.targets:
            if isinstance(target, ast.Name) and typed is not None:
                self.types[target.id] = typed

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.type_of(node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self.type_of(node)
        self.generic_visit(node)

    def _member(self, owner: type, name: str) -> tuple[str, Any] | None:
        label = f"{owner.__name__}.{name}"
        attributes = _instance_attributes(owner)
        if not hasattr(owner, name) and name not in attributes:
            self.unknown.add(label)
            return None
        self.resolved.add(label)
        if attributes.get(name) is not None:
            return ("instance", attributes[name])
        return ("member", (owner, name))

    def type_of(self, node: ast.expr) -> tuple[str, Any] | None:
        if isinstance(node, ast.Name):
            return self.types.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = self.type_of(node.value)
            if owner is None or owner[0] not in ("class", "instance"):
                return None
            return self._member(owner[1], node.attr)
        if isinstance(node, ast.Call):
            called = self.type_of(node.func)
            if called is None:
                return None
            if called[0] == "class":
                return ("instance", called[1])
            if called[0] == "member":
                owner, name = called[1]
                if (owner.__name__, name) in RETURNS:
                    module, cls = RETURNS[(owner.__name__, name)]
                    return ("instance", getattr(importlib.import_module(module), cls))
                if (owner.__name__, name) not in UNTYPED_RESULTS:
                    self.unknown.add(f"{owner.__name__}.{name}() (result type not known to this test)")
        return None


def glue_names(script: str) -> GlueNames:
    names = GlueNames()
    names.visit(ast.parse(script))
    return names


def pipeline(**fields: Any) -> Pipeline:
    return Pipeline(name="orders", hub="finance", source_kind="postgresql", target_database="finance_orders",
                    tables=[{"schema": "sales", "name": "orders", "incremental_column": "updated_at"},
                            {"schema": "sales", "name": "customers", "incremental_column": ""}], **fields)


def test_every_awsglue_name_the_generated_script_uses_exists():
    for partitioning in ("load_date", "none"):
        script = glue_script.render(pipeline(partitioning=partitioning), "datahub-lake", "datahub-finance_orders")
        names = glue_names(script)
        assert names.unknown == set(), script
        assert {"DynamicFrame.fromDF", "GlueContext.create_dynamic_frame", "DynamicFrameReader.from_options",
                "GlueContext.getSink", "DataSink.writeFrame", "GlueContext.purge_s3_path",
                "Job.commit"} <= names.resolved


def test_the_check_catches_a_method_awsglue_does_not_have():
    script = """
from awsglue.context import GlueContext
from awsglue.dynamicframe import DynamicFrame
from pyspark.context import SparkContext
glue = GlueContext(SparkContext.getOrCreate())
frame = glue.create_dynamic_frame.from_df(None, glue, "orders")
DynamicFrame.from_df(None, glue, "orders")
"""
    assert glue_names(script).unknown == {"DynamicFrameReader.from_df", "DynamicFrame.from_df"}


def test_the_generated_script_has_no_undefined_name(tmp_path: Path):
    script = tmp_path / "job.py"
    script.write_text(glue_script.render(pipeline(), "datahub-lake", "datahub-finance_orders"))
    ruff = Path(sys.executable).with_name("ruff")
    checked = subprocess.run([str(ruff), "check", "--no-cache", "--isolated", "--select", "F", str(script)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_job_is_created_with_bookmarks_on_for_its_incremental_tables(aws_endpoint):
    p = pipeline()
    provisioning.ensure_s3_prefix(p)
    provisioning.ensure_glue_job(p)
    job = aws.client("glue").get_job(JobName=provisioning.job_name(p))["Job"]
    assert job["DefaultArguments"]["--job-bookmark-option"] == "job-bookmark-enable"
    assert job["GlueVersion"] == "5.0"
    assert [(t["source"], t["incremental_column"]) for t in spark_job.job_module(p).TABLES] == [
        ("sales.orders", "updated_at"), ("sales.customers", "")]
