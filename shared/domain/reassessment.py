"""A new message on an open ticket re-evaluates what the rules decided when it was opened.

A customer who writes again, on another channel, within the hour is telling us something:
the priority is computed again with what the profile knows of their recent contacts (see
``priority.priority_for``), and a ticket still unqualified is qualified with the new words.
What an agent set by hand is never touched. The outcome only ever raises the priority (a quiet
message never lowers what an earlier one or an SLA escalation decided); a higher priority
moves the ticket up its queue and tightens its SLA deadlines (``sla_policy.reprioritize``).

Pure and cheap: most messages change nothing and cost the commutative counter update only.
"""

from __future__ import annotations

from datetime import datetime

from shared.domain.common import DomainModel
from shared.domain.customer import Customer, CustomerTraits
from shared.domain.inbound import InboundMessage
from shared.domain.intake import DEFAULT_PLAYBOOK, Playbook, recent_contacts
from shared.domain.priority import max_priority, priority_for
from shared.domain.qualification import MessageFields, qualify
from shared.domain.sla_policy import reprioritize
from shared.domain.ticket import Ticket, TicketType, Topic


class Reassessment(DomainModel):
    """The ticket after the re-evaluation, and what changed (for the audit trail)."""

    ticket: Ticket
    changes: dict[str, str]


def reassess(
    ticket: Ticket,
    customer: Customer | None,
    message: InboundMessage,
    now: datetime,
    playbook: Playbook | None = None,
) -> Reassessment | None:
    """``ticket`` after the customer's ``message`` (``customer``: their profile as read before
    it), or None when nothing changes."""
    if not ticket.status.is_active or ticket.merged_into:
        return None
    rules = playbook or DEFAULT_PLAYBOOK
    ticket_type, topic = ticket.type, ticket.topic
    if ticket.type is TicketType.unqualified and ticket.qualification_manual is None:
        found = qualify(MessageFields.from_inbound(message), None, rules.qualification)
        ticket_type = found.type
        if found.topic is not Topic.general and ticket.topic is Topic.general:
            topic = found.topic
    priority, reasons = ticket.priority, ticket.priority_reasons
    if ticket.priority_manual is None:
        decision = priority_for(
            ticket_type,
            customer.traits if customer is not None else CustomerTraits(),
            recent_contacts(customer, message),
            ticket.sla.next_due() if ticket.sla is not None else None,
            now,
            policy=rules.priority,
        )
        if max_priority(ticket.priority, decision.priority) is not ticket.priority:
            priority, reasons = decision.priority, decision.reasons
    changes = {
        name: f"{old.value} -> {new.value}"
        for name, old, new in (
            ("type", ticket.type, ticket_type),
            ("topic", ticket.topic, topic),
            ("priority", ticket.priority, priority),
        )
        if old is not new
    }
    if not changes:
        return None
    clock = ticket.sla
    if priority is not ticket.priority and clock is not None:
        clock = reprioritize(clock, priority, ticket.created_at, rules.sla, rules.calendar)
    after = ticket.model_copy(
        update={
            "type": ticket_type,
            "topic": topic,
            "priority": priority,
            "priority_reasons": reasons,
            "sla": clock,
            "updated_at": now,
        }
    )
    if priority is not ticket.priority:
        changes["reasons"] = "; ".join(reasons)
    return Reassessment(ticket=after, changes=changes)
