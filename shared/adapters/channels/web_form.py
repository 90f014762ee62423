"""The web contact form: our own format, JSON or form-encoded (see events/form_webhook/)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.domain.common import Channel
from shared.domain.identity import IdentityKind, InvalidIdentifier, normalize_email, normalize_phone
from shared.domain.inbound import IdentityClaim, InboundEnvelope, InboundMessage

MAX_BODY_BYTES = 256 * 1024


class ContactForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)

    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    subject: str | None = Field(default=None, max_length=200)
    message: str = Field(min_length=1, max_length=20_000)
    order_number: str | None = Field(default=None, max_length=64)
    consent: bool
    client_submission_id: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$"
    )
    website: str | None = Field(default=None, description="Honeypot: humans leave it empty")

    @model_validator(mode="before")
    @classmethod
    def _blank_is_missing(cls, data: Any) -> Any:
        # Form posts send empty strings for untouched optional fields.
        if isinstance(data, dict):
            return {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in data.items()}
        return data

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_email(value)
        except InvalidIdentifier as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_phone(value)
        except InvalidIdentifier as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("consent")
    @classmethod
    def _consent(cls, value: bool) -> bool:
        if not value:
            raise ValueError("consent is required to process the request")
        return value

    @model_validator(mode="after")
    def _reachable(self) -> ContactForm:
        if self.email is None and self.phone is None:
            raise ValueError("give an email address or a phone number so we can answer")
        return self

    @property
    def is_spam(self) -> bool:
        return bool(self.website)


def to_inbound_messages(envelope: InboundEnvelope, fallback_dedup: str) -> list[InboundMessage]:
    """One form submission is one customer message; email first, then phone, identify."""
    form = ContactForm.model_validate(envelope.payload)
    claims = []
    if form.email:
        claims.append(IdentityClaim(kind=IdentityKind.email, value=form.email))
    if form.phone:
        claims.append(IdentityClaim(kind=IdentityKind.phone, value=form.phone))
    first, _, last = form.name.partition(" ")
    sent_at: datetime = envelope.received_at
    return [
        InboundMessage(
            dedup_key=envelope.dedup_key or fallback_dedup,
            channel=Channel.web_form,
            identities=claims,
            display_name=form.name,
            first_name=first or None,
            last_name=last or None,
            subject=form.subject,
            text=form.message,
            order_number=form.order_number,
            marketing_consent=False,
            provider_ids={"submission_reference": envelope.reference},
            sent_at=sent_at,
        )
    ]
