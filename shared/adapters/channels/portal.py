"""Customer-space messaging: a signed-in customer writes from their space (Cognito customer pool)."""

from __future__ import annotations

import contextlib

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.common import Channel
from shared.domain.identity import IdentityKind, InvalidIdentifier, normalize_email
from shared.domain.inbound import IdentityClaim, InboundEnvelope, InboundMessage


class PortalMessageIn(BaseModel):
    """What the customer space posts."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    text: str = Field(min_length=1, max_length=10_000)
    subject: str | None = Field(default=None, max_length=200)
    order_number: str | None = Field(default=None, max_length=64)
    client_submission_id: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$"
    )


class PortalAuthor(BaseModel):
    """Who wrote, from the verified JWT claims (never from the body)."""

    model_config = ConfigDict(frozen=True)

    subject: str = Field(min_length=1)
    email: str | None = None
    name: str | None = None


def to_inbound_messages(envelope: InboundEnvelope, fallback_dedup: str) -> list[InboundMessage]:
    message = PortalMessageIn.model_validate(envelope.payload["message"])
    author = PortalAuthor.model_validate(envelope.payload["author"])
    claims = [IdentityClaim(kind=IdentityKind.portal, value=author.subject)]
    if author.email:
        # A malformed email claim must not block the customer's message.
        with contextlib.suppress(InvalidIdentifier):
            claims.append(IdentityClaim(kind=IdentityKind.email, value=normalize_email(author.email)))
    return [
        InboundMessage(
            dedup_key=envelope.dedup_key or fallback_dedup,
            channel=Channel.portal,
            identities=claims,
            display_name=author.name,
            subject=message.subject,
            text=message.text,
            order_number=message.order_number,
            provider_ids={"submission_reference": envelope.reference},
            sent_at=envelope.received_at,
        )
    ]
