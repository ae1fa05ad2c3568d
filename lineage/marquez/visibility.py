"""What a role may see of lineage datasets and jobs, as querysets and id sets (the Marquez API's filter).

The rules are those of the graph API (``lineage.queries.describe_datasets`` / ``describe_jobs``),
asked of whole tables instead of graph nodes:
- a catalog dataset is visible with its table (``Table.objects.visible_to``); an alias identity
  (an S3 or Athena name of a Glue table) with its canonical dataset;
- a dataset outside the catalog with its hub (``roles.sees_hub``), and always to the hubs whose
  jobs read or write it (a provider sees its own jobs' datasets);
- a job with its hub, unless everything it writes is hidden (a job named after a hidden view
  must not name it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q, QuerySet

from catalog.models import Table
from lineage.models import Dataset, Edge, Job, RunDataset
from identity import roles
from identity.roles import Role


class Sight:
    """One role's view of lineage, for one request (caches what it worked out)."""

    def __init__(self, role: Role | None) -> None:
        self.role = role
        self._job_ids: set[int] | None = None

    @property
    def sees_all(self) -> bool:
        return self.role is not None and self.role.is_admin

    def _hubs(self) -> list[str]:
        return ["", *self.role.read_scopes] if self.role is not None else []

    def dataset_q(self) -> Q:
        """A Q over ``Dataset``: the identities (canonical or alias) the role may see."""
        if self.role is None:
            return Q(pk__in=[])
        if self.sees_all:
            return Q()
        tables = Table.objects.visible_to(self.role).values("pk")
        hubs = self._hubs()
        own_jobs_touch = RunDataset.objects.filter(run__job__hub__in=self.role.read_scopes).values("dataset_id")
        canonical = (
            Q(canonical__isnull=True)
            & (Q(table__in=tables) | Q(table__isnull=True, hub__in=hubs) | Q(table__isnull=True, pk__in=own_jobs_touch))
        )
        alias = Q(canonical__isnull=False) & (
            Q(canonical__table__in=tables) | Q(canonical__table__isnull=True, canonical__hub__in=hubs)
            | Q(canonical__table__isnull=True, canonical_id__in=own_jobs_touch)
        )
        return canonical | alias

    def datasets(self) -> QuerySet[Dataset]:
        return Dataset.objects.filter(self.dataset_q())

    def visible_dataset_ids(self, ids: Iterable[int]) -> set[int]:
        wanted = set(ids)
        if not wanted or self.role is None:
            return set()
        if self.sees_all:
            return wanted
        return set(self.datasets().filter(pk__in=wanted).values_list("id", flat=True))

    def job_ids(self) -> set[int]:
        """Ids of every job the role may see."""
        if self._job_ids is not None:
            return self._job_ids
        if self.role is None:
            self._job_ids = set()
            return self._job_ids
        jobs = Job.objects.all() if self.sees_all else Job.objects.filter(hub__in=self._hubs())
        candidates = set(jobs.values_list("id", flat=True))
        if self.sees_all:
            self._job_ids = candidates
            return candidates
        writes: dict[int, set[int]] = defaultdict(set)
        for job_id, dataset_id in RunDataset.objects.filter(run__job_id__in=candidates, direction=RunDataset.Direction.OUTPUT).values_list("run__job_id", "dataset_id"):
            writes[job_id].add(dataset_id)
        for job_id, dataset_id in Edge.objects.filter(job_id__in=candidates).values_list("job_id", "target_id"):
            writes[job_id].add(dataset_id)
        seen = self.visible_dataset_ids({d for ids in writes.values() for d in ids})
        self._job_ids = {pk for pk in candidates if not writes.get(pk) or writes[pk] & seen}
        return self._job_ids

    def jobs(self) -> QuerySet[Job]:
        return Job.objects.filter(pk__in=sorted(self.job_ids()))

    def sees_job(self, job: Job) -> bool:
        return job.pk in self.job_ids()

    def sees_hub(self, hub: str) -> bool:
        return roles.sees_hub(self.role, hub)
