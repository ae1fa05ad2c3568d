"""Every write and side effect of ingestion: create, provision, schedule, run, pause, delete.

Called alike by the wizard, the API and the Celery tasks. Errors for people raise
``IngestionError`` subclasses carrying a message and an HTTP status.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from ingestion_wizard import after_run, dispatch, executor, secret_services
from ingestion_wizard.aws import provisioning
from ingestion_wizard.aws.errors import StepFailed, TransientAWSError
# Re-exported: views, the API and forms catch services.IngestionError and its kinds.
from ingestion_wizard.errors import (  # noqa: F401
    Conflict, Forbidden, IngestionError, NotAllowed, TooManyAttempts, Unavailable)
from ingestion_wizard.models import Pipeline, PipelineRun, ProvisioningStep
from ingestion_wizard.aws.secrets import SecretUnavailable
from ingestion_wizard.sources import ConnectionSpec, SourceError, TableInfo, open_source
from ingestion_wizard.validation import PipelineSpec
from portal import aws, leases
from identity import audit
from identity.roles import Role

log = logging.getLogger(__name__)
# A Glue job's own timeout is 48 h by default; a local load of a few million rows takes minutes.
RUN_ABANDON_AFTER = timedelta(hours=48)


# --- Checks shared by the wizard and the API ---------------------------------
def target_database_problem(name: str, *, exclude_pipeline: int | None = None) -> str | None:
    """Why ``name`` cannot be a new Glue database (taken in the portal, the catalog or Glue), or None."""
    from catalog.models import Database

    others = Pipeline.objects.filter(target_database=name)
    if exclude_pipeline:
        others = others.exclude(pk=exclude_pipeline)
    if others.exists():
        return f"Database {name} is already the target of another pipeline."
    if Database.objects.filter(name=name, deleted_at__isnull=True).exists():
        return f"Database {name} already exists in the catalog."
    try:
        aws.client("glue").get_database(Name=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "EntityNotFoundException":
            return None
        raise Unavailable(f"Could not check the Glue catalog for {name}: "
                          f"{exc.response.get('Error', {}).get('Code')}") from None
    except BotoCoreError as exc:
        raise Unavailable(f"Could not reach the Glue catalog: {exc}") from None
    return f"Database {name} already exists in the Glue catalog."


# One answer for every failure short of reaching a database: a closed port, an open non-database
# port, a refused host and a timeout look alike, so "Test connection" cannot map a network.
CONNECT_FAILED = "Could not reach a database server at this host and port."
LOGIN_FAILED = "The database server refused the login: check the database name, user and password."


def _connect_problem(exc: SourceError) -> IngestionError:
    log.info("source connection failed: %s", exc)
    return IngestionError(LOGIN_FAILED if exc.reached_database else CONNECT_FAILED, field="source.host")


def _count_attempt(user: Any) -> None:
    """Rate limit of connection attempts on behalf of a person (INGESTION_TEST_CONNECTION_PER_MINUTE)."""
    from django.conf import settings
    from django.core.cache import cache

    key = f"ingestion:test-connection:{getattr(user, 'pk', None) or 'anonymous'}:{int(timezone.now().timestamp()) // 60}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    if count > settings.INGESTION_TEST_CONNECTION_PER_MINUTE:
        raise TooManyAttempts("Too many connection attempts; wait a minute and try again.")


def test_connection(spec: ConnectionSpec, *, user: Any = None) -> str:
    """The server version. Raises TooManyAttempts past the per-user limit and IngestionError with
    CONNECT_FAILED or LOGIN_FAILED (the driver's own reason goes to the log only)."""
    _count_attempt(user)
    try:
        with open_source(spec) as source:
            return source.test_connection()
    except SourceError as exc:
        raise _connect_problem(exc) from None


def discover_tables(spec: ConnectionSpec, *, user: Any = None) -> list[TableInfo]:
    """The source's tables. Every connection made for a person counts against their limit (no
    other path to a host is a free port scanner): raises TooManyAttempts like test_connection."""
    _count_attempt(user)
    try:
        with open_source(spec) as source:
            return source.list_tables()
    except SourceError as exc:
        raise _connect_problem(exc) from None


def connection_from(kind: str, host: str, port: int, database: str, user: str, *, password: str | None = None,
                    secret_arn: str = "", hub: str = "", actor: Any = None, role: Role | None = None,
                    draft: Any = None) -> ConnectionSpec:
    """A connection spec with the typed password, or the one behind ``secret_arn`` when the
    draft (or ``hub``'s provider role) may use it (secret_services.use_reference: Forbidden otherwise)."""
    if password is None:
        from ingestion_wizard import secret_services

        hub = hub or getattr(draft, "hub", "") or (role.hub if role and role.hub else "")
        password = secret_services.use_reference(secret_arn, hub=hub, user=actor, role=role, draft=draft).password
    return ConnectionSpec(kind, host, int(port), database, user, password)


def check_source_host(host: str, port: int, database: str) -> None:
    """Refuses a host the portal may not connect to (hosts.vet), for kinds the portal never connects
    to itself as well (Glue does, from the lake's network)."""
    from ingestion_wizard import hosts

    try:
        hosts.vet(host, port, database)
    except hosts.HostRefused as exc:
        raise IngestionError(str(exc), field="source.host") from None


def ensure_can_provide(role: Role | None, hub: str) -> None:
    if role is None or not role.can_provide(hub):
        raise IngestionError(f"Your role may not onboard sources into hub {hub}; switch to its provider role.",
                             field="hub")


# --- Create and provision --------------------------------------------------------
def create_pipeline(spec: PipelineSpec, *, user: Any, role: Role, verify_source: bool = True,
                    draft: Any = None) -> Pipeline:
    """Validates against the world (role, name collision, source host, secret reference, the
    source itself), stores a given password in Secrets Manager, records the pipeline and its
    pending steps, and starts provisioning after commit. ``draft``: the wizard draft whose own
    secret the spec may name. Raises IngestionError; on failure nothing is left behind.
    """
    ensure_can_provide(role, spec.hub)
    problem = target_database_problem(spec.target.database)
    if problem:
        raise Conflict(problem, field="target.database")
    src = spec.source
    tables = src.table_specs() if src.kind != "kinesis" else []
    secret: secret_services.SecretUse | None = None
    if src.kind != "kinesis":
        check_source_host(src.host, src.port or 0, src.database)
        if src.password is None:
            secret = secret_services.use_reference(src.secret_arn, hub=spec.hub, user=user, role=role, draft=draft)
    if src.kind != "kinesis" and verify_source and src.kind in ("postgresql", "mysql"):
        password = src.password.get_secret_value() if src.password is not None else secret.password  # type: ignore[union-attr]
        conn = ConnectionSpec(src.kind, src.host, int(src.port or 0), src.database, src.user, password)
        known = {t.ref: t for t in discover_tables(conn, user=user)}
        for t in tables:
            ref = f"{t['schema']}.{t['name']}" if t["schema"] else f"{src.database}.{t['name']}"
            if ref not in known:
                raise IngestionError(f"Table {ref} is not in the source database.", field="source.tables")
            t["schema"] = known[ref].schema
            column = t.get("incremental_column")
            if column and column not in {c.name for c in known[ref].columns}:
                raise IngestionError(f"Column {column} is not in {ref}.", field="source.tables")
    secret_arn = secret.arn if secret is not None else ""
    created_secret = False
    if src.kind != "kinesis" and src.password is not None:
        secret_arn = secret_services.create_for_pipeline(hub=spec.hub, label=spec.name, db_user=src.user,
                                                         password=src.password.get_secret_value(), user=user)
        created_secret = True
    try:
        with transaction.atomic():
            pipeline = Pipeline.objects.create(
                name=spec.name, hub=spec.hub, created_by=user if getattr(user, "pk", None) else None,
                source_kind=src.kind, host=src.host, port=src.port, source_database=src.database,
                source_user=src.user, secret_arn=secret_arn, tables=tables,
                stream_name=src.stream_name if src.kind == "kinesis" else "",
                stream_mode=src.stream_mode if src.kind == "kinesis" else "",
                stream_shards=src.shards, stream_columns=src.columns,
                target_database=spec.target.database, layer=spec.target.layer, owner=spec.target.owner,
                classification=spec.target.classification, partitioning=spec.target.partitioning,
                schedule=spec.schedule or "",
            )
            if secret_arn and (created_secret or (secret is not None and secret.managed)):
                secret_services.adopt(secret_arn, pipeline)
            ProvisioningStep.objects.bulk_create([
                ProvisioningStep(pipeline=pipeline, position=i, key=s.key, label=s.label)
                for i, s in enumerate(provisioning.steps_for(pipeline))
            ])
            audit.record(user, "ingestion.pipeline.create", role=role, target=f"pipeline:{pipeline.pk}",
                         details={"name": pipeline.name, "hub": pipeline.hub, "kind": pipeline.source_kind,
                                  "target_database": pipeline.target_database})
            dispatch.provision(pipeline.pk)
    except IntegrityError:
        if created_secret:
            secret_services.forget(secret_arn)
        raise Conflict(f"Database {spec.target.database} is already the target of another pipeline.",
                       field="target.database") from None
    except Exception:
        if created_secret:
            secret_services.forget(secret_arn)
        raise
    return pipeline


def _lease_seconds() -> int:
    from django.conf import settings

    return settings.INGESTION_LEASE_SECONDS


def provision_step(pipeline_id: int, key: str) -> str:
    """Runs one step: 'skipped' (already done, pipeline stopped, or an earlier step not done),
    'busy' (another worker holds its lease), 'succeeded'.

    The step is claimed with a compare-and-set: pending, or running under a lapsed lease (its
    worker died); the lease is renewed while the step works. Raises TransientAWSError for the
    task to retry; a permanent failure marks the step and the pipeline failed and returns 'failed'.
    """
    pipeline = Pipeline.objects.filter(pk=pipeline_id).first()
    if pipeline is None or pipeline.status != Pipeline.Status.PROVISIONING:
        return "skipped"
    step = ProvisioningStep.objects.get(pipeline=pipeline, key=key)
    if step.status == ProvisioningStep.Status.SUCCEEDED:
        return "skipped"
    # Steps depend on earlier ones (the job on its connection): never run one out of order.
    if pipeline.steps.filter(position__lt=step.position).exclude(status=ProvisioningStep.Status.SUCCEEDED).exists():
        return "skipped"
    claimed = ProvisioningStep.objects.filter(pk=step.pk).filter(
        Q(status=ProvisioningStep.Status.PENDING) | Q(status=ProvisioningStep.Status.RUNNING) & leases.lapsed()
    ).update(status=ProvisioningStep.Status.RUNNING, started_at=step.started_at or timezone.now(),
             attempts=F("attempts") + 1, error="", lease_expires_at=leases.expiry(_lease_seconds()))
    if not claimed:
        return "busy"
    try:
        with leases.held(ProvisioningStep, step.pk, _lease_seconds()):
            resource = provisioning.STEPS_BY_KEY[key].ensure(pipeline)
    except TransientAWSError as exc:
        # The lease is given up at once: the task's own retry (or a retry by a person) claims it again.
        ProvisioningStep.objects.filter(pk=step.pk).update(error=f"Retrying: {exc}", lease_expires_at=timezone.now())
        raise
    except StepFailed as exc:
        fail_step(pipeline_id, key, str(exc))
        return "failed"
    except Exception as exc:  # an unexpected bug still ends as a visible reason, not a hung step
        log.exception("provisioning step %s of pipeline %s crashed", key, pipeline_id)
        fail_step(pipeline_id, key, f"{type(exc).__name__}: {exc}")
        return "failed"
    ProvisioningStep.objects.filter(pk=step.pk).update(
        status=ProvisioningStep.Status.SUCCEEDED, resource=resource, finished_at=timezone.now(), error="",
        lease_expires_at=None,
    )
    audit.record(None, "ingestion.provisioning.step", target=f"pipeline:{pipeline_id}",
                 details={"step": key, "resource": resource})
    return "succeeded"


def stalled_steps(pipeline: Pipeline) -> Any:
    """Steps left running by a worker that is gone (their lease lapsed)."""
    return pipeline.steps.filter(Q(status=ProvisioningStep.Status.RUNNING) & leases.lapsed())


def fail_step(pipeline_id: int, key: str, reason: str) -> None:
    with transaction.atomic():
        ProvisioningStep.objects.filter(pipeline_id=pipeline_id, key=key).update(
            status=ProvisioningStep.Status.FAILED, error=reason, finished_at=timezone.now(), lease_expires_at=None)
        Pipeline.objects.filter(pk=pipeline_id, status=Pipeline.Status.PROVISIONING).update(
            status=Pipeline.Status.FAILED, error=f"Step '{key}' failed: {reason}")
    audit.record(None, "ingestion.provisioning.failed", target=f"pipeline:{pipeline_id}",
                 details={"step": key, "reason": reason})


def finish_provisioning(pipeline_id: int) -> str:
    """Marks the pipeline ready once every step succeeded and installs its schedule."""
    with transaction.atomic():
        pipeline = Pipeline.objects.select_for_update().filter(pk=pipeline_id).first()
        if pipeline is None or pipeline.status != Pipeline.Status.PROVISIONING:
            return "skipped"
        if pipeline.steps.exclude(status=ProvisioningStep.Status.SUCCEEDED).exists():
            return "incomplete"
        pipeline.status = Pipeline.Status.READY
        pipeline.error = ""
        pipeline.save(update_fields=["status", "error", "updated_at"])
        sync_schedule(pipeline)
    audit.record(None, "ingestion.provisioning.ready", target=f"pipeline:{pipeline_id}")
    return "ready"


def retry_provisioning(pipeline: Pipeline, *, user: Any, role: Role | None = None, enqueue: bool = True) -> Pipeline:
    """Resumes provisioning from the first step not done (succeeded steps are skipped): after a
    failure, or when a worker died mid-step (its lease lapsed). Conflict while a worker holds one.
    A pipeline whose resources went missing runs every step again (each keeps what still exists).
    ``enqueue=False``: the caller runs the steps itself (manage.py provision_pipeline)."""
    missing = pipeline.status == Pipeline.Status.RESOURCES_MISSING
    resumable = missing or pipeline.status == Pipeline.Status.FAILED or (
        pipeline.status == Pipeline.Status.PROVISIONING and stalled_steps(pipeline).exists())
    if not resumable:
        held = pipeline.steps.filter(status=ProvisioningStep.Status.RUNNING).first()
        if pipeline.status == Pipeline.Status.PROVISIONING and held is not None:
            raise Conflict(f"Step '{held.key}' is being worked on (its worker renews its lease); retry once it "
                           "stops or its lease lapses.")
        raise Conflict(f"Only a failed or stalled pipeline, or one whose resources are missing, can be retried "
                       f"(this one is {pipeline.status}).")
    with transaction.atomic():
        redo = pipeline.steps.all() if missing else pipeline.steps.exclude(status=ProvisioningStep.Status.SUCCEEDED)
        redo.filter(
            ~Q(status=ProvisioningStep.Status.RUNNING) | leases.lapsed()).update(
            status=ProvisioningStep.Status.PENDING, error="", finished_at=None, lease_expires_at=None)
        Pipeline.objects.filter(pk=pipeline.pk).update(status=Pipeline.Status.PROVISIONING, error="")
        audit.record(user, "ingestion.provisioning.retry", role=role, target=f"pipeline:{pipeline.pk}")
        if enqueue:
            dispatch.provision(pipeline.pk)
    pipeline.refresh_from_db()
    return pipeline


def resume_stalled_provisioning() -> list[int]:
    """Beat's sweep: re-enqueues provisioning of pipelines whose step lost its worker."""
    resumed = []
    for pipeline in Pipeline.objects.filter(status=Pipeline.Status.PROVISIONING):
        if stalled_steps(pipeline).exists():
            try:
                retry_provisioning(pipeline, user=None)
            except Conflict:
                continue
            resumed.append(pipeline.pk)
    return resumed


# --- Delete ------------------------------------------------------------------------
def delete_pipeline(pipeline: Pipeline, *, user: Any, role: Role | None = None) -> Pipeline:
    """Stops the schedule and tears the resources down in reverse order (in a task)."""
    if pipeline.status == Pipeline.Status.DELETING and pipeline.error == "":
        return pipeline
    with transaction.atomic():
        Pipeline.objects.filter(pk=pipeline.pk).update(status=Pipeline.Status.DELETING, error="")
        pipeline.refresh_from_db()
        _drop_schedule(pipeline)
        audit.record(user, "ingestion.pipeline.delete", role=role, target=f"pipeline:{pipeline.pk}",
                     details={"name": pipeline.name})
        dispatch.teardown(pipeline.pk)
    return pipeline


def teardown(pipeline_id: int) -> str:
    """Removes every created resource, last first; deletes the pipeline once all are gone.

    A failing removal stops there with its reason on the step (the record stays,
    so nothing is left in AWS without a row pointing at it); deleting again resumes.
    """
    pipeline = Pipeline.objects.filter(pk=pipeline_id).first()
    if pipeline is None:
        return "gone"
    for step in pipeline.steps.order_by("-position"):
        if step.status in (ProvisioningStep.Status.PENDING, ProvisioningStep.Status.REMOVED):
            continue
        try:
            provisioning.STEPS_BY_KEY[step.key].remove(pipeline, step.resource)
        except (StepFailed, TransientAWSError) as exc:
            ProvisioningStep.objects.filter(pk=step.pk).update(error=f"Could not remove: {exc}")
            Pipeline.objects.filter(pk=pipeline_id).update(error=f"Teardown stopped at '{step.key}': {exc}")
            audit.record(None, "ingestion.pipeline.teardown_failed", target=f"pipeline:{pipeline_id}",
                         details={"step": step.key, "reason": str(exc)})
            return "failed"
        ProvisioningStep.objects.filter(pk=step.pk).update(status=ProvisioningStep.Status.REMOVED,
                                                           finished_at=timezone.now())
    # Only secrets the portal created for this pipeline; a provider's own secret stays theirs.
    secret_services.release(pipeline)
    with transaction.atomic():
        _drop_schedule(pipeline)
        pipeline.delete()
    audit.record(None, "ingestion.pipeline.deleted", target=f"pipeline:{pipeline_id}")
    return "deleted"


# --- Schedule, pause, resume --------------------------------------------------------
def _task_name(pipeline: Pipeline) -> str:
    return f"ingestion-pipeline-{pipeline.pk}"


def sync_schedule(pipeline: Pipeline) -> None:
    """Makes the beat PeriodicTask match the pipeline: present when it has a cron, enabled when ready."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    if not pipeline.schedule:
        _drop_schedule(pipeline)
        return
    minute, hour, day_of_month, month_of_year, day_of_week = pipeline.schedule.split()
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
        day_of_week=day_of_week, timezone="UTC",
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=_task_name(pipeline),
        defaults={"task": "ingestion_wizard.tasks.scheduled_run", "crontab": crontab, "interval": None,
                  "args": json.dumps([pipeline.pk]), "enabled": pipeline.status == Pipeline.Status.READY},
    )
    if pipeline.periodic_task_id != task.pk:
        Pipeline.objects.filter(pk=pipeline.pk).update(periodic_task=task)
        pipeline.periodic_task = task


def _drop_schedule(pipeline: Pipeline) -> None:
    from django_celery_beat.models import PeriodicTask

    PeriodicTask.objects.filter(name=_task_name(pipeline)).delete()
    pipeline.periodic_task = None


def update_schedule(pipeline: Pipeline, schedule: str | None, *, user: Any, role: Role | None = None) -> Pipeline:
    """``schedule`` is already validated (validation.validate_cron) or None for on demand."""
    with transaction.atomic():
        pipeline.schedule = schedule or ""
        pipeline.save(update_fields=["schedule", "updated_at"])
        if pipeline.status in (Pipeline.Status.READY, Pipeline.Status.PAUSED):
            sync_schedule(pipeline)
        audit.record(user, "ingestion.pipeline.schedule", role=role, target=f"pipeline:{pipeline.pk}",
                     details={"schedule": pipeline.schedule or "on demand"})
    return pipeline


def pause(pipeline: Pipeline, *, user: Any, role: Role | None = None) -> Pipeline:
    """Stops scheduled runs (and run-now) until resumed; a paused pipeline stays paused."""
    return _set_paused(pipeline, True, user=user, role=role)


def resume(pipeline: Pipeline, *, user: Any, role: Role | None = None) -> Pipeline:
    return _set_paused(pipeline, False, user=user, role=role)


def _set_paused(pipeline: Pipeline, paused: bool, *, user: Any, role: Role | None) -> Pipeline:
    wanted, needed = ((Pipeline.Status.PAUSED, Pipeline.Status.READY) if paused
                      else (Pipeline.Status.READY, Pipeline.Status.PAUSED))
    if pipeline.status == wanted:
        return pipeline
    if pipeline.status != needed:
        raise Conflict(f"Only a {needed} pipeline can be {'paused' if paused else 'resumed'} "
                       f"(this one is {pipeline.status}).")
    with transaction.atomic():
        pipeline.status = wanted
        pipeline.save(update_fields=["status", "updated_at"])
        sync_schedule(pipeline)
        audit.record(user, f"ingestion.pipeline.{'pause' if paused else 'resume'}", role=role,
                     target=f"pipeline:{pipeline.pk}")
    return pipeline


# --- Runs --------------------------------------------------------------------------
def request_run(pipeline: Pipeline, *, user: Any = None, trigger: str = "manual",
                role: Role | None = None) -> PipelineRun:
    """Queues a run (executed by a task after commit). Raises Conflict when one is active or the
    pipeline is not ready."""
    if pipeline.status != Pipeline.Status.READY:
        raise Conflict(f"The pipeline is {pipeline.status}; runs need a ready pipeline.")
    fail_abandoned_runs(pipeline)
    try:
        with transaction.atomic():
            run = PipelineRun.objects.create(pipeline=pipeline, trigger=trigger,
                                             triggered_by=user if getattr(user, "pk", None) else None,
                                             executor=executor.executor_kind())
            dispatch.execute_run(run.pk)
    except IntegrityError:
        raise Conflict("A run of this pipeline is already queued or running.") from None
    if trigger != "schedule":
        audit.record(user, "ingestion.run.request", role=role, target=f"pipeline:{pipeline.pk}",
                     details={"run": run.pk, "trigger": trigger})
    return run


def fail_abandoned_runs(pipeline: Pipeline) -> int:
    """Ends runs queued or running for longer than RUN_ABANDON_AFTER (their worker was lost):
    otherwise one lost run would block every later run of the pipeline."""
    cutoff = timezone.now() - RUN_ABANDON_AFTER
    hours = RUN_ABANDON_AFTER.total_seconds() / 3600
    # A Glue run already started (its id recorded) is not abandoned: the sweep resumes following it.
    lapsed = PipelineRun.objects.filter(pipeline=pipeline, status="running", executor="local",
                                        lease_expires_at__lt=timezone.now(), glue_run_id="").update(
        status=PipelineRun.Status.FAILED, finished_at=timezone.now(),
        error="Abandoned: the worker running it stopped renewing its lease (it was lost).")
    return lapsed + PipelineRun.objects.filter(pipeline=pipeline, status__in=["queued", "running"],
                                               created_at__lt=cutoff).update(
        status=PipelineRun.Status.FAILED, finished_at=timezone.now(),
        error=f"Abandoned: no outcome after {hours:.0f} hours (the worker running it was lost).")


def scheduled_run(pipeline_id: int) -> PipelineRun | None:
    """Beat's entry: a run unless the pipeline is paused or already running."""
    pipeline = Pipeline.objects.filter(pk=pipeline_id, status=Pipeline.Status.READY).first()
    if pipeline is None:
        return None
    try:
        return request_run(pipeline, trigger="schedule")
    except Conflict:
        return None


def _append_log(run: PipelineRun, line: str) -> None:
    stamp = timezone.now().strftime("%H:%M:%S")
    run.log = f"{run.log}{stamp} {line}\n"
    PipelineRun.objects.filter(pk=run.pk).update(log=run.log)


def claim_run(run_id: int) -> PipelineRun | None:
    """queued → running with a compare-and-set, holding a lease; a run whose lease lapsed before its
    work was handed to Glue (its worker died: a local load, or a Glue start not recorded) is claimed
    again. None when another worker has it or it is done."""
    claimed = PipelineRun.objects.filter(pk=run_id).filter(
        Q(status=PipelineRun.Status.QUEUED)
        | Q(status=PipelineRun.Status.RUNNING, glue_run_id="") & leases.lapsed()
    ).update(status=PipelineRun.Status.RUNNING, started_at=timezone.now(),
             lease_expires_at=leases.expiry(_lease_seconds()))
    return PipelineRun.objects.select_related("pipeline").get(pk=run_id) if claimed else None


def fail_run(run: PipelineRun, reason: str) -> None:
    _append_log(run, f"Failed: {reason}")
    PipelineRun.objects.filter(pk=run.pk).update(status=PipelineRun.Status.FAILED, error=reason,
                                                 finished_at=timezone.now())


def execute_local_run(run: PipelineRun) -> str:
    """Does the run in this process. Raises TransientAWSError (the task retries); other
    failures end the run as failed with the reason."""
    pipeline = run.pipeline
    if pipeline.is_stream:
        # Firehose delivers continuously; a stream run only refreshes the catalog.
        result = executor.RunResult(partition="")
        table = provisioning.stream_table_name(pipeline)
        result.loads.append(executor.TableLoad(pipeline.stream_name, f"{pipeline.target_database}.{table}"))
    else:
        try:
            with leases.held(PipelineRun, run.pk, _lease_seconds()):
                result = executor.run_local(pipeline, run.pk, lambda line: _append_log(run, line))
        except TransientAWSError:
            raise
        except (SourceError, StepFailed) as exc:
            fail_run(run, str(exc))
            return "failed"
        except SecretUnavailable as exc:
            fail_run(run, str(exc))
            return "failed"
        except Exception as exc:
            log.exception("run %s of pipeline %s crashed", run.pk, pipeline.pk)
            fail_run(run, f"{type(exc).__name__}: {exc}")
            return "failed"
    complete_run(run, result)
    return "succeeded"


def complete_run(run: PipelineRun, result: executor.RunResult) -> None:
    """Records a successful load: watermarks, then the follow-ups (catalog, lineage, notification),
    then the run's final status, so a succeeded run's tables are already in the catalog."""
    pipeline = run.pipeline
    now = timezone.now()
    watermarks = dict(pipeline.watermarks)
    for load in result.loads:
        if load.watermark is not None:
            watermarks[load.source] = load.watermark
    Pipeline.objects.filter(pk=pipeline.pk).update(watermarks=watermarks)
    targets = [load.target for load in result.loads]
    for label, hook in (
        ("catalog refresh", lambda: after_run.refresh_catalog(pipeline, targets)),
        ("lineage", lambda: after_run.record_lineage(pipeline, result, now, user=run.triggered_by)),
        ("new-data notification", lambda: after_run.announce(pipeline, result, now)),
    ):
        try:
            hook()
            _append_log(run, f"{label}: done")
        except Exception as exc:  # the data is in the lake; a follow-up failing is a warning on the run
            log.warning("run %s: %s failed: %s", run.pk, label, exc)
            _append_log(run, f"Warning: {label} failed: {type(exc).__name__}: {exc}")
    _append_log(run, f"Succeeded: {result.rows} rows, {result.bytes} bytes")
    PipelineRun.objects.filter(pk=run.pk).update(
        status=PipelineRun.Status.SUCCEEDED, rows=result.rows, bytes=result.bytes,
        partition=result.partition, finished_at=timezone.now())


def _following_lease() -> Any:
    """While Glue runs the job, the run's lease is renewed by each poll: one that lapses means the
    polls stopped (their worker was lost) and ``resume_stalled_runs`` follows it again."""
    return leases.expiry(executor.GLUE_POLL_SECONDS + _lease_seconds())


def start_glue_run(run: PipelineRun) -> str:
    """Starts (or, resumed after a lost worker, finds) the run's Glue job run and records it.
    Raises TransientAWSError for the task to retry."""
    try:
        with leases.held(PipelineRun, run.pk, _lease_seconds()):
            job_run_id = executor.start_glue_run(run.pipeline, run.pk)
    except StepFailed as exc:
        fail_run(run, str(exc))
        return "failed"
    PipelineRun.objects.filter(pk=run.pk).update(glue_run_id=job_run_id, lease_expires_at=_following_lease())
    _append_log(run, f"Started Glue job run {job_run_id}")
    return "started"


def stalled_runs() -> Any:
    """Running runs whose worker is gone: their lease lapsed (a load or a Glue start cut short, or
    the polls of a Glue job run lost)."""
    return PipelineRun.objects.filter(Q(status=PipelineRun.Status.RUNNING) & leases.lapsed()).exclude(
        lease_expires_at__isnull=True)


def resume_stalled_runs() -> list[int]:
    """Beat's sweep: hands each stalled run to the next worker (claimed again, or followed again).
    The lease is taken here first, so two sweeps never resume one run twice."""
    resumed = []
    for run in stalled_runs():
        taken = PipelineRun.objects.filter(Q(pk=run.pk, status=PipelineRun.Status.RUNNING) & leases.lapsed()).update(
            # Not started: lapsed still, for execute_run's claim (a later sweep sends it again if lost).
            lease_expires_at=_following_lease() if run.glue_run_id else timezone.now())
        if not taken:
            continue
        audit.record(None, "ingestion.run.resumed", target=f"pipeline:{run.pipeline_id}",
                     details={"run": run.pk, "glue_run_id": run.glue_run_id})
        if run.glue_run_id:
            dispatch.follow_glue_run(run.pk)
        else:
            dispatch.execute_run(run.pk)
        resumed.append(run.pk)
    return resumed


def follow_glue_run(run_id: int) -> str:
    """'running' while the Glue job runs; ends the run when it reaches a final state."""
    run = PipelineRun.objects.select_related("pipeline").get(pk=run_id)
    if run.status != PipelineRun.Status.RUNNING:
        return run.status
    PipelineRun.objects.filter(pk=run.pk).update(lease_expires_at=_following_lease())
    try:
        state, message = executor.glue_run_state(run.pipeline, run.glue_run_id)
    except StepFailed as exc:
        fail_run(run, str(exc))
        return "failed"
    if state in ("STARTING", "RUNNING", "STOPPING", "WAITING"):
        return "running"
    if state != "SUCCEEDED":
        fail_run(run, f"Glue job run {run.glue_run_id} ended {state}: {message}".strip())
        return "failed"
    result = executor.RunResult(partition=f"load_date={timezone.now().date().isoformat()}")
    for t in run.pipeline.tables:
        ref = f"{t['schema']}.{t['name']}" if t.get("schema") else t["name"]
        result.loads.append(executor.TableLoad(ref, f"{run.pipeline.target_database}."
                                                    f"{run.pipeline.target_table_name(t)}"))
    complete_run(run, result)
    return "succeeded"
