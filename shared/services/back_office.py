"""Back-office tickets the workflow opens: something needs a person (billing gate, failed
commissioning, no report in time, a step that failed, a low CSAT).

They are ordinary tickets (the agents' list and queues show them) with a first internal note
that says what happened and what to do, linked to the order so the 360 view shows them.
Each (order, reason) opens at most one ticket, however often the step runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from shared.domain.common import Channel
from shared.domain.errors import NotFound, StaleWrite
from shared.domain.ids import new_id, ticket_reference
from shared.domain.message import DeliveryStatus, Direction, Message, PartyRole
from shared.domain.order import Order
from shared.domain.sla_policy import start_clock
from shared.domain.team_config import DEFAULT_SLA_SETTINGS, SlaSettings
from shared.domain.ticket import Priority, Ticket, TicketStatus, TicketType, Topic, default_sla
from shared.domain.ticket_work import TicketChange, apply_change
from shared.workflow_ports import Clock, Orders, Tickets, WorkflowData

WORKFLOW_ACTOR = "order-workflow"
_DONE = (TicketStatus.solved, TicketStatus.closed)

SUBJECT_MAX = 200


def open_order_ticket(
    store: WorkflowData,
    orders: Orders,
    clock: Clock,
    order: Order,
    *,
    reason: str,
    subject: str,
    note: str,
    topic: Topic = Topic.back_office,
    priority: Priority = Priority.normal,
    channel: Channel = Channel.portal,
    sla: SlaSettings | None = None,
) -> str:
    """The ticket for (order, reason), created once; returns its reference. ``sla``: the team's
    stored SLA settings (targets in business time); None: the fixed wall-clock defaults."""
    now = clock.now()
    clock_start = (
        start_clock(priority, now, sla.policy, sla.calendar)
        if sla is not None
        else default_sla(priority, now)
    )
    ticket = Ticket(
        id=ticket_reference(),
        subject=subject[:SUBJECT_MAX],
        type=TicketType.order_change if topic is Topic.back_office else TicketType.assistance,
        topic=topic,
        priority=priority,
        status=TicketStatus.new,
        channel=channel,
        customer_id=order.customer_id or "unknown",
        order_id=order.id,
        order_number=order.number,
        tags=["order-workflow", reason.split("-", maxsplit=1)[0]],
        sla=clock_start,
        message_count=1,
        last_message_at=now,
        created_at=now,
        updated_at=now,
    )
    message = Message(
        id=new_id("M"),
        ticket_id=ticket.id,
        customer_id=order.customer_id,
        channel=channel,
        direction=Direction.internal,
        party_role=PartyRole.system,
        author_id="order-workflow",
        subject=ticket.subject,
        text=note,
        delivery_status=DeliveryStatus.received,
        metadata={"order_id": order.id, "reason": reason},
        sent_at=now,
        received_at=now,
    )
    ticket_id, _ = store.open_ticket(order.id, reason, ticket, message)
    with contextlib.suppress(NotFound):  # the order is gone: the ticket still says why
        orders.link_ticket(order.id, ticket_id, now, by="order-workflow", order_number=order.number)
    return ticket_id


def solve_order_tickets(
    store: WorkflowData,
    tickets: Tickets,
    clock: Clock,
    order: Order,
    *,
    reason_prefix: str,
    note: str,
    sla: SlaSettings | None = None,
    only: Callable[[str], bool] | None = None,
) -> list[str]:
    """Solve the order's back-office tickets opened for ``reason_prefix`` (e.g. ``commissioning-``)
    now that the step they describe is resolved, each with ``note`` (an internal note saying
    what resolved it). A ticket an agent already solved or merged keeps its state; each guard is
    marked resolved so a retried step does nothing twice. ``only``: which reasons (all under
    the prefix by default). Returns the tickets solved."""
    solved: list[str] = []
    for reason, ticket_id in store.open_tickets(order.id, reason_prefix):
        if only is not None and not only(reason):
            continue
        for _ in range(3):
            found = tickets.get_ticket(ticket_id)
            if found is None or found.value.status in _DONE or found.value.merged_into is not None:
                break
            now = clock.now()
            settings = sla or DEFAULT_SLA_SETTINGS
            change = TicketChange(status=TicketStatus.solved)
            after, audit = apply_change(
                found.value, change, WORKFLOW_ACTOR, now, settings.calendar, policy=settings.policy
            )
            message = Message(
                id=new_id("N"),
                ticket_id=ticket_id,
                customer_id=order.customer_id,
                channel=Channel(found.value.channel),
                direction=Direction.internal,
                party_role=PartyRole.system,
                author_id=WORKFLOW_ACTOR,
                text=note,
                content_type="note",
                delivery_status=DeliveryStatus.received,
                metadata={"order_id": order.id, "reason": reason},
                sent_at=now,
                received_at=now,
            )
            try:
                tickets.save_ticket(found, after, audit, note=message)
            except StaleWrite:
                continue
            solved.append(ticket_id)
            break
        store.mark_ticket_resolved(order.id, reason, clock.now())
    return solved
