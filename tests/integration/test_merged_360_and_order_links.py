"""Issue 11, items 3 and 4 on moto: a merged profile's tickets and messages stay in the
survivor's 360 view; after merging tickets a reply with no channel goes where the customer can
be answered; a ticket whose message names the customer's order is linked from both sides."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from functions.agent_api.handler import handler
from shared.adapters.dynamodb.orders import OrderRepository
from shared.adapters.dynamodb.outbound_store import OutboundStore
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.adapters.outbound.fakes import fake_channels
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.domain.order import Order, OrderSource, Payment, PaymentStatus
from shared.domain.ticket import TicketStatus
from shared.domain.ticket_work import TicketChange
from shared.services.channel_events import record_event
from shared.services.ingest import record_message
from shared.services.merges import undo_merge
from shared.services.order_view import order_view
from shared.services.replies import Author, ReplyDraft, send_reply
from shared.services.ticket_work import merge_tickets, update_ticket
from tests.support import FixedClock, LambdaContext, api_event

EMAIL = IdentityClaim(kind=IdentityKind.email, value="jean@example.net")
PHONE = IdentityClaim(kind=IdentityKind.phone, value="+33612345678")


def _message(
    clock: FixedClock, key: str, identities: list[IdentityClaim], channel: Channel
) -> InboundMessage:
    return InboundMessage(
        dedup_key=key, channel=channel, identities=identities, text=key, sent_at=clock.now()
    )


def _360(customer_id: str) -> dict[str, Any]:
    event = api_event("agent_api/get_ticket", "GET", f"/api/customers/{customer_id}", query="limit=2")
    response = handler(event, LambdaContext())
    assert response["statusCode"] == 200, response["body"]
    return dict(json.loads(response["body"]))


def _next_page(customer_id: str, cursor: str) -> dict[str, Any]:
    event = api_event(
        "agent_api/get_ticket", "GET", f"/api/customers/{customer_id}", query=f"limit=2&cursor={cursor}"
    )
    return dict(json.loads(handler(event, LambdaContext())["body"]))


def test_the_survivors_360_shows_the_merged_profiles_tickets_and_messages(aws: Any) -> None:
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    by_email = record_event(repo, clock, _message(clock, "email:1", [EMAIL], Channel.email))
    clock.advance(hours=1)
    # A form (claims only): a form's claims merge only profiles made of claims.
    by_phone = record_event(repo, clock, _message(clock, "form:0", [PHONE], Channel.web_form))
    clock.advance(hours=1)
    record_event(repo, clock, _message(clock, "form:1", [EMAIL, PHONE], Channel.web_form))  # merges them
    survivor = by_email.customer_id
    assert survivor and repo.get_customer(by_phone.customer_id).value.merged_into == survivor  # type: ignore[union-attr]

    view = _360(survivor)

    assert {t["id"] for t in view["tickets"]} == {by_email.ticket_id, by_phone.ticket_id}
    pages, cursor = [view["timeline"]], view["next_cursor"]
    while cursor:
        page = _next_page(survivor, cursor)
        pages.append(page["timeline"])
        cursor = page["next_cursor"]
    entries = [e for page in pages for e in page]
    at = [e["at"] for e in entries]
    assert at == sorted(at, reverse=True)  # newest first across both profiles' partitions
    assert [e["summary"] for e in entries if e["kind"] == "message"] == [
        "web_form: form:1",
        "web_form: form:0",
        "email: email:1",
    ]

    undo_merge(repo, clock, survivor, by_phone.customer_id, by="agent:paul")
    assert {t["id"] for t in _360(survivor)["tickets"]} == {by_email.ticket_id}  # separated again


def test_after_merging_tickets_a_reply_without_a_channel_reaches_the_customer(aws: Any) -> None:
    """A form that gave only a phone number, and an SMS ticket merged into it: no email to
    answer the form on, so the reply goes by SMS (the customer's last message) instead of failing."""
    repo, clock = DynamoRepository(aws["table"]), FixedClock(datetime.now(UTC) - timedelta(hours=1))
    form = record_event(repo, clock, _message(clock, "form:phone-only", [PHONE], Channel.web_form))
    assert form.ticket_id
    solved, reopened = TicketChange(status=TicketStatus.solved), TicketChange(status=TicketStatus.open)
    update_ticket(repo, clock, form.ticket_id, solved, "agent:paul")
    clock.advance(minutes=5)
    sms = record_message(repo, clock, _message(clock, "sms:later", [PHONE], Channel.sms))  # a new case
    assert sms.ticket_id and sms.ticket_id != form.ticket_id
    update_ticket(repo, clock, form.ticket_id, reopened, "agent:paul")
    merged_into = merge_tickets(repo, clock, sms.ticket_id, form.ticket_id, "agent:paul").id
    assert merged_into == form.ticket_id  # the form's ticket survives: web_form, answered by email?
    fake, channels = fake_channels()

    outcome = send_reply(
        reader=repo,
        orders=OrderRepository(aws["table"]),
        store=OutboundStore(aws["table"]),
        channels=channels,
        clock=clock,
        ticket_id=merged_into,
        draft=ReplyDraft(text="Bonjour, c'est noté."),
        author=Author(id="agent-paul"),
    )

    assert outcome.message.channel is Channel.sms
    assert [reply.to for reply, _ in fake.sent] == ["+33612345678"]


def _order(customer_id: str, order_id: str = "O-1001", number: str = "#1001") -> Order:
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    return Order(
        id=order_id,
        number=number,
        source=OrderSource.shopify,
        external_id=order_id,
        customer_id=customer_id,
        payment=Payment(status=PaymentStatus.paid, amount=Decimal("89.90")),
        total=Decimal("89.90"),
        created_at=now,
        updated_at=now,
        placed_at=now,
    )


def test_a_message_naming_the_customers_order_links_the_ticket_from_both_sides(aws: Any) -> None:
    repo, orders, clock = DynamoRepository(aws["table"]), OrderRepository(aws["table"]), FixedClock()
    first = record_message(repo, clock, _message(clock, "sms:hello", [PHONE], Channel.sms), orders=orders)
    assert first.customer_id and first.ticket_id
    orders.create_order(_order(first.customer_id))
    orders.create_order(_order("C-someone-else", "O-2002", "#2002"))

    clock.advance(minutes=2)
    quoted = InboundMessage(
        dedup_key="sms:quoted",
        channel=Channel.sms,
        identities=[PHONE],
        text="Ma commande n° 1001 est bloquée",
        sent_at=clock.now(),
    )
    assert record_message(repo, clock, quoted, orders=orders).ticket_id == first.ticket_id

    ticket = repo.get_ticket(first.ticket_id)
    assert ticket is not None and ticket.value.order_id == "O-1001"  # on the ticket's side
    view = order_view(orders, repo, "O-1001")  # and on the order's, with no manual link
    assert [t.ticket.id for t in view.tickets] == [first.ticket_id]
    _, messages = repo.ticket_messages(first.ticket_id, 10, None)
    assert [e.message_id for e in view.exchanges] == [m.id for m in messages.items]  # its exchanges

    clock.advance(minutes=2)
    stranger = quoted.model_copy(
        update={
            "dedup_key": "sms:other",
            "text": "et la commande 2002 ?",
            "sent_at": clock.now(),
            "order_number": None,
        }
    )
    record_message(repo, clock, stranger, orders=orders)
    assert order_view(orders, repo, "O-2002").tickets == []  # another customer's order: no link
