"""What agents do to a ticket: status, requalification, assignment, tags, collaborators.

Pure: each change returns the new ticket and the audit entries that explain it. The SLA
clock follows the status: it pauses while the ticket waits on the customer or a third party,
resumes when work starts again, and stops when the ticket is solved.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.domain.audit import AuditEntry
from shared.domain.common import Channel, DomainModel
from shared.domain.customer import CustomerTraits
from shared.domain.errors import InvalidInput
from shared.domain.ids import new_id
from shared.domain.message import PartyRole
from shared.domain.priority import DEFAULT_PRIORITY_POLICY, PriorityPolicy, priority_for
from shared.domain.sla_policy import (
    DEFAULT_CALENDAR,
    DEFAULT_SLA_POLICY,
    BusinessCalendar,
    SlaPolicy,
    pause,
    record_resolution,
    reprioritize,
    resume,
    running_deadlines,
)
from shared.domain.ticket import (
    ManualChoice,
    Party,
    Priority,
    SlaClock,
    Ticket,
    TicketStatus,
    TicketType,
    Topic,
)

# Which status may follow which (a closed ticket is archived: a new message opens a new one).
TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.new: frozenset(
        {
            TicketStatus.open,
            TicketStatus.pending_customer,
            TicketStatus.pending_third_party,
            TicketStatus.solved,
        }
    ),
    TicketStatus.open: frozenset(
        {TicketStatus.pending_customer, TicketStatus.pending_third_party, TicketStatus.solved}
    ),
    TicketStatus.pending_customer: frozenset(
        {TicketStatus.open, TicketStatus.pending_third_party, TicketStatus.solved}
    ),
    TicketStatus.pending_third_party: frozenset(
        {TicketStatus.open, TicketStatus.pending_customer, TicketStatus.solved}
    ),
    TicketStatus.solved: frozenset({TicketStatus.open, TicketStatus.closed}),
    TicketStatus.closed: frozenset(),
}


class TicketChange(DomainModel):
    """A PATCH on a ticket: only the fields given change. A type, topic or priority that
    differs from the ticket's is the agent's choice: recorded (who, when) and never changed
    by the rules again; send only what the agent changed."""

    status: TicketStatus | None = None
    type: TicketType | None = None
    topic: Topic | None = None
    priority: Priority | None = None
    add_tags: list[str] = Field(default_factory=list, max_length=20)
    remove_tags: list[str] = Field(default_factory=list, max_length=20)
    assignee_id: str | None = None
    unassign: bool = False
    add_collaborators: list[str] = Field(default_factory=list, max_length=10)
    remove_collaborators: list[str] = Field(default_factory=list, max_length=10)


class PriorityFacts(DomainModel):
    """What the priority rules read besides the ticket: the customer's traits and their recent
    contacts (channel, time), as the profile keeps them."""

    traits: CustomerTraits | None = None
    recent_contacts: list[tuple[Channel, datetime]] = Field(default_factory=list)


def _audit(ticket: Ticket, actor: str, action: str, changes: dict[str, str], now: datetime) -> AuditEntry:
    return AuditEntry(
        id=new_id("A"), ticket_id=ticket.id, actor=actor, action=action, changes=changes, at=now
    )


def apply_change(
    ticket: Ticket,
    change: TicketChange,
    actor: str,
    now: datetime,
    calendar: BusinessCalendar = DEFAULT_CALENDAR,
    *,
    policy: SlaPolicy = DEFAULT_SLA_POLICY,
    priority_policy: PriorityPolicy = DEFAULT_PRIORITY_POLICY,
    priority_facts: PriorityFacts | None = None,
) -> tuple[Ticket, list[AuditEntry]]:
    """``calendar`` and ``policy``: the team's SLA settings. A new priority recomputes the
    deadlines not met yet under that priority's targets (see sla_policy.reprioritize). A new
    type recomputes the priority (``priority_policy``, ``priority_facts``: the customer's),
    unless an agent set the priority by hand."""
    if ticket.merged_into is not None:
        raise InvalidInput(
            [{"field": "ticket", "message": f"merged into {ticket.merged_into}: change that one"}]
        )
    updated, audit = ticket, []
    if change.status is not None and change.status is not ticket.status:
        if change.status not in TRANSITIONS[ticket.status]:
            raise InvalidInput(
                [
                    {
                        "field": "status",
                        "message": f"cannot go from {ticket.status.value} to {change.status.value}",
                    }
                ]
            )
        updated = updated.model_copy(
            update={"status": change.status, "sla": _sla_for(updated, change.status, now, calendar)}
        )
        audit.append(
            _audit(
                ticket, actor, "status", {"status": f"{ticket.status.value} -> {change.status.value}"}, now
            )
        )
    requalified = {
        name: (getattr(ticket, name), value)
        for name in ("type", "topic", "priority")
        if (value := getattr(change, name)) is not None and value is not getattr(ticket, name)
    }
    by_hand = ManualChoice(by=actor, at=now)
    marks: dict[str, object] = {}
    if "type" in requalified or "topic" in requalified:
        marks["qualification_manual"] = by_hand
    if "priority" in requalified:
        marks["priority_manual"] = by_hand
        marks["priority_reasons"] = [f"set by hand ({actor})"]
    elif "type" in requalified and ticket.priority_manual is None:
        # A new request type deserves its own priority, with the same facts as when it opened.
        facts = priority_facts or PriorityFacts()
        decision = priority_for(
            change.type or ticket.type,
            facts.traits,
            facts.recent_contacts,
            ticket.sla.next_due() if ticket.sla is not None else None,
            now,
            policy=priority_policy,
        )
        marks["priority_reasons"] = decision.reasons
        if decision.priority is not ticket.priority:
            requalified["priority"] = (ticket.priority, decision.priority)
    if requalified:
        updated = updated.model_copy(
            update={**{name: new for name, (_, new) in requalified.items()}, **marks}
        )
        if "priority" in requalified and updated.sla is not None:
            clock = reprioritize(updated.sla, updated.priority, ticket.created_at, policy, calendar)
            updated = updated.model_copy(update={"sla": clock})
        audit.append(
            _audit(
                ticket,
                actor,
                "requalified",
                {name: f"{old.value} -> {new.value}" for name, (old, new) in requalified.items()},
                now,
            )
        )
    if change.unassign or (change.assignee_id and change.assignee_id != ticket.assignee_id):
        new_assignee = None if change.unassign else change.assignee_id
        updated = updated.model_copy(update={"assignee_id": new_assignee})
        action = "unassigned" if new_assignee is None else "assigned"
        audit.append(
            _audit(ticket, actor, action, {"assignee_id": f"{ticket.assignee_id} -> {new_assignee}"}, now)
        )
    tags = _edited(ticket.tags, change.add_tags, change.remove_tags)
    if tags != ticket.tags:
        updated = updated.model_copy(update={"tags": tags})
        audit.append(
            _audit(ticket, actor, "tagged", {"tags": f"{','.join(ticket.tags)} -> {','.join(tags)}"}, now)
        )
    collaborators = _edited(ticket.collaborator_ids, change.add_collaborators, change.remove_collaborators)
    if len(collaborators) > MAX_COLLABORATORS:
        raise InvalidInput(
            [
                {
                    "field": "add_collaborators",
                    "message": f"at most {MAX_COLLABORATORS} collaborators per ticket",
                }
            ]
        )
    if collaborators != ticket.collaborator_ids:
        updated = updated.model_copy(update={"collaborator_ids": collaborators})
        audit.append(
            _audit(ticket, actor, "collaborators", {"collaborator_ids": ",".join(collaborators) or "-"}, now)
        )
    if audit:
        updated = updated.model_copy(update={"updated_at": now})
        # Entries of one change share a time: a sequence suffix keeps them in the order they happened.
        base = new_id("A")
        audit = [entry.model_copy(update={"id": f"{base}{n:02d}"}) for n, entry in enumerate(audit)]
    return updated, audit


def _edited(current: list[str], add: list[str], remove: list[str]) -> list[str]:
    cleaned = [t.strip() for t in add if t.strip()]
    result = [t for t in current if t not in remove]
    return result + [t for t in cleaned if t not in result]


def _sla_for(
    ticket: Ticket, status: TicketStatus, now: datetime, calendar: BusinessCalendar
) -> SlaClock | None:
    clock = ticket.sla
    if clock is None:
        return None
    if status is TicketStatus.solved or status is TicketStatus.closed:
        return record_resolution(clock, now, calendar)
    if status.pauses_sla:
        return pause(clock, now) if clock.paused_since is None else clock
    return resume(clock, now, calendar) if clock.paused_since is not None else clock


MAX_COLLABORATORS = 10  # each one is an item written with the ticket's changes


def listed_collaborators(ticket: Ticket) -> list[str]:
    """The agents whose "mine" list shows the ticket as a collaborator: while it is active."""
    if not ticket.status.is_active or ticket.merged_into:
        return []
    return [agent for agent in ticket.collaborator_ids if agent != ticket.assignee_id]


def counts_for_assignee(ticket: Ticket) -> str | None:
    """The agent whose capacity this ticket uses: its assignee, while the ticket is active."""
    return ticket.assignee_id if ticket.assignee_id and ticket.status.is_active else None


def sla_watch(ticket: Ticket) -> datetime | None:
    """The deadline the SLA check must watch: the earliest running one not already breached
    (a breach is escalated once), none while paused, solved or merged."""
    clock = ticket.sla
    if clock is None or not ticket.status.is_active or ticket.merged_into or clock.paused_since:
        return None
    due = [at for name, at in running_deadlines(clock).items() if name not in clock.breached]
    return min(due) if due else None


def _last_inbound(source: Ticket, target: Ticket) -> dict[str, object]:
    """Where the customer last wrote, of the two tickets (replies default to that channel);
    what another profile wrote on the merged ticket is not the survivor's customer writing."""
    if source.last_inbound_channel is None or source.customer_id != target.customer_id:
        return {}
    if target.last_inbound_channel is None or (source.last_inbound_at or source.created_at) > (
        target.last_inbound_at or target.created_at
    ):
        return {
            "last_inbound_channel": source.last_inbound_channel,
            "last_inbound_at": source.last_inbound_at,
        }
    return {}


MAX_MERGED = 20  # a survivor reads each merged ticket's messages: keep the fan-out bounded


def merge_into(
    source: Ticket, target: Ticket, actor: str, now: datetime, calendar: BusinessCalendar = DEFAULT_CALENDAR
) -> tuple[Ticket, Ticket, list[AuditEntry]]:
    """``source`` joins ``target``: its messages follow (read with the survivor's), its parties
    and customer become the survivor's parties, and it closes, pointing to the survivor."""
    if source.id == target.id:
        raise InvalidInput([{"field": "into", "message": "a ticket cannot be merged into itself"}])
    for ticket, name in ((source, "ticket"), (target, "into")):
        if ticket.merged_into is not None:
            raise InvalidInput(
                [{"field": name, "message": f"{ticket.id} was already merged into {ticket.merged_into}"}]
            )
    if not target.status.is_active:
        raise InvalidInput(
            [{"field": "into", "message": f"{target.id} is {target.status.value}: reopen it first"}]
        )
    merged_from = [*target.merged_from, source.id, *source.merged_from]
    if len(merged_from) > MAX_MERGED:
        raise InvalidInput(
            [{"field": "into", "message": f"{target.id} already holds {MAX_MERGED} merged tickets"}]
        )
    parties = list(target.parties)
    known = {(p.role, p.email, p.phone, p.customer_id) for p in parties}
    extra = list(source.parties)
    if source.customer_id != target.customer_id:
        extra.append(
            Party(
                id=f"customer:{source.customer_id}", role=PartyRole.customer, customer_id=source.customer_id
            )
        )
    for party in extra:
        if (party.role, party.email, party.phone, party.customer_id) not in known:
            parties.append(party)
    survivor = target.model_copy(
        update={
            "merged_from": merged_from,
            "parties": parties,
            "message_count": target.message_count + source.message_count,
            **_last_inbound(source, target),
            "updated_at": now,
        }
    )
    closed = source.model_copy(
        update={
            "merged_into": target.id,
            "status": TicketStatus.closed,
            "sla": _sla_for(source, TicketStatus.closed, now, calendar),
            "updated_at": now,
        }
    )
    base = new_id("A")
    audit = [
        AuditEntry(
            id=f"{base}00",
            ticket_id=source.id,
            actor=actor,
            action="merged",
            changes={"merged_into": target.id},
            at=now,
        ),
        AuditEntry(
            id=f"{base}01",
            ticket_id=target.id,
            actor=actor,
            action="merged",
            changes={"merged_from": source.id},
            at=now,
        ),
    ]
    return closed, survivor, audit
