"""The customer's journey across channels: one entry per message, call, status or alert."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.domain.common import Channel, DomainModel


class TimelineEntry(DomainModel):
    event_id: str  # unique within the customer (message id, call id + status, ...)
    kind: str  # message, call, status, merge, alert, ...
    channel: Channel | None = None
    direction: str | None = None  # inbound, outbound, internal
    summary: str
    ticket_id: str | None = None
    message_id: str | None = None
    details: dict[str, str] = Field(default_factory=dict)
    at: datetime
