"""Ports: what services need from the outside world, as small Protocols.

Services receive these as arguments; handler modules wire the real adapters once per
cold start; unit tests pass fakes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from shared.domain.agent import Agent
from shared.domain.audit import AuditEntry
from shared.domain.customer import Customer, Identity
from shared.domain.inbound import InboundEnvelope
from shared.domain.intake import ContactUpdate, TicketUpdate
from shared.domain.kpi import KpiIncrement
from shared.domain.merge import MergePlan, UndoPlan
from shared.domain.message import DeliveryStatus, Message
from shared.domain.order import Order, OrderLink
from shared.domain.parties import PartyLink
from shared.domain.search import SearchEntry
from shared.domain.ticket import Ticket, TicketSummary
from shared.domain.ticket_list import TicketFilters
from shared.domain.timeline import TimelineEntry
from shared.domain.trust import Release

T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> datetime: ...


class OrderLookup(Protocol):
    """Orders by the number a customer quotes (``OrderRepository``)."""

    def orders_by_number(self, number: str) -> list[Order]: ...


class InboundQueue(Protocol):
    def send(self, envelope: InboundEnvelope) -> str:
        """Enqueue one verified delivery; returns the queue's message id."""
        ...


@dataclass(frozen=True)
class Versioned(Generic[T]):
    """A record with the version it was read at (optimistic concurrency on write)."""

    value: T
    version: int


@dataclass(frozen=True)
class InboundWrite:
    """Everything one inbound event changes, written atomically or not at all.

    A customer message has a message and a ticket; a completed call only a timeline entry.
    """

    dedup_key: str
    timeline: TimelineEntry
    claimed_identities: list[Identity] = field(default_factory=list)  # made unique to the customer
    # Claims the message's proof takes back from the profiles holding them (shared/domain/trust.py)
    released_identities: list[Release] = field(default_factory=list)
    new_customer: Customer | None = None  # exactly one of new_customer / customer_update /
    customer_update: ContactUpdate | None = None  # unchanged_customer_id
    unchanged_customer_id: str | None = None  # the event concerns this profile but does not change it
    message: Message | None = None
    new_ticket: Ticket | None = None  # at most one of new_ticket / ticket_update / ticket_change
    ticket_update: TicketUpdate | None = None  # commutative: counters only
    # A message that moves the status or the SLA clock: the whole ticket, guarded by its version,
    # with its queue place, SLA index entry and counters following (as for an agent's change).
    ticket_change: tuple[Versioned[Ticket], Ticket] | None = None
    audit: list[AuditEntry] = field(default_factory=list)  # what the message changed on the ticket
    order_link: OrderLink | None = None  # the ticket, on the order's side (ORDER#<id> / LINK#TICKET#<ref>)
    email_message_ids: list[str] = field(default_factory=list)  # later replies thread on these
    outbound_provider_ids: list[str] = field(default_factory=list)  # "<channel>:<id>" for statuses
    search_entries: list[SearchEntry] = field(default_factory=list)  # new names, addresses, tickets

    @property
    def customer_id(self) -> str:
        if self.new_customer is not None:
            return self.new_customer.id
        if self.customer_update is not None:
            return self.customer_update.customer_id
        assert self.unchanged_customer_id is not None
        return self.unchanged_customer_id

    @property
    def ticket_id(self) -> str | None:
        if self.new_ticket is not None:
            return self.new_ticket.id
        if self.ticket_change is not None:
            return self.ticket_change[1].id
        return self.ticket_update.ticket_id if self.ticket_update is not None else None


@dataclass(frozen=True)
class ProviderMessageRef:
    """Where an outbound message lives, found from the provider's id (status callbacks)."""

    ticket_id: str | None
    message_sk: str | None
    customer_id: str | None
    status_rank: int


@dataclass(frozen=True)
class QueueHead:
    """A waiting ticket at the head of a queue shard, as the queue index shows it."""

    ticket_id: str
    queue_pk: str
    sort_key: str


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


class Repository(Protocol):
    def identity_owner(self, kind: str, value: str) -> str | None: ...

    def identity_lookup(self, kind: str, value: str) -> tuple[str | None, list[PartyLink]]:
        """The profile owning an identifier and the tickets it is a third party of (one read)."""
        ...

    def save_parties(
        self,
        before: Versioned[Ticket],
        after: Ticket,
        audit: AuditEntry,
        added: list[PartyLink],
        removed: list[PartyLink],
    ) -> None: ...

    def get_customer(self, customer_id: str) -> Versioned[Customer] | None: ...

    def get_ticket(self, ticket_id: str) -> Versioned[Ticket] | None: ...

    def ticket_messages(
        self, ticket_id: str, limit: int, cursor: str | None
    ) -> tuple[Ticket | None, Page[Message]]: ...

    def list_tickets(
        self,
        limit: int,
        cursor: str | None,
        *,
        view: str = "all",
        who: str | None = None,
        topic: str | None = None,
        filters: TicketFilters | None = None,
        merged: Sequence[str] = (),
    ) -> Page[TicketSummary]: ...

    def customer_timeline(
        self, customer_id: str, limit: int, cursor: str | None, *, merged: Sequence[str] = ()
    ) -> Page[TimelineEntry]: ...

    def record_inbound(self, write: InboundWrite) -> None: ...

    def ticket_for_email(self, message_id: str) -> str | None: ...

    def get_agent(self, agent_id: str) -> Versioned[Agent] | None: ...

    def save_agent(self, agent: Agent) -> Agent: ...

    def queue_backlog(self, topics: list[str]) -> dict[str, int]: ...

    def queue_heads(self, topic: str, per_shard: int) -> list[QueueHead]: ...

    def claim(self, head: QueueHead, topic: str, agent: Agent, audit: AuditEntry) -> None: ...

    def add_kpis(self, increments: list[KpiIncrement]) -> None:
        """Counters added on write (one UpdateItem per scope and day)."""
        ...

    def save_ticket(
        self, before: Versioned[Ticket], after: Ticket, audit: list[AuditEntry], note: Message | None = None
    ) -> None: ...

    def ticket_audit(self, ticket_id: str, limit: int) -> list[AuditEntry]: ...

    def merge_tickets(
        self,
        merged: tuple[Versioned[Ticket], Ticket],
        survivor: tuple[Versioned[Ticket], Ticket],
        audit: list[AuditEntry],
    ) -> None: ...

    def sla_due(self, until: datetime, per_shard: int) -> list[str]: ...

    def kpis(self, day: str) -> dict[str, dict[str, int]]: ...

    def search(self, pk: str, sk_prefix: str, limit: int) -> list[SearchEntry]: ...

    def merge_customers(self, plan: MergePlan) -> None: ...

    def undo_merge(self, plan: UndoPlan) -> None: ...

    def provider_message(self, channel: str, provider_id: str) -> ProviderMessageRef | None: ...

    def apply_delivery_status(
        self,
        dedup_key: str,
        *,
        channel: str,
        provider_id: str,
        ref: ProviderMessageRef | None,
        status: DeliveryStatus,
        error: str | None,
        timeline: TimelineEntry | None,
    ) -> bool: ...

    def outbound_messages_before(self, ticket_id: str, until: datetime, limit: int) -> list[Message]: ...
