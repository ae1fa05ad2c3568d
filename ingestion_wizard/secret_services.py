"""Writes about source secrets and wizard drafts, and the rule of which secret a pipeline may use.

A pipeline may use only
- a secret the portal created for it (a ``ManagedSecret`` of its draft, or made from the
  password given to the API), or
- a secret of its provider: named under ``datahub/ingestion/<hub>/``, tagged
  ``datahub:hub=<hub>``, not one the portal manages, and readable by the provider role's
  own IAM role. It is described and read with that role's STS credentials, never the
  portal's, so the portal cannot be used to read a secret the provider could not.

Every refused reference is audited (``ingestion.secret.refused``) and answers the same
403 whatever the reason (missing, foreign, unreadable), so it reveals nothing. Only
managed secrets are ever deleted (draft discarded, pipeline torn down).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.db import transaction

from ingestion_wizard.errors import Forbidden, Unavailable
from ingestion_wizard.models import Draft, ManagedSecret, Pipeline
from ingestion_wizard.aws.secrets import SecretUnavailable, delete_secret, read_password, replace_password, store_password
from portal import aws
from identity import audit
from identity.roles import Role

log = logging.getLogger(__name__)
HUB_TAG = "datahub:hub"
MANAGED_TAG = "datahub:managed-by"


def hub_prefix(hub: str) -> str:
    """Name prefix of every ingestion secret of ``hub`` (the portal's and the provider's own)."""
    return f"datahub/ingestion/{hub}/"


def refused_message(hub: str) -> str:
    return (f"This secret cannot be used: give the password (the portal stores it), or the ARN of a secret "
            f"your provider role can read, named {hub_prefix(hub)}… and tagged {HUB_TAG}={hub}.")


@dataclass(frozen=True)
class SecretUse:
    arn: str
    managed: bool  # the portal created it (and may delete it)
    password: str


# --- Drafts ------------------------------------------------------------------------
def new_draft(*, user: Any, role: Role) -> Draft:
    return Draft.objects.create(user=user, hub=role.hub or "")


def stash_draft_password(draft: Draft, *, role: Role | None, db_user: str, password: str) -> str:
    """Puts the password typed in the wizard into the draft's own secret (created on first use,
    updated after); returns its ARN. An ARN posted by the browser is never written to."""
    existing = ManagedSecret.objects.filter(draft=draft, pipeline__isnull=True).first()
    try:
        if existing is not None:
            replace_password(existing.arn, user=db_user, password=password)
            return existing.arn
        hub = draft.hub or (role.hub if role and role.hub else "admin")
        arn = store_password(hub=hub, label=f"draft-{draft.pk}", user=db_user, password=password)
    except SecretUnavailable as exc:
        raise Unavailable(str(exc)) from None
    ManagedSecret.objects.create(arn=arn, hub=hub, created_by=draft.user, draft=draft)
    return arn


def finish_draft(draft: Draft) -> None:
    """The draft became a pipeline: its secret now belongs to the pipeline (see create_pipeline)."""
    draft.delete()


def discard_draft(draft: Draft) -> None:
    """Deletes a draft and the secret the portal created for it (never any other secret)."""
    for secret in ManagedSecret.objects.filter(draft=draft, pipeline__isnull=True):
        try:
            delete_secret(secret.arn)
        except (ClientError, BotoCoreError) as exc:
            raise Unavailable(f"Could not delete the draft's secret: {type(exc).__name__}") from None
        secret.delete()
    draft.delete()


# --- References ----------------------------------------------------------------------
def _refuse(arn: str, reason: str, *, hub: str, user: Any, role: Role | None, target: str) -> Forbidden:
    audit.record(user, "ingestion.secret.refused", role=role, target=target,
                 details={"secret_arn": arn[:2048], "hub": hub, "reason": reason})
    log.info("secret reference %s refused for hub %s: %s", arn, hub, reason)
    return Forbidden(refused_message(hub), field="source.secret_arn")


def _provider_client(hub: str, session: str) -> Any:
    """Secrets Manager as the hub's provider IAM role (STS AssumeRole through portal.aws)."""
    return aws.client_for_user("secretsmanager", Role("provider", hub), session)


def _read_as_provider(arn: str, hub: str, session: str) -> str:
    """The secret's password, described and read with the provider role's credentials; raises
    ValueError with the reason when it is not the hub's provider secret."""
    try:
        sm = _provider_client(hub, session)
        described = sm.describe_secret(SecretId=arn)
        tags = {t.get("Key"): t.get("Value") for t in described.get("Tags", [])}
        if not str(described.get("Name", "")).startswith(hub_prefix(hub)):
            raise ValueError(f"name {described.get('Name')!r} is not under {hub_prefix(hub)}")
        if tags.get(HUB_TAG) != hub:
            raise ValueError(f"tag {HUB_TAG} is {tags.get(HUB_TAG)!r}, not {hub!r}")
        if MANAGED_TAG in tags:
            raise ValueError("the portal created this secret for another draft or pipeline")
        value = sm.get_secret_value(SecretId=described["ARN"])["SecretString"]
    except ClientError as exc:
        raise ValueError(f"the provider role cannot read it ({exc.response.get('Error', {}).get('Code')})") from None
    except BotoCoreError as exc:
        raise ValueError(f"Secrets Manager did not answer ({type(exc).__name__})") from None
    try:
        return str(json.loads(value)["password"])
    except (ValueError, KeyError, TypeError):
        return value


def use_reference(arn: str, *, hub: str, user: Any, role: Role | None, draft: Draft | None = None,
                  pipeline: Pipeline | None = None) -> SecretUse:
    """Checks that ``arn`` may be used by ``draft``/``pipeline`` of ``hub`` and reads its password.

    Raises Forbidden (audited, one message for every reason) when it may not.
    """
    target = f"pipeline:{pipeline.pk}" if pipeline is not None else f"draft:{draft.pk}" if draft else f"hub:{hub}"
    arn = (arn or "").strip()
    managed = ManagedSecret.objects.filter(arn=arn).first() if arn else None
    if managed is not None:
        mine = (pipeline is not None and managed.pipeline_id == pipeline.pk) or (
            draft is not None and managed.draft_id == draft.pk and managed.pipeline_id is None
            and draft.user_id == getattr(user, "pk", None))
        if not mine:
            raise _refuse(arn, "created by the portal for another draft or pipeline", hub=hub, user=user, role=role,
                          target=target)
        try:
            return SecretUse(arn, True, read_password(arn))
        except SecretUnavailable as exc:
            raise Unavailable(str(exc)) from None
    if not arn.startswith("arn:") or ":secretsmanager:" not in arn:
        raise _refuse(arn, "not a Secrets Manager ARN", hub=hub, user=user, role=role, target=target)
    session = f"ingestion-{target.replace(':', '-')}"
    try:
        password = _read_as_provider(arn, hub, session)
    except ValueError as exc:
        raise _refuse(arn, str(exc), hub=hub, user=user, role=role, target=target) from None
    return SecretUse(arn, False, password)


def create_for_pipeline(*, hub: str, label: str, db_user: str, password: str, user: Any) -> str:
    """A new managed secret for a pipeline created through the API (attached by ``adopt``)."""
    try:
        arn = store_password(hub=hub, label=label, user=db_user, password=password)
    except SecretUnavailable as exc:
        raise Unavailable(str(exc)) from None
    ManagedSecret.objects.create(arn=arn, hub=hub, created_by=user if getattr(user, "pk", None) else None)
    return arn


def adopt(arn: str, pipeline: Pipeline) -> None:
    """Inside create_pipeline's transaction: the managed secret now belongs to ``pipeline``."""
    ManagedSecret.objects.filter(arn=arn, pipeline__isnull=True).update(pipeline=pipeline, hub=pipeline.hub)


def forget(arn: str) -> None:
    """A managed secret made for a pipeline that was not created after all: deleted again."""
    with transaction.atomic():
        deleted, _ = ManagedSecret.objects.filter(arn=arn, pipeline__isnull=True, draft__isnull=True).delete()
    if deleted:
        delete_secret(arn)


def is_managed(pipeline: Pipeline, arn: str) -> bool:
    return bool(arn) and ManagedSecret.objects.filter(pipeline=pipeline, arn=arn).exists()


def pipeline_password(pipeline: Pipeline) -> str:
    """The source password at run time: a managed secret read by the portal, a provider's secret
    read (and its name and tags checked again) with the provider role's credentials. Raises
    SecretUnavailable with the reason (a refused reference is audited)."""
    try:
        return use_reference(pipeline.secret_arn, hub=pipeline.hub, user=None, role=None, pipeline=pipeline).password
    except (Forbidden, Unavailable) as exc:
        raise SecretUnavailable(exc.message) from None


def release(pipeline: Pipeline) -> list[str]:
    """Teardown: deletes the secrets the portal created for ``pipeline`` (only those); returns their ARNs."""
    deleted = []
    for secret in ManagedSecret.objects.filter(pipeline=pipeline):
        delete_secret(secret.arn)
        secret.delete()
        deleted.append(secret.arn)
    return deleted
