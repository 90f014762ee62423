"""The audit trail: who changed what on a ticket, and when."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.domain.common import DomainModel


class AuditEntry(DomainModel):
    id: str
    ticket_id: str
    actor: str  # "agent:<id>", "system", "customer:<id>"
    action: str  # claimed, assigned, transferred, status, requalified, note, tagged, merged, ...
    changes: dict[str, str] = Field(default_factory=dict)  # field -> "old -> new"
    at: datetime
