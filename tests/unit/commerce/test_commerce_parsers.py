"""Shopify and WooCommerce payloads -> commerce events (pure), from the published samples."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.adapters.commerce import shopify, woocommerce
from shared.adapters.commerce.common import CommercePayloadError, tracking_url, when
from shared.adapters.commerce.delivery import parse_envelope
from shared.adapters.commerce.webhook import envelope_json
from shared.domain.commerce import (
    CheckoutSnapshot,
    CustomerSnapshot,
    DeletedResource,
    Deletion,
    FulfillmentSnapshot,
    Ignored,
    OrderSnapshot,
)
from shared.domain.identity import IdentityKind
from shared.domain.inbound import InboundEnvelope
from shared.domain.order import PaymentStatus
from tests.support import load_event
from tests.unit.channels.fixtures import sample_bytes

RECEIVED = datetime(2025, 6, 12, 9, 0, tzinfo=UTC)


def _sample(name: str) -> Any:
    """The provider's body as events/commerce_webhook carries it (the published samples)."""
    return json.loads(load_event(f"commerce_webhook/{name.removesuffix('.json')}")["body"])


def test_a_shopify_order() -> None:
    event = shopify.parse(_sample("shopify_orders_create.json"), "orders/create", "w-1")
    assert isinstance(event, OrderSnapshot)
    assert (event.external_id, event.number, event.dedup_key) == ("450789469", "#1001", "shopify:w-1")
    assert event.total == Decimal("409.94") and event.payment.status is PaymentStatus.paid
    assert [(line.id, line.sku, line.quantity, line.unit_price) for line in event.lines] == [
        ("466157049", "IPOD2008GREEN", 2, Decimal("199.00"))
    ]
    assert event.lines[0].title == "IPod Nano - 8gb (green)"
    assert event.shipping_address is not None and event.shipping_address.country == "FR"
    assert event.shipping_address.is_complete()
    assert event.customer.platform_id == "207119551"
    assert [(c.kind, c.value) for c in event.customer.claims(event.source)] == [
        (IdentityKind.shopify, "207119551"),
        (IdentityKind.email, "bob.norman@example.com"),
        (IdentityKind.phone, "+33612345678"),
    ]
    assert event.source_updated_at == datetime(2025, 6, 10, 9, 0, 5, tzinfo=UTC)


def test_a_shopify_fulfillment_with_tracking() -> None:
    body = _sample("shopify_fulfillments_create.json")
    event = shopify.parse(body, "fulfillments/create", "w-2")
    assert isinstance(event, FulfillmentSnapshot)
    shipment = event.shipment
    assert (event.order_external_id, shipment.id, shipment.status) == ("450789469", "255858046", "shipped")
    assert shipment.tracking_url and "6A12345678901" in shipment.tracking_url
    assert shipment.line_quantities == {"466157049": 2}
    body["shipment_status"] = "delivered"
    delivered = shopify.parse(body, "fulfillments/update", "w-3")
    assert isinstance(delivered, FulfillmentSnapshot)
    assert delivered.shipment.status == "delivered" and delivered.shipment.delivered_at is not None
    body["status"] = "cancelled"
    assert shopify.parse(body, "fulfillments/update", "w-4").shipment.status == "cancelled"  # type: ignore[union-attr]


def test_a_shopify_checkout_and_customer() -> None:
    checkout = shopify.parse(_sample("shopify_checkouts_create.json"), "checkouts/create", "w-5")
    assert isinstance(checkout, CheckoutSnapshot)
    assert checkout.token == "2a1ace52255252df566af0faaedfbfa7" and checkout.completed_at is None
    assert checkout.recovery_url and checkout.total == Decimal("398.00")
    customer = shopify.parse(_sample("shopify_customers_create.json"), "customers/create", "w-6")
    assert isinstance(customer, CustomerSnapshot)
    assert customer.customer.display_name == "Bob Norman" and customer.customer.phone == "+33612345678"


def test_other_shopify_topics_are_ignored() -> None:
    assert isinstance(shopify.parse({"id": 1}, "products/create", "w"), Ignored)


def test_a_woocommerce_order_and_its_dedup_key() -> None:
    body = _sample("woocommerce_order_created.json")
    event = woocommerce.parse(body, "order.created", "12", RECEIVED)
    assert isinstance(event, OrderSnapshot)
    assert event.dedup_key == "woocommerce:12:727:2025-06-10T09:00:05"
    assert (event.number, event.total, event.payment.status) == ("727", Decimal("49.90"), PaymentStatus.paid)
    assert event.lines[0].unit_price == Decimal("20.79") and event.lines[0].quantity == 2
    assert event.customer.email == "marie.dupont@example.org" and event.customer.platform_id == "25"
    assert event.placed_at == datetime(2025, 6, 10, 9, 0, tzinfo=UTC)  # *_gmt read as UTC
    assert event.completed_at is None and not event.shipments


def test_a_completed_woocommerce_order_is_delivered_with_its_tracking() -> None:
    body = _sample("woocommerce_order_created.json")
    body.update(
        status="completed", date_completed_gmt="2025-06-12T08:00:00", date_modified_gmt="2025-06-12T08:00:00"
    )
    body["meta_data"] = [
        {
            "key": "_wc_shipment_tracking_items",
            "value": [{"tracking_provider": "Colissimo", "tracking_number": "6A1"}],
        }
    ]
    event = woocommerce.parse(body, "order.updated", "13", RECEIVED)
    assert isinstance(event, OrderSnapshot)
    assert event.completed_at == datetime(2025, 6, 12, 8, 0, tzinfo=UTC)
    [shipment] = event.shipments
    assert shipment.status == "delivered" and shipment.tracking_url == tracking_url("colissimo", "6A1", None)


def test_woocommerce_deletions_and_guests() -> None:
    deleted = woocommerce.parse({"id": 727}, "order.deleted", "14", RECEIVED)
    assert isinstance(deleted, Deletion) and deleted.resource is DeletedResource.order
    assert deleted.dedup_key == "woocommerce:14:727:deleted"
    guest = _sample("woocommerce_order_created.json")
    guest["customer_id"] = 0
    event = woocommerce.parse(guest, "order.created", "12", RECEIVED)
    assert isinstance(event, OrderSnapshot) and event.customer.platform_id is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"total_price": "abc"}, "order.total_price"),
        ({"line_items": [{"id": 1, "title": "x", "quantity": 0, "price": "1"}]}, "quantity"),
        ({"line_items": "nope"}, "order.line_items"),
        ({"updated_at": "yesterday"}, "order.updated_at"),
        ({"id": None}, "order.id"),
    ],
)
def test_bad_fields_are_named_not_quoted(change: dict[str, Any], field: str) -> None:
    body = {**_sample("shopify_orders_create.json"), **change}
    with pytest.raises(CommercePayloadError, match=field) as raised:
        shopify.parse(body, "orders/create", "w")
    assert "bob.norman" not in str(raised.value)


def test_timestamps_of_exports() -> None:
    assert when("2025-06-10 11:00:00 +0200", "t") == datetime(2025, 6, 10, 9, 0, tzinfo=UTC)
    assert when("2025-06-10T09:00:05", "t") == datetime(2025, 6, 10, 9, 0, 5, tzinfo=UTC)
    assert when("", "t") is None


def test_an_envelope_round_trip() -> None:
    _, text = envelope_json(
        "woocommerce",
        sample_bytes("woocommerce_order_created.json"),
        topic="order.created",
        webhook_id="12",
        shop=None,
    )
    event = parse_envelope(InboundEnvelope.model_validate_json(text))
    assert isinstance(event, OrderSnapshot) and event.external_id == "727"


def test_an_order_is_delivered_when_its_live_shipments_cover_it() -> None:
    from shared.domain.order import Order, OrderSource, Shipment

    event = shopify.parse(_sample("shopify_orders_create.json"), "orders/create", "w")
    assert isinstance(event, OrderSnapshot)
    order = Order(
        id="O1",
        number="#1001",
        source=OrderSource.shopify,
        lines=event.lines,
        created_at=RECEIVED,
        updated_at=RECEIVED,
    )
    one = Shipment(id="1", status="delivered", line_quantities={"466157049": 1})
    other = Shipment(id="2", status="in_transit", line_quantities={"466157049": 1})
    cancelled = Shipment(id="3", status="cancelled", line_quantities={"466157049": 2})
    assert not order.model_copy(update={"shipments": [one]}).is_delivered()  # one of two items
    assert not order.model_copy(update={"shipments": [one, other]}).is_delivered()
    both = other.model_copy(update={"status": "delivered"})
    assert order.model_copy(update={"shipments": [one, both, cancelled]}).is_delivered()
    fulfilled = order.model_copy(update={"shipments": [one], "fulfillment_status": "fulfilled"})
    assert fulfilled.is_delivered()  # the platform says every line went out
