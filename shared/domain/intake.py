"""Pure rules for an inbound customer message: profile, identities, ticket, message."""

from __future__ import annotations

from datetime import datetime

from shared.domain import trust
from shared.domain.common import Channel, DomainModel
from shared.domain.customer import Customer, Identity
from shared.domain.ids import new_id, stable_id, ticket_reference
from shared.domain.inbound import InboundMessage
from shared.domain.message import Direction, Message, PartyRole
from shared.domain.order import Order, OrderLink, OrderLinkKind
from shared.domain.priority import DEFAULT_PRIORITY_POLICY, PriorityPolicy, priority_for
from shared.domain.qualification import DEFAULT_RULES, MessageFields, QualificationRules, qualify
from shared.domain.sla_policy import (
    DEFAULT_CALENDAR,
    DEFAULT_SLA_POLICY,
    BusinessCalendar,
    SlaPolicy,
    await_next_response,
    resume,
    start_clock,
)
from shared.domain.ticket import Ticket, TicketStatus
from shared.domain.timeline import TimelineEntry

SUMMARY_LENGTH = 140


def new_customer(message: InboundMessage, now: datetime) -> Customer:
    return Customer(
        id=new_id("C"),
        display_name=message.display_name,
        first_name=message.first_name,
        last_name=message.last_name,
        marketing_consent=bool(message.marketing_consent),
        created_at=now,
        updated_at=now,
    )


def missing_identities(customer: Customer, message: InboundMessage, now: datetime) -> list[Identity]:
    """Identifiers in the message that the profile does not have yet, with what the message
    proves of each (which of them a profile may take: shared/domain/trust.py)."""
    return [
        Identity(
            kind=claim.kind,
            value=claim.value,
            source_channel=message.channel,
            first_seen_at=now,
            proof=trust.proof_of(message, claim),
        )
        for claim in message.identities
        if not customer.has_identity(claim.kind, claim.value)
    ]


class ContactUpdate(DomainModel):
    """What a message changes on an existing profile, applied as commutative updates so
    concurrent messages from one person do not conflict (only the threading decision is guarded)."""

    customer_id: str
    new_identities: list[Identity]
    channel: Channel
    contact_at: datetime
    open_ticket_id: str | None  # None: this contact does not change which ticket is open
    expected_open_ticket_id: str | None  # the open ticket this decision was based on
    display_name: str | None = None  # filled only where the profile has none
    first_name: str | None = None
    last_name: str | None = None
    # The profile read had no per-channel contact times (perhaps no such map in the item yet):
    # the map is written whole instead of one entry in it.
    write_contact_map: bool = False
    now: datetime


class TicketUpdate(DomainModel):
    """A message counted on an existing ticket whose status it does not change (a message that
    changes it is a whole-ticket ``ticket_change``); guarded by the status it was read in."""

    ticket_id: str
    expected_status: TicketStatus
    channel: Channel
    message_at: datetime
    order_number: str | None = None
    order_id: str | None = None  # the customer's order the message names (the ticket had none)
    from_customer: bool = True  # a third party's message leaves the customer's last channel
    now: datetime


def contact_update(
    customer: Customer, message: InboundMessage, identities: list[Identity], ticket_id: str, now: datetime
) -> ContactUpdate:
    return ContactUpdate(
        customer_id=customer.id,
        new_identities=identities,
        channel=message.channel,
        contact_at=message.sent_at,
        open_ticket_id=ticket_id,
        expected_open_ticket_id=customer.open_ticket_id,
        display_name=message.display_name,
        first_name=message.first_name,
        last_name=message.last_name,
        write_contact_map=not customer.traits.last_contact_per_channel,
        now=now,
    )


def ticket_update(
    ticket: Ticket, message: InboundMessage, now: datetime, from_customer: bool = True
) -> TicketUpdate:
    """A message on an existing ticket that changes neither its status nor its SLA clock:
    counters only (commutative, so concurrent messages do not conflict)."""
    return TicketUpdate(
        ticket_id=ticket.id,
        expected_status=ticket.status,
        channel=message.channel,
        message_at=message.sent_at,
        # Only when the ticket has none: it is shown in the list, and rewriting it costs an index write.
        order_number=message.order_number if ticket.order_number is None and from_customer else None,
        from_customer=from_customer,
        now=now,
    )


def ticket_after_message(
    ticket: Ticket,
    message: InboundMessage,
    now: datetime,
    from_customer: bool = True,
    playbook: Playbook | None = None,
) -> Ticket | None:
    """The ticket after a message when the message moves its status or SLA clock, else None.

    The wait the message ends is over: a customer answering ends ``pending_customer``, a third
    party answering ends ``pending_third_party``; the ticket is open again (back in its queue
    if nobody holds it) and the paused clock resumes. A customer message after the first
    response starts the next-response deadline (the oldest unanswered message sets the pace);
    while the ticket still waits on a third party the customer clock stays paused.
    """
    rules = playbook or DEFAULT_PLAYBOOK
    ends_wait = TicketStatus.pending_customer if from_customer else TicketStatus.pending_third_party
    status = TicketStatus.open if ticket.status is ends_wait else ticket.status
    clock = ticket.sla
    at = min(message.sent_at, now)
    if clock is not None and clock.resolved_at is None:
        if clock.paused_since is not None and not status.pauses_sla:
            clock = resume(clock, now, rules.calendar)
        if from_customer and clock.paused_since is None:
            clock = await_next_response(clock, at, ticket.priority, rules.sla, rules.calendar)
    if status is ticket.status and clock == ticket.sla:
        return None
    update: dict[str, object] = {
        "status": status,
        "sla": clock,
        "message_count": ticket.message_count + 1,
        "last_message_at": message.sent_at,
        "updated_at": now,
    }
    if from_customer:
        update["last_inbound_channel"] = message.channel
        update["last_inbound_at"] = message.sent_at
        if ticket.order_number is None and message.order_number:
            update["order_number"] = message.order_number
    return ticket.model_copy(update=update)


def record_contact(
    customer: Customer, message: InboundMessage, identities: list[Identity], ticket_id: str, now: datetime
) -> Customer:
    """The profile after this contact: identities added, channel counted, open ticket set."""
    traits = customer.traits.model_copy(deep=True)
    traits.contacts_per_channel[message.channel] = traits.contacts_per_channel.get(message.channel, 0) + 1
    traits.last_contact_per_channel[message.channel] = message.sent_at
    traits.last_contact_at = message.sent_at
    traits.last_inbound_channel = message.channel
    return customer.model_copy(
        update={
            "identities": [*customer.identities, *identities],
            "traits": traits,
            "open_ticket_id": ticket_id,
            "display_name": customer.display_name or message.display_name,
            "first_name": customer.first_name or message.first_name,
            "last_name": customer.last_name or message.last_name,
            "updated_at": now,
        }
    )


def recent_contacts(customer: Customer | None, message: InboundMessage) -> list[tuple[Channel, datetime]]:
    """This message and what the profile remembers of earlier contacts: the last one on each
    channel (several channels within the window is what impatience looks like)."""
    sent = message.sent_at
    earlier = [
        (channel, at)
        for channel, at in profile_contacts(customer)
        if at < sent or (at == sent and channel is not message.channel)
    ]
    return [(message.channel, message.sent_at), *earlier]


def profile_contacts(customer: Customer | None) -> list[tuple[Channel, datetime]]:
    """The last inbound contact on each channel, as the profile keeps them."""
    if customer is None:
        return []
    traits = customer.traits
    known = dict(traits.last_contact_per_channel)
    if traits.last_contact_at and traits.last_inbound_channel and traits.last_inbound_channel not in known:
        known[traits.last_inbound_channel] = traits.last_contact_at  # a profile from before the map
    return list(known.items())


def open_ticket(
    message: InboundMessage,
    customer_id: str,
    now: datetime,
    customer: Customer | None = None,
    playbook: Playbook | None = None,
    *,
    order: Order | None = None,
) -> Ticket:
    """A new ticket, qualified (type, topic; ``order``: the customer's order the message is
    about), prioritised and with its SLA clock running."""
    rules = playbook or DEFAULT_PLAYBOOK
    qualification = qualify(MessageFields.from_inbound(message), order, rules.qualification)
    decision = priority_for(
        qualification.type,
        customer.traits if customer is not None else None,
        recent_contacts(customer, message),
        None,
        now,
        policy=rules.priority,
    )
    return Ticket(
        id=ticket_reference(),
        type=qualification.type,
        topic=qualification.topic,
        subject=message.subject or _summary(message.text, 80) or None,
        channel=message.channel,
        customer_id=customer_id,
        order_id=order.id if order is not None else None,
        order_number=message.order_number,
        priority=decision.priority,
        priority_reasons=decision.reasons,
        status=TicketStatus.new,
        sla=start_clock(decision.priority, now, rules.sla, rules.calendar),
        created_at=now,
        updated_at=now,
    )


class Playbook(DomainModel):
    """The team's rules for new tickets (admins may store their own; these are the defaults)."""

    qualification: QualificationRules = DEFAULT_RULES
    priority: PriorityPolicy = DEFAULT_PRIORITY_POLICY
    sla: SlaPolicy = DEFAULT_SLA_POLICY
    calendar: BusinessCalendar = DEFAULT_CALENDAR


DEFAULT_PLAYBOOK = Playbook()


def outbound_on_ticket(ticket: Ticket, sent_at: datetime, now: datetime) -> TicketUpdate:
    """An outbound message (e.g. a page echo) counted on the ticket without changing its status."""
    return TicketUpdate(
        ticket_id=ticket.id,
        expected_status=ticket.status,
        channel=ticket.last_inbound_channel or ticket.channel,
        message_at=sent_at,
        now=now,
    )


def with_message_counted(ticket: Ticket, message: InboundMessage) -> Ticket:
    return ticket.model_copy(
        update={
            "message_count": ticket.message_count + 1,
            "last_message_at": message.sent_at,
            "last_inbound_channel": message.channel,
            "last_inbound_at": message.sent_at,
        }
    )


def may_name_its_order(ticket: Ticket, message: InboundMessage, customer_id: str) -> bool:
    """Whether a message on an existing ticket is worth an order lookup: the customer's own
    ticket, about no order yet, and a number it did not already quote (that one was looked up)."""
    return (
        ticket.customer_id == customer_id
        and ticket.order_id is None
        and message.order_number is not None
        and message.order_number != ticket.order_number
    )


def order_link(order: Order, ticket_id: str, now: datetime) -> OrderLink:
    """The ticket seen from the order's side (the order's 360 lists it and its exchanges)."""
    return OrderLink(
        kind=OrderLinkKind.ticket,
        order_id=order.id,
        ticket_id=ticket_id,
        linked_at=now,
        linked_by="system: the customer's message names the order",
    )


def accepts_messages(ticket: Ticket) -> bool:
    return ticket.status.is_active and ticket.merged_into is None


def wants_own_ticket(message: InboundMessage, ticket: Ticket) -> bool:
    """A missed call opens a call-back ticket unless the open one already is one."""
    return message.ticket_type is not None and ticket.type is not message.ticket_type


def to_message(
    inbound: InboundMessage, ticket_id: str, customer_id: str, now: datetime, thread_match: str | None = None
) -> Message:
    return Message(
        # Derived from the dedup key: a redelivery maps to the same message id.
        id=stable_id("M", inbound.dedup_key),
        ticket_id=ticket_id,
        customer_id=customer_id,
        channel=inbound.channel,
        direction=Direction.inbound,
        party_role=PartyRole.customer,
        author_id=customer_id,
        subject=inbound.subject,
        text=inbound.text,
        content_type=inbound.content_type,
        raw_type=inbound.raw_type,
        attachments=inbound.attachments,
        provider_ids=inbound.provider_ids,
        reply_to_provider_id=inbound.reply_to_provider_id,
        metadata=inbound.metadata,
        display_text=inbound.display_text,
        verdicts=inbound.verdicts,
        auto_reply=inbound.auto_reply,
        thread_match=thread_match,
        sent_at=inbound.sent_at,
        received_at=now,
    )


def timeline_summary(inbound: InboundMessage) -> str:
    channel = Channel(inbound.channel).value
    text = inbound.subject or inbound.text or inbound.content_type
    return f"{channel}: {_summary(text, SUMMARY_LENGTH)}".strip()


def message_entry(message: Message, summary: str) -> TimelineEntry:
    return TimelineEntry(
        event_id=message.id,
        kind="message",
        channel=message.channel,
        direction=message.direction.value,
        summary=summary,
        ticket_id=message.ticket_id,
        message_id=message.id,
        at=message.sent_at,
    )


def _summary(text: str, length: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"
