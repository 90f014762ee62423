"""The order data layer on moto: versioned writes, lookups, stages, links, checkouts due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.items import to_item
from shared.adapters.dynamodb.orders import CustomerChange, OrderRepository, OrderWrite
from shared.domain.common import Channel
from shared.domain.customer import Customer, Identity
from shared.domain.errors import Conflict, Duplicate, IdentityTaken, NotFound
from shared.domain.identity import IdentityKind
from shared.domain.order import Checkout, CheckoutStatus, Order, OrderLine, OrderSource, OrderStage
from shared.domain.ticket import Ticket
from shared.domain.timeline import TimelineEntry

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def _order(order_id: str = "O1", customer_id: str | None = "C1", **extra: object) -> Order:
    fields: dict[str, object] = {
        "id": order_id,
        "number": "#1001",
        "source": OrderSource.shopify,
        "external_id": "450789469",
        "customer_id": customer_id,
        "lines": [OrderLine(id="L1", title="IPod", quantity=2, unit_price=Decimal("199.00"))],
        "total": Decimal("409.94"),
        "created_at": NOW,
        "updated_at": NOW,
        "placed_at": NOW,
    }
    fields.update(extra)
    return Order.model_validate(fields)


@pytest.fixture
def orders(aws) -> OrderRepository:
    return OrderRepository(aws["table"])


def test_an_order_is_created_once_and_saved_by_version(orders: OrderRepository) -> None:
    orders.create_order(_order())
    with pytest.raises(Conflict):
        orders.create_order(_order())
    found = orders.get_order("O1")
    assert found is not None and found.version == 1 and found.value.total == Decimal("409.94")

    changed = found.value.model_copy(update={"fulfillment_status": "fulfilled"})
    assert orders.save_order(changed, expected_version=1) == 2
    with pytest.raises(Conflict):
        orders.save_order(changed, expected_version=1)  # a stale writer loses
    assert orders.get_order("O1").value.fulfillment_status == "fulfilled"  # type: ignore[union-attr]


def test_lookups_by_external_id_number_and_customer(orders: OrderRepository) -> None:
    orders.create_order(_order())
    orders.create_order(
        _order(
            "O2",
            number="1001",
            source=OrderSource.woocommerce,
            external_id="1001",
            placed_at=NOW + timedelta(days=1),
        )
    )
    assert orders.order_id_for_external("shopify", "450789469") == "O1"
    assert orders.get_order_by_external("woocommerce", "1001").value.id == "O2"  # type: ignore[union-attr]
    assert orders.order_ids_for_external("shopify", ["450789469", "nope"]) == {"450789469": "O1"}
    assert {o.id for o in orders.orders_by_number(" #1001")} == {"O1", "O2"}
    assert orders.orders_by_number("") == []
    page = orders.customer_orders("C1", limit=1, cursor=None)
    assert [o.id for o in page.items] == ["O2"]  # newest first
    assert [o.id for o in orders.customer_orders("C1", 5, page.next_cursor).items] == ["O1"]


def test_record_stage_appends_history_and_is_idempotent(orders: OrderRepository) -> None:
    orders.create_order(_order())
    assert orders.record_stage("O1", OrderStage.preparation, NOW, "stock reserved") is True
    assert orders.record_stage("O1", OrderStage.preparation, NOW) is False  # a retried step
    with pytest.raises(Conflict):
        orders.record_stage("O1", OrderStage.billing, NOW, expected_stage=OrderStage.installation)
    assert orders.record_stage("O1", OrderStage.installation, NOW, expected_stage=OrderStage.preparation)
    with pytest.raises(NotFound):
        orders.record_stage("nope", OrderStage.billing, NOW)
    found = orders.get_order("O1")
    assert found is not None
    assert found.value.stage is OrderStage.installation
    assert [(e.stage, e.note) for e in found.value.stage_history] == [
        (OrderStage.preparation, "stock reserved"),
        (OrderStage.installation, None),
    ]
    assert found.version == 3


def test_satisfaction_is_requested_once(orders: OrderRepository) -> None:
    orders.create_order(_order())
    assert orders.mark_satisfaction_requested("O1", NOW) is True
    assert orders.mark_satisfaction_requested("O1", NOW) is False
    with pytest.raises(NotFound):
        orders.mark_satisfaction_requested("nope", NOW)


def test_links_tickets_and_messages(aws, orders: OrderRepository) -> None:
    orders.create_order(_order())
    ticket = Ticket(id="K7M3Q9XA", channel=Channel.email, customer_id="C1", created_at=NOW, updated_at=NOW)
    aws["table"].put_item(
        Item=to_item(ticket, "ticket", {"pk": keys.ticket_pk(ticket.id), "sk": keys.TICKET_SK}, version=1)
    )
    assert orders.link_ticket("O1", "K7M3Q9XA", NOW, by="agent:a@x", order_number="#1001") is True
    assert orders.link_ticket("O1", "K7M3Q9XA", NOW) is False
    with pytest.raises(NotFound, match="ticket"):
        orders.link_ticket("O1", "NOPE0000", NOW)
    with pytest.raises(NotFound, match="order"):
        orders.link_ticket("nope", "K7M3Q9XA", NOW)
    assert orders.link_message("O1", "OTHER000", "M1", NOW, at=NOW) is True
    links = orders.order_links("O1")
    assert {(link.kind.value, link.ticket_id, link.message_id) for link in links} == {
        ("ticket", "K7M3Q9XA", None),
        ("message", "OTHER000", "M1"),
    }
    stored = aws["table"].get_item(Key={"pk": keys.ticket_pk("K7M3Q9XA"), "sk": keys.TICKET_SK})["Item"]
    assert (stored["order_id"], stored["order_number"]) == ("O1", "#1001")


def test_commit_creates_customer_order_and_timeline_or_maps_failures(aws, orders: OrderRepository) -> None:
    customer = Customer(id="C1", first_name="Bob", created_at=NOW, updated_at=NOW)
    identity = Identity(kind=IdentityKind.email, value="bob@example.com", first_seen_at=NOW)
    customer = customer.model_copy(update={"identities": [identity]})
    entry = TimelineEntry(event_id="order:O1:placed", kind="order", summary="Order #1001", at=NOW)
    write = OrderWrite(
        dedup_key="shopify:w1",
        customer=CustomerChange(
            customer_id="C1", new_customer=customer, claimed_identities=[identity], orders_added=1
        ),
        order=_order(),
        timeline=[("C1", entry)],
        at=NOW,
    )
    orders.commit(write)
    with pytest.raises(Duplicate):
        orders.commit(write)
    profile = aws["table"].get_item(Key={"pk": "CUSTOMER#C1", "sk": "#PROFILE"})["Item"]
    assert profile["traits"]["orders_count"] == 1
    with pytest.raises(IdentityTaken):
        orders.commit(
            OrderWrite(
                customer=CustomerChange(
                    customer_id="C2",
                    new_customer=Customer(id="C2", created_at=NOW, updated_at=NOW),
                    claimed_identities=[identity],
                ),
                at=NOW,
            )
        )
    # an existing profile gains identities and an order count, commutatively
    phone = Identity(kind=IdentityKind.phone, value="+33612345678", first_seen_at=NOW)
    orders.commit(
        OrderWrite(
            customer=CustomerChange(customer_id="C1", claimed_identities=[phone], orders_added=1), at=NOW
        )
    )
    profile = aws["table"].get_item(Key={"pk": "CUSTOMER#C1", "sk": "#PROFILE"})["Item"]
    assert profile["traits"]["orders_count"] == 2 and len(profile["identities"]) == 2
    timeline = aws["table"].query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :tl)",
        ExpressionAttributeValues={":pk": "CUSTOMER#C1", ":tl": "TL#"},
    )["Items"]
    assert [t["event_id"] for t in timeline] == ["order:O1:placed"]


def test_open_checkouts_fall_due_and_are_abandoned_once(orders: OrderRepository) -> None:
    checkout = Checkout(
        id="K1",
        source=OrderSource.shopify,
        token="tok",
        customer_id="C1",
        source_updated_at=NOW,
        created_at=NOW,
        updated_at=NOW,
    )
    orders.commit(OrderWrite(checkout=checkout, at=NOW))
    assert orders.due_checkouts(NOW) == []  # not older than the cut-off
    [due] = orders.due_checkouts(NOW + timedelta(minutes=61))
    assert due.value.id == "K1" and due.version == 1
    entry = TimelineEntry(event_id="cart:K1:abandoned", kind="abandoned_cart", summary="cart", at=NOW)
    assert orders.mark_checkout_abandoned(due.value, due.version, NOW, entry) is True
    assert orders.mark_checkout_abandoned(due.value, due.version, NOW, entry) is False
    assert orders.due_checkouts(NOW + timedelta(days=1)) == []  # off the index
    stored = orders.get_checkout("shopify", "tok")
    assert stored is not None and stored.value.status is CheckoutStatus.abandoned
