"""POST /webhooks/twilio/{sms,status,voice}: Twilio's signed form posts, enqueued once.

Twilio signs the public URL it was configured with (PUBLIC_BASE_URL + path + query) plus the
sorted form parameters; it expects TwiML back, and an empty <Response/> means "nothing to say".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools import Logger

from shared.adapters.channels.twilio_verify import verify_twilio_signature
from shared.adapters.http import BadRequest, error_response, header, media_type, raw_body
from shared.adapters.webhook import LazySecrets, LazySqs, envelope_json
from shared.services.webhook_intake import Delivery, accept
from shared.settings_light import env

logger = Logger()
MAX_BODY_BYTES = 256 * 1024
# route -> (channel of the envelope, what the processor parses it as)
ROUTES = {
    "/webhooks/twilio/sms": "sms",
    "/webhooks/twilio/status": "sms",
    "/webhooks/twilio/voice": "phone",
}
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
_wired: tuple[LazySecrets, LazySqs, str] | None = None


def _wire() -> tuple[LazySecrets, LazySqs, str]:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        base = env("PUBLIC_BASE_URL").rstrip("/")
        _wired = (
            LazySecrets(env("WEBHOOK_SECRETS_ARN")),
            LazySqs(env("INBOUND_QUEUE_URL"), env("PAYLOADS_BUCKET")),
            base,
        )
    return _wired


def _signed_url(base: str, event: dict[str, Any]) -> str:
    query = event.get("rawQueryString") or ""
    return f"{base}{event['rawPath']}" + (f"?{query}" if query else "")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    path = event["rawPath"]
    secrets, queue, base = _wire()
    body = raw_body(event)
    if len(body) > MAX_BODY_BYTES:
        return error_response(BadRequest(413, "the body is larger than 256 KB"))
    if media_type(event) != "application/x-www-form-urlencoded":
        return error_response(BadRequest(415, "Twilio posts application/x-www-form-urlencoded"))
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        return error_response(BadRequest(400, "the form body is malformed"))
    params: dict[str, list[str]] = {}
    for name, value in pairs:
        params.setdefault(name, []).append(value)
    verified = verify_twilio_signature(
        _signed_url(base, event),
        params,
        header(event, "x-twilio-signature"),
        secrets.get("twilio_auth_token"),
    )
    route = path.rsplit("/", 1)[1]
    outcome = accept(
        Delivery(
            channel=ROUTES[path],
            body=body,
            content_type="application/x-www-form-urlencoded",
            route=route,
            params={name: values[-1] for name, values in params.items()},
        ),
        verified,
        queue,
        envelope_json,
    )
    logger.info(
        "twilio delivery", extra={"route": route, "status": outcome.status, "reference": outcome.reference}
    )
    if outcome.status != 200:
        return error_response(BadRequest(outcome.status, outcome.message))
    return {"statusCode": 200, "headers": {"content-type": "text/xml"}, "body": EMPTY_TWIML}
