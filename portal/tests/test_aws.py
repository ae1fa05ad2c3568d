"""The AWS client factory talks to the configured endpoint and assumes the user's role."""

from django.test import override_settings

from portal import aws
from identity.roles import Role


def test_clients_use_the_configured_endpoint(aws_endpoint):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="probe", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["probe"]


@override_settings(AWS_ROLE_ARNS={"consumer:finance": "arn:aws:iam::123456789012:role/finance-readers"})
def test_actions_on_behalf_of_a_user_assume_the_mapped_role(aws_endpoint):
    role = Role("consumer", "finance")
    sts = aws.client_for_user("sts", role, "jane.doe@example.com")
    identity = sts.get_caller_identity()
    assert identity["Arn"] == "arn:aws:sts::123456789012:assumed-role/finance-readers/jane.doe@example.com"


def test_unmapped_roles_get_a_per_persona_default_arn():
    assert aws.role_arn_for(Role("steward", "sales")) == "arn:aws:iam::123456789012:role/datahub-steward-sales"
    assert aws.role_arn_for(Role("admin")) == "arn:aws:iam::123456789012:role/datahub-admin"
    assert aws.session_name_for("a b/c") == "a-b-c"
