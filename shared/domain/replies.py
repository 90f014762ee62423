"""Pure rules for an agent's reply: which channel, to which address, threaded on what, and
what the reply changes on the ticket (status, SLA clock, queue).

The service (shared/services/replies.py) does the I/O; everything here takes the records it
read and "now", so each rule is testable without AWS or a provider.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import Field

from shared.domain import trust
from shared.domain.common import Channel, DomainModel
from shared.domain.customer import Customer
from shared.domain.identity import IdentityKind
from shared.domain.message import Direction, Message
from shared.domain.outbound_rules import RefusalCode
from shared.domain.sla_policy import (
    DEFAULT_CALENDAR,
    BusinessCalendar,
    pause,
    record_reply,
    record_resolution,
    resume,
)
from shared.domain.ticket import Party, Ticket, TicketStatus

# Statuses an agent may set while replying: keep it open, put it on hold, or solve it with the
# answer (the SLA clock stops, the agent's capacity is released, the resolution is counted).
REPLY_STATUSES = frozenset(
    {TicketStatus.open, TicketStatus.pending_customer, TicketStatus.pending_third_party, TicketStatus.solved}
)

# How many of the ticket's newest messages are read to find the customer's last message on
# the channel and the email thread: bounded, whatever the ticket's length.
RECENT_MESSAGES = 50
MAX_REFERENCES = 20


class ReplyRefused(Exception):
    """The reply cannot be sent as asked; ``reason`` tells the agent what to do instead (409)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def reply_channel(requested: Channel | None, ticket: Ticket) -> Channel:
    """The channel asked for, else the customer's last inbound one, else where the case started.

    A web form carries the customer's email address and cannot be answered in place: its
    replies go by email (the form's confirmation says so).
    """
    channel = requested or ticket.last_inbound_channel or ticket.channel
    return Channel.email if channel is Channel.web_form else channel


def default_channel(ticket: Ticket, customer: Customer) -> Channel:
    """No channel named: the channel of the customer's last message that they can be answered
    on. First where they last wrote on this ticket (tickets of theirs merged into it included),
    then where they last wrote at all, then their other channels, most recent first; a web form
    is answered by email, or by SMS to the number it gave. None reachable: the first choice,
    which refuses with a reason the agent can act on."""
    traits = customer.traits
    by_recency = sorted(traits.last_contact_per_channel.items(), key=lambda pair: pair[1], reverse=True)
    wrote = [ticket.last_inbound_channel or ticket.channel, traits.last_inbound_channel]
    wrote += [channel for channel, _ in by_recency]
    candidates: list[Channel] = []
    for channel in wrote:
        if channel is None:
            continue
        for answer in (Channel.email, Channel.sms) if channel is Channel.web_form else (channel,):
            if answer not in candidates:
                candidates.append(answer)
    for channel in candidates:
        try:
            recipient(customer, channel)
        except ReplyRefused:
            continue
        return channel
    return candidates[0]


PARTY_CHANNELS = (Channel.email, Channel.sms)  # a party is known by its email and phone only


def party_channel(requested: Channel | None, party: Party) -> Channel:
    """A third party is written to by email, else by SMS (what an agent registered for it)."""
    channel = requested or (Channel.email if party.email else Channel.sms)
    if channel not in PARTY_CHANNELS:
        raise ReplyRefused(
            "party_channel", f"Third parties are written to by email or SMS, not {channel.value}."
        )
    return channel


def party_recipient(party: Party, channel: Channel) -> str:
    address = party.email if channel is Channel.email else party.phone
    if not address:
        raise ReplyRefused(
            "no_address", f"This {party.role.value} has no {channel.value} address; pick the other channel."
        )
    return address


def _latest(customer: Customer, kind: IdentityKind, channel: Channel | None = None) -> str | None:
    """The identity of ``kind`` seen most recently, preferring one first seen on ``channel``."""
    found = [i for i in trust.addressable(customer) if i.kind is kind]
    if not found:
        return None
    preferred = [i for i in found if channel is not None and i.source_channel is channel] or found
    return max(preferred, key=lambda i: i.first_seen_at).value


def recipient(customer: Customer, channel: Channel) -> str | None:
    """The customer's address on ``channel`` (None for the customer space: nothing to address).

    Raises ReplyRefused when the profile has no address there.
    """
    address: str | None
    if channel is Channel.portal:
        return None
    if channel is Channel.email:
        address = _latest(customer, IdentityKind.email, Channel.email)
    elif channel is Channel.sms:
        address = _latest(customer, IdentityKind.phone, Channel.sms)
        if address is None:
            wa_id = _latest(customer, IdentityKind.whatsapp)
            address = f"+{wa_id}" if wa_id else None
    elif channel is Channel.whatsapp:
        address = _latest(customer, IdentityKind.whatsapp)
        if address is None:
            phone = _latest(customer, IdentityKind.phone)
            address = phone.lstrip("+") if phone else None
    elif channel is Channel.messenger:
        address = _latest(customer, IdentityKind.messenger)
    elif channel is Channel.instagram:
        address = _latest(customer, IdentityKind.instagram)
    else:
        address = None
    if not address:
        raise ReplyRefused(
            "no_address",
            f"The customer's profile has no {channel.value} address; pick another channel.",
        )
    return address


def last_inbound_at(
    recent: Sequence[Message], channel: Channel, customer: Customer | None = None
) -> datetime | None:
    """When the customer last wrote on ``channel``: from the ticket's newest messages (newest
    first), else from the profile when its last contact was on that channel (another ticket)."""
    candidates = [m.sent_at for m in recent if m.direction is Direction.inbound and m.channel is channel]
    traits = customer.traits if customer is not None else None
    if traits is not None and traits.last_inbound_channel is channel and traits.last_contact_at:
        candidates.append(traits.last_contact_at)
    return max(candidates) if candidates else None


class EmailThread(DomainModel):
    """Threading headers for an email reply (bare Message-IDs, oldest first in references)."""

    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)


def _email_id(message: Message) -> str | None:
    return message.provider_ids.get("message_id") or None


def email_thread(recent: Sequence[Message]) -> EmailThread:
    """In-Reply-To: the customer's last email; References: the thread's ids, oldest first.

    Only the ticket's newest messages are at hand, so References lists the ids seen there
    (the parent's own In-Reply-To first); SES's client trims it to 20 keeping the root.
    """
    emails = [m for m in recent if m.channel is Channel.email]
    parent = next((m for m in emails if m.direction is Direction.inbound and _email_id(m)), None)
    if parent is None:
        return EmailThread()
    ids: list[str] = []
    for message in reversed(emails):  # oldest first
        if message.sent_at > parent.sent_at:
            continue
        if message is parent and message.reply_to_provider_id:
            ids.append(message.reply_to_provider_id)
        own = _email_id(message)
        if own:
            ids.append(own)
    ordered = list(dict.fromkeys(i.strip().strip("<>") for i in ids if i.strip().strip("<>")))
    return EmailThread(in_reply_to=_email_id(parent), references=ordered[-MAX_REFERENCES:])


class TicketAfterReply(DomainModel):
    """What a sent reply changes on the ticket."""

    ticket: Ticket
    status_changed: bool


def after_reply(
    ticket: Ticket,
    at: datetime,
    status: TicketStatus | None = None,
    calendar: BusinessCalendar = DEFAULT_CALENDAR,
    answers_customer: bool = True,
) -> TicketAfterReply:
    """The ticket once an agent's reply went out at ``at``.

    The reply answers the customer (first response, or the pending next response). A new
    ticket becomes open; ``status`` may instead put it on hold, which pauses the SLA clock
    (a held ticket leaves its topic queue: nobody needs to pick it up); back to open resumes it.
    The queue and SLA due-date index keys follow from the result (routing.waiting_position,
    ticket_work.sla_watch), as for any ticket change.
    """
    if status is not None and status not in REPLY_STATUSES:
        raise ReplyRefused(
            "invalid_status",
            f"A reply can set the status to {', '.join(sorted(s.value for s in REPLY_STATUSES))}; "
            "close the ticket with a ticket change.",
        )
    target = status or (TicketStatus.open if ticket.status is TicketStatus.new else ticket.status)
    clock = ticket.sla
    if clock is not None:
        if clock.paused_since is not None and not target.pauses_sla:
            clock = resume(clock, at, calendar)
        if answers_customer:  # a message to a third party is not the customer's answer
            clock = record_reply(clock, at)
        if target is TicketStatus.solved:
            clock = record_resolution(clock, at, calendar)
        elif target.pauses_sla:
            clock = pause(clock, at)
    updated = ticket.model_copy(
        update={
            "status": target,
            "sla": clock,
            "message_count": ticket.message_count + 1,
            "last_message_at": at,
            "updated_at": at,
        }
    )
    return TicketAfterReply(ticket=updated, status_changed=target is not ticket.status)


def refusal_code(code: RefusalCode | None) -> str:
    return code.value if code is not None else "refused"
