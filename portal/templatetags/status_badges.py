"""``{% status_badge status label %}``: the one way a page shows the status of a run, a pipeline, a
step or a workspace, so a status has the same colour everywhere."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

# Status -> Bootstrap colour (text-bg-*, which also picks a readable text colour). What is not here
# (paused, stopped, deleted, skipped, ...) is at rest: secondary.
DONE = "success"
BROKEN = "danger"
NEEDS_A_LOOK = "warning"
UNDER_WAY = "primary"
AT_REST = "secondary"
TONES = {
    "succeeded": DONE, "ready": DONE, "in_service": DONE, "confirmed": DONE, "current": DONE, "approved": DONE,
    "failed": BROKEN,
    "partial": NEEDS_A_LOOK, "needs_confirm": NEEDS_A_LOOK, "stale": NEEDS_A_LOOK, "missing": NEEDS_A_LOOK,
    "deprecated": NEEDS_A_LOOK,
    "running": UNDER_WAY, "queued": UNDER_WAY, "pending": UNDER_WAY, "provisioning": UNDER_WAY,
    "stopping": UNDER_WAY, "deleting": UNDER_WAY,
}


@register.filter
def status_tone(status: str) -> str:
    return TONES.get(str(status), AT_REST)


@register.inclusion_tag("portal/_status_badge.html")
def status_badge(status: Any, label: Any = None, css: str = "", testid: str = "") -> dict[str, Any]:
    """A badge for ``status`` showing ``label`` (the status itself when not given)."""
    return {"status": status, "label": status if label is None else label, "tone": status_tone(status), "css": css,
            "testid": testid}
