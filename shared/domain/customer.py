"""Customer 360: a person with identities on several channels, an optional company account."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from shared.domain.common import Channel, DomainModel
from shared.domain.identity import IdentityKind, Proof, legacy_proof


class Identity(DomainModel):
    kind: IdentityKind
    value: str  # normalised (see shared.domain.identity)
    source_channel: Channel | None = None
    first_seen_at: datetime
    proof: Proof  # how this identifier was tied to the profile (rules: shared/domain/trust.py)

    @model_validator(mode="before")
    @classmethod
    def _stored_before_proofs(cls, data: Any) -> Any:
        """Identities stored before proof levels: the safest reading (see legacy_proof)."""
        if isinstance(data, dict) and data.get("proof") is None:
            data = {k: v for k, v in data.items() if k != "verified"}  # an old, never-set flag
            kind, channel = data.get("kind"), data.get("source_channel")
            data["proof"] = legacy_proof(str(getattr(kind, "value", kind)), _text(channel))
        return data


def _text(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


class MergeEvidence(DomainModel):
    """Why two profiles became one: kept so an agent can review and undo the merge."""

    merged_customer_id: str
    identifiers: list[str]  # "kind:value" that linked the two profiles
    rule: str
    merged_at: datetime
    merged_by: str = "system"
    moved_identities: list[Identity] = Field(default_factory=list)  # what undo gives back
    moved_contacts: dict[Channel, int] = Field(default_factory=dict)
    # The company the merged profile was a contact of, which the survivor (in none) joined; the
    # account's contact item keeps naming the merged id, which leads here as tickets' ids do.
    moved_account_id: str | None = None
    undone_at: datetime | None = None
    undone_by: str | None = None


# The stored lifetime value: a DynamoDB number that commerce writes ADD to (see
# domain/customer_value.py). ``lifetime_value`` itself is stored as a string (JSON dump), which
# an ADD cannot change, so the number lives beside it under this name and wins when present.
STORED_ORDERS_VALUE = "orders_value"


class CustomerTraits(DomainModel):
    orders_count: int = 0  # orders placed and kept (not cancelled, deleted nor refunded)
    lifetime_value: Decimal = Decimal("0")  # their totals
    average_basket: Decimal | None = None  # lifetime value / orders count, derived on read
    contacts_per_channel: dict[Channel, int] = Field(default_factory=dict)
    # The last inbound contact on each channel: what priority reads as recent contacts.
    last_contact_per_channel: dict[Channel, datetime] = Field(default_factory=dict)
    last_contact_at: datetime | None = None
    last_inbound_channel: Channel | None = None

    @model_validator(mode="before")
    @classmethod
    def _value_traits(cls, data: Any) -> Any:
        if not isinstance(data, dict) or (
            STORED_ORDERS_VALUE not in data and data.get("average_basket") is not None
        ):
            return data
        data = dict(data)
        if STORED_ORDERS_VALUE in data:  # read from the table: derive from the kept counters
            data["lifetime_value"] = data.pop(STORED_ORDERS_VALUE)
            data["average_basket"] = None
        count = int(data.get("orders_count") or 0)
        if count > 0 and data.get("average_basket") is None:
            total = Decimal(str(data.get("lifetime_value") or 0))
            data["average_basket"] = (total / count).quantize(Decimal("0.01"))
        return data


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

    @model_validator(mode="before")
    @classmethod
    def _stored_customer_space_ids(cls, data: Any) -> Any:
        """A customer-space id stored before proof levels is the sign-in only on the profile its
        own first message created (same instant); one that joined an existing profile did so
        through the token's email, unchecked then: a claim (Identity reads it so)."""
        if not isinstance(data, dict) or not isinstance(data.get("identities"), list):
            return data
        created = _instant(data.get("created_at"))
        identities = []
        for raw in data["identities"]:
            own_first_message = (
                isinstance(raw, dict)
                and raw.get("proof") is None
                and _text(raw.get("kind")) == IdentityKind.portal.value
                and created is not None
                and _instant(raw.get("first_seen_at")) == created
            )
            identities.append({**raw, "proof": Proof.sign_in.value} if own_first_message else raw)
        return {**data, "identities": identities}

    def identity_values(self, kind: IdentityKind) -> list[str]:
        return [i.value for i in self.identities if i.kind is kind]

    def has_identity(self, kind: IdentityKind, value: str) -> bool:
        return any(i.kind is kind and i.value == value for i in self.identities)

    def identity(self, kind: IdentityKind, value: str) -> Identity | None:
        return next((i for i in self.identities if i.kind is kind and i.value == value), None)

    @property
    def holds_proof(self) -> bool:
        """A profile holding a proven identifier never takes claims (shared/domain/trust.py)."""
        return any(i.proof.proven for i in self.identities)


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


class ContactRole(StrEnum):
    decision_maker = "decision_maker"
    billing = "billing"
    technical = "technical"
    operations = "operations"
    purchasing = "purchasing"
    other = "other"


class Contact(DomainModel):
    """A customer acting for a company; a customer is a contact of at most one account."""

    customer_id: str
    name: str
    roles: list[ContactRole] = Field(default_factory=list)
    email: str | None = None
    phone: str | None = None
    added_at: datetime | None = None
    updated_at: datetime | None = None


class Account(DomainModel):
    """A company customer (B2B); its contacts are customers with roles (rules: domain/accounts.py)."""

    id: str
    name: str
    vat_number: str | None = None  # normalised: country prefix + digits/letters, no spaces
    contacts: list[Contact] = Field(default_factory=list)  # a page of them, when read with them
    contact_count: int = 0  # every contact, kept on write
    created_at: datetime
    updated_at: datetime | None = None
