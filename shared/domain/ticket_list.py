"""The agents' ticket lists: which filters exist and what a row says about its customer.

The repository turns a :class:`TicketFilters` into key conditions where an index's keys allow
it (a customer's tickets, an agent's, a creation-date range on the lists' ``<created>#<ref>``
sort keys) and into filter expressions otherwise; :meth:`TicketFilters.matches` is the same
test in code, for rows read by key (a collaborator's tickets).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import Field, field_validator

from shared.domain.common import Channel, DomainModel
from shared.domain.customer import Customer
from shared.domain.identity import IdentityKind
from shared.domain.ticket import Priority, TicketStatus, TicketSummary


class TicketFilters(DomainModel):
    """Every filter given must hold (AND)."""

    status: TicketStatus | None = None
    channel: Channel | None = None
    priority: Priority | None = None
    assignee_id: str | None = Field(default=None, min_length=1, max_length=128)
    tag: str | None = Field(default=None, min_length=1, max_length=64)
    customer_id: str | None = Field(default=None, min_length=1, max_length=64)
    account_id: str | None = Field(default=None, min_length=1, max_length=64)
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # inclusive

    @field_validator("created_from", "created_to")
    @classmethod
    def _utc(cls, moment: datetime | None) -> datetime | None:
        """A time without a zone is UTC (what the stored times are)."""
        if moment is None:
            return None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def problems(self) -> list[dict[str, str]]:
        if self.created_from and self.created_to and self.created_from > self.created_to:
            return [{"field": "created_from", "message": "is after created_to"}]
        return []

    def equalities(self) -> dict[str, str]:
        """The filters that compare one stored attribute with a value (a filter expression)."""
        pairs = {
            "status": self.status.value if self.status else None,
            "channel": self.channel.value if self.channel else None,
            "priority": self.priority.value if self.priority else None,
            "assignee_id": self.assignee_id,
            "customer_id": self.customer_id,
            "account_id": self.account_id,
        }
        return {name: value for name, value in pairs.items() if value is not None}

    def matches(self, row: TicketSummary) -> bool:
        stored = {
            "status": row.status.value,
            "channel": row.channel.value,
            "priority": row.priority.value,
            "assignee_id": row.assignee_id,
            "customer_id": row.customer_id,
            "account_id": row.account_id,
        }
        if any(stored[name] != value for name, value in self.equalities().items()):
            return False
        if self.tag is not None and self.tag not in row.tags:
            return False
        if self.created_from is not None and row.created_at < self.created_from:
            return False
        return self.created_to is None or row.created_at <= self.created_to


def customer_label(customer: Customer) -> str | None:
    """What a list row calls the customer: their name, else their email or phone number."""
    full = " ".join(part for part in (customer.first_name, customer.last_name) if part)
    if customer.display_name or full:
        return customer.display_name or full
    for kind in (IdentityKind.email, IdentityKind.phone):
        values = customer.identity_values(kind)
        if values:
            return values[0]
    return None
