"""Agents change tickets: a PATCH (status, requalification, assignment, tags, collaborators) or
an internal note. Optimistic: read the version, apply the rules, write guarded by the version."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from shared.domain.audit import AuditEntry
from shared.domain.common import Channel
from shared.domain.errors import Conflict, NotFound, StaleWrite, Unprocessable
from shared.domain.ids import new_id
from shared.domain.intake import profile_contacts
from shared.domain.message import DeliveryStatus, Direction, Message, PartyRole
from shared.domain.priority import DEFAULT_PRIORITY_POLICY, PriorityPolicy
from shared.domain.team_config import DEFAULT_SLA_SETTINGS, SlaSettings
from shared.domain.ticket import Ticket
from shared.domain.ticket_work import PriorityFacts, TicketChange, apply_change, merge_into
from shared.ports import Clock, Repository, Versioned

ATTEMPTS = 3
R = TypeVar("R")


def edit_ticket(repo: Repository, ticket_id: str, write: Callable[[Versioned[Ticket]], R]) -> R:
    """Read the ticket and ``write`` a change guarded by the version read; when someone changed
    it meanwhile (``StaleWrite``), read it again and redo the change (at most ATTEMPTS times).
    A ``Conflict`` the rules raise is the answer, not retried."""
    for _ in range(ATTEMPTS):
        found = repo.get_ticket(ticket_id)
        if found is None:
            raise NotFound("ticket", ticket_id)
        try:
            return write(found)
        except StaleWrite:
            continue
    raise Conflict(f"ticket {ticket_id} keeps changing; try again")


def update_ticket(
    repo: Repository,
    clock: Clock,
    ticket_id: str,
    change: TicketChange,
    actor: str,
    *,
    sla: SlaSettings = DEFAULT_SLA_SETTINGS,
    priority: PriorityPolicy = DEFAULT_PRIORITY_POLICY,
) -> Ticket:
    """``sla``: the team's SLA settings, which a status or priority change recomputes the clock
    with; ``priority``: the team's priority policy, which a new request type is prioritised by
    (with the customer's traits and recent contacts: their profile is read then)."""
    if change.assignee_id and repo.get_agent(change.assignee_id) is None:
        raise NotFound("agent", change.assignee_id)  # a ticket goes only to someone who can work it
    unknown = [a for a in dict.fromkeys(change.add_collaborators) if repo.get_agent(a) is None]
    if unknown:
        raise Unprocessable(
            [{"field": "add_collaborators", "message": f"no agent {agent_id}"} for agent_id in unknown]
        )

    def write(found: Versioned[Ticket]) -> Ticket:
        facts = _priority_facts(repo, found.value.customer_id) if change.type is not None else None
        after, audit = apply_change(
            found.value,
            change,
            actor,
            clock.now(),
            sla.calendar,
            policy=sla.policy,
            priority_policy=priority,
            priority_facts=facts,
        )
        if not audit:
            return found.value  # nothing changed: nothing written
        repo.save_ticket(found, after, audit)
        return after

    return edit_ticket(repo, ticket_id, write)


def _priority_facts(repo: Repository, customer_id: str) -> PriorityFacts:
    found = repo.get_customer(customer_id)
    if found is not None and found.value.merged_into:  # the ticket may name a merged profile
        found = repo.get_customer(found.value.merged_into) or found
    customer = found.value if found is not None else None
    return PriorityFacts(
        traits=customer.traits if customer is not None else None, recent_contacts=profile_contacts(customer)
    )


def add_note(repo: Repository, clock: Clock, ticket_id: str, text: str, agent_id: str) -> Message:
    """An internal note: on the ticket for agents, never shown to the customer or third parties."""

    def write(found: Versioned[Ticket]) -> Message:
        now = clock.now()
        note = Message(
            id=new_id("N"),
            ticket_id=ticket_id,
            channel=found.value.last_inbound_channel or Channel(found.value.channel),
            direction=Direction.internal,
            party_role=PartyRole.agent,
            author_id=agent_id,
            text=text,
            content_type="note",
            delivery_status=DeliveryStatus.received,
            sent_at=now,
            received_at=now,
        )
        audit = AuditEntry(
            id=new_id("A"),
            ticket_id=ticket_id,
            actor=f"agent:{agent_id}",
            action="note",
            changes={"message_id": note.id},
            at=now,
        )
        repo.save_ticket(found, found.value.model_copy(update={"updated_at": now}), [audit], note=note)
        return note

    return edit_ticket(repo, ticket_id, write)


def merge_tickets(
    repo: Repository,
    clock: Clock,
    ticket_id: str,
    into: str,
    actor: str,
    *,
    sla: SlaSettings = DEFAULT_SLA_SETTINGS,
) -> Ticket:
    """``ticket_id`` joins ``into``: one transaction, both guarded by their versions."""
    for _ in range(ATTEMPTS):
        source, target = repo.get_ticket(ticket_id), repo.get_ticket(into)
        if source is None:
            raise NotFound("ticket", ticket_id)
        if target is None:
            raise NotFound("ticket", into)
        closed, survivor, audit = merge_into(source.value, target.value, actor, clock.now(), sla.calendar)
        try:
            repo.merge_tickets((source, closed), (target, survivor), audit)
        except Conflict:
            continue
        return survivor
    raise Conflict(f"tickets {ticket_id} and {into} keep changing; try again")
