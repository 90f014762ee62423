"""A new ticket about one of the customer's orders is qualified with the order's state (issue 5,
item 2: "the state of the linked order"), through the processor, from the form sample."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from functions.inbound_processor.handler import handler
from shared.adapters.dynamodb.orders import OrderRepository
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.domain.order import Order, OrderSource, Payment, PaymentStatus
from shared.domain.ticket import TicketStatus
from shared.domain.ticket_work import TicketChange
from shared.services import ticket_work
from shared.services.ingest import record_message
from tests.support import FixedClock, load_event

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def _form(submission: str, message: str, order_number: str | None) -> dict:
    event = load_event("inbound_processor/form_record")
    body = json.loads(event["Records"][0]["body"])
    body["dedup_key"] = f"web_form:{submission}"
    body["payload"].update(client_submission_id=submission, message=message, subject="Commande")
    if order_number is None:
        body["payload"].pop("order_number")
    else:
        body["payload"]["order_number"] = order_number
    event["Records"][0]["body"] = json.dumps(body)
    event["Records"][0]["messageId"] = submission
    return event


def _order(customer_id: str | None, payment: PaymentStatus) -> Order:
    return Order(
        id="O-1001",
        number="#1001",
        source=OrderSource.shopify,
        external_id="450789469",
        customer_id=customer_id,
        payment=Payment(status=payment, amount=Decimal("89.90")),
        total=Decimal("89.90"),
        created_at=NOW,
        updated_at=NOW,
        placed_at=NOW,
    )


def _first_contact_then_solved(repo: DynamoRepository, lambda_context) -> str:
    assert handler(_form("s-1", "Bonjour", None), lambda_context)["batchItemFailures"] == []
    [customer_id] = {t.customer_id for t in repo.list_tickets(limit=5, cursor=None).items}
    [summary] = repo.list_tickets(limit=5, cursor=None).items
    ticket_work.update_ticket(
        repo, FixedClock(), summary.id, TicketChange(status=TicketStatus.solved), "agent:x"
    )
    return customer_id


def test_a_message_about_an_order_whose_payment_failed_goes_to_billing_with_the_order_linked(
    aws, lambda_context
):
    repo = DynamoRepository(aws["table"])
    customer_id = _first_contact_then_solved(repo, lambda_context)
    OrderRepository(aws["table"]).create_order(_order(customer_id, PaymentStatus.failed))

    handler(_form("s-2", "Bonjour, pouvez-vous m'aider ?", "#1001"), lambda_context)

    newest = repo.list_tickets(limit=5, cursor=None).items[0]
    ticket = repo.get_ticket(newest.id)
    assert ticket is not None
    assert ticket.value.order_id == "O-1001"
    assert ticket.value.topic.value == "billing"  # rule payment-problem-order, from the order alone


def test_another_customers_order_number_says_nothing_about_the_request(aws, lambda_context):
    repo = DynamoRepository(aws["table"])
    _first_contact_then_solved(repo, lambda_context)
    OrderRepository(aws["table"]).create_order(_order("C-someone-else", PaymentStatus.failed))

    handler(_form("s-2", "Bonjour, pouvez-vous m'aider ?", "#1001"), lambda_context)

    ticket = repo.get_ticket(repo.list_tickets(limit=5, cursor=None).items[0].id)
    assert ticket is not None
    assert ticket.value.order_id is None
    assert ticket.value.topic.value != "billing"


def test_an_order_number_quoted_in_an_sms_links_the_customers_order(aws, lambda_context):
    repo = DynamoRepository(aws["table"])
    customer_id = _first_contact_then_solved(repo, lambda_context)
    OrderRepository(aws["table"]).create_order(_order(customer_id, PaymentStatus.failed))
    clock = FixedClock()

    result = record_message(
        repo,
        clock,
        InboundMessage(
            dedup_key="sms:quoted-order",
            channel=Channel.sms,
            identities=[IdentityClaim(kind=IdentityKind.phone, value="+33698765432")],  # the form's phone
            text="Bonjour, ma commande n° 1001 est bloquée",
            sent_at=clock.now(),
        ),
        orders=OrderRepository(aws["table"]),
    )

    ticket = repo.get_ticket(result.ticket_id or "")
    assert ticket is not None
    assert ticket.value.customer_id == customer_id
    assert (ticket.value.order_number, ticket.value.order_id) == ("#1001", "O-1001")
    assert ticket.value.topic.value == "billing"
