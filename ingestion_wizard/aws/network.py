"""Where a Glue connection sits in the network: subnet, security groups and the availability zone.

A Glue job reaches a database in a private network (an on-premises one over Direct Connect or VPN,
or one in a VPC) only through an elastic network interface in a subnet that routes there; the
connection's ``PhysicalConnectionRequirements`` name that subnet, the security groups of the
interface and the subnet's availability zone (derived here from EC2, never typed by a provider).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from ingestion_wizard.aws.errors import describe, error_code
from ingestion_wizard.errors import IngestionError, Unavailable
from ingestion_wizard.models import Pipeline
from portal import aws

SUBNET_FIELD = "source.network.subnet_id"
GROUPS_FIELD = "source.network.security_group_ids"


@dataclass(frozen=True)
class Placement:
    subnet_id: str
    security_group_ids: tuple[str, ...]
    availability_zone: str
    vpc_id: str


def _unavailable(exc: Exception) -> Unavailable:
    return Unavailable(f"EC2 did not answer while checking the network placement: {describe(exc)}")


def resolve(subnet_id: str, security_group_ids: list[str]) -> Placement:
    """The placement of a subnet and security groups that exist in the portal's region, the groups in
    the subnet's VPC. Raises IngestionError naming the field, or Unavailable when EC2 does not answer."""
    ec2 = aws.client("ec2")
    region = settings.AWS_DEFAULT_REGION
    try:
        subnets = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
    except ClientError as exc:
        if error_code(exc) in ("InvalidSubnetID.NotFound", "InvalidSubnetID.Malformed"):
            raise IngestionError(f"Subnet {subnet_id} does not exist in {region}.", field=SUBNET_FIELD) from None
        raise _unavailable(exc) from None
    except BotoCoreError as exc:
        raise _unavailable(exc) from None
    if not subnets:
        raise IngestionError(f"Subnet {subnet_id} does not exist in {region}.", field=SUBNET_FIELD)
    subnet = subnets[0]
    groups: list[dict[str, Any]] = []
    for group_id in security_group_ids:  # one by one: AWS's error for several names only the first unknown
        try:
            groups += ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
        except ClientError as exc:
            if error_code(exc) in ("InvalidGroup.NotFound", "InvalidGroupId.Malformed", "InvalidGroupId.NotFound"):
                raise IngestionError(f"Security group {group_id} does not exist in {region}.",
                                     field=GROUPS_FIELD) from None
            raise _unavailable(exc) from None
        except BotoCoreError as exc:
            raise _unavailable(exc) from None
    for group in groups:
        if group["VpcId"] != subnet["VpcId"]:
            raise IngestionError(f"Security group {group['GroupId']} is in {group['VpcId']}, the subnet in "
                                 f"{subnet['VpcId']}: both must be in one VPC.", field=GROUPS_FIELD)
    return Placement(subnet_id, tuple(security_group_ids), subnet["AvailabilityZone"], subnet["VpcId"])


def placement_for(host: str, port: int, subnet_id: str, security_group_ids: list[str]) -> Placement | None:
    """The checked placement of a JDBC source's Glue connection (None when none is given and the source
    needs none); raises IngestionError naming the field when the subnet or a group is unknown, or when
    a source in a private network has none (the wizard and the API alike)."""
    from ingestion_wizard import hosts

    if subnet_id or security_group_ids:
        if not subnet_id:
            raise IngestionError("Give the subnet the security groups belong with.", field=SUBNET_FIELD)
        if not security_group_ids:
            raise IngestionError("Give at least one security group for the subnet.", field=GROUPS_FIELD)
        return resolve(subnet_id, security_group_ids)
    if hosts.needs_vpc(host, port):
        raise IngestionError(f"{host} is in a private network: give the subnet and security groups the Glue "
                             "job connects from (the availability zone follows from the subnet).",
                             field=SUBNET_FIELD)
    return None


def connection_requirements(p: Pipeline) -> dict[str, Any] | None:
    """The Glue connection's PhysicalConnectionRequirements, None for a source reached without a VPC."""
    if not p.subnet_id:
        return None
    return {"SubnetId": p.subnet_id, "SecurityGroupIdList": list(p.security_group_ids),
            "AvailabilityZone": p.availability_zone}
