"""Value types shared by the aggregates."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class DomainModel(BaseModel):
    """Base of every domain model: strict about unknown fields, friendly to enums."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_enum_values=False)


class Channel(StrEnum):
    email = "email"
    sms = "sms"
    whatsapp = "whatsapp"
    messenger = "messenger"
    instagram = "instagram"
    phone = "phone"
    web_form = "web_form"
    portal = "portal"


class Address(DomainModel):
    name: str | None = None
    company: str | None = None
    line1: str | None = None
    line2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2
    phone: str | None = None

    def is_complete(self) -> bool:
        return all((self.name, self.line1, self.postal_code, self.city, self.country))


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Sortable UTC timestamp with milliseconds, used in keys (``2026-11-25T15:41:34.123Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
