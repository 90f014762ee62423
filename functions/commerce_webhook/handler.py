"""POST /webhooks/shopify and POST /webhooks/woocommerce: verify, enqueue once, answer 200.

Shopify gives us 5 s in total and retries 8 times over 4 hours; WooCommerce gives 60 s, never
retries and disables a webhook after 5 failures, so nothing slow happens here: the signature
over the raw bytes, a JSON sanity check, one SQS send. The processor syncs
(shared/services/commerce_sync.py). WooCommerce's unsigned creation ping is answered 200 and
dropped. Topics we do not sync are acknowledged without being enqueued.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from shared.adapters.commerce.topics import TOPICS
from shared.adapters.commerce.webhook import (
    CARRIER_CHANNEL,
    ID_HEADERS,
    SECRET_KEYS,
    SHOP_HEADERS,
    SIGNATURE_HEADERS,
    TOPIC_HEADERS,
    envelope_json,
    is_woocommerce_ping,
    verify,
)
from shared.adapters.http import BadRequest, error_response, header, json_response, raw_body
from shared.adapters.webhook import LazySecrets, LazySqs
from shared.services.webhook_intake import Delivery, accept
from shared.settings_light import env

logger = Logger()
# Large orders (hundreds of lines) pass the queue's 256 KiB: they travel by claim check (S3).
MAX_BODY_BYTES = 3 * 1024 * 1024
SOURCES = {"/webhooks/shopify": "shopify", "/webhooks/woocommerce": "woocommerce"}
_wired: tuple[LazySecrets, LazySqs] | None = None


def _wire() -> tuple[LazySecrets, LazySqs]:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        _wired = (
            LazySecrets(env("WEBHOOK_SECRETS_ARN")),
            LazySqs(env("INBOUND_QUEUE_URL"), env("PAYLOADS_BUCKET")),
        )
    return _wired


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    source = SOURCES[event["rawPath"]]
    secrets, queue = _wire()
    body = raw_body(event)
    if len(body) > MAX_BODY_BYTES:
        return error_response(BadRequest(413, "the body is larger than 3 MB"))
    signature = header(event, SIGNATURE_HEADERS[source])
    if source == "woocommerce" and signature is None and is_woocommerce_ping(body):
        logger.info("woocommerce webhook ping acknowledged")
        return json_response(200, {"message": "pong"})
    verified = verify(source, body, signature, secrets.get(SECRET_KEYS[source]))
    topic = (header(event, TOPIC_HEADERS[source]) or "").strip().lower()
    if verified:
        try:
            parsed = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return error_response(BadRequest(400, "the body is not valid JSON"))
        if not isinstance(parsed, dict) or "id" not in parsed:
            return error_response(BadRequest(400, f"a {source} webhook body is a resource with an id"))
        if not topic:
            return error_response(BadRequest(400, f"the {TOPIC_HEADERS[source]} header is missing"))
        if topic not in TOPICS[source]:
            logger.info("commerce topic not synced", extra={"source": source, "topic": topic})
            return json_response(200, {"message": "ignored: topic not synced"})
    webhook_id = header(event, ID_HEADERS[source])
    shop = header(event, SHOP_HEADERS[source])
    outcome = accept(
        Delivery(channel=CARRIER_CHANNEL, body=body, content_type="application/json", route=source),
        verified,
        queue,
        lambda _channel, raw, content_type, **_: envelope_json(
            source, raw, topic=topic, webhook_id=webhook_id, shop=shop, content_type=content_type
        ),
    )
    logger.info(
        "commerce delivery",
        extra={"source": source, "topic": topic, "status": outcome.status, "reference": outcome.reference},
    )
    return json_response(outcome.status, {"message": outcome.message, "reference": outcome.reference})
