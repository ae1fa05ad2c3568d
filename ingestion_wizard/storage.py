"""formtools storage kept in a Draft row instead of the session: a wizard survives leaving,
signing out, or another browser. The view puts the draft on ``request.ingestion_draft``."""

from __future__ import annotations

from typing import Any

from formtools.wizard.storage.base import BaseStorage

from ingestion_wizard.models import Draft


class DraftStorage(BaseStorage):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.draft: Draft = self.request.ingestion_draft  # type: ignore[union-attr]
        self.discarded = False
        if not self.draft.data:
            self.init_data()

    def _get_data(self) -> dict[str, Any]:
        return self.draft.data

    def _set_data(self, value: dict[str, Any]) -> None:
        self.draft.data = value

    data = property(_get_data, _set_data)

    def update_response(self, response: Any) -> None:
        super().update_response(response)
        if not self.discarded and Draft.objects.filter(pk=self.draft.pk).exists():
            self.draft.save(update_fields=["data", "hub", "updated_at"])
