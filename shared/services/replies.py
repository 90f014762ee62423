"""``POST /api/tickets/{id}/replies``: an agent's reply, sent on the customer's channel.

Order matters, and is why this is one function:
1. read the ticket, the customer and the ticket's newest messages (bounded);
2. decide everything that can refuse *before* the provider is called: the channel, the text
   (a canned response rendered strictly), the channel rules (windows, lengths, tags), the
   recipient, a client for the channel. A refusal is a ``ReplyRefused`` (409) with a reason
   the agent can act on, and nothing is written;
3. send, once: no retry here (the clients retry only where a retry cannot send twice);
4. record what happened in one transaction. ``sent`` only when the provider accepted the
   message; a rejection or an outage is recorded as ``failed`` with its error and raised as
   ``ReplyNotSent`` (502/503), saying whether it may have gone out anyway.

Ports are arguments (shared/reply_ports.py); the handler wires DynamoDB and the providers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import Field

from shared.adapters.outbound import (
    OutboundChannel,
    OutboundReply,
    ProviderRejected,
    ProviderUnavailable,
    SendResult,
    UnsupportedReply,
    WhatsAppTemplate,
)
from shared.domain.audit import AuditEntry
from shared.domain.canned import CannedAttachment, CannedResponse, MissingVariables, canned_context, preview
from shared.domain.common import Channel, DomainModel
from shared.domain.customer import Customer
from shared.domain.errors import Conflict, NotFound
from shared.domain.ids import is_ticket_reference, new_id
from shared.domain.message import Attachment, DeliveryStatus, Direction, Message, PartyRole
from shared.domain.order import Order
from shared.domain.outbound_rules import Draft, OutboundDecision, check_outbound
from shared.domain.parties import party_of
from shared.domain.replies import (
    RECENT_MESSAGES,
    ReplyRefused,
    after_reply,
    default_channel,
    email_thread,
    last_inbound_at,
    party_channel,
    party_recipient,
    recipient,
    refusal_code,
    reply_channel,
)
from shared.domain.sla_policy import DEFAULT_CALENDAR, BusinessCalendar
from shared.domain.ticket import Party, Ticket, TicketStatus
from shared.domain.timeline import TimelineEntry
from shared.ports import Clock, Versioned
from shared.reply_ports import OrderReader, ReplyStore, ReplyWrite, TicketReader

RECORD_ATTEMPTS = 3  # re-read the ticket and decide again when someone changed it meanwhile
SUMMARY_LENGTH = 140

# provider_ids keys, as the inbound parsers name the same ids (so echoes and receipts match).
_ID_KEYS = {
    Channel.email: "ses_message_id",
    Channel.sms: "message_sid",
    Channel.whatsapp: "wamid",
    Channel.messenger: "mid",
    Channel.instagram: "mid",
}


class TemplateChoice(DomainModel):
    """An approved WhatsApp template: what WhatsApp accepts outside the 24-hour window."""

    name: str = Field(min_length=1, max_length=512)
    language: str = Field(default="fr", min_length=2, max_length=15)
    params: list[str] = Field(default_factory=list, max_length=20)
    content_sid: str | None = Field(default=None, max_length=64)  # Twilio Content SID (HX...)


class ReplyDraft(DomainModel):
    """What the agent sends. ``canned_id`` without ``text``: the canned response, rendered for
    the channel; with ``text``: the agent edited the preview (its subject and links are kept)."""

    text: str = Field(default="", max_length=20_000)
    channel: Channel | None = None
    subject: str | None = Field(default=None, max_length=998)
    canned_id: str | None = Field(default=None, min_length=1, max_length=64)
    template: TemplateChoice | None = None
    status: TicketStatus | None = None  # open, pending_customer, pending_third_party
    # A third party of the ticket (ticket.parties) to write to instead of the customer.
    party_id: str | None = Field(default=None, min_length=1, max_length=64)


@dataclass(frozen=True)
class Author:
    """The agent replying (the verified JWT's subject); names come from their agent profile."""

    id: str


@dataclass(frozen=True)
class ReplyOutcome:
    message: Message
    decision: OutboundDecision
    segments: int | None  # the provider's count when it gave one (Twilio), else ours


@dataclass(frozen=True)
class SendFailure:
    """Why the provider did not take the reply (see ReplyNotSent)."""

    http_status: int
    reason: str
    provider: str
    provider_code: str | None = None
    may_have_been_sent: bool = False
    retry_after: float | None = None


class ReplyNotSent(Exception):
    """The provider did not take the reply; ``message`` is recorded as ``failed``.

    ``failure.http_status`` is 502 for a rejection (resending the same will fail the same way)
    and 503 when the provider could not be reached; ``may_have_been_sent`` when the request
    went out and the answer was lost: the agent checks the conversation before resending.
    """

    def __init__(self, message: Message, failure: SendFailure) -> None:
        super().__init__(failure.reason)
        self.message = message
        self.failure = failure


# ------------------------------------------------------------------ reading what is needed
def load_ticket(reader: TicketReader, ticket_id: str) -> Versioned[Ticket]:
    """The ticket to answer; a path that is not a ticket reference is not read at all."""
    found = reader.get_ticket(ticket_id) if is_ticket_reference(ticket_id) else None
    if found is None:
        raise NotFound("ticket", ticket_id)
    if found.value.merged_into:
        raise ReplyRefused(
            "merged", f"Ticket {ticket_id} was merged into {found.value.merged_into}: reply there."
        )
    return found


def load_customer(reader: TicketReader, customer_id: str) -> Customer:
    """The ticket's customer, following one merge (the ticket may name the merged profile)."""
    found = reader.get_customer(customer_id)
    if found is not None and found.value.merged_into:
        found = reader.get_customer(found.value.merged_into) or found
    if found is None:
        raise NotFound("customer", customer_id)
    return found.value


def ticket_order(orders: OrderReader, ticket: Ticket) -> Order | None:
    """The order the ticket is about: its link, else the number it mentions (the customer's own)."""
    if ticket.order_id:
        found = orders.get_order(ticket.order_id)
        if found is not None:
            return found.value
    if ticket.order_number:
        candidates = orders.orders_by_number(ticket.order_number)
        mine = [o for o in candidates if o.customer_id == ticket.customer_id]
        return next(iter(mine or candidates), None)
    return None


def context_for(
    canned: CannedResponse,
    *,
    ticket: Ticket,
    customer: Customer,
    orders: OrderReader,
    reader: TicketReader,
    agent_id: str,
) -> dict[str, dict[str, str]]:
    """The whitelisted values; the order is read only when the response uses ``{{order.*}}``,
    the agent's profile (names admins edit) only when it uses ``{{agent.*}}``."""
    variables = canned.variables()
    order = ticket_order(orders, ticket) if any(v.startswith("order.") for v in variables) else None
    agent = reader.get_agent(agent_id) if any(v.startswith("agent.") for v in variables) else None
    return canned_context(
        customer=customer, ticket=ticket, order=order, agent=agent.value if agent is not None else None
    )


def _links(text: str, attachments: list[CannedAttachment]) -> str:
    """Attachments go as links under the text, on every channel (the clients send text only;
    a privately stored file would need a presigned link this function cannot make)."""
    private = [a.name for a in attachments if not a.url]
    if private:
        raise ReplyRefused(
            "attachment_not_sendable",
            f"{', '.join(private)} is stored privately and cannot be sent from a reply yet; "
            "give it a public https link.",
        )
    if not attachments:
        return text
    lines = [f"{a.name}: {a.url}" for a in attachments]
    return "\n\n".join(part for part in (text.rstrip(), "\n".join(lines)) if part)


@dataclass(frozen=True)
class _Content:
    text: str
    subject: str | None
    html: str | None
    attachments: list[CannedAttachment]
    canned: CannedResponse | None


def _content(
    *,
    draft: ReplyDraft,
    channel: Channel,
    ticket: Ticket,
    customer: Customer,
    store: ReplyStore,
    reader: TicketReader,
    orders: OrderReader,
    author: Author,
) -> _Content:
    if draft.canned_id is None:
        return _Content(draft.text, draft.subject, None, [], None)
    canned = store.get_canned(draft.canned_id)
    if canned is None:
        raise NotFound("canned response", draft.canned_id)
    context = context_for(
        canned, ticket=ticket, customer=customer, orders=orders, reader=reader, agent_id=author.id
    )
    try:
        rendered = preview(canned, channel, context, strict=not draft.text)
    except MissingVariables as error:
        raise ReplyRefused(
            "missing_variables",
            f"The canned response needs {', '.join(error.variables)}, which this ticket does not have; "
            "edit the text before sending.",
        ) from None
    if draft.text:  # the agent's edited version of the preview
        return _Content(draft.text, draft.subject or rendered.subject, None, rendered.attachments, canned)
    return _Content(
        rendered.text, draft.subject or rendered.subject, rendered.html, rendered.attachments, canned
    )


# ------------------------------------------------------------------ the use case
def send_reply(
    *,
    reader: TicketReader,
    orders: OrderReader,
    store: ReplyStore,
    channels: Mapping[Channel, OutboundChannel],
    clock: Clock,
    ticket_id: str,
    draft: ReplyDraft,
    author: Author,
    calendar: BusinessCalendar = DEFAULT_CALENDAR,
) -> ReplyOutcome:
    """Send ``draft`` on the ticket's channel and record it (see the module docstring)."""
    found = load_ticket(reader, ticket_id)
    ticket = found.value
    customer = load_customer(reader, ticket.customer_id)
    party = party_of(ticket, draft.party_id) if draft.party_id else None
    if party is not None:
        channel = party_channel(draft.channel, party)
    else:
        channel = reply_channel(draft.channel, ticket) if draft.channel else default_channel(ticket, customer)
    content = _content(
        draft=draft,
        channel=channel,
        ticket=ticket,
        customer=customer,
        store=store,
        reader=reader,
        orders=orders,
        author=author,
    )
    text = _links(content.text, content.attachments)
    # The exchange this reply continues: the customer's, or the party's (never mixed).
    conversation = party.id if party else None
    recent = [m for m in store.recent_messages(ticket.id, RECENT_MESSAGES) if m.party_id == conversation]
    now = clock.now()

    decision = check_outbound(
        channel,
        Draft(text=text, template=draft.template.name if draft.template else None, by_agent=True),
        last_inbound_at=last_inbound_at(recent, channel, None if party else customer),
        now=now,
    )
    if not decision.allowed:
        reason = decision.reason or "This reply cannot be sent on this channel."
        if content.canned is not None and content.canned.whatsapp_template and channel is Channel.whatsapp:
            reason += f' This response\'s approved template is "{content.canned.whatsapp_template}".'
        raise ReplyRefused(refusal_code(decision.code), reason)
    if draft.status is not None:
        after_reply(ticket, now, draft.status, calendar)  # refuses a status a reply cannot set
    address = party_recipient(party, channel) if party else recipient(customer, channel)
    client = channels.get(channel)
    if channel is not Channel.portal and client is None:
        raise ReplyRefused(
            "channel_not_configured",
            f"Replies on {channel.value} are not configured in this deployment; pick another channel.",
        )

    thread = email_thread(recent) if channel is Channel.email else None
    message_id = new_id("M")
    reply = OutboundReply(
        message_id=message_id,
        ticket_id=ticket.id,
        channel=channel,
        to=address or "",
        to_name=(party.name if party else customer.display_name) if channel is Channel.email else None,
        text=text,
        subject=(content.subject or ticket.subject) if channel is Channel.email else None,
        html=content.html if channel is Channel.email else None,
        tag=decision.tag.value if decision.tag else None,
        template=WhatsAppTemplate(
            name=draft.template.name,
            language=draft.template.language,
            body_params=tuple(draft.template.params),
            content_sid=draft.template.content_sid,
        )
        if draft.template is not None
        else None,
        in_reply_to=thread.in_reply_to if thread else None,
        references=tuple(thread.references) if thread else (),
    )
    metadata = _metadata(decision, content, draft)
    result: SendResult | None = None
    failure: SendFailure | None = None
    if client is not None:
        try:
            result = client.send(reply)
        except UnsupportedReply as error:
            # Raised before any request left: nothing was sent, nothing to record.
            raise ReplyRefused("unsupported", str(error)) from None
        except ProviderRejected as error:
            failure = _rejected(error)
        except ProviderUnavailable as error:
            failure = _unavailable(error)

    message = _message(
        reply=reply,
        customer=customer,
        party=party,
        author=author,
        content=content,
        result=result,
        failure=failure,
        metadata=metadata,
        now=now,
    )
    if failure is not None:
        raise ReplyNotSent(_record_failure(store, message, ticket, author, now), failure)
    stored = _record_sent(
        store=store,
        reader=reader,
        found=found,
        message=message,
        result=result,
        status=draft.status,
        author=author,
        now=now,
        calendar=calendar,
        answers_customer=party is None,
    )
    segments = result.segments if result is not None and result.segments else decision.segments
    return ReplyOutcome(message=stored, decision=decision, segments=segments)


def _metadata(decision: OutboundDecision, content: _Content, draft: ReplyDraft) -> dict[str, str]:
    metadata: dict[str, str] = {}
    if decision.segments is not None:
        metadata["segments"] = str(decision.segments)
    if decision.encoding is not None:
        metadata["encoding"] = decision.encoding.value
    if decision.tag is not None:
        metadata["tag"] = decision.tag.value
    if content.canned is not None:
        metadata["canned_id"] = content.canned.id
    if draft.template is not None:
        metadata["template"] = draft.template.name
    return metadata


def _rejected(error: ProviderRejected) -> SendFailure:
    detail = f": {error.provider_message}" if error.provider_message else ""
    return SendFailure(
        http_status=502,
        reason=f"{error}{detail}. The reply was not sent.",
        provider=error.provider,
        provider_code=error.code,
    )


def _unavailable(error: ProviderUnavailable) -> SendFailure:
    advice = (
        "It may have been sent anyway: check the conversation before resending."
        if error.ambiguous
        else "It was not sent; try again in a moment."
    )
    return SendFailure(
        http_status=503,
        reason=f"{error} {advice}",
        provider=error.provider,
        may_have_been_sent=error.ambiguous,
        retry_after=error.retry_after,
    )


def _message(
    *,
    reply: OutboundReply,
    customer: Customer,
    party: Party | None,
    author: Author,
    content: _Content,
    result: SendResult | None,
    failure: SendFailure | None,
    metadata: dict[str, str],
    now: datetime,
) -> Message:
    provider_ids: dict[str, str] = {}
    status = DeliveryStatus.delivered  # the customer space: stored is delivered
    if result is not None:
        provider_ids[_ID_KEYS.get(reply.channel, "provider_id")] = result.provider_message_id
        if result.email_message_id:
            provider_ids["message_id"] = result.email_message_id.strip().strip("<>")
        metadata = {**metadata, "provider": result.provider}
        if result.raw_status:
            metadata["raw_status"] = result.raw_status
        if result.segments:
            metadata["segments"] = str(result.segments)
        status = result.status
    if failure is not None:
        status = DeliveryStatus.failed
        metadata = {**metadata, "provider": failure.provider}
        if failure.may_have_been_sent:
            metadata["may_have_been_sent"] = "true"
    return Message(
        id=reply.message_id,
        ticket_id=reply.ticket_id,
        customer_id=customer.id,
        channel=reply.channel,
        direction=Direction.outbound,
        party_role=PartyRole.agent,
        author_id=author.id,
        party_id=party.id if party else None,
        subject=reply.subject,
        text=reply.text,
        attachments=[
            Attachment(name=a.name, content_type=a.content_type, size=a.size, url=a.url)
            for a in content.attachments
        ],
        reply_to_provider_id=reply.in_reply_to,
        provider_ids=provider_ids,
        delivery_status=status,
        error=failure.reason if failure is not None else None,
        metadata=metadata,
        sent_at=now,
        received_at=now,
    )


def _entry(message: Message, failed: bool) -> TimelineEntry:
    text = " ".join((message.subject or message.text or message.metadata.get("template", "")).split())
    summary = f"{message.channel.value}: {text[:SUMMARY_LENGTH]}" + (" (not sent)" if failed else "")
    if message.party_id:
        summary = f"to a third party - {summary}"
    return TimelineEntry(
        event_id=message.id,
        kind="message",
        channel=message.channel,
        direction=Direction.outbound.value,
        summary=summary,
        ticket_id=message.ticket_id,
        message_id=message.id,
        at=message.sent_at,
    )


def _audit(ticket_id: str, author: Author, action: str, changes: dict[str, str], now: datetime) -> AuditEntry:
    return AuditEntry(
        id=new_id("A"),
        ticket_id=ticket_id,
        actor=f"agent:{author.id}",
        action=action,
        changes=changes,
        at=now,
    )


def _record_failure(
    store: ReplyStore, message: Message, ticket: Ticket, author: Author, now: datetime
) -> Message:
    changes = {"message_id": message.id, "channel": message.channel.value}
    return store.record_reply(
        ReplyWrite(
            message=message,
            timeline=_entry(message, failed=True),
            audit=_audit(ticket.id, author, "reply_failed", changes, now),
        )
    )


def _record_sent(
    *,
    store: ReplyStore,
    reader: TicketReader,
    found: Versioned[Ticket],
    message: Message,
    result: SendResult | None,
    status: TicketStatus | None,
    author: Author,
    now: datetime,
    calendar: BusinessCalendar,
    answers_customer: bool = True,
) -> Message:
    """Record a sent reply; when the ticket changed since it was read, decide again from a
    fresh read. If it keeps changing, the message is still recorded, counting on the ticket
    without the clock and status (never lose the record of what the customer received)."""
    provider_key = f"{message.channel.value}:{result.provider_message_id}" if result is not None else None
    email_ids = [message.provider_ids["message_id"]] if "message_id" in message.provider_ids else []
    changes = {"message_id": message.id, "channel": message.channel.value}
    for _ in range(RECORD_ATTEMPTS):
        after = after_reply(found.value, now, status, calendar, answers_customer=answers_customer)
        step = dict(changes)
        if after.status_changed:
            step["status"] = f"{found.value.status.value} -> {after.ticket.status.value}"
        try:
            return store.record_reply(
                ReplyWrite(
                    message=message,
                    timeline=_entry(message, failed=False),
                    audit=_audit(found.value.id, author, "replied", step, now),
                    before=found,
                    ticket=after.ticket,
                    provider_key=provider_key,
                    email_message_ids=email_ids,
                )
            )
        except Conflict:
            again = reader.get_ticket(found.value.id)
            if again is None:
                break
            found = again
    changes["sla"] = "not updated: the ticket kept changing"
    return store.record_reply(
        ReplyWrite(
            message=message,
            timeline=_entry(message, failed=False),
            audit=_audit(found.value.id, author, "replied", changes, now),
            provider_key=provider_key,
            email_message_ids=email_ids,
        )
    )
