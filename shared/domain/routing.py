"""Topic queues and who serves them: pure rules for the queue index and the next-ticket order."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.domain.agent import Agent
from shared.domain.common import DomainModel, iso
from shared.domain.ticket import Ticket, TicketStatus, Topic


class QueuePosition(DomainModel):
    """Where a waiting ticket sits: its topic queue, served by priority then age (FIFO)."""

    topic: Topic
    priority_rank: int
    queued_at: datetime
    ticket_id: str

    @property
    def sort_key(self) -> str:
        return f"{self.priority_rank}#{iso(self.queued_at)}#{self.ticket_id}"


def waiting_position(ticket: Ticket) -> QueuePosition | None:
    """A ticket waits in its topic queue while it is active, unassigned and not merged."""
    if ticket.assignee_id or ticket.merged_into or not ticket.status.is_active:
        return None
    if ticket.status not in (TicketStatus.new, TicketStatus.open):
        return None  # waiting on the customer or a third party: nobody needs to pick it up
    return QueuePosition(
        topic=ticket.topic,
        priority_rank=ticket.priority.rank,
        queued_at=ticket.created_at,
        ticket_id=ticket.id,
    )


class QueueSettings(DomainModel):
    """How the team presents and staffs one topic queue."""

    name: str | None = Field(
        default=None, max_length=80, description="shown to agents, e.g. 'Support technique'"
    )
    description: str | None = Field(default=None, max_length=500)
    backup_threshold: int | None = Field(
        default=None, ge=0, le=100_000, description="this queue's own threshold (default: the team's)"
    )


class RoutingPolicy(DomainModel):
    """Set by supervisors: above this backlog, a queue pulls in its versatile backup agents first."""

    backup_threshold: int = Field(
        default=20,
        ge=0,
        le=100_000,
        description="Waiting tickets above which a backup queue is served before an agent's specialties",
    )
    queues: dict[Topic, QueueSettings] = Field(
        default_factory=dict, description="per queue (topic): its name, description and own threshold"
    )

    def threshold_for(self, topic: Topic) -> int:
        own = self.queues.get(topic)
        return (
            own.backup_threshold
            if own is not None and own.backup_threshold is not None
            else self.backup_threshold
        )


class QueueView(DomainModel):
    """A topic queue as agents and supervisors see it: its settings and what waits in it."""

    id: Topic
    name: str
    description: str | None = None
    waiting: int = Field(
        description="tickets waiting (new or open, nobody on them), from the backlog counter"
    )
    backup_threshold: int = Field(
        description="above this, agents with this queue as a backup are called in first"
    )
    overloaded: bool


def queue_views(policy: RoutingPolicy, backlog: dict[str, int]) -> list[QueueView]:
    views = []
    for topic in Topic:
        settings = policy.queues.get(topic) or QueueSettings()
        waiting = backlog.get(topic.value, 0)
        threshold = policy.threshold_for(topic)
        views.append(
            QueueView(
                id=topic,
                name=settings.name or topic.value.replace("_", " ").capitalize(),
                description=settings.description,
                waiting=waiting,
                backup_threshold=threshold,
                overloaded=waiting > threshold,
            )
        )
    return views


def queue_order(agent: Agent, backlog: dict[Topic, int], policy: RoutingPolicy) -> list[Topic]:
    """The queues an agent serves, in the order ``next`` tries them.

    Specialties first. A backup queue whose backlog is over the supervisors' threshold comes
    before them (it needs help now); the other backup queues come after (served when the
    specialties are empty).
    """
    overloaded = [t for t in agent.backup_queues if backlog.get(t, 0) > policy.threshold_for(t)]
    rest = [t for t in agent.backup_queues if t not in overloaded]
    ordered: list[Topic] = []
    for topic in [*overloaded, *agent.skills, *rest]:
        if topic not in ordered:
            ordered.append(topic)
    return ordered
