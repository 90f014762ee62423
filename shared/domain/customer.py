"""Customer 360: a person with identities on several channels, an optional company account."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from shared.domain.common import Channel, DomainModel
from shared.domain.identity import IdentityKind


class Identity(DomainModel):
    kind: IdentityKind
    value: str  # normalised (see shared.domain.identity)
    source_channel: Channel | None = None
    first_seen_at: datetime
    verified: bool = False


class MergeEvidence(DomainModel):
    """Why two profiles became one: kept so an agent can review and undo the merge."""

    merged_customer_id: str
    identifiers: list[str]  # "kind:value" that linked the two profiles
    rule: str
    merged_at: datetime
    merged_by: str = "system"
    moved_identities: list[Identity] = Field(default_factory=list)  # what undo gives back
    moved_contacts: dict[Channel, int] = Field(default_factory=dict)
    undone_at: datetime | None = None
    undone_by: str | None = None


class CustomerTraits(DomainModel):
    orders_count: int = 0
    lifetime_value: Decimal = Decimal("0")
    average_basket: Decimal | None = None
    contacts_per_channel: dict[Channel, int] = Field(default_factory=dict)
    last_contact_at: datetime | None = None
    last_inbound_channel: Channel | None = None


class Customer(DomainModel):
    id: str
    display_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    locale: str = "fr"
    identities: list[Identity] = Field(default_factory=list)
    account_id: str | None = None
    traits: CustomerTraits = Field(default_factory=CustomerTraits)
    open_ticket_id: str | None = None  # the ticket a new message joins (threading)
    merges: list[MergeEvidence] = Field(default_factory=list)
    merged_into: str | None = None
    marketing_consent: bool = False
    created_at: datetime
    updated_at: datetime

    def identity_values(self, kind: IdentityKind) -> list[str]:
        return [i.value for i in self.identities if i.kind is kind]

    def has_identity(self, kind: IdentityKind, value: str) -> bool:
        return any(i.kind is kind and i.value == value for i in self.identities)


class ContactRole(StrEnum):
    decision_maker = "decision_maker"
    billing = "billing"
    technical = "technical"
    operations = "operations"
    purchasing = "purchasing"
    other = "other"


class Contact(DomainModel):
    customer_id: str
    name: str
    roles: list[ContactRole] = Field(default_factory=list)
    email: str | None = None
    phone: str | None = None


class Account(DomainModel):
    """A company customer (B2B); its contacts are customers with roles."""

    id: str
    name: str
    vat_number: str | None = None
    contacts: list[Contact] = Field(default_factory=list)
    created_at: datetime
