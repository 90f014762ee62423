"""The commerce webhooks' cheap path: signature, WooCommerce ping, envelope. Standard library only.

Shopify signs ``X-Shopify-Hmac-Sha256`` and WooCommerce ``X-WC-Webhook-Signature``, both
base64(HMAC-SHA256(secret, raw body)); verified with a constant-time compare
(shared/adapters/channels/signatures.py). The JSON written here is exactly an
``InboundEnvelope``: ``InboundEnvelope.channel`` is required and commerce is not a customer
channel, so commerce deliveries ride as ``web_form`` (the shop is the customer's website) and
the processor routes them by ``payload.source`` before any channel parser sees them.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from shared.adapters.channels.signatures import verify_hmac_sha256_base64

CARRIER_CHANNEL = "web_form"
SECRET_KEYS = {"shopify": "shopify_webhook_secret", "woocommerce": "woocommerce_webhook_secret"}
SIGNATURE_HEADERS = {"shopify": "x-shopify-hmac-sha256", "woocommerce": "x-wc-webhook-signature"}
TOPIC_HEADERS = {"shopify": "x-shopify-topic", "woocommerce": "x-wc-webhook-topic"}
ID_HEADERS = {"shopify": "x-shopify-webhook-id", "woocommerce": "x-wc-webhook-id"}
SHOP_HEADERS = {"shopify": "x-shopify-shop-domain", "woocommerce": "x-wc-webhook-source"}


def verify(source: str, body: bytes, signature: str | None, secret: str) -> bool:
    """Both platforms: base64 HMAC-SHA256 of the raw bytes; an empty secret verifies nothing."""
    return verify_hmac_sha256_base64(body, signature, secret)


def is_woocommerce_ping(body: bytes) -> bool:
    """The unsigned form post ``webhook_id=<digits>`` WooCommerce sends when a webhook is saved
    (saving fails unless we answer exactly 200). Nothing else matches."""
    if len(body) > 64:
        return False
    try:
        fields = parse_qs(body.decode("ascii").strip(), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    values = fields.get("webhook_id", [])
    return list(fields) == ["webhook_id"] and len(values) == 1 and values[0].isdigit()


def envelope_json(
    source: str,
    body: bytes,
    *,
    topic: str,
    webhook_id: str | None,
    shop: str | None,
    content_type: str = "application/json",
    now: datetime | None = None,
) -> tuple[str, str]:
    """(reference, JSON body of the queue message). Non-UTF-8 bodies travel base64-encoded."""
    moment = now or datetime.now(UTC)
    reference = f"D{uuid.uuid4().hex[:16].upper()}"
    try:
        text, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(body).decode(), "base64"
    payload: dict[str, Any] = {
        "source": source,
        "topic": topic,
        "webhook_id": webhook_id,
        "shop": shop,
        "body": text,
        "body_encoding": encoding,
        "content_type": content_type,
    }
    envelope = {
        "channel": CARRIER_CHANNEL,
        "received_at": moment.isoformat(),
        "reference": reference,
        "dedup_key": None,
        "payload": payload,
    }
    return reference, json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
