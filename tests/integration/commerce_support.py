"""Helpers for the commerce integration tests: handler wiring reset, webhook -> queue -> processor."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from functions.commerce_webhook.handler import handler as commerce_webhook
from functions.inbound_processor.handler import handler as processor
from shared.adapters.dynamodb.orders import OrderRepository
from shared.domain.ids import stable_id
from tests.support import load_event

COMMERCE_MODULES = (
    "functions.commerce_webhook.handler",
    "functions.orders_api.handler",
    "functions.abandoned_carts.handler",
)
SHOPIFY_ORDER = stable_id("O", "shopify", "450789469")
WOO_ORDER = stable_id("O", "woocommerce", "727")


@pytest.fixture
def commerce(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The ``aws`` fixture plus the commerce handlers' wiring reset (one wiring per test)."""
    for name in COMMERCE_MODULES:
        monkeypatch.setattr(importlib.import_module(name), "_wired", None)
    monkeypatch.setenv("ABANDONED_CART_MINUTES", "60")
    return {**aws, "orders": OrderRepository(aws["table"])}


def drain(aws: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = (
        aws["sqs"].receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10).get("Messages", [])
    )
    for message in messages:
        aws["sqs"].delete_message(QueueUrl=aws["queue_url"], ReceiptHandle=message["ReceiptHandle"])
    return messages


def record(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": "x",
        "body": message["Body"],
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-3:123456789012:guichet-inbound",
        "awsRegion": "eu-west-3",
    }


def deliver(aws: dict[str, Any], context: Any, case: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """POST the sample to the webhook, then run the processor on what it enqueued."""
    response = commerce_webhook(load_event(f"commerce_webhook/{case}"), context)
    queued = drain(aws)
    processed = processor({"Records": [record(m) for m in queued]}, context) if queued else {}
    return response, [processed] if processed else []


def timeline(aws: dict[str, Any], customer_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = aws["table"].query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :tl)",
        ExpressionAttributeValues={":pk": f"CUSTOMER#{customer_id}", ":tl": "TL#"},
    )["Items"]
    return items
