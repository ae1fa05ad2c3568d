"""A source in a private network: its Glue connection sits in a subnet with security groups, the
availability zone derived from the subnet (EC2 DescribeSubnets on moto); bad or missing placement
is a 400 naming the field, with nothing created."""

from __future__ import annotations

import json

import hcl2
import pytest

from ingestion_wizard import terraform
from ingestion_wizard.forms import ConnectionForm
from ingestion_wizard.models import Pipeline
from ingestion_wizard.tests.test_terraform import resources
from portal import aws

pytestmark = pytest.mark.django_db


@pytest.fixture
def vpc(aws_endpoint):
    """A VPC with a subnet in eu-central-1b, a security group in it and one in another VPC."""
    ec2 = aws.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.1.0/24", AvailabilityZone="eu-central-1b")["Subnet"]
    group = ec2.create_security_group(GroupName="glue-jdbc", Description="Glue to the ERP", VpcId=vpc_id)
    other_vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    stray = ec2.create_security_group(GroupName="elsewhere", Description="another VPC", VpcId=other_vpc)
    return {"subnet": subnet["SubnetId"], "group": group["GroupId"], "stray_group": stray["GroupId"]}


def body(source, network=None):
    source = {**source, **({"network": network} if network else {})}
    return {"name": "erp-orders", "hub": "finance", "source": source,
            "target": {"database": "finance_private_erp", "layer": "source"}}


def post(client, data, capture):
    with capture(execute=True):
        return client.post("/api/v1/pipelines", data=json.dumps(data), content_type="application/json")


def test_the_connection_and_the_export_carry_the_placement_with_the_subnets_zone(
        provider, pg_source, vpc, eager, django_capture_on_commit_callbacks):
    network = {"subnet_id": vpc["subnet"], "security_group_ids": [vpc["group"]]}
    response = post(provider, body(pg_source, network), django_capture_on_commit_callbacks)
    assert response.status_code == 201, response.content
    pid = response.json()["id"]
    assert provider.get(f"/api/v1/pipelines/{pid}").json()["source"]["network"] == {
        "subnet_id": vpc["subnet"], "security_group_ids": [vpc["group"]], "availability_zone": "eu-central-1b"}

    connection = aws.client("glue").get_connection(Name="datahub-finance_private_erp")["Connection"]
    assert connection["PhysicalConnectionRequirements"] == {
        "SubnetId": vpc["subnet"], "SecurityGroupIdList": [vpc["group"]], "AvailabilityZone": "eu-central-1b"}

    parsed = hcl2.loads(terraform.render(Pipeline.objects.get(pk=pid)))
    glue_connection = {n.strip('"'): b for t, n, b in resources(parsed, "resource")
                       if t.strip('"') == "aws_glue_connection"}["source"]
    (placement,) = glue_connection["physical_connection_requirements"]
    assert placement["availability_zone"] == '"eu-central-1b"'
    assert placement["security_group_id_list"] == [f'"{vpc["group"]}"']
    assert placement["subnet_id"] == f'"{vpc["subnet"]}"'


@pytest.mark.parametrize("wrong, field, message", [
    ({"subnet_id": "subnet-0123456789abcdef0"}, "source.network.subnet_id",
     "Subnet subnet-0123456789abcdef0 does not exist in eu-central-1."),
    ({"security_group_ids": ["sg-0123456789abcdef0"]}, "source.network.security_group_ids",
     "Security group sg-0123456789abcdef0 does not exist in eu-central-1."),
    ({"security_group_ids": ["stray"]}, "source.network.security_group_ids", "both must be in one VPC"),
])
def test_an_unknown_subnet_or_group_is_a_400_naming_it_and_nothing_is_created(
        provider, pg_source, vpc, eager, django_capture_on_commit_callbacks, wrong, field, message):
    network = {"subnet_id": vpc["subnet"], "security_group_ids": [vpc["group"]], **wrong}
    if network["security_group_ids"] == ["stray"]:
        network["security_group_ids"] = [vpc["stray_group"]]
    response = post(provider, body(pg_source, network), django_capture_on_commit_callbacks)
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"][field][0]
    assert not Pipeline.objects.exists()
    assert aws.client("secretsmanager").list_secrets()["SecretList"] == []


def test_a_source_in_a_private_network_needs_a_placement(
        provider, pg_source, vpc, eager, django_capture_on_commit_callbacks, settings):
    settings.INGESTION_ALLOWED_NETWORKS = "127.0.0.0/8,10.0.0.0/8"
    response = post(provider, body({**pg_source, "host": "10.20.1.15"}), django_capture_on_commit_callbacks)
    assert response.status_code == 400, response.content
    assert "10.20.1.15 is in a private network: give the subnet and security groups" in \
        response.json()["detail"]["source.network.subnet_id"][0]
    assert not Pipeline.objects.exists()


def test_the_wizard_names_an_unknown_subnet_on_its_field(vpc, settings):
    settings.INGESTION_ALLOWED_NETWORKS = "127.0.0.0/8,10.0.0.0/8"
    form = ConnectionForm(data={"host": "10.20.1.15", "port": 5432, "database": "erp", "user": "etl",
                                "password": "x", "subnet_id": "subnet-0123456789abcdef0",
                                "security_group_ids": vpc["group"]}, kind="oracle")
    assert not form.is_valid()
    assert form.errors["subnet_id"] == ["Subnet subnet-0123456789abcdef0 does not exist in eu-central-1."]
    missing = ConnectionForm(data={"host": "10.20.1.15", "port": 5432, "database": "erp", "user": "etl",
                                   "password": "x"}, kind="oracle")
    assert not missing.is_valid() and "private network" in missing.errors["subnet_id"][0]
