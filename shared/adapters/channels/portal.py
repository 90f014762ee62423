"""Customer-space messaging: a signed-in customer writes from their space (Cognito customer pool)."""

from __future__ import annotations

import contextlib

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.common import Channel
from shared.domain.identity import IdentityKind, InvalidIdentifier, Proof, normalize
from shared.domain.inbound import IdentityClaim, InboundEnvelope, InboundMessage
from shared.domain.trust import SignIn


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
    """Who wrote, from the verified JWT claims (never from the body). The email and phone are the
    sign-in's proof only when Cognito says they are verified (``email_verified``,
    ``phone_number_verified``); otherwise they are claims, like a form's."""

    model_config = ConfigDict(frozen=True)

    subject: str = Field(min_length=1)
    email: str | None = None
    email_verified: bool = False
    phone: str | None = None
    phone_verified: bool = False
    name: str | None = None

    def claims(self) -> list[IdentityClaim]:
        """The sub first (the sign-in itself), then the email and phone (malformed ones dropped:
        they must not block the customer's message)."""
        found = [IdentityClaim(kind=IdentityKind.portal, value=self.subject, proof=Proof.sign_in)]
        for kind, raw, verified in (
            (IdentityKind.email, self.email, self.email_verified),
            (IdentityKind.phone, self.phone, self.phone_verified),
        ):
            if raw:
                with contextlib.suppress(InvalidIdentifier):
                    proof = Proof.sign_in if verified else Proof.claimed
                    found.append(IdentityClaim(kind=kind, value=normalize(kind, raw), proof=proof))
        return found

    def sign_in(self) -> SignIn:
        """What the token proves, to open the customer's profile (shared/domain/trust.py)."""
        proven = {c.kind: c.value for c in self.claims() if c.proof is Proof.sign_in}
        return SignIn(
            subject=self.subject,
            verified_email=proven.get(IdentityKind.email),
            verified_phone=proven.get(IdentityKind.phone),
        )


def to_inbound_messages(envelope: InboundEnvelope, fallback_dedup: str) -> list[InboundMessage]:
    message = PortalMessageIn.model_validate(envelope.payload["message"])
    author = PortalAuthor.model_validate(envelope.payload["author"])
    claims = author.claims()
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
