"""Source passwords live in AWS Secrets Manager; the portal keeps only the secret's ARN.

Nothing here logs or returns a password except ``read_password``, used at the
moment of connecting to the source.
"""

from __future__ import annotations

import json
import uuid

from botocore.exceptions import ClientError

from portal import aws


class SecretUnavailable(Exception):
    """The secret could not be written or read; ``str()`` says why (never the value)."""


def store_password(*, hub: str, label: str, user: str, password: str) -> str:
    """Puts the password into a new secret and returns its ARN."""
    name = f"datahub/ingestion/{hub}/{label}-{uuid.uuid4().hex[:8]}"
    try:
        response = aws.client("secretsmanager").create_secret(
            Name=name,
            SecretString=json.dumps({"username": user, "password": password}),
            Tags=[{"Key": "datahub:hub", "Value": hub}, {"Key": "datahub:managed-by", "Value": "ingestion"}],
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Error")
        raise SecretUnavailable(f"Could not store the password in Secrets Manager ({code}).") from None
    return response["ARN"]


def read_password(secret_arn: str) -> str:
    try:
        value = aws.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Error")
        raise SecretUnavailable(f"Could not read the source secret {secret_arn} ({code}).") from None
    try:
        return json.loads(value)["password"]
    except (ValueError, KeyError, TypeError):
        return value


def delete_secret(secret_arn: str) -> None:
    """Schedules deletion (7-day recovery window); a missing secret is fine."""
    try:
        aws.client("secretsmanager").delete_secret(SecretId=secret_arn, RecoveryWindowInDays=7)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise


def replace_password(secret_arn: str, *, user: str, password: str) -> None:
    """Puts a new value into an existing secret (the provider corrected the password)."""
    try:
        aws.client("secretsmanager").put_secret_value(
            SecretId=secret_arn, SecretString=json.dumps({"username": user, "password": password}))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Error")
        raise SecretUnavailable(f"Could not update the password in Secrets Manager ({code}).") from None
