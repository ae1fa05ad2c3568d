"""JSON shapes of pipelines, steps and runs (plain dicts: no secret field exists to leak)."""

from __future__ import annotations

from typing import Any

from ingestion_wizard.aws import monitoring
from ingestion_wizard.models import Pipeline, PipelineRun, ProvisioningStep


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def pipeline_brief(p: Pipeline) -> dict[str, Any]:
    return {"id": p.pk, "name": p.name, "hub": p.hub, "status": p.status, "kind": p.source_kind,
            "target": {"database": p.target_database, "layer": p.layer}, "schedule": p.schedule or None}


def pipeline_full(p: Pipeline) -> dict[str, Any]:
    data = pipeline_brief(p)
    data.update({
        "error": p.error or None,
        "source": {
            "kind": p.source_kind, "host": p.host, "port": p.port, "database": p.source_database,
            "user": p.source_user, "secret_arn": p.secret_arn or None,
            "tables": [{"table": f"{t['schema']}.{t['name']}" if t.get("schema") else t["name"],
                        "incremental_column": t.get("incremental_column") or None} for t in p.tables],
            "stream_name": p.stream_name or None, "stream_mode": p.stream_mode or None,
            "transform": p.transform_template or None, "prep_reference_table": p.prep_reference_table or None,
            "prep_join_key": p.prep_join_key or None,
            "network": {"subnet_id": p.subnet_id, "security_group_ids": p.security_group_ids,
                        "availability_zone": p.availability_zone} if p.subnet_id else None,
        },
        "target": {"database": p.target_database, "layer": p.layer, "owner": p.owner,
                   "classification": p.classification, "partitioning": p.partitioning},
        "created_at": _iso(p.created_at), "updated_at": _iso(p.updated_at),
    })
    return data


def step_data(s: ProvisioningStep) -> dict[str, Any]:
    return {"key": s.key, "label": s.label, "status": s.status, "resource": s.resource or None,
            "attempts": s.attempts, "started_at": _iso(s.started_at), "finished_at": _iso(s.finished_at),
            "seconds": s.seconds, "error": s.error or None}


def run_data(r: PipelineRun, *, with_log: bool = False) -> dict[str, Any]:
    data = {"id": r.pk, "status": r.status, "rows": r.rows, "bytes": r.bytes, "started_at": _iso(r.started_at),
            "finished_at": _iso(r.finished_at), "error": r.error or None, "trigger": r.trigger,
            "partition": r.partition or None, "seconds": r.seconds}
    if with_log:
        data["log"] = "\n".join(monitoring.run_log_lines(r))
    return data
