"""The demo lake: a realistic Glue Data Catalog and S3 bucket for the embedded portal and tests.

Built from the Tuva Project's dbt models (``catalog/fixtures/tuva/``, Apache-2.0)
plus a few of our own for hubs Tuva does not cover (``demo_lake_extra.json``):
real table and column names, descriptions and model-to-model refs. What Tuva
does not say (column types, partitions, formats, owners, classifications) is
derived from the names, deterministically from ``seed``.

Layout: one Glue database per data hub and layer (``<hub>_<layer>``, layers
source → prepared → semantic) with the parameters the sync reads: database
``hub``, ``layer``, ``visibility``; table ``owner``, ``classification`` (and a
few table-level ``visibility`` overrides). Semantic-layer models become Athena
views (VIRTUAL_VIEW, Presto view text) whose SQL selects from the prepared
tables named by their real ``upstream`` refs.

Planning is pure (``plan_lake``); ``seed_lake`` writes a plan to whatever AWS
endpoint ``portal.aws`` points at, idempotently (existing items are updated).
"""

from __future__ import annotations

import base64
import copy
import csv
import io
import json
import random
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LAYERS = ("source", "prepared", "semantic")
# Order matters for small lakes: ``--databases 3`` is finance's three layers, 6 adds marketing
# (the hubs the test personas belong to), 12 is the whole healthcare lake.
HUBS = ("finance", "marketing", "clinical", "claims")
# Beyond 4 hubs the lake grows with hubs that reuse a base hub's models as variants.
EXTRA_HUBS = ("pharmacy", "research", "operations", "sales", "provider", "risk", "actuarial", "care")
# Partitions are dated back from this fixed day so that a seed always gives the same lake.
AS_OF = date(2026, 11, 1)
VARIANT_SUFFIXES = ("eu", "us", "apac", "archive", "daily", "monthly", "sample", "backfill", "snapshot", "v2",
                    "pilot", "restated")
_VARIANT_NOTES = {
    "eu": "EU members only", "us": "US members only", "apac": "APAC members only",
    "archive": "archived history before the current contract year", "daily": "daily extract",
    "monthly": "monthly extract", "sample": "1% sample for development", "backfill": "backfill of late deliveries",
    "snapshot": "point-in-time snapshot", "v2": "second version of the model", "pilot": "pilot programme only",
    "restated": "restated after corrections",
}
OWNERS = {
    "finance": ("jonas.weber@example.com", "finance-data-office@example.com", "priya.natarajan@example.com"),
    "marketing": ("lea.fischer@example.com", "marketing-analytics@example.com", "tom.becker@example.com"),
    "clinical": ("dr.anna.schmidt@example.com", "clinical-data-team@example.com", "mehmet.yilmaz@example.com"),
    "claims": ("claims-engineering@example.com", "sofia.rossi@example.com", "lukas.braun@example.com"),
}
_DATABASE_NOTES = {
    "source": "raw extracts as the source systems deliver them (CSV and JSON, partitioned by ingest date)",
    "prepared": "typed, cleaned and joined models in Parquet (Tuva core and data marts)",
    "semantic": "Athena views for reporting and analysis, built on the prepared layer",
}

# --- Glue storage formats ------------------------------------------------------------

FORMATS: dict[str, dict[str, Any]] = {
    "parquet": {
        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                      "Parameters": {"serialization.format": "1"}},
    },
    "json": {
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
                      "Parameters": {"paths": ""}},
    },
    "csv": {
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                      "Parameters": {"field.delim": ",", "serialization.format": ","}},
    },
}
_EXTENSIONS = {"parquet": "parquet", "json": "json", "csv": "csv"}
_PRESTO_TYPES = {"string": "varchar", "int": "integer", "bigint": "bigint", "double": "double",
                 "date": "date", "timestamp": "timestamp", "boolean": "boolean", "decimal(18,2)": "decimal(18,2)"}

# --- column types from names (Tuva documents names, not types) -------------------------

_TYPE_RULES: tuple[tuple[str, str], ...] = (
    (r"(^|_)(datetime|timestamp)$|_at$|^tuva_last_run$", "timestamp"),
    (r"(^|_)date(_\d+)?$|^dob$|_date_", "date"),
    (r"(^|_)flag$|_flag_|^is_|^has_", "int"),
    (r"(amount|_paid|_allowed|_cost|_charge|pmpm|_premium)(_|$)|^paid$|^allowed$", "decimal(18,2)"),
    (r"(^|_)(count|days|quantity|supply|units|number|year|month|age|length_of_stay|rank|seq)$", "int"),
    (r"(^|_)(score|factor|rate|ratio|coefficient|latitude|longitude|weight|percent|pct|value_numeric)$", "double"),
    (r"^year_month$|_year_month$", "string"),
)


def column_type(name: str) -> str:
    """A Hive type for a column, guessed from its name (Tuva's conventions: ``*_date``, ``*_flag``, …)."""
    lowered = name.lower()
    if lowered.endswith(("_id", "_code", "_npi", "_tin", "_description", "_name", "_type")):
        return "string"
    for pattern, hive_type in _TYPE_RULES:
        if re.search(pattern, lowered):
            return hive_type
    return "string"


# --- the model library ----------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    """One dbt model (or one of ours) as the demo lake uses it."""

    name: str
    description: str
    columns: tuple[tuple[str, str], ...]  # (name, comment)
    upstream: tuple[str, ...]
    materialized: str
    area: str
    mart: str
    hub: str = ""
    layer: str = ""


@cache
def load_models() -> dict[str, Model]:
    """Every model the demo lake knows, by name (Tuva's subset, then ours)."""
    models: dict[str, Model] = {}
    for path in (FIXTURES / "tuva" / "models.json", FIXTURES / "demo_lake_extra.json"):
        for raw in json.loads(path.read_text())["models"]:
            models[raw["name"]] = Model(
                name=raw["name"],
                description=raw.get("description", ""),
                columns=tuple((c["name"], c.get("description", "")) for c in raw.get("columns", [])),
                upstream=tuple(raw.get("upstream", [])),
                materialized=raw.get("materialized") or ("view" if raw.get("layer") == "semantic" else "table"),
                area=raw.get("area", ""),
                mart=raw.get("mart", ""),
                hub=raw.get("hub", ""),
                layer=raw.get("layer", ""),
            )
    return models


_CLAIMS_SOURCES = {"medical_claim", "pharmacy_claim", "eligibility", "provider_attribution", "practitioner", "location"}
_CLAIMS_CORE = {"medical_claim", "pharmacy_claim", "eligibility", "member_months", "person_id_crosswalk"}
_FINANCE_MARTS = {"financial_pmpm", "cms_hcc", "hcc_recapture", "provider_attribution"}
_FINANCE_WORDS = ("member_months", "risk", "pmpm", "expected_values", "hcc")
_CLAIMS_WORDS = ("claim", "service_category", "data_source", "eligibility", "encounter_provider", "pharmacy",
                 "practitioner")


def home_of(model: Model) -> tuple[str, str] | None:
    """The (hub, layer) a model lives in, or None when the demo lake leaves it out."""
    if model.hub:
        return model.hub, model.layer
    name = model.name
    if name.startswith("semantic_layer__"):
        rest = name.removeprefix("semantic_layer__")
        if any(word in rest for word in _FINANCE_WORDS):
            return "finance", "semantic"
        if any(word in rest for word in _CLAIMS_WORDS):
            return "claims", "semantic"
        return "clinical", "semantic"
    if not model.columns:
        return None
    if name.startswith("input_layer__"):
        return ("claims" if name.removeprefix("input_layer__") in _CLAIMS_SOURCES else "clinical"), "source"
    if name.startswith("core__"):
        return ("claims" if name.removeprefix("core__") in _CLAIMS_CORE else "clinical"), "prepared"
    if name.startswith("normalized_input__"):
        return ("clinical" if "patient" in name else "claims"), "prepared"
    if model.area in ("claims_preprocessing", "normalization") or model.mart == "pharmacy":
        return "claims", "prepared"
    if model.mart in _FINANCE_MARTS:
        return "finance", "prepared"
    return "clinical", "prepared"


# --- the plan -------------------------------------------------------------------------


@dataclass
class ColumnSpec:
    name: str
    type: str
    comment: str


@dataclass
class TableSpec:
    """One Glue table or view of the plan."""

    database: str
    name: str
    hub: str
    layer: str
    description: str
    columns: list[ColumnSpec]
    owner: str
    classification: str
    format: str = ""  # parquet|json|csv; "" for views
    partition_keys: list[ColumnSpec] = field(default_factory=list)
    partitions: list[list[str]] = field(default_factory=list)
    view_sql: str = ""
    upstream: list[str] = field(default_factory=list)  # qualified names the view reads
    visibility: str = ""  # table-level override of the database's visibility
    with_objects: bool = False
    base_model: str = ""
    # "athena": Presto view text as Athena writes it; "hive": plain SQL as Spark/dbt-glue write it.
    view_dialect: str = "athena"

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.name}"

    @property
    def is_view(self) -> bool:
        return bool(self.view_sql)


@dataclass(frozen=True)
class DatabaseSpec:
    name: str
    hub: str
    layer: str
    visibility: str
    base_hub: str  # the hub whose models this database reuses (itself for the four real hubs)

    @property
    def description(self) -> str:
        return f"{self.hub.capitalize()} hub, {self.layer} layer: {_DATABASE_NOTES[self.layer]}."


def database_specs(count: int) -> list[DatabaseSpec]:
    """The first ``count`` databases: hub by hub, three layers each; extra hubs after the four real ones."""
    specs: list[DatabaseSpec] = []
    hub_index = 0
    while len(specs) < count:
        if hub_index < len(HUBS):
            hub = base = HUBS[hub_index]
        else:
            extra = hub_index - len(HUBS)
            hub = EXTRA_HUBS[extra % len(EXTRA_HUBS)] + (str(extra // len(EXTRA_HUBS) + 1)
                                                          if extra >= len(EXTRA_HUBS) else "")
            base = HUBS[extra % len(HUBS)]
        for layer in LAYERS:
            if len(specs) < count:
                visibility = "public" if layer == "semantic" else "hub"
                specs.append(DatabaseSpec(f"{hub}_{layer}", hub, layer, visibility, base))
        hub_index += 1
    return specs


_STRICT_COLUMNS = {"first_name", "last_name", "middle_name", "social_security_number", "address", "phone", "email",
                   "birth_date", "email_hash", "death_date"}
_PERSON_COLUMNS = {"person_id", "patient_id", "member_id", "contact_id", "claim_id", "patient_data_source_id"}
_REFERENCE_WORDS = ("location", "practitioner", "_map", "value_set", "category")


def classification_of(name: str, column_names: set[str], layer: str) -> str:
    """public|internal|confidential|strictly-confidential from what the table holds."""
    if column_names & _STRICT_COLUMNS:
        return "strictly-confidential"
    if column_names & _PERSON_COLUMNS:
        return "confidential"
    if any(word in name for word in _REFERENCE_WORDS) and layer != "source":
        return "public"
    return "internal"


def _is_fact_like(name: str, column_names: set[str]) -> bool:
    return any(w in name for w in ("claim", "encounter", "member_months", "pmpm", "eligibility", "performance",
                                   "engagement", "funnel", "risk_scores_monthly")) and any(
        c.endswith("_date") or c == "year_month" for c in column_names)


class _Planner:
    """Places models into databases, resolves view upstreams, and pads with variants."""

    def __init__(self, databases: list[DatabaseSpec], tables_per_database: int | None, seed: int) -> None:
        self.databases = databases
        self.limit = tables_per_database
        self.seed = seed
        self.models = load_models()
        # hub -> model name -> TableSpec of the base (non-variant) table placed there
        self.placed: dict[str, dict[str, TableSpec]] = {}
        self.homes: dict[tuple[str, str], list[Model]] = {}
        for model in self.models.values():
            home = home_of(model)
            if home:
                self.homes.setdefault(home, []).append(model)
        self.semantic_referenced = {u for (_, layer), models in self.homes.items() if layer == "semantic"
                                    for m in models for u in m.upstream}

    def rng(self, *parts: str) -> random.Random:
        # One stream per item: a table's attributes do not move when other tables are added.
        return random.Random(f"{self.seed}:{':'.join(parts)}")

    def lookup(self, hub: str, model_name: str) -> TableSpec | None:
        if model_name in self.placed.get(hub, {}):
            return self.placed[hub][model_name]
        for other in HUBS:
            if model_name in self.placed.get(other, {}):
                return self.placed[other][model_name]
        return None

    def candidates(self, db: DatabaseSpec) -> list[Model]:
        models = list(self.homes.get((db.base_hub, db.layer), []))
        if db.layer == "prepared":
            # Keep what the semantic layer reads when the database is cut short.
            models.sort(key=lambda m: (m.name not in self.semantic_referenced, m.name))
        elif db.layer == "semantic":
            models.sort(key=lambda m: (_view_depth(m, self.models), m.name))
        else:
            models.sort(key=lambda m: m.name)
        return models

    def plan(self) -> Iterator[tuple[DatabaseSpec, list[TableSpec]]]:
        # Layer by layer, so views find the prepared tables (of every hub) they select from.
        order = sorted(self.databases, key=lambda d: (LAYERS.index(d.layer), self.databases.index(d)))
        planned: dict[str, list[TableSpec]] = {}
        for db in order:
            planned[db.name] = self.plan_database(db)
        for db in self.databases:
            yield db, planned[db.name]

    def plan_database(self, db: DatabaseSpec) -> list[TableSpec]:
        tables: list[TableSpec] = []
        for model in self.candidates(db):
            if self.limit is not None and len(tables) >= self.limit:
                break
            spec = self.table_for(db, model)
            if spec is not None:
                tables.append(spec)
                self.placed.setdefault(db.hub, {})[model.name] = spec
        if self.limit is not None and tables:
            base = list(tables)
            index = 0
            while len(tables) < self.limit:
                tables.append(self.variant(base[index % len(base)], index // len(base)))
                index += 1
        if tables:
            for spec in tables[:3]:
                spec.with_objects = not spec.is_view
        return tables

    def table_for(self, db: DatabaseSpec, model: Model) -> TableSpec | None:
        rng = self.rng(db.name, model.name)
        owner = rng.choice(OWNERS[db.base_hub])
        if db.layer == "semantic" or (model.materialized == "view" and db.layer == "prepared" and model.upstream):
            view = self.view_for(db, model)
            if view is not None or db.layer == "semantic":
                return view
        columns = [ColumnSpec(name, column_type(name), comment) for name, comment in model.columns]
        names = {c.name for c in columns}
        spec = TableSpec(
            database=db.name, name=model.name, hub=db.hub, layer=db.layer, description=model.description,
            columns=columns, owner=owner, classification=classification_of(model.name, names, db.layer),
            format="parquet" if db.layer == "prepared" else rng.choice(("csv", "json")), base_model=model.name,
        )
        if db.layer == "source":
            spec.partition_keys = [ColumnSpec("ingest_date", "string", "Day the extract landed in the lake.")]
            days = rng.randint(2, 6)
            spec.partitions = [[(AS_OF - timedelta(days=d)).isoformat()] for d in range(days)]
        elif _is_fact_like(model.name, names):
            spec.partition_keys = [ColumnSpec("year", "string", "Calendar year of the rows."),
                                   ColumnSpec("month", "string", "Calendar month of the rows (01-12).")]
            months = rng.randint(2, 4)
            spec.partitions = [list(_month_back(AS_OF, m)) for m in range(months)]
        if spec.classification == "public" or (db.layer == "prepared" and rng.random() < 0.05):
            # Reference data (and the odd table its steward opened up) is readable by every hub.
            spec.visibility = "public"
        return spec

    def view_for(self, db: DatabaseSpec, model: Model) -> TableSpec | None:
        sources = [s for s in (self.lookup(db.hub, u) for u in model.upstream) if s is not None]
        if not sources:
            return None
        # The semantic layer is pseudonymous: direct identifiers stay in the hub's own layers.
        exclude = frozenset(_STRICT_COLUMNS) if db.layer == "semantic" else frozenset()
        select, columns, used = build_view_select(sources, model, exclude)
        names = {c.name for c in columns}
        rng = self.rng(db.name, model.name)
        return TableSpec(
            database=db.name, name=model.name, hub=db.hub, layer=db.layer,
            description=model.description or f"Reporting view over {', '.join(s.qualified_name for s in used)}.",
            columns=columns, owner=rng.choice(OWNERS[db.base_hub]),
            classification=classification_of(model.name, names, db.layer),
            view_sql=select, upstream=[s.qualified_name for s in used], base_model=model.name,
            view_dialect="athena" if db.layer == "semantic" else "hive",
        )

    def variant(self, base: TableSpec, round_: int) -> TableSpec:
        suffix = VARIANT_SUFFIXES[round_ % len(VARIANT_SUFFIXES)]
        if round_ >= len(VARIANT_SUFFIXES):
            suffix += str(round_ // len(VARIANT_SUFFIXES) + 1)
        note = _VARIANT_NOTES[VARIANT_SUFFIXES[round_ % len(VARIANT_SUFFIXES)]]
        spec = TableSpec(**{**base.__dict__, "name": f"{base.name}__{suffix}",
                            "description": f"{base.description} ({note})".strip(), "with_objects": False,
                            "partitions": [list(p) for p in base.partitions], "upstream": list(base.upstream)})
        return spec


def _month_back(day: date, months: int) -> tuple[str, str]:
    index = day.year * 12 + day.month - 1 - months
    return str(index // 12), f"{index % 12 + 1:02d}"


def _view_depth(model: Model, models: dict[str, Model], seen: frozenset[str] = frozenset()) -> int:
    """How many views deep a semantic model sits (staging views 0, facts over them 1, …)."""
    depths = [1 + _view_depth(models[u], models, seen | {model.name})
              for u in model.upstream
              if u in models and u not in seen and models[u].name.startswith("semantic_layer__")]
    return max(depths, default=0)


_KEY_COLUMNS = ("person_id", "encounter_id", "claim_id", "member_id", "patient_id", "contact_id", "campaign_id",
                "data_source", "year_month", "payer", "plan")
_MAX_VIEW_COLUMNS = 30  # wide enough to be real, narrow enough for column-level lineage at start-up


def build_view_select(sources: list[TableSpec], model: Model, exclude: frozenset[str] = frozenset(),
                      ) -> tuple[str, list[ColumnSpec], list[TableSpec]]:
    """Athena SQL over ``sources`` (joined on shared key columns), its columns, and the sources it reads.

    A model that documents its own columns selects those (NULL casts for ones its
    source lacks); otherwise the view exposes its sources' columns but ``exclude``.
    """
    first = sources[0]
    aliases = {first.qualified_name: "t0"}
    used = [first]
    joins: list[str] = []
    available: dict[str, tuple[str, ColumnSpec]] = {c.name: ("t0", c) for c in first.columns + first.partition_keys}
    for source in sources[1:]:
        if source.qualified_name in aliases:
            continue
        their = {c.name: c for c in source.columns + source.partition_keys}
        keys = [k for k in _KEY_COLUMNS if k in their and k in available]
        if not keys:
            continue  # nothing to join on: the real model reads it in a way a plain join cannot show
        alias = f"t{len(used)}"
        aliases[source.qualified_name] = alias
        used.append(source)
        on = " AND ".join(f"{alias}.{k} = {available[k][0]}.{k}" for k in keys[:2])
        joins.append(f"LEFT JOIN {source.qualified_name} {alias} ON {on}")
        for name, col in their.items():
            available.setdefault(name, (alias, col))
    select_items: list[str] = []
    columns: list[ColumnSpec] = []
    if model.columns and len(used) == 1 and model.materialized == "view" and not model.name.startswith("semantic"):
        for name, comment in model.columns:
            if name in available:
                alias, col = available[name]
                select_items.append(f"{alias}.{name}")
                columns.append(ColumnSpec(name, col.type, comment or col.comment))
            else:
                hive_type = column_type(name)
                select_items.append(f"CAST(NULL AS {_PRESTO_TYPES.get(hive_type, 'varchar')}) AS {name}")
                columns.append(ColumnSpec(name, hive_type, comment))
    else:
        for name, (alias, col) in [kv for kv in available.items() if kv[0] not in exclude][:_MAX_VIEW_COLUMNS]:
            select_items.append(f"{alias}.{name}")
            columns.append(ColumnSpec(name, col.type, col.comment))
    distinct = "DISTINCT " if "__dim_" in model.name else ""
    sql = f"SELECT {distinct}" + "\n     , ".join(select_items) + f"\nFROM {first.qualified_name} t0"
    if joins:
        sql += "\n" + "\n".join(joins)
    return sql, columns, used


@dataclass
class LakePlan:
    databases: list[tuple[DatabaseSpec, list[TableSpec]]]
    bucket: str

    @property
    def tables(self) -> list[TableSpec]:
        return [t for _, tables in self.databases for t in tables]


def plan_lake(databases: int = 12, tables_per_database: int | None = None, seed: int = 42,
              bucket: str | None = None) -> LakePlan:
    """The demo lake as data (no AWS). ``tables_per_database=None`` places every model where it belongs."""
    if databases < 1:
        raise ValueError("databases must be at least 1")
    if tables_per_database is not None and tables_per_database < 1:
        raise ValueError("tables_per_database must be at least 1")
    planner = _Planner(database_specs(databases), tables_per_database, seed)
    return LakePlan(list(planner.plan()), bucket or settings.LAKE_BUCKET)


# --- Glue and S3 inputs ----------------------------------------------------------------


def location_of(bucket: str, spec: TableSpec) -> str:
    return f"s3://{bucket}/{spec.hub}/{spec.layer}/{spec.name}/"


def partition_location(bucket: str, spec: TableSpec, values: list[str]) -> str:
    parts = "/".join(f"{k.name}={v}" for k, v in zip(spec.partition_keys, values))
    return f"{location_of(bucket, spec)}{parts}/"


def database_input(db: DatabaseSpec, bucket: str) -> dict[str, Any]:
    return {
        "Name": db.name,
        "Description": db.description,
        "LocationUri": f"s3://{bucket}/{db.hub}/{db.layer}/",
        "Parameters": {"hub": db.hub, "layer": db.layer, "visibility": db.visibility},
    }


def presto_view_text(spec: TableSpec) -> str:
    """Athena's encoding of a view in Glue: base64 JSON in a ``/* Presto View: … */`` comment."""
    payload = {
        "originalSql": spec.view_sql,
        "catalog": "awsdatacatalog",
        "schema": spec.database,
        "columns": [{"name": c.name, "type": _PRESTO_TYPES.get(c.type, "varchar")} for c in spec.columns],
        "owner": spec.owner,
        "runAsInvoker": False,
        "properties": {},
    }
    blob = base64.b64encode(json.dumps(payload).encode()).decode()
    return f"/* Presto View: {blob} */"


def _glue_columns(columns: list[ColumnSpec]) -> list[dict[str, str]]:
    return [{"Name": c.name, "Type": c.type, "Comment": c.comment[:255]} for c in columns]


def table_input(spec: TableSpec, bucket: str) -> dict[str, Any]:
    """The Glue TableInput for a spec (external table or Athena view)."""
    params = {"owner": spec.owner, "classification": spec.classification}
    if spec.visibility:
        params["visibility"] = spec.visibility
    common = {"Name": spec.name, "Description": spec.description[:2048], "Owner": spec.owner, "Parameters": params}
    if spec.is_view:
        if spec.view_dialect == "athena":
            params.update({"presto_view": "true", "comment": "Presto View"})
            original, expanded = presto_view_text(spec), "/* Presto View */"
        else:
            original = expanded = spec.view_sql
        return {
            **common,
            "TableType": "VIRTUAL_VIEW",
            "ViewOriginalText": original,
            "ViewExpandedText": expanded,
            "PartitionKeys": [],
            "StorageDescriptor": {"Columns": _glue_columns(spec.columns), "Location": "", "SerdeInfo": {}},
        }
    params.update({"EXTERNAL": "TRUE", "has_encrypted_data": "false"})
    if spec.format == "csv":
        params["skip.header.line.count"] = "1"
    storage = {
        "Columns": _glue_columns(spec.columns),
        "Location": location_of(bucket, spec),
        "Compressed": spec.format == "parquet",
        # Crawlers put the data format here; the table's own "classification" is the portal's data class.
        "Parameters": {"classification": spec.format},
        **copy.deepcopy(FORMATS[spec.format]),
    }
    return {**common, "TableType": "EXTERNAL_TABLE", "PartitionKeys": _glue_columns(spec.partition_keys),
            "StorageDescriptor": storage}


def partition_inputs(spec: TableSpec, bucket: str) -> list[dict[str, Any]]:
    storage = table_input(spec, bucket)["StorageDescriptor"]
    return [{"Values": values, "StorageDescriptor": {**storage, "Location": partition_location(bucket, spec, values)}}
            for values in spec.partitions]


# --- small sample files -----------------------------------------------------------------


def _sample_value(col: ColumnSpec, row: int, rng: random.Random) -> Any:
    if col.type == "date":
        return (AS_OF - timedelta(days=rng.randint(0, 400))).isoformat()
    if col.type == "timestamp":
        return f"{(AS_OF - timedelta(days=rng.randint(0, 30))).isoformat()} {rng.randint(0, 23):02d}:{row:02d}:00"
    if col.type == "int":
        return rng.randint(0, 1) if "flag" in col.name else rng.randint(1, 90)
    if col.type == "decimal(18,2)":
        return round(rng.uniform(5, 5000), 2)
    if col.type == "double":
        return round(rng.uniform(0, 3), 4)
    if col.name.endswith("_id"):
        return f"{col.name.removesuffix('_id')[:3].upper()}{rng.randint(100000, 999999)}"
    return f"{col.name.replace('_', ' ')} {row + 1}"


def sample_object(spec: TableSpec, seed: int, rows: int = 5) -> tuple[str, bytes]:
    """A small real data file for a table: (file name, bytes) in the table's format."""
    rng = random.Random(f"{seed}:{spec.qualified_name}:rows")
    records = [{c.name: _sample_value(c, r, rng) for c in spec.columns} for r in range(rows)]
    name = f"part-00000.{_EXTENSIONS[spec.format]}"
    if spec.format == "json":
        return name, "".join(json.dumps(r) + "\n" for r in records).encode()
    if spec.format == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=[c.name for c in spec.columns])
        writer.writeheader()
        writer.writerows(records)
        return name, buf.getvalue().encode()
    import pyarrow as pa  # imported here: only the Parquet samples need it
    import pyarrow.parquet as pq

    arrow_types = {"int": pa.int32(), "double": pa.float64(), "decimal(18,2)": pa.float64()}
    arrays = [pa.array([r[c.name] for r in records], type=arrow_types.get(c.type, pa.string()))
              for c in spec.columns]
    out = io.BytesIO()
    pq.write_table(pa.table(arrays, names=[c.name for c in spec.columns]), out)
    return name, out.getvalue()


# --- writing to AWS -------------------------------------------------------------------


@dataclass
class SeedReport:
    databases: int = 0
    tables: int = 0
    views: int = 0
    partitions: int = 0
    objects: int = 0
    created: int = 0
    updated: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"{self.databases} databases, {self.tables} tables ({self.views} views; {self.created} created, "
                f"{self.updated} updated), {self.partitions} partitions, {self.objects} S3 objects "
                f"in {self.seconds:.1f} s")


def _error_code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


def _ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except Exception as exc:  # botocore ClientError; its class lives on the client
        if _error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def _upsert_database(glue: Any, db: DatabaseSpec, bucket: str) -> None:
    payload = database_input(db, bucket)
    try:
        glue.create_database(DatabaseInput=payload)
    except glue.exceptions.AlreadyExistsException:
        glue.update_database(Name=db.name, DatabaseInput=payload)


def _upsert_table(glue: Any, s3: Any, spec: TableSpec, bucket: str, seed: int) -> tuple[bool, int, int]:
    """Create or update one table, its partitions and sample files: (created, partitions, objects)."""
    payload = table_input(spec, bucket)
    created = True
    try:
        glue.create_table(DatabaseName=spec.database, TableInput=payload)
    except glue.exceptions.AlreadyExistsException:
        created = False
        glue.update_table(DatabaseName=spec.database, TableInput=payload)
    partitions = 0
    if spec.partitions:
        inputs = partition_inputs(spec, bucket)
        for start in range(0, len(inputs), 100):  # Glue takes at most 100 partitions per call
            batch = inputs[start:start + 100]
            errors = glue.batch_create_partition(DatabaseName=spec.database, TableName=spec.name,
                                                 PartitionInputList=batch).get("Errors", [])
            partitions += len(batch) - len(errors)  # existing partitions come back as errors: already there
    objects = 0
    if spec.with_objects:
        file_name, body = sample_object(spec, seed)
        prefixes = [partition_location(bucket, spec, values) for values in spec.partitions[:2]] or [
            location_of(bucket, spec)]
        for prefix in prefixes:
            key = prefix.removeprefix(f"s3://{bucket}/") + file_name
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            objects += 1
    return created, partitions, objects


def seed_lake(plan: LakePlan, *, seed: int = 42, workers: int = 8, log: Any = None) -> SeedReport:
    """Write ``plan`` to Glue and S3 through ``portal.aws`` (idempotent: existing items are updated)."""
    from portal import aws

    started = time.monotonic()
    report = SeedReport()
    glue = aws.client("glue")
    s3 = aws.client("s3")
    _ensure_bucket(s3, plan.bucket, settings.AWS_DEFAULT_REGION)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for db, tables in plan.databases:
            _upsert_database(glue, db, plan.bucket)
            report.databases += 1
            results = pool.map(lambda spec: _upsert_table(glue, s3, spec, plan.bucket, seed), tables)
            for spec, (created, partitions, objects) in zip(tables, results):
                report.tables += 1
                report.views += spec.is_view
                report.created += created
                report.updated += not created
                report.partitions += partitions
                report.objects += objects
            if log:
                log(f"  {db.name}: {len(tables)} tables")
    report.seconds = time.monotonic() - started
    return report


def seed_demo_lake(databases: int = 12, tables_per_database: int | None = None, seed: int = 42,
                   log: Any = None) -> SeedReport:
    """Plan and write the demo lake to the configured AWS endpoint; returns what was written."""
    return seed_lake(plan_lake(databases, tables_per_database, seed), seed=seed, log=log)
