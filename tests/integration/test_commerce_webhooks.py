"""POST /webhooks/shopify and /webhooks/woocommerce on moto, from events/commerce_webhook samples:
verified deliveries are enqueued once with their raw body; nothing else is."""

from __future__ import annotations

import json

import pytest

from functions.commerce_webhook.handler import MAX_BODY_BYTES
from functions.commerce_webhook.handler import handler as commerce_webhook
from shared.domain.inbound import InboundEnvelope
from tests.integration import commerce_support
from tests.integration.commerce_support import drain
from tests.support import load_event

commerce = commerce_support.commerce  # the fixture

SIGNED = [
    ("shopify_orders_create", "orders/create"),
    ("shopify_fulfillments_create", "fulfillments/create"),
    ("shopify_checkouts_create", "checkouts/create"),
    ("shopify_customers_create", "customers/create"),
    ("woocommerce_order_created", "order.created"),
    ("woocommerce_order_updated_completed", "order.updated"),
    ("woocommerce_order_deleted", "order.deleted"),
    ("woocommerce_customer_created", "customer.created"),
]


@pytest.mark.parametrize(("case", "topic"), SIGNED)
def test_a_signed_delivery_is_enqueued_once_byte_for_byte(commerce, lambda_context, case, topic):
    event = load_event(f"commerce_webhook/{case}")

    response = commerce_webhook(event, lambda_context)

    assert response["statusCode"] == 200, response["body"]
    [queued] = drain(commerce)
    envelope = InboundEnvelope.model_validate_json(queued["Body"])
    assert envelope.payload["body"] == event["body"]
    assert envelope.payload["topic"] == topic
    assert envelope.payload["source"] == case.split("_", 1)[0]
    assert json.loads(response["body"])["reference"] == envelope.reference


def test_the_woocommerce_creation_ping_gets_200_and_nothing_else(commerce, lambda_context):
    response = commerce_webhook(load_event("commerce_webhook/woocommerce_ping"), lambda_context)
    assert response["statusCode"] == 200
    assert drain(commerce) == []


@pytest.mark.parametrize(
    "case", ["shopify_bad_signature", "shopify_missing_signature", "woocommerce_bad_signature"]
)
def test_a_bad_or_missing_signature_is_401_and_stores_nothing(commerce, lambda_context, case):
    response = commerce_webhook(load_event(f"commerce_webhook/{case}"), lambda_context)
    assert response["statusCode"] == 401
    assert drain(commerce) == []


def test_a_ping_shaped_body_with_a_signature_header_is_checked(commerce, lambda_context):
    event = load_event("commerce_webhook/woocommerce_ping")
    event["headers"]["x-wc-webhook-signature"] = "forged"
    assert commerce_webhook(event, lambda_context)["statusCode"] == 401


def test_a_signed_malformed_body_is_400(commerce, lambda_context):
    response = commerce_webhook(load_event("commerce_webhook/shopify_malformed"), lambda_context)
    assert response["statusCode"] == 400
    assert drain(commerce) == []


def test_a_body_over_the_limit_is_413(commerce, lambda_context):
    event = load_event("commerce_webhook/shopify_orders_create")
    event["body"] = event["body"] + " " * MAX_BODY_BYTES
    assert commerce_webhook(event, lambda_context)["statusCode"] == 413
    assert drain(commerce) == []


def test_a_topic_we_do_not_sync_is_acknowledged_not_enqueued(commerce, lambda_context):
    response = commerce_webhook(load_event("commerce_webhook/shopify_unsupported_topic"), lambda_context)
    assert response["statusCode"] == 200
    assert drain(commerce) == []


def test_a_base64_encoded_body_is_verified_on_its_decoded_bytes(commerce, lambda_context):
    import base64

    event = load_event("commerce_webhook/shopify_orders_create")
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    assert commerce_webhook(event, lambda_context)["statusCode"] == 200
    assert len(drain(commerce)) == 1
