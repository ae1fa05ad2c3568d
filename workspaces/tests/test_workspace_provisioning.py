"""Launching a workspace creates the notebook in the consumer's role, with the datasets and grants."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

from django.test import override_settings

from portal import aws
from identity.roles import Role
from workspaces import lifecycle, services
from workspaces.prices import DEFAULT_PRICES
from workspaces.models import Workspace

FINANCE = Role("consumer", "finance")
OTHER_ACCOUNT_ROLE = "arn:aws:iam::210987654321:role/finance-analysts"


def launch(client, datasets, **extra):
    body = {"datasets": datasets, "instance_type": "ml.t3.medium", "volume_gb": 20, "emr": False, **extra}
    return client.post("/api/v1/workspaces", body, format="json")


@override_settings(AWS_ROLE_ARNS={"consumer:finance": OTHER_ACCOUNT_ROLE})
def test_the_notebook_is_created_with_the_assumed_role_credentials(aws_endpoint, lake, consumer):
    response = launch(consumer, ["finance_curated.invoices", "shared.fx_rates"])
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"

    workspace = services.provision_workspace(response.json()["id"])

    assert workspace.status == "pending", workspace.status_reason
    # The role's account differs from the portal's: only assumed-role credentials put the notebook there.
    assert workspace.notebook_arn.startswith("arn:aws:sagemaker:eu-central-1:210987654321:notebook-instance/")
    assert workspace.assumed_identity.startswith("arn:aws:sts::210987654321:assumed-role/finance-analysts/")
    sagemaker = aws.client_for_user("sagemaker", FINANCE, "finance_consumer")
    described = sagemaker.describe_notebook_instance(NotebookInstanceName=workspace.name)
    assert described["RoleArn"] == OTHER_ACCOUNT_ROLE
    assert described["InstanceType"] == "ml.t3.medium"
    assert described["VolumeSizeInGB"] == 20
    # The portal's own account has no such notebook.
    assert aws.client("sagemaker").list_notebook_instances()["NotebookInstances"] == []


def test_the_lifecycle_script_writes_the_chosen_datasets_into_the_notebook(aws_endpoint, lake, consumer):
    workspace = services.provision_workspace(launch(consumer, ["finance_curated.invoices", "shared.fx_rates"]).json()["id"])

    sagemaker = aws.client_for_user("sagemaker", FINANCE, "finance_consumer")
    config_name = sagemaker.describe_notebook_instance(NotebookInstanceName=workspace.name)[
        "NotebookInstanceLifecycleConfigName"]
    config = sagemaker.describe_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName=config_name)
    on_create = lifecycle.decode(config["OnCreate"][0]["Content"])
    assert lifecycle.decode(config["OnStart"][0]["Content"]) == on_create
    encoded_manifest = on_create.split("echo '")[1].split("'")[0]
    manifest = json.loads(base64.b64decode(encoded_manifest))
    assert [(d["name"], d["location"]) for d in manifest["datasets"]] == [
        ("finance_curated.invoices", "s3://datahub-lake/finance_curated/invoices/"),
        ("shared.fx_rates", "s3://datahub-lake/shared/fx_rates/"),
    ]
    assert "wr.athena.read_sql_query" in on_create


def test_lake_formation_grants_select_on_the_datasets_to_the_roles_iam_role(aws_endpoint, lake, consumer):
    services.provision_workspace(launch(consumer, ["finance_curated.invoices", "shared.fx_rates"]).json()["id"])

    principal = {"DataLakePrincipalIdentifier": aws.role_arn_for(FINANCE)}
    lakeformation = aws.client("lakeformation")
    for database, table in [("finance_curated", "invoices"), ("shared", "fx_rates")]:
        permissions = lakeformation.list_permissions(
            Principal=principal, Resource={"Table": {"DatabaseName": database, "Name": table}}
        )["PrincipalResourcePermissions"]
        assert [p["Permissions"] for p in permissions] == [["SELECT"]]


def test_an_emr_cluster_running_spark_is_attached_on_request(aws_endpoint, lake, consumer):
    workspace = services.provision_workspace(launch(consumer, ["shared.fx_rates"], emr=True).json()["id"])

    assert workspace.emr_cluster_id.startswith("j-")
    emr = aws.client_for_user("emr", FINANCE, "finance_consumer")
    cluster = emr.describe_cluster(ClusterId=workspace.emr_cluster_id)["Cluster"]
    assert "Spark" in {app["Name"] for app in cluster["Applications"]}
    # The estimate includes the cluster's hourly price on top of the notebook's.
    assert Workspace.objects.get(pk=workspace.pk).hourly_cost > Decimal(str(DEFAULT_PRICES["emr"]))
