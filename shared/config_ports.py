"""Ports of the team configuration (shared/services/team_config.py): where its documents live."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class StoredDocument:
    """One configuration document as stored: JSON text (None once reset to the defaults)."""

    kind: str
    version: int
    document: str | None
    updated_at: datetime | None = None
    updated_by: str | None = None
    action: str | None = None  # history entries: "saved" or "reset"


class ConfigStore(Protocol):
    def current(self) -> list[StoredDocument]:
        """Every document stored, in one read (request paths cache the result)."""
        ...

    def get(self, kind: str) -> StoredDocument | None:
        """One document, strongly consistent (what an admin edits next)."""
        ...

    def history(self, kind: str, limit: int) -> list[StoredDocument]:
        """The versions of one document, newest first (at most ``limit``)."""
        ...

    def write(
        self, kind: str, document: str | None, expected_version: int, by: str, at: datetime
    ) -> StoredDocument:
        """Store version ``expected_version + 1`` (``document`` None: back to the defaults) if
        the stored version is still ``expected_version`` (0: none stored); else ``Conflict``."""
        ...
