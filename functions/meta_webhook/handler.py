"""GET/POST /webhooks/{whatsapp,messenger,instagram}: Meta's handshake and signed deliveries.

Verify ``X-Hub-Signature-256`` over the raw body, enqueue it once, answer 200. Meta batches
many messages in one POST; the processor splits them.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from shared.adapters.channels.meta_verify import HandshakeOutcome, verify_handshake, verify_meta_signature
from shared.adapters.http import BadRequest, error_response, header, json_response, raw_body
from shared.adapters.webhook import LazySecrets, LazySqs, envelope_json
from shared.services.webhook_intake import Delivery, accept
from shared.settings_light import env

logger = Logger()
MAX_BODY_BYTES = 3 * 1024 * 1024  # Meta's documented payload limit
CHANNELS = {
    "/webhooks/whatsapp": "whatsapp",
    "/webhooks/messenger": "messenger",
    "/webhooks/instagram": "instagram",
}
_wired: tuple[LazySecrets, LazySqs] | None = None


def _wire() -> tuple[LazySecrets, LazySqs]:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        _wired = (
            LazySecrets(env("WEBHOOK_SECRETS_ARN")),
            LazySqs(env("INBOUND_QUEUE_URL"), env("PAYLOADS_BUCKET")),
        )
    return _wired


def _handshake(event: dict[str, Any], secrets: LazySecrets) -> dict[str, Any]:
    result = verify_handshake(event.get("queryStringParameters") or {}, secrets.get("meta_verify_token"))
    if result.outcome is HandshakeOutcome.accepted:
        # Meta expects the raw challenge back as the body, nothing else.
        return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": result.challenge}
    status = 403 if result.outcome is HandshakeOutcome.forbidden else 400
    return json_response(status, {"message": result.reason})


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    channel = CHANNELS[event["rawPath"]]
    secrets, queue = _wire()
    if event["requestContext"]["http"]["method"] == "GET":
        return _handshake(event, secrets)
    body = raw_body(event)
    if len(body) > MAX_BODY_BYTES:
        return error_response(BadRequest(413, "the body is larger than 3 MB"))
    verified = verify_meta_signature(
        body, header(event, "x-hub-signature-256"), secrets.get("meta_app_secret")
    )
    if verified:
        try:
            parsed = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return error_response(BadRequest(400, "the body is not valid JSON"))
        if not isinstance(parsed, dict) or not isinstance(parsed.get("entry"), list):
            return error_response(BadRequest(400, "a Meta webhook body is an object with an entry list"))
    outcome = accept(
        Delivery(channel=channel, body=body, content_type="application/json"), verified, queue, envelope_json
    )
    logger.info(
        "meta delivery", extra={"channel": channel, "status": outcome.status, "reference": outcome.reference}
    )
    return json_response(outcome.status, {"message": outcome.message, "reference": outcome.reference})
