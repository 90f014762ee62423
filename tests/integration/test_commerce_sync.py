"""Commerce deliveries through the real webhook and processor on moto: orders, fulfillments,
carts and accounts land on the customer's profile, exactly once, newest news winning."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from functions.abandoned_carts.handler import handler as abandoned_carts
from functions.inbound_processor.handler import handler as processor
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.identity import IdentityKind
from shared.domain.ids import stable_id
from shared.domain.order import CheckoutStatus, OrderStage, PaymentStatus
from shared.order_ports import use_satisfaction_starter
from tests.integration import commerce_support
from tests.integration.commerce_support import SHOPIFY_ORDER, WOO_ORDER, deliver, drain, record, timeline
from tests.support import load_event

commerce = commerce_support.commerce  # the fixture
CHECKOUT = stable_id("K", "shopify", "2a1ace52255252df566af0faaedfbfa7")


class Starter:
    def __init__(self) -> None:
        self.started: list[str] = []

    def start_satisfaction(self, order_id: str) -> None:
        self.started.append(order_id)


def _events(aws, customer_id):
    return [item["event_id"] for item in timeline(aws, customer_id)]


def test_a_shopify_order_creates_the_customer_the_order_and_a_timeline_entry(commerce, lambda_context):
    response, [processed] = deliver(commerce, lambda_context, "shopify_orders_create")

    assert response["statusCode"] == 200 and processed == {"batchItemFailures": []}
    order = commerce["orders"].get_order(SHOPIFY_ORDER)
    assert order is not None and order.version == 1
    o = order.value
    assert (o.number, o.total, o.payment.status, o.stage) == (
        "#1001",
        Decimal("409.94"),
        PaymentStatus.paid,
        OrderStage.reception,
    )
    repo = DynamoRepository(commerce["table"])
    customer = repo.get_customer(o.customer_id)
    assert customer is not None
    assert {(i.kind, i.value) for i in customer.value.identities} == {
        (IdentityKind.shopify, "207119551"),
        (IdentityKind.email, "bob.norman@example.com"),
        (IdentityKind.phone, "+33612345678"),
    }
    assert customer.value.traits.orders_count == 1
    assert _events(commerce, o.customer_id) == [f"order:{SHOPIFY_ORDER}:placed"]
    assert commerce["orders"].order_id_for_external("shopify", "450789469") == SHOPIFY_ORDER
    assert [x.id for x in commerce["orders"].orders_by_number("1001")] == [SHOPIFY_ORDER]


def test_a_redelivery_changes_nothing(commerce, lambda_context):
    deliver(commerce, lambda_context, "shopify_orders_create")
    before = commerce["orders"].get_order(SHOPIFY_ORDER)

    _, [processed] = deliver(commerce, lambda_context, "shopify_orders_create")

    assert processed == {"batchItemFailures": []}
    after = commerce["orders"].get_order(SHOPIFY_ORDER)
    assert after == before  # same version, same content
    repo = DynamoRepository(commerce["table"])
    assert repo.get_customer(after.value.customer_id).value.traits.orders_count == 1


def test_an_older_update_never_overwrites_a_newer_one(commerce, lambda_context):
    deliver(commerce, lambda_context, "shopify_orders_create")
    deliver(commerce, lambda_context, "shopify_orders_updated")  # 11:30, checkout token added
    newer = commerce["orders"].get_order(SHOPIFY_ORDER)

    deliver(commerce, lambda_context, "shopify_orders_updated_older")  # 10:59, payment pending

    after = commerce["orders"].get_order(SHOPIFY_ORDER)
    assert after == newer
    assert after.value.payment.status is PaymentStatus.paid
    assert after.value.source_updated_at == datetime(2025, 6, 10, 9, 30, tzinfo=UTC)


def test_a_fulfillment_then_its_delivery_reach_the_profile_and_ask_for_satisfaction_once(
    commerce, lambda_context
):
    starter = Starter()
    use_satisfaction_starter(starter)
    try:
        deliver(commerce, lambda_context, "shopify_orders_create")
        deliver(commerce, lambda_context, "shopify_fulfillments_create")
        shipped = commerce["orders"].get_order(SHOPIFY_ORDER).value
        [shipment] = shipped.shipments
        assert (shipment.carrier, shipment.status, shipment.tracking_number) == (
            "Colissimo",
            "shipped",
            "6A12345678901",
        )
        assert shipment.tracking_url.startswith("https://www.laposte.fr/")
        assert starter.started == [] and shipped.satisfaction_requested_at is None

        deliver(commerce, lambda_context, "shopify_fulfillments_update_delivered")
        deliver(commerce, lambda_context, "shopify_fulfillments_update_delivered")  # Shopify retried
    finally:
        use_satisfaction_starter(None)

    delivered = commerce["orders"].get_order(SHOPIFY_ORDER).value
    assert delivered.shipments[0].status == "delivered" and delivered.delivered_at is not None
    assert delivered.satisfaction_requested_at is not None
    assert starter.started == [SHOPIFY_ORDER]
    assert set(_events(commerce, delivered.customer_id)) == {
        f"order:{SHOPIFY_ORDER}:placed",
        f"order:{SHOPIFY_ORDER}:shipment:255858046:shipped",
        f"order:{SHOPIFY_ORDER}:shipment:255858046:delivered",
        f"order:{SHOPIFY_ORDER}:delivered",
    }


def test_a_fulfillment_before_its_order_fails_the_record_for_a_retry(commerce, lambda_context):
    _, [processed] = deliver(commerce, lambda_context, "shopify_fulfillments_create")
    assert len(processed["batchItemFailures"]) == 1
    assert commerce["orders"].get_order(SHOPIFY_ORDER) is None


def test_a_cancelled_order_moves_to_the_cancelled_stage(commerce, lambda_context):
    deliver(commerce, lambda_context, "shopify_orders_create")
    deliver(commerce, lambda_context, "shopify_orders_cancelled")
    order = commerce["orders"].get_order(SHOPIFY_ORDER).value
    assert order.stage is OrderStage.cancelled and order.payment.status is PaymentStatus.voided
    assert order.stage_history[-1].note == "cancelled on shopify"
    assert f"order:{SHOPIFY_ORDER}:cancelled" in _events(commerce, order.customer_id)


def test_a_checkout_without_an_order_becomes_an_abandoned_cart_on_the_profile(commerce, lambda_context):
    deliver(commerce, lambda_context, "shopify_checkouts_create")
    checkout = commerce["orders"].get_checkout("shopify", "2a1ace52255252df566af0faaedfbfa7").value
    assert checkout.status is CheckoutStatus.open and checkout.customer_id

    result = abandoned_carts({"source": "aws.events", "detail-type": "Scheduled Event"}, lambda_context)
    again = abandoned_carts({"source": "aws.events", "detail-type": "Scheduled Event"}, lambda_context)

    assert result == {"abandoned": 1, "lost_races": 0} and again == {"abandoned": 0, "lost_races": 0}
    entries = timeline(commerce, checkout.customer_id)
    assert [(e["event_id"], e["kind"]) for e in entries] == [(f"cart:{CHECKOUT}:abandoned", "abandoned_cart")]
    assert entries[0]["details"]["recovery_url"].startswith("https://shop.example.com/checkouts/")


def test_an_order_from_the_checkout_means_no_abandoned_cart_and_the_same_customer(commerce, lambda_context):
    deliver(commerce, lambda_context, "shopify_checkouts_create")
    deliver(commerce, lambda_context, "shopify_orders_create")
    deliver(commerce, lambda_context, "shopify_orders_updated")  # carries checkout_token

    assert abandoned_carts({}, lambda_context) == {"abandoned": 0, "lost_races": 0}
    checkout = commerce["orders"].get_checkout("shopify", "2a1ace52255252df566af0faaedfbfa7").value
    order = commerce["orders"].get_order(SHOPIFY_ORDER).value
    assert checkout.status is CheckoutStatus.completed and checkout.order_id == SHOPIFY_ORDER
    assert checkout.customer_id == order.customer_id


def test_a_shopify_customer_account_then_an_order_make_one_profile(commerce, lambda_context):
    deliver(commerce, lambda_context, "shopify_customers_create")
    owner = DynamoRepository(commerce["table"]).identity_owner("shopify", "207119551")
    deliver(commerce, lambda_context, "shopify_orders_create")
    assert commerce["orders"].get_order(SHOPIFY_ORDER).value.customer_id == owner


def test_an_order_joins_the_profile_a_message_created(commerce, lambda_context):
    """Identity resolution is shared with the inbound pipeline: the web form's email links them."""
    event = load_event("form_webhook/json_submission")
    from functions.form_webhook.handler import handler as form

    form(event, lambda_context)
    processor({"Records": [record(m) for m in drain(commerce)]}, lambda_context)
    import json

    email = json.loads(event["body"])["email"]
    owner = DynamoRepository(commerce["table"]).identity_owner("email", email.lower())
    assert owner

    body = json.loads(load_event("commerce_webhook/woocommerce_order_created")["body"])
    from shared.adapters.commerce import woocommerce
    from shared.services import commerce_sync
    from tests.support import FixedClock

    body["billing"]["email"] = email
    snapshot = woocommerce.parse(body, "order.created", "12", datetime(2025, 6, 10, tzinfo=UTC))
    result = commerce_sync.apply(
        commerce["orders"], DynamoRepository(commerce["table"]), FixedClock(), snapshot
    )
    assert (result.outcome, result.customer_id, result.created_customer) == ("created", owner, False)


def test_woocommerce_order_completed_then_deleted(commerce, lambda_context):
    starter = Starter()
    use_satisfaction_starter(starter)
    try:
        deliver(commerce, lambda_context, "woocommerce_order_created")
        deliver(commerce, lambda_context, "woocommerce_order_updated_completed")
    finally:
        use_satisfaction_starter(None)
    order = commerce["orders"].get_order(WOO_ORDER).value
    assert order.delivered_at == datetime(2025, 6, 12, 8, 0, tzinfo=UTC)
    assert order.shipments[0].tracking_number == "6A98765432109"
    assert starter.started == [WOO_ORDER]

    deliver(commerce, lambda_context, "woocommerce_order_deleted")
    order = commerce["orders"].get_order(WOO_ORDER).value
    assert order.deleted_at is not None and order.stage is OrderStage.cancelled
    assert f"order:{WOO_ORDER}:deleted" in _events(commerce, order.customer_id)


def test_a_woocommerce_customer_gets_a_profile_with_a_normalised_phone(commerce, lambda_context):
    deliver(commerce, lambda_context, "woocommerce_customer_created")
    repo = DynamoRepository(commerce["table"])
    owner = repo.identity_owner("woocommerce", "25")
    assert owner and repo.identity_owner("phone", "+33612345678") == owner
    deliver(commerce, lambda_context, "woocommerce_order_created")
    assert commerce["orders"].get_order(WOO_ORDER).value.customer_id == owner


def test_a_shared_phone_does_not_put_someone_elses_order_on_a_profile(commerce, lambda_context):
    """Bob's and Marie's orders carry the same phone (one household): with an email, the email
    decides; the phone stays with the profile that had it first."""
    deliver(commerce, lambda_context, "shopify_orders_create")
    deliver(commerce, lambda_context, "woocommerce_order_created")
    bob = commerce["orders"].get_order(SHOPIFY_ORDER).value.customer_id
    marie = commerce["orders"].get_order(WOO_ORDER).value.customer_id
    repo = DynamoRepository(commerce["table"])
    assert marie != bob
    assert repo.identity_owner("phone", "+33612345678") == bob
    assert repo.identity_owner("email", "marie.dupont@example.org") == marie
