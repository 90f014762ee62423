"""What every channel adapter turns a delivery into, before the processor records it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from shared.domain.common import Channel, DomainModel
from shared.domain.identity import IdentityKind, Proof
from shared.domain.message import Attachment, DeliveryStatus
from shared.domain.ticket import TicketType


class InboundEnvelope(DomainModel):
    """The body of one message on the inbound queue: a verified delivery, not yet parsed.

    Webhooks enqueue what they verified (one SQS call per delivery); the processor parses.
    """

    channel: Channel
    received_at: datetime
    reference: str  # returned to the sender, e.g. the form's submission reference
    dedup_key: str | None = None  # provider id when the webhook already knows it
    payload: dict[str, Any]


class IdentityClaim(DomainModel):
    kind: IdentityKind
    value: str  # normalised
    # What the sender proved: left as a claim by channel adapters (shared/domain/trust.py reads the
    # channel's proof); the customer space says ``sign_in`` for what the token itself proves.
    proof: Proof = Proof.claimed


class ThreadHints(DomainModel):
    """What an email says about the ticket it answers, tried in this order by the processor."""

    plus_tag_ticket: str | None = None  # support+t<ref>@ in the envelope recipients
    in_reply_to: str | None = None  # RFC Message-ID
    references: list[str] = Field(default_factory=list)
    subject_ticket: str | None = None  # [#<ref>] in the subject


class InboundMessage(DomainModel):
    """A customer's message on any channel, normalised."""

    dedup_key: str  # e.g. "web_form:<client_submission_id>", "whatsapp:<wamid>"
    channel: Channel
    identities: list[IdentityClaim]  # in lookup order: the first known one wins
    display_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    subject: str | None = None
    text: str = ""
    content_type: str = "text"
    raw_type: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    provider_ids: dict[str, str] = Field(default_factory=dict)
    reply_to_provider_id: str | None = None
    order_number: str | None = None
    marketing_consent: bool | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    display_text: str | None = None  # e.g. email text with the quoted reply trimmed
    thread_hints: ThreadHints | None = None
    auto_reply: bool = False  # Auto-Submitted / Precedence: bulk: never answered automatically
    verdicts: dict[str, str] = Field(default_factory=dict)  # SES spam/virus/spf/dkim/dmarc
    message_ids: list[str] = Field(default_factory=list)  # ids others may reply to (RFC Message-ID)
    ticket_type: TicketType | None = None  # a new ticket of this type, unless the open one is already
    sent_at: datetime


class DeliveryStatusUpdate(DomainModel):
    """A provider's news about a message Guichet sent (sent < delivered < read; failed)."""

    dedup_key: str
    channel: Channel
    provider_message_id: str  # wamid, Twilio MessageSid, Messenger mid
    status: DeliveryStatus
    at: datetime
    error: str | None = None
    recipient: IdentityClaim | None = None


class ReadWatermark(DomainModel):
    """Messenger's delivery/read receipts: every message to ``recipient`` up to ``watermark``."""

    dedup_key: str
    channel: Channel
    recipient: IdentityClaim
    status: DeliveryStatus
    watermark: datetime
    mids: list[str] = Field(default_factory=list)


class CallRecord(DomainModel):
    """A phone call's outcome (Twilio voice status callback or Amazon Connect contact event)."""

    dedup_key: str
    provider: str  # "twilio" | "connect"
    provider_call_id: str  # CallSid or Connect ContactId
    direction: str  # "inbound" | "outbound"
    status: str  # completed, no-answer, busy, canceled, failed, in-progress, ...
    caller: IdentityClaim | None = None  # the customer's number when the provider gives it
    duration_s: int | None = None
    recording_url: str | None = None
    at: datetime
    sequence: int | None = None  # Twilio SequenceNumber: later callbacks win

    @property
    def missed(self) -> bool:
        return self.direction == "inbound" and self.status in ("no-answer", "busy", "canceled")

    @property
    def completed(self) -> bool:
        return self.status == "completed"


class OutboundEcho(DomainModel):
    """A message the page/account itself sent (Messenger/Instagram echo): recorded as outbound."""

    dedup_key: str
    channel: Channel
    provider_message_id: str
    recipient: IdentityClaim  # the customer (PSID / IGSID)
    text: str = ""
    attachments: list[Attachment] = Field(default_factory=list)
    app_id: str | None = None
    sent_at: datetime


InboundEvent = InboundMessage | DeliveryStatusUpdate | ReadWatermark | CallRecord | OutboundEcho
