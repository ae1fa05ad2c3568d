"""Leases on claimed background work: a row says who works on it until when.

A worker claims a unit (a provisioning step, a run …) with a compare-and-set that also
sets ``lease_expires_at``; while it works, ``held`` renews the lease from a small thread.
A worker that dies (SIGKILL, lost machine) stops renewing: once the lease has passed, the
unit is free for the next worker or a retry, which resume it (the steps being idempotent).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import connection, models
from django.db.models import Q
from django.utils import timezone

log = logging.getLogger(__name__)


def expiry(seconds: float) -> datetime:
    return timezone.now() + timedelta(seconds=seconds)


def lapsed(field: str = "lease_expires_at") -> Q:
    """Rows whose lease has passed (or that never had one: claimed before leases existed)."""
    return Q(**{f"{field}__lt": timezone.now()}) | Q(**{f"{field}__isnull": True})


@contextmanager
def held(model: type[models.Model], pk: int, seconds: float, field: str = "lease_expires_at") -> Iterator[None]:
    """Renews ``model(pk).<field>`` every third of ``seconds`` while the block runs.

    The renewal runs in its own thread (and database connection), so a long AWS call or a
    long load in the block never lets the lease lapse while this process is alive.
    """
    stop = threading.Event()

    def renew() -> None:
        try:
            while not stop.wait(max(seconds / 3, 0.2)):
                model._default_manager.filter(pk=pk).update(**{field: expiry(seconds)})
        except Exception:  # a lapsed lease is recoverable; a crashed renewer must not kill the work
            log.exception("renewing the lease of %s %s failed", model.__name__, pk)
        finally:
            connection.close()

    thread = threading.Thread(target=renew, name=f"lease-{model.__name__}-{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
