"""Every write and AWS side effect of workspaces, called alike by HTML views, API views and tasks.

A workspace is launched in the consumer's role: the SageMaker notebook, its
lifecycle configuration and the optional EMR cluster are created with STS
AssumeRole credentials of the role's IAM role (they live in that role's
account), while the portal itself, as data lake administrator, grants the role
Lake Formation SELECT on the chosen tables.

Provisioning and teardown are idempotent steps: each records what it created
before moving on, so a retried task resumes and delete cleans up from any state.
AWS refusals (``ClientError``) end in ``failed`` with the reason; network
trouble raises ``AwsUnavailable`` so tasks retry and views answer 503.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Table
from portal import aws, lake_permissions
from identity import audit
from identity import roles
from identity.roles import Role
from workspaces import dispatch, lifecycle, prices
from workspaces.models import Workspace

log = logging.getLogger(__name__)

Status = Workspace.Status
MIN_VOLUME_GB = 5
MAX_VOLUME_GB = 16384
MAX_DATASETS = 20
EMR_INSTANCE_TYPE = "m5.xlarge"
EMR_CORE_NODES = 2


class WorkspaceError(Exception):
    """Bad input or a forbidden action; the message is shown to the user."""

    status_code = 400


class DatasetNotFound(WorkspaceError):
    """Unknown dataset, or one outside the role (indistinguishable on purpose)."""

    status_code = 404


class NotAllowed(WorkspaceError):
    status_code = 403


class ActionConflict(WorkspaceError):
    """The action does not fit the workspace's current state."""

    status_code = 409


class AwsUnavailable(WorkspaceError):
    """AWS could not be reached; try again shortly."""

    status_code = 503


# --- Input -------------------------------------------------------------------

def resolve_datasets(role: Role, names: Iterable[str]) -> list[Table]:
    """Tables for ``database.table`` names the role may see, in the given order without repeats.

    Raises DatasetNotFound naming the first unknown (or hidden) dataset.
    """
    tables: list[Table] = []
    seen: set[str] = set()
    for raw in names:
        name = str(raw).strip()
        database, dot, table_name = name.partition(".")
        if not dot or not database or not table_name:
            raise WorkspaceError(f"Dataset {name!r} is not a 'database.table' name.")
        if name in seen:
            continue
        table = Table.objects.visible_to(role).filter(database_name=database, name=table_name).first()
        if table is None:
            raise DatasetNotFound(f"Dataset {name} not found.")
        seen.add(name)
        tables.append(table)
    return tables


def _dataset_snapshot(table: Table) -> dict[str, str]:
    return {
        "name": table.qualified_name,
        "database": table.database_name,
        "table": table.name,
        "location": table.location,
        "format": table.format,
    }


def _check_launch_input(role: Role, dataset_names: list[str], instance_type: str, volume_gb: Any) -> list[Table]:
    if not roles.may_launch(role):
        raise NotAllowed(f"Your role ({role.label}) may not launch workspaces; switch to a consumer role.")
    if not isinstance(dataset_names, list) or not dataset_names:
        raise WorkspaceError("Choose at least one dataset.")
    if len(dataset_names) > MAX_DATASETS:
        raise WorkspaceError(f"A workspace holds at most {MAX_DATASETS} datasets.")
    table = prices.configured_prices()
    if instance_type not in prices.instance_types(table):
        raise WorkspaceError(
            f"Unknown instance type {instance_type!r}; choose one of {', '.join(prices.instance_types(table))}."
        )
    if isinstance(volume_gb, bool) or not isinstance(volume_gb, int) or not MIN_VOLUME_GB <= volume_gb <= MAX_VOLUME_GB:
        raise WorkspaceError(f"Volume size must be a whole number of GB from {MIN_VOLUME_GB} to {MAX_VOLUME_GB}.")
    return resolve_datasets(role, dataset_names)


def _notebook_name(workspace_id: int, username: str) -> str:
    # SageMaker names: [a-zA-Z0-9](-*[a-zA-Z0-9])*, ≤63; the random part keeps names unique across resets.
    user_part = re.sub(r"[^a-zA-Z0-9]+", "-", username).strip("-")[:24] or "user"
    return f"dh-ws-{workspace_id}-{user_part}-{secrets.token_hex(3)}"[:59].rstrip("-")


# --- Launch ------------------------------------------------------------------

def launch_workspace(*, owner: Any, role: Role, datasets: list[str], instance_type: str, volume_gb: Any = 20,
                     emr: bool = False, ip: str | None = None) -> Workspace:
    """Record a pending workspace and enqueue its provisioning (after commit).

    Raises WorkspaceError (400), DatasetNotFound (404) or NotAllowed (403) for bad input
    or an exceeded quota; nothing is created in AWS then.
    """
    tables = _check_launch_input(role, datasets, instance_type, volume_gb)
    snapshot = [_dataset_snapshot(t) for t in tables]
    try:
        lifecycle.encoded_script(lifecycle.manifest(snapshot, "j-PLACEHOLDER" if emr else ""))
    except ValueError as exc:
        raise WorkspaceError(str(exc)) from None
    with transaction.atomic():
        # Lock the owner so two launches at once cannot both slip under the quota.
        get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
        quota = settings.WORKSPACE_QUOTA_PER_USER
        if Workspace.objects.filter(owner=owner).live().count() >= quota:
            raise WorkspaceError(f"Workspace quota reached ({quota} per user); delete a workspace first.")
        workspace = Workspace.objects.create(
            owner=owner,
            role=role.as_dict(),
            role_arn=aws.role_arn_for(role),
            name=f"pending-{secrets.token_hex(8)}",
            instance_type=instance_type,
            volume_gb=volume_gb,
            emr=bool(emr),
            datasets=snapshot,
            hourly_cost=prices.hourly_cost(prices.configured_prices(), instance_type, volume_gb, bool(emr)),
            lease_expires_at=timezone.now(),  # queued for a worker: the stall clock starts (workspaces.leasing)
        )
        workspace.name = _notebook_name(workspace.pk, owner.get_username())
        workspace.save(update_fields=["name"])
        workspace.tables.set(tables)
        Table.objects.filter(pk__in=[t.pk for t in tables]).update(usage_count=F("usage_count") + 1)
        audit.record(owner, "workspace.launch", role=role, target=f"workspace:{workspace.pk}", ip=ip,
                     details={"datasets": [d["name"] for d in snapshot], "instance_type": instance_type,
                              "volume_gb": volume_gb, "emr": bool(emr)})
        dispatch.provision(workspace.pk)
    return workspace


def _aws_reason(exc: Exception, step: str) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{step}: {error.get('Code', 'Error')}: {error.get('Message', str(exc))}"[:2000]
    return f"{step}: {exc}"[:2000]


def fail_workspace(workspace: Workspace, reason: str) -> None:
    """Leave the workspace failed with the reason shown to its owner."""
    workspace.status = Status.FAILED
    workspace.status_reason = reason
    workspace.save(update_fields=["status", "status_reason", "updated_at"])
    audit.record(None, "workspace.failed", target=f"workspace:{workspace.pk}", details={"reason": reason})


class _RoleClients:
    """Clients acting as the workspace owner's role; one AssumeRole per service call batch."""

    def __init__(self, workspace: Workspace) -> None:
        self.credentials = aws.assume_role_credentials(workspace.portal_role, workspace.owner.get_username())

    def client(self, service: str, max_attempts: int | None = None) -> Any:
        return aws.client(service, credentials=self.credentials, max_attempts=max_attempts)


def _step(workspace: Workspace, step: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one AWS call; a refusal becomes WorkspaceStepFailed, a network fault AwsUnavailable."""
    try:
        return call(*args, **kwargs)
    except ClientError as exc:
        raise _StepFailed(_aws_reason(exc, step)) from exc
    except BotoCoreError as exc:
        raise AwsUnavailable(_aws_reason(exc, step)) from exc


class _StepFailed(Exception):
    pass


def provision_workspace(workspace_id: int) -> Workspace:
    """Create the AWS side of a pending workspace (resumable). Returns it pending, or failed with a reason.

    Raises AwsUnavailable on network faults (the task retries).
    """
    workspace = Workspace.objects.select_related("owner").get(pk=workspace_id)
    if workspace.status != Status.PENDING or workspace.notebook_arn:
        return workspace
    try:
        _provision(workspace)
    except _StepFailed as exc:
        fail_workspace(workspace, str(exc))
    return workspace


def _provision(workspace: Workspace) -> None:
    role_clients = _step(workspace, "Assume the role's IAM role", _RoleClients, workspace)
    identity = _step(workspace, "Check the assumed identity", role_clients.client("sts").get_caller_identity)
    workspace.assumed_identity = identity["Arn"]
    workspace.save(update_fields=["assumed_identity"])

    for dataset in workspace.datasets:
        key = [dataset["database"], dataset["table"]]
        if key in workspace.grants:
            continue
        _step(workspace, f"Grant SELECT on {dataset['name']}", lake_permissions.grant, workspace.role_arn,
              lake_permissions.table_resource(key[0], key[1]))
        workspace.grants = [*workspace.grants, key]
        workspace.save(update_fields=["grants"])

    if workspace.emr and not workspace.emr_cluster_id:
        emr = role_clients.client("emr")
        # A worker that died between starting the cluster and recording it left one running: adopt it.
        cluster_id = _step(workspace, "Look for the EMR cluster", _live_cluster_id, emr, f"{workspace.name}-spark")
        if cluster_id is None:
            cluster_id = _step(workspace, "Start the EMR cluster", emr.run_job_flow,
                               **_emr_cluster_spec(workspace))["JobFlowId"]
        workspace.emr_cluster_id = cluster_id
        workspace.save(update_fields=["emr_cluster_id"])

    sagemaker = role_clients.client("sagemaker")
    if not workspace.lifecycle_config_name:
        # Remember the name before creating, so delete cleans up even if we die right after the call.
        workspace.lifecycle_config_name = f"{workspace.name}-lc"
        workspace.save(update_fields=["lifecycle_config_name"])
        content = lifecycle.encoded_script(
            lifecycle.manifest(workspace.datasets, workspace.emr_cluster_id, settings.AWS_DEFAULT_REGION)
        )
        _step(workspace, "Create the lifecycle configuration", _create_lifecycle_config, sagemaker,
              workspace.lifecycle_config_name, content)

    created = _step(workspace, "Create the notebook instance", _create_notebook, sagemaker, workspace)
    workspace.notebook_arn = created
    workspace.save(update_fields=["notebook_arn", "updated_at"])


def _emr_cluster_spec(workspace: Workspace) -> dict[str, Any]:
    return {
        "Name": f"{workspace.name}-spark",
        "ReleaseLabel": settings.WORKSPACE_EMR_RELEASE,
        "Applications": [{"Name": "Spark"}, {"Name": "Livy"}, {"Name": "JupyterEnterpriseGateway"}],
        "Instances": {
            "InstanceGroups": [
                {"Name": "master", "InstanceRole": "MASTER", "InstanceType": EMR_INSTANCE_TYPE, "InstanceCount": 1},
                {"Name": "core", "InstanceRole": "CORE", "InstanceType": EMR_INSTANCE_TYPE,
                 "InstanceCount": EMR_CORE_NODES},
            ],
            "KeepJobFlowAliveWhenNoSteps": True,
        },
        # Glue Data Catalog as the Spark metastore, so the notebook's spark.sql sees the lake's tables.
        "Configurations": [{
            "Classification": "spark-hive-site",
            "Properties": {"hive.metastore.client.factory.class":
                           "com.amazonaws.glue.catalog.metastore.AWSGlueDataCatalogHiveClientFactory"},
        }],
        "JobFlowRole": "EMR_EC2_DefaultRole",
        "ServiceRole": "EMR_DefaultRole",
        "VisibleToAllUsers": True,
        "Tags": _tags(workspace),
    }


def _live_cluster_id(emr: Any, name: str) -> str | None:
    """The id of a cluster named ``name`` that is starting or running, or None."""
    live = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"]
    for page in emr.get_paginator("list_clusters").paginate(ClusterStates=live):
        for cluster in page.get("Clusters", []):
            if cluster.get("Name") == name:
                return str(cluster["Id"])
    return None


def _tags(workspace: Workspace) -> list[dict[str, str]]:
    return [{"Key": "datahub:workspace", "Value": str(workspace.pk)},
            {"Key": "datahub:owner", "Value": workspace.owner.get_username()[:256]}]


def _create_lifecycle_config(sagemaker: Any, name: str, content: str) -> None:
    try:
        sagemaker.create_notebook_instance_lifecycle_config(
            NotebookInstanceLifecycleConfigName=name, OnCreate=[{"Content": content}], OnStart=[{"Content": content}]
        )
    except ClientError as exc:
        if "already exists" not in str(exc):  # a retried task finds its own config: fine
            raise


def _create_notebook(sagemaker: Any, workspace: Workspace) -> str:
    try:
        return sagemaker.create_notebook_instance(
            NotebookInstanceName=workspace.name,
            InstanceType=workspace.instance_type,
            RoleArn=workspace.role_arn,
            VolumeSizeInGB=workspace.volume_gb,
            LifecycleConfigName=workspace.lifecycle_config_name,
            DirectInternetAccess="Enabled",
            Tags=_tags(workspace),
        )["NotebookInstanceArn"]
    except ClientError as exc:
        if "already exists" in str(exc) or "duplicate" in str(exc).lower():
            return sagemaker.describe_notebook_instance(NotebookInstanceName=workspace.name)["NotebookInstanceArn"]
        raise


# --- Following AWS state -------------------------------------------------------

_SAGEMAKER_STATUS = {
    "Pending": Status.PENDING,
    "Updating": Status.PENDING,
    "InService": Status.IN_SERVICE,
    "Stopping": Status.STOPPING,
    "Stopped": Status.STOPPED,
    "Failed": Status.FAILED,
    "Deleting": Status.DELETING,
}


def describe_notebook(sagemaker: Any, name: str) -> dict[str, Any] | None:
    """The notebook's description, or None when it does not exist."""
    try:
        return sagemaker.describe_notebook_instance(NotebookInstanceName=name)
    except ClientError as exc:
        if "RecordNotFound" in str(exc) or "does not exist" in str(exc) or "ResourceNotFound" in str(exc):
            return None
        raise


def refresh_workspace(workspace_id: int, *, settled_too: bool = False) -> Workspace:
    """Bring the workspace's status in line with its notebook instance.

    Only pending/stopping workspaces are asked about, unless ``settled_too`` (in service or
    stopped ones, e.g. stopped by hand in the AWS console). Raises AwsUnavailable on network faults.
    """
    workspace = Workspace.objects.select_related("owner").get(pk=workspace_id)
    polled = (Status.PENDING, Status.STOPPING) + ((Status.IN_SERVICE, Status.STOPPED) if settled_too else ())
    if workspace.status not in polled or not workspace.notebook_arn:
        return workspace
    try:
        sagemaker = _step(workspace, "Assume the role's IAM role", _RoleClients, workspace).client("sagemaker")
        described = _step(workspace, "Describe the notebook instance", describe_notebook, sagemaker, workspace.name)
    except _StepFailed as exc:
        fail_workspace(workspace, str(exc))
        return workspace
    if described is None:
        fail_workspace(workspace, "The notebook instance no longer exists in SageMaker.")
        return workspace
    status = _SAGEMAKER_STATUS.get(described["NotebookInstanceStatus"], workspace.status)
    fields: dict[str, Any] = {"status": status}
    if described.get("Url"):
        fields["notebook_url"] = f"https://{described['Url']}"
    if status == Status.FAILED:
        fields["status_reason"] = described.get("FailureReason") or "SageMaker reports the notebook as failed."
    if status == Status.IN_SERVICE:
        fields["status_reason"] = ""
        if workspace.status == Status.PENDING:
            fields["last_activity_at"] = timezone.now()  # idle time counts from coming into service
    # Compare-and-set: a delete or stop that raced us wins.
    changed = Workspace.objects.filter(pk=workspace.pk, status=workspace.status).update(
        **fields, updated_at=timezone.now()
    )
    if changed and status != workspace.status:
        audit.record(None, f"workspace.{status}", target=f"workspace:{workspace.pk}")
    workspace.refresh_from_db()
    return workspace


# --- User actions ----------------------------------------------------------------

def _act(workspace: Workspace, action: str, call_name: str) -> None:
    try:
        sagemaker = _RoleClients(workspace).client("sagemaker")
        getattr(sagemaker, call_name)(NotebookInstanceName=workspace.name)
    except ClientError as exc:
        raise ActionConflict(f"Cannot {action} the workspace: {exc.response.get('Error', {}).get('Message', exc)}")
    except BotoCoreError as exc:
        raise AwsUnavailable(f"AWS is unavailable, cannot {action} the workspace now: {exc}") from exc


def _notebook_action(workspace: Workspace, *, action: str, call_name: str, allowed: bool, requirement: str,
                     fields: dict[str, Any], actor: Any, role: Role | None, ip: str | None) -> Workspace:
    if not allowed:
        raise ActionConflict(f"Only {requirement} workspace can be {action}ed (it is {workspace.status}).")
    _act(workspace, action, call_name)
    Workspace.objects.filter(pk=workspace.pk).update(**fields, updated_at=timezone.now(),
                                                     lease_expires_at=timezone.now())  # the stall clock
    audit.record(actor, f"workspace.{action}", role=role, target=f"workspace:{workspace.pk}", ip=ip)
    dispatch.follow(workspace.pk)
    workspace.refresh_from_db()
    return workspace


def stop_workspace(workspace: Workspace, *, actor: Any, role: Role | None, ip: str | None = None) -> Workspace:
    """Stop an in-service notebook; the follower reports ``stopped``. Raises ActionConflict/AwsUnavailable."""
    return _notebook_action(workspace, action="stop", call_name="stop_notebook_instance", allowed=workspace.can_stop,
                            requirement="an in-service", fields={"status": Status.STOPPING},
                            actor=actor, role=role, ip=ip)


def start_workspace(workspace: Workspace, *, actor: Any, role: Role | None, ip: str | None = None) -> Workspace:
    """Start a stopped notebook (the lifecycle script rewrites the datasets on start); counts as activity.

    A workspace suspended because its owner lost its role (workspaces.role_loss) cannot start.
    """
    if workspace.suspended_at is not None:
        raise ActionConflict(workspace.status_reason or "The workspace is suspended: its role is no longer granted.")
    return _notebook_action(workspace, action="start", call_name="start_notebook_instance",
                            allowed=workspace.can_start, requirement="a stopped",
                            fields={"status": Status.PENDING, "status_reason": "", "last_activity_at": timezone.now()},
                            actor=actor, role=role, ip=ip)


def notebook_server_is_local() -> bool:
    """True when AWS is a local endpoint (moto in ``bin/run`` and tests): it keeps the notebook's
    record but runs no Jupyter server, so the URL that AWS would open answers nothing here."""
    return bool(settings.AWS_ENDPOINT_URL)


def open_workspace(workspace: Workspace, *, actor: Any, role: Role | None, ip: str | None = None) -> str:
    """The URL to open the notebook: presigned where AWS offers one, else the instance URL. Counts as activity."""
    if not workspace.can_open:
        raise ActionConflict(f"Only a workspace in service can be opened (it is {workspace.status}).")
    url = workspace.notebook_url or f"https://{workspace.name}.notebook.{settings.AWS_DEFAULT_REGION}.sagemaker.aws"
    try:
        # One attempt only: endpoints without presigned URLs (moto) must not cost a retry storm.
        sagemaker = _RoleClients(workspace).client("sagemaker", max_attempts=1)
        url = sagemaker.create_presigned_notebook_instance_url(NotebookInstanceName=workspace.name)["AuthorizedUrl"]
    except (ClientError, BotoCoreError) as exc:
        log.info("No presigned URL for %s (%s); using the instance URL", workspace.name, exc)
    Workspace.objects.filter(pk=workspace.pk).update(last_activity_at=timezone.now())
    audit.record(actor, "workspace.open", role=role, target=f"workspace:{workspace.pk}", ip=ip)
    return url


def delete_workspace(workspace: Workspace, *, actor: Any, role: Role | None, ip: str | None = None) -> Workspace:
    """Mark the workspace deleting and enqueue its teardown (works from any state but deleting/deleted)."""
    claimed = Workspace.objects.filter(pk=workspace.pk).exclude(
        status__in=[Status.DELETING, Status.DELETED]
    ).update(status=Status.DELETING, status_reason="", updated_at=timezone.now(), lease_expires_at=timezone.now())
    if not claimed:
        raise ActionConflict(f"The workspace is already {Workspace.objects.get(pk=workspace.pk).status}.")
    audit.record(actor, "workspace.delete", role=role, target=f"workspace:{workspace.pk}", ip=ip)
    dispatch.teardown(workspace.pk)
    workspace.refresh_from_db()
    return workspace


def teardown_workspace(workspace_id: int) -> bool:
    """Remove everything the workspace created; True when done (status ``deleted``), False to try again later.

    A refusal by AWS leaves the workspace ``failed`` with the reason, so delete can be retried.
    Raises AwsUnavailable on network faults.
    """
    workspace = Workspace.objects.select_related("owner").get(pk=workspace_id)
    if workspace.status != Status.DELETING:
        return True
    try:
        if not _remove_notebook(workspace):
            return False
        _remove_the_rest(workspace)
    except _StepFailed as exc:
        fail_workspace(workspace, f"Delete did not finish: {exc}")
        return True
    Workspace.objects.filter(pk=workspace.pk, status=Status.DELETING).update(
        status=Status.DELETED, deleted_at=timezone.now(), updated_at=timezone.now()
    )
    audit.record(None, "workspace.deleted", target=f"workspace:{workspace.pk}")
    return True


def _remove_notebook(workspace: Workspace) -> bool:
    """Stop, then delete the notebook; True once it is gone."""
    role_clients = _step(workspace, "Assume the role's IAM role", _RoleClients, workspace)
    sagemaker = role_clients.client("sagemaker")
    described = _step(workspace, "Describe the notebook instance", describe_notebook, sagemaker, workspace.name)
    if described is None:
        return True
    state = described["NotebookInstanceStatus"]
    if state == "InService":
        _step(workspace, "Stop the notebook instance", sagemaker.stop_notebook_instance,
              NotebookInstanceName=workspace.name)
        described = _step(workspace, "Describe the notebook instance", describe_notebook, sagemaker, workspace.name)
        state = described["NotebookInstanceStatus"] if described else "Gone"
    if state in ("Stopped", "Failed"):
        _step(workspace, "Delete the notebook instance", sagemaker.delete_notebook_instance,
              NotebookInstanceName=workspace.name)
        described = _step(workspace, "Describe the notebook instance", describe_notebook, sagemaker, workspace.name)
    return described is None


def _remove_the_rest(workspace: Workspace) -> None:
    role_clients = _step(workspace, "Assume the role's IAM role", _RoleClients, workspace)
    if workspace.emr_cluster_id:
        _step(workspace, "Terminate the EMR cluster", role_clients.client("emr").terminate_job_flows,
              JobFlowIds=[workspace.emr_cluster_id])
    if workspace.lifecycle_config_name:
        _step(workspace, "Delete the lifecycle configuration", _delete_lifecycle_config,
              role_clients.client("sagemaker"), workspace.lifecycle_config_name)
    still_needed = _grants_in_use(workspace)
    for database, table in workspace.grants:
        if (database, table) in still_needed:
            continue  # another live workspace of the same IAM role reads this table
        _step(workspace, f"Revoke SELECT on {database}.{table}", lake_permissions.revoke, workspace.role_arn,
              lake_permissions.table_resource(database, table))
    Workspace.objects.filter(pk=workspace.pk).update(grants=[])


def _grants_in_use(workspace: Workspace) -> set[tuple[str, str]]:
    others = Workspace.objects.filter(role_arn=workspace.role_arn, suspended_at__isnull=True).exclude(
        pk=workspace.pk).exclude(status__in=[Status.DELETING, Status.DELETED])
    return {(db, table) for grants in others.values_list("grants", flat=True) for db, table in grants}


def _delete_lifecycle_config(sagemaker: Any, name: str) -> None:
    try:
        sagemaker.delete_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName=name)
    except ClientError as exc:
        if "not exist" not in str(exc) and "RecordNotFound" not in str(exc) and "not found" not in str(exc).lower():
            raise


# --- Idle stop -------------------------------------------------------------------

def idle_workspaces(now: datetime | None = None) -> list[int]:
    """Ids of in-service workspaces with no open or start since WORKSPACE_IDLE_STOP_MINUTES."""
    cutoff = (now or timezone.now()) - timedelta(minutes=settings.WORKSPACE_IDLE_STOP_MINUTES)
    idle = Q(last_activity_at__lt=cutoff) | Q(last_activity_at__isnull=True, updated_at__lt=cutoff)
    return list(Workspace.objects.filter(idle, status=Status.IN_SERVICE).values_list("pk", flat=True))


def stop_idle_workspaces(now: datetime | None = None) -> list[int]:
    """Stop every idle workspace; returns the ids stopped (one failure does not stop the others)."""
    stopped = []
    for workspace_id in idle_workspaces(now):
        workspace = Workspace.objects.select_related("owner").get(pk=workspace_id)
        try:
            stop_workspace(workspace, actor=None, role=None)
        except ActionConflict as exc:
            # Most likely stopped or changed outside the portal: take SageMaker's word for it.
            log.info("Idle stop of workspace %s refused (%s); refreshing its state", workspace_id, exc)
            refresh_workspace(workspace_id, settled_too=True)
            continue
        except WorkspaceError as exc:
            log.warning("Idle stop of workspace %s failed: %s", workspace_id, exc)
            continue
        audit.record(None, "workspace.idle_stop", target=f"workspace:{workspace_id}",
                     details={"idle_minutes": settings.WORKSPACE_IDLE_STOP_MINUTES})
        stopped.append(workspace_id)
    return stopped
