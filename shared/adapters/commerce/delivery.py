"""A queued commerce delivery (what functions/commerce_webhook enqueued) -> one commerce event."""

from __future__ import annotations

from shared.adapters.channels.errors import ChannelPayloadError, envelope_json
from shared.adapters.commerce import shopify, woocommerce
from shared.adapters.commerce.common import CommercePayloadError
from shared.domain.commerce import CommerceEvent
from shared.domain.inbound import InboundEnvelope


def source_of(envelope: InboundEnvelope) -> str | None:
    """``"shopify"`` / ``"woocommerce"`` for commerce deliveries, else None (a channel message)."""
    source = envelope.payload.get("source")
    return source if source in ("shopify", "woocommerce") else None


def parse_envelope(envelope: InboundEnvelope) -> CommerceEvent:
    payload = envelope.payload
    source = source_of(envelope)
    topic = payload.get("topic")
    if source is None or not isinstance(topic, str) or not topic:
        raise CommercePayloadError("commerce delivery without a source or topic")
    webhook_id = payload.get("webhook_id")
    webhook_id = str(webhook_id) if webhook_id not in (None, "") else None
    try:
        body = envelope_json(payload, source)
    except ChannelPayloadError as exc:
        raise CommercePayloadError(str(exc)) from exc
    if source == "shopify":
        return shopify.parse(body, topic, webhook_id)
    return woocommerce.parse(body, topic, webhook_id, envelope.received_at)
