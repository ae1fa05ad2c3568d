"""Marquez's ``GET /runlineage/upstream?runId=&depth=``: the runs upstream of a run, as Marquez answers it.

Starting at the run, each run lists the dataset versions it read, each with the run that produced
that version: the latest COMPLETE run that wrote the dataset (through any of its identities) and
ended before the reading run began. Those producing runs follow, up to ``depth`` hops, each once
(``UpstreamRunLineage`` in openapi.yml: ``{"runs": [{job, run, inputs}]}``, the asked run first).

Role-filtered like the rest of the Marquez API: a dataset the role may not see is left out of
``inputs``, and a run of a job it may not see is neither listed nor followed.
"""

from __future__ import annotations

from typing import Any

from lineage.marquez import queries, shapes
from lineage.marquez.visibility import Sight
from lineage.models import Dataset, Run, RunDataset


def upstream(sight: Sight, start: Run, depth: int) -> dict[str, Any]:
    answer: list[dict[str, Any]] = []
    listed = {start.pk}
    level = [start]
    for hop in range(depth + 1):
        following: list[Run] = []
        io = queries.run_io([run.pk for run in level])
        seen = sight.visible_dataset_ids({d.pk for sides in io.values() for d, _ in sides["in"]})
        for run in level:
            inputs = []
            for dataset, _ in io[run.pk]["in"]:
                if dataset.pk not in seen:
                    continue
                producer = _producer(dataset, run)
                inputs.append(shapes.compact({
                    "namespace": dataset.namespace, "name": dataset.name,
                    "version": shapes.dataset_version(producer.run_id, dataset.canonical_id or dataset.pk) if producer else None,
                    "producedByRunId": str(producer.run_id) if producer else None,
                }))
                if producer is not None and producer.pk not in listed and hop < depth and sight.sees_job(producer.job):
                    listed.add(producer.pk)
                    following.append(producer)
            answer.append({
                "job": {"namespace": run.job.namespace, "name": run.job.name, "version": queries.job_version_of(run.job, io[run.pk])},
                "run": shapes.compact({"id": str(run.run_id), "start": shapes.iso(run.started_at), "end": shapes.iso(run.ended_at),
                                       "status": shapes.RUN_STATES.get(run.state, "NEW")}),
                "inputs": inputs,
            })
        level = following
        if not level:
            break
    return {"runs": answer}


def _producer(dataset: Dataset, reader: Run) -> Run | None:
    """The run that wrote the version of ``dataset`` that ``reader`` read (see the module docstring)."""
    began = reader.started_at or reader.state_at
    writes = RunDataset.objects.filter(dataset_id__in=queries.identities(dataset), direction=RunDataset.Direction.OUTPUT,
                                       run__state="COMPLETE").exclude(run=reader)
    if began is not None:
        writes = writes.filter(run__ended_at__lte=began)
    write = writes.select_related("run", "run__job").order_by("-run__ended_at", "-run_id").first()
    return write.run if write is not None else None
