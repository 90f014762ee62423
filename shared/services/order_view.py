"""The 360 order view for agents: the order, who to contact, and everything said about it.

One GetItem for the order, one for the profile, one Query for the links, one Query per linked
ticket (its record and first messages), one GetItem per individually linked message, and for
the order workflow one GetItem (its record) and one Query (its alerts). Bounded: at most
MAX_TICKETS tickets and MESSAGES_PER_TICKET messages each (``more_messages`` says when a ticket
has more; the ticket API pages through them).

``workflow`` is what ``GET /api/orders/{id}/workflow`` answers (shared.services.quotes
.workflow_details: appointment and past visits, provisioning reference, commissioning reports,
invoice with its link, alerts per stage, survey and CSAT, caught failures); the serial numbers
and billable statuses are on the order's lines. None for an order the workflow never ran.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from shared.adapters.dynamodb.orders import OrderRepository
from shared.adapters.dynamodb.workflow_store import WorkflowStore
from shared.domain.common import Channel, DomainModel
from shared.domain.customer import Customer
from shared.domain.errors import NotFound
from shared.domain.identity import IdentityKind
from shared.domain.message import Direction, Message, PartyRole
from shared.domain.order import Order, OrderLink, OrderLinkKind, OrderStage, StageEvent
from shared.domain.ticket import Party, Ticket
from shared.ports import Repository
from shared.services.quotes import workflow_details

MAX_TICKETS = 20
MESSAGES_PER_TICKET = 50


class OrderContact(DomainModel):
    """How to reach the buyer: the profile's identifiers and what the platform had on the order."""

    customer_id: str | None = None
    name: str | None = None
    locale: str | None = None
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    order_email: str | None = None
    order_phone: str | None = None


class ExchangeParty(DomainModel):
    role: PartyRole
    id: str | None = None
    name: str | None = None


class Exchange(DomainModel):
    """One message about the order, with who said it, in time order across tickets."""

    ticket_id: str
    message_id: str
    at: datetime
    channel: Channel
    direction: Direction
    party: ExchangeParty
    subject: str | None = None
    text: str
    attachments: int = 0


class LinkedTicket(DomainModel):
    ticket: Ticket
    message_count: int
    more_messages: bool


class OrderView(DomainModel):
    order: Order
    contact: OrderContact
    tickets: list[LinkedTicket]
    exchanges: list[Exchange]
    stage: OrderStage
    stage_history: list[StageEvent]
    links: list[OrderLink]
    workflow: dict[str, Any] | None = None


def order_view(
    orders: OrderRepository, repo: Repository, order_id: str, workflow: WorkflowStore | None = None
) -> OrderView:
    """``workflow``: the workflow's store, to include its details (left out without it)."""
    found = orders.get_order(order_id)
    if found is None:
        raise NotFound("order", order_id)
    order = found.value
    customer = None
    if order.customer_id:
        profile = repo.get_customer(order.customer_id)
        customer = profile.value if profile else None
    links = orders.order_links(order_id)
    ticket_ids = list(dict.fromkeys(link.ticket_id for link in links if link.kind is OrderLinkKind.ticket))
    tickets: list[LinkedTicket] = []
    exchanges: list[Exchange] = []
    for ticket_id in ticket_ids[:MAX_TICKETS]:
        ticket, page = repo.ticket_messages(ticket_id, MESSAGES_PER_TICKET, None)
        if ticket is None:
            continue
        tickets.append(
            LinkedTicket(
                ticket=ticket, message_count=ticket.message_count, more_messages=page.next_cursor is not None
            )
        )
        exchanges += [_exchange(m, ticket, customer) for m in page.items]
    for link in links:
        if (
            link.kind is not OrderLinkKind.message
            or link.ticket_id in ticket_ids
            or link.message_sent_at is None
        ):
            continue
        message = orders.get_message(link.ticket_id, link.message_sent_at, link.message_id or "")
        if message is not None:
            exchanges.append(_exchange(message, None, customer))
    exchanges.sort(key=lambda e: (e.at, e.message_id))
    return OrderView(
        order=order,
        contact=_contact(order, customer),
        tickets=tickets,
        exchanges=exchanges,
        stage=order.stage,
        stage_history=order.stage_history,
        links=links,
        workflow=(workflow_details(workflow, workflow, order_id) or None) if workflow is not None else None,
    )


def _contact(order: Order, customer: Customer | None) -> OrderContact:
    if customer is None:
        return OrderContact(order_email=order.email, order_phone=order.phone)
    name = (
        customer.display_name or " ".join(p for p in (customer.first_name, customer.last_name) if p) or None
    )
    return OrderContact(
        customer_id=customer.id,
        name=name,
        locale=customer.locale,
        emails=customer.identity_values(IdentityKind.email),
        phones=customer.identity_values(IdentityKind.phone),
        order_email=order.email,
        order_phone=order.phone,
    )


def _exchange(message: Message, ticket: Ticket | None, customer: Customer | None) -> Exchange:
    return Exchange(
        ticket_id=message.ticket_id,
        message_id=message.id,
        at=message.sent_at,
        channel=message.channel,
        direction=message.direction,
        party=_party(message, ticket, customer),
        subject=message.subject,
        text=message.display_text or message.text,
        attachments=len(message.attachments),
    )


def _party(message: Message, ticket: Ticket | None, customer: Customer | None) -> ExchangeParty:
    """Who spoke: the ticket's party with the message's author id, else the customer for
    customer messages, else the role and author id as recorded."""
    known: Party | None = None
    if ticket is not None and message.author_id:
        known = next((p for p in ticket.parties if p.id == message.author_id), None)
    if known is not None:
        return ExchangeParty(role=known.role, id=known.id, name=known.name)
    if (
        message.party_role is PartyRole.customer
        and customer is not None
        and message.customer_id == customer.id
    ):
        name = customer.display_name or " ".join(p for p in (customer.first_name, customer.last_name) if p)
        return ExchangeParty(role=PartyRole.customer, id=customer.id, name=name or None)
    return ExchangeParty(role=message.party_role, id=message.author_id or message.customer_id)


def _name(customer: Customer) -> str | None:
    return (
        customer.display_name or " ".join(p for p in (customer.first_name, customer.last_name) if p) or None
    )
