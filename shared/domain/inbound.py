"""What every channel adapter turns a delivery into, before the processor records it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from shared.domain.common import Channel, DomainModel
from shared.domain.identity import IdentityKind
from shared.domain.message import Attachment


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
    sent_at: datetime
