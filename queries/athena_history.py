"""Usage of tables by queries run outside the portal: Athena's query history of the hub workgroups,
read by a scheduled task (``queries.tasks.import_athena_history``) so that they rank search too."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from catalog.models import Table
from portal import aws
from queries.models import Query, TableUsage
from queries.sql import QueryError, columns_named, read_statement, tables_read


def _hub_workgroups(athena: Any) -> list[str]:
    names: list[str] = []
    kwargs: dict[str, Any] = {}
    while True:  # boto3 has no paginator for ListWorkGroups
        page = athena.list_work_groups(**kwargs)
        names += [w["Name"] for w in page.get("WorkGroups", []) if w["Name"].startswith(settings.QUERY_WORKGROUP_PREFIX)]
        if not page.get("NextToken"):
            return names
        kwargs["NextToken"] = page["NextToken"]


def _reads(sql: str) -> dict[int, list[str]]:
    """Catalog table id → columns a query read (nothing for a statement that is not a query)."""
    try:
        statement = read_statement(sql)
        refs = tables_read(statement)
    except QueryError:
        return {}
    mentioned = columns_named(statement)
    match = Q(pk__in=[])
    for ref in refs:
        match |= Q(database_name__iexact=ref.database, name__iexact=ref.name)
    return {t.pk: [c.name for c in t.columns.all() if "*" in mentioned or c.name.lower() in mentioned]
            for t in Table.objects.live().filter(match).prefetch_related("columns")}


def import_athena_history(client: Any = None) -> int:
    """Record the table reads of succeeded queries in the hub workgroups not seen yet (the portal's own
    queries are already recorded); returns how many executions were imported."""
    athena = client or aws.client("athena")
    imported = 0
    for workgroup in _hub_workgroups(athena):
        ids: list[str] = []
        for page in athena.get_paginator("list_query_executions").paginate(WorkGroup=workgroup):
            ids += page.get("QueryExecutionIds", [])
        known = set(TableUsage.objects.filter(execution_id__in=ids).values_list("execution_id", flat=True))
        known |= set(Query.objects.filter(athena_execution_id__in=ids).values_list("athena_execution_id", flat=True))
        for execution_id in [i for i in ids if i not in known]:
            execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
            if execution["Status"]["State"] != "SUCCEEDED":
                continue
            at = execution["Status"].get("SubmissionDateTime") or timezone.now()
            TableUsage.objects.bulk_create([
                TableUsage(table_id=table_id, kind=TableUsage.Kind.ATHENA, columns=sorted(columns),
                           role_key=f"workgroup:{workgroup}", execution_id=execution_id, read_at=at)
                for table_id, columns in _reads(execution.get("Query", "")).items()
            ])
            imported += 1
    return imported
