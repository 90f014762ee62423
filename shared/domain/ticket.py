"""Tickets: qualification, priority, status, parties, assignees and SLA clocks."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import Field, computed_field

from shared.domain.common import Channel, DomainModel
from shared.domain.message import PartyRole


class TicketType(StrEnum):
    unqualified = "unqualified"
    information = "information"
    complaint = "complaint"
    assistance = "assistance"
    order_change = "order_change"
    callback = "callback"


class Topic(StrEnum):
    general = "general"
    sales = "sales"
    tech_support = "tech_support"
    billing = "billing"
    delivery = "delivery"
    back_office = "back_office"


class TicketStatus(StrEnum):
    new = "new"
    open = "open"
    pending_customer = "pending_customer"
    pending_third_party = "pending_third_party"
    solved = "solved"
    closed = "closed"

    @property
    def is_active(self) -> bool:
        return self not in (TicketStatus.solved, TicketStatus.closed)

    @property
    def pauses_sla(self) -> bool:
        return self in (TicketStatus.pending_customer, TicketStatus.pending_third_party)


class Priority(StrEnum):
    urgent = "urgent"
    high = "high"
    normal = "normal"
    low = "low"

    @property
    def rank(self) -> int:
        """0 is served first; used in the queue index sort key."""
        return list(Priority).index(self)


class Party(DomainModel):
    id: str
    role: PartyRole
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    customer_id: str | None = None
    added_at: datetime | None = None  # third parties: when an agent added them


class SlaClock(DomainModel):
    policy: str
    first_response_due_at: datetime | None = None
    first_responded_at: datetime | None = None
    next_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    resolved_at: datetime | None = None
    paused_since: datetime | None = None
    paused_seconds: int = 0
    warned: bool = False
    breached: list[str] = Field(default_factory=list)

    def next_due(self) -> datetime | None:
        """The earliest deadline still running (none while paused)."""
        if self.paused_since is not None:
            return None
        candidates = [
            self.first_response_due_at if self.first_responded_at is None else None,
            self.next_response_due_at,
            self.resolution_due_at if self.resolved_at is None else None,
        ]
        running = [c for c in candidates if c is not None]
        return min(running) if running else None


# Default targets per priority until supervisors configure policies (issue: SLAs).
DEFAULT_SLA_TARGETS: dict[Priority, tuple[timedelta, timedelta]] = {
    # priority: (first response, resolution)
    Priority.urgent: (timedelta(hours=1), timedelta(hours=8)),
    Priority.high: (timedelta(hours=4), timedelta(days=1)),
    Priority.normal: (timedelta(hours=8), timedelta(days=3)),
    Priority.low: (timedelta(days=1), timedelta(days=5)),
}


def default_sla(priority: Priority, opened_at: datetime) -> SlaClock:
    first, resolution = DEFAULT_SLA_TARGETS[priority]
    return SlaClock(
        policy=f"default-{priority.value}",
        first_response_due_at=opened_at + first,
        resolution_due_at=opened_at + resolution,
    )


class ManualChoice(DomainModel):
    """Who set something by hand, and when: the automatic rules never override it."""

    by: str
    at: datetime


class TicketRating(DomainModel):
    """The customer's satisfaction with a solved ticket (CSAT), given once."""

    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=1000)
    at: datetime


class Ticket(DomainModel):
    id: str  # the short reference customers quote ([#K7M3Q9XA])
    subject: str | None = None
    type: TicketType = TicketType.unqualified
    topic: Topic = Topic.general
    priority: Priority = Priority.normal
    # Why the rules chose the priority (the agent sees why a ticket jumped the queue).
    priority_reasons: list[str] = Field(default_factory=list)
    # Set by an agent: each new message re-evaluates what was not chosen by hand, never what was.
    priority_manual: ManualChoice | None = None
    qualification_manual: ManualChoice | None = None  # type and topic
    status: TicketStatus = TicketStatus.new
    channel: Channel  # where the case started
    customer_id: str
    # Copied from the profile for the lists (see ticket_list.customer_label), refreshed by the
    # customer's next message or a profile merge; the company the customer was a contact of.
    customer_name: str | None = None
    account_id: str | None = None
    order_id: str | None = None
    order_number: str | None = None
    parties: list[Party] = Field(default_factory=list)
    assignee_id: str | None = None
    collaborator_ids: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    sla: SlaClock | None = None
    message_count: int = 0
    last_message_at: datetime | None = None
    last_inbound_channel: Channel | None = None  # where the customer last wrote (merged tickets too)
    last_inbound_at: datetime | None = None
    merged_into: str | None = None
    merged_from: list[str] = Field(default_factory=list)  # tickets merged into this one
    rating: TicketRating | None = None  # the customer's CSAT once solved
    created_at: datetime
    updated_at: datetime


class TicketSummary(DomainModel):
    """A ticket as the agents' list shows it: what the list index projects, nothing that changes
    with every message (see schema.TICKET_LIST_ATTRIBUTES)."""

    id: str
    subject: str | None = None
    type: TicketType = TicketType.unqualified
    topic: Topic = Topic.general
    priority: Priority = Priority.normal
    status: TicketStatus = TicketStatus.new
    channel: Channel
    customer_id: str
    customer_name: str | None = Field(default=None, description="the customer's name, email or phone")
    account_id: str | None = Field(default=None, description="the customer's company")
    order_number: str | None = None
    assignee_id: str | None = None
    tags: list[str] = Field(default_factory=list)
    sla: SlaClock | None = None
    created_at: datetime

    @computed_field(description="the next running SLA deadline (none while paused or met)")  # type: ignore[prop-decorator]
    @property
    def sla_due_at(self) -> datetime | None:
        return self.sla.next_due() if self.sla is not None else None
