"""Issue 13, items 6 and 8: platform refunds with their amounts and lines (Shopify
``refunds/create`` and ``partially_refunded``, WooCommerce ``order.refunded``), the lifetime
value and timeline they imply; platform orders at the stage their status implies."""

from __future__ import annotations

from decimal import Decimal

from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.order import OrderStage, PaymentStatus
from shared.order_ports import use_satisfaction_starter
from tests.integration import commerce_support
from tests.integration.commerce_support import SHOPIFY_ORDER, WOO_ORDER, deliver, timeline

commerce = commerce_support.commerce  # the fixture


def _traits(aws, customer_id):
    return DynamoRepository(aws["table"]).get_customer(customer_id).value.traits


def test_a_shopify_partial_refund_is_partial_with_its_amount_and_lines(commerce, lambda_context):
    deliver(commerce, lambda_context, "shopify_orders_create")
    order = commerce["orders"].get_order(SHOPIFY_ORDER).value
    assert _traits(commerce, order.customer_id).lifetime_value == Decimal("409.94")

    response, [processed] = deliver(commerce, lambda_context, "shopify_refunds_create")
    assert response["statusCode"] == 200 and processed == {"batchItemFailures": []}
    refunded = commerce["orders"].get_order(SHOPIFY_ORDER).value
    assert refunded.payment.status is PaymentStatus.partially_refunded  # not "refunded"
    (refund,) = refunded.refunds
    assert (refund.id, refund.amount, refund.reason) == (
        "509562969",
        Decimal("199.00"),
        "Un iPod retourné (rayé)",
    )
    assert [(line.line_id, line.quantity, line.amount) for line in refund.lines] == [
        ("466157049", 1, Decimal("199.0"))
    ]
    traits = _traits(commerce, order.customer_id)
    assert traits.orders_count == 1 and traits.lifetime_value == Decimal("210.94")
    entry = next(
        e for e in timeline(commerce, order.customer_id) if e["event_id"].endswith(":refund:509562969")
    )
    assert entry["summary"] == "Order #1001: refund of 199.00 EUR (1 x IPod Nano - 8gb (green)), partial"

    # The order webhook that follows lists the same refund: nothing counted twice.
    deliver(commerce, lambda_context, "shopify_orders_updated_partially_refunded")
    again = commerce["orders"].get_order(SHOPIFY_ORDER).value
    assert again.payment.status is PaymentStatus.partially_refunded and len(again.refunds) == 1
    assert _traits(commerce, order.customer_id).lifetime_value == Decimal("210.94")
    assert (
        sum(e["event_id"].endswith(":refund:509562969") for e in timeline(commerce, order.customer_id)) == 1
    )


def test_the_order_webhook_alone_records_the_refund_too(commerce, lambda_context):
    deliver(commerce, lambda_context, "shopify_orders_create")
    deliver(commerce, lambda_context, "shopify_orders_updated_partially_refunded")
    order = commerce["orders"].get_order(SHOPIFY_ORDER).value
    assert order.payment.status is PaymentStatus.partially_refunded
    assert order.refunded_total == Decimal("199.00") and order.refunds[0].lines[0].quantity == 1
    # refunds/create arriving late changes nothing.
    deliver(commerce, lambda_context, "shopify_refunds_create")
    assert _traits(commerce, order.customer_id).lifetime_value == Decimal("210.94")


def test_a_refund_before_its_order_fails_the_record_for_a_retry(commerce, lambda_context):
    _, [processed] = deliver(commerce, lambda_context, "shopify_refunds_create")
    assert len(processed["batchItemFailures"]) == 1


def test_a_woocommerce_partial_refund(commerce, lambda_context):
    deliver(commerce, lambda_context, "woocommerce_order_created")
    order = commerce["orders"].get_order(WOO_ORDER).value
    assert _traits(commerce, order.customer_id).lifetime_value == Decimal("49.90")
    response, _ = deliver(commerce, lambda_context, "woocommerce_order_refunded")
    assert response["statusCode"] == 200
    refunded = commerce["orders"].get_order(WOO_ORDER).value
    assert refunded.payment.status is PaymentStatus.partially_refunded
    (refund,) = refunded.refunds
    assert (refund.id, refund.amount, refund.reason) == ("730", Decimal("20.79"), "Taille trop petite")
    assert _traits(commerce, order.customer_id).lifetime_value == Decimal("29.11")
    assert any(e["event_id"].endswith(":refund:730") for e in timeline(commerce, order.customer_id))


def test_platform_orders_show_the_stage_their_status_implies(commerce, lambda_context):
    started: list[str] = []

    class Starter:
        def start_satisfaction(self, order_id: str) -> None:
            started.append(order_id)

    use_satisfaction_starter(Starter())
    try:
        deliver(commerce, lambda_context, "shopify_orders_create")
        assert commerce["orders"].get_order(SHOPIFY_ORDER).value.stage is OrderStage.reception
        deliver(commerce, lambda_context, "shopify_fulfillments_create")
        assert commerce["orders"].get_order(SHOPIFY_ORDER).value.stage is OrderStage.preparation  # shipped
        deliver(commerce, lambda_context, "shopify_fulfillments_update_delivered")
    finally:
        use_satisfaction_starter(None)
    delivered = commerce["orders"].get_order(SHOPIFY_ORDER).value
    assert delivered.stage is OrderStage.satisfaction and started == [SHOPIFY_ORDER]
    assert [e.stage for e in delivered.stage_history] == [
        OrderStage.reception,
        OrderStage.preparation,
        OrderStage.satisfaction,
    ]
    assert delivered.stage_history[-1].at == delivered.delivered_at
