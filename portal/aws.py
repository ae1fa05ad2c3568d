"""The one place that builds boto3 clients.

Applies the endpoint (moto locally, real AWS when unset), the region, botocore
standard retries with backoff against throttling, and, for actions on behalf of
a user, credentials from STS AssumeRole on the role's IAM role.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import boto3
import botocore.config
from django.conf import settings

from identity.roles import Role

_local = threading.local()
_SESSION_NAME_RE = re.compile(r"[^\w+=,.@-]")


def _config(max_attempts: int | None = None) -> botocore.config.Config:
    return botocore.config.Config(
        retries={"mode": "standard", "max_attempts": max_attempts or settings.AWS_MAX_ATTEMPTS},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=20,
    )


def _session() -> boto3.session.Session:
    # boto3 sessions are not thread-safe; one per thread (Celery threads, test workers).
    sess = getattr(_local, "session", None)
    if sess is None:
        sess = _local.session = boto3.session.Session()
    return sess


def client(service: str, region: str | None = None, *, credentials: dict[str, str] | None = None,
           max_attempts: int | None = None) -> Any:
    """A boto3 client for ``service`` with the portal's endpoint, region and retry policy."""
    kwargs: dict[str, Any] = {
        "region_name": region or settings.AWS_DEFAULT_REGION,
        "endpoint_url": settings.AWS_ENDPOINT_URL,
        "config": _config(max_attempts),
    }
    if credentials:
        kwargs.update(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    return _session().client(service, **kwargs)


def role_arn_for(role: Role) -> str:
    """The IAM role ARN mapped to a portal role in AWS_ROLE_ARNS.

    Lookup order: ``persona:hub``, then ``persona``; a default per-persona ARN in
    the portal's account otherwise, so the embedded mode works without a mapping.
    """
    mapping = settings.AWS_ROLE_ARNS
    for key in (f"{role.persona}:{role.hub}", role.persona):
        if key in mapping:
            return mapping[key]
    suffix = f"{role.persona}-{role.hub}" if role.hub else role.persona
    return f"arn:aws:iam::{settings.AWS_ACCOUNT_ID}:role/datahub-{suffix}"


def mapped_role_arn(role: Role) -> str | None:
    """The IAM role ARN AWS_ROLE_ARNS maps the portal role to, or None when it maps none.

    Lake Formation grants need a real principal, so access requests ask this rather than
    ``role_arn_for``; ``ACCESS_DEFAULT_ROLE_ARNS`` (on in the embedded mode) lets the
    per-persona default stand in, as the local AWS has no mapping to offer.
    """
    mapping = settings.AWS_ROLE_ARNS
    for key in (f"{role.persona}:{role.hub}", role.persona):
        if key in mapping:
            return mapping[key]
    return role_arn_for(role) if settings.ACCESS_DEFAULT_ROLE_ARNS else None


def session_name_for(username: str) -> str:
    """STS session names allow ``[\\w+=,.@-]{2,64}``; usernames may hold more."""
    return (_SESSION_NAME_RE.sub("-", username) or "portal-user")[:64].ljust(2, "-")


def assume_role_credentials(role: Role, username: str) -> dict[str, str]:
    """Temporary credentials of the role's IAM role, session named after the user."""
    response = client("sts").assume_role(
        RoleArn=role_arn_for(role), RoleSessionName=session_name_for(username), DurationSeconds=3600
    )
    return response["Credentials"]


def client_for_user(service: str, role: Role, username: str, region: str | None = None) -> Any:
    """A client acting as the user's role (STS AssumeRole), for actions on a user's behalf."""
    return client(service, region, credentials=assume_role_credentials(role, username))


def account_id() -> str:
    """The portal's own AWS account (read per call, so overridden settings are followed)."""
    return settings.AWS_ACCOUNT_ID
