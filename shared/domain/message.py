"""One message model for every channel, inbound and outbound."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.domain.common import Channel, DomainModel


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"
    internal = "internal"  # agents' notes, never shown to the customer


class PartyRole(StrEnum):
    customer = "customer"
    agent = "agent"
    supplier = "supplier"
    carrier = "carrier"
    credit_company = "credit_company"
    system = "system"


class DeliveryStatus(StrEnum):
    received = "received"  # inbound
    queued = "queued"
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"

    @property
    def rank(self) -> int:
        return _DELIVERY_RANK[self]

    @classmethod
    def by_rank(cls, rank: int) -> DeliveryStatus:
        return next(status for status, value in _DELIVERY_RANK.items() if value == rank)


_DELIVERY_RANK = {
    DeliveryStatus.received: 0,
    DeliveryStatus.queued: 1,
    DeliveryStatus.sent: 2,
    DeliveryStatus.delivered: 3,
    DeliveryStatus.read: 4,
    DeliveryStatus.failed: 5,
}


def advance_status(current: DeliveryStatus, incoming: DeliveryStatus) -> DeliveryStatus:
    """Statuses only move forward (sent < delivered < read); a failure is final."""
    if current is DeliveryStatus.failed:
        return current
    if incoming is DeliveryStatus.failed:
        return incoming
    return incoming if incoming.rank > current.rank else current


class Attachment(DomainModel):
    name: str | None = None
    content_type: str | None = None
    size: int | None = None
    url: str | None = None  # provider URL (Twilio MediaUrl, Meta attachment payload.url)
    provider_media_id: str | None = None  # Meta media id, resolved through the Graph API
    storage_key: str | None = None  # S3 key when Guichet keeps the bytes
    inline: bool = False
    blocked: bool = False  # e.g. the virus verdict failed: kept out of reach


class Message(DomainModel):
    id: str
    ticket_id: str
    customer_id: str | None = None
    channel: Channel
    direction: Direction
    party_role: PartyRole = PartyRole.customer
    author_id: str | None = None
    # The third party (ticket.parties) this exchange is with, either way; None: the customer's.
    party_id: str | None = None
    subject: str | None = None
    text: str = ""
    display_text: str | None = None  # e.g. email with the quoted reply trimmed
    content_type: str = "text"  # text, image, audio, ..., "unsupported"
    raw_type: str | None = None  # the provider's type when Guichet does not understand it
    attachments: list[Attachment] = Field(default_factory=list)
    reply_to_provider_id: str | None = None
    provider_ids: dict[str, str] = Field(default_factory=dict)
    delivery_status: DeliveryStatus = DeliveryStatus.received
    error: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    verdicts: dict[str, str] = Field(default_factory=dict)  # email: spam, virus, spf, dkim, dmarc
    auto_reply: bool = False  # auto-replies and bulk mail are never answered automatically
    thread_match: str | None = None  # which key threaded it: plus_tag, in_reply_to, references, ...
    sent_at: datetime  # when the sender says it was written
    received_at: datetime  # when Guichet recorded it
