"""Turn one queued record into domain events and record each (the processor's use case).

The inbound queue carries three shapes: our webhooks' ``InboundEnvelope``; SNS notifications
(SES inbound email, through the topic's SQS subscription); EventBridge events (Amazon Connect).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.adapters.channels import connect, meta, portal, twilio, web_form
from shared.adapters.channels.errors import ChannelPayloadError
from shared.adapters.commerce.delivery import source_of as commerce_source_of
from shared.domain.common import Channel
from shared.domain.inbound import InboundEnvelope, InboundEvent
from shared.domain.intake import Playbook
from shared.ports import Clock, OrderLookup, Repository
from shared.services import commerce_sync
from shared.services.channel_events import record_event
from shared.services.ingest import IngestResult

Parser = Callable[[InboundEnvelope, str], list[InboundEvent]]


def _web_form(envelope: InboundEnvelope, fallback: str) -> list[InboundEvent]:
    return list(web_form.to_inbound_messages(envelope, fallback))


def _portal(envelope: InboundEnvelope, fallback: str) -> list[InboundEvent]:
    return list(portal.to_inbound_messages(envelope, fallback))


PARSERS: dict[Channel, Parser] = {
    Channel.web_form: _web_form,
    Channel.portal: _portal,
    Channel.whatsapp: meta.parse,
    Channel.messenger: meta.parse,
    Channel.instagram: meta.parse,
    Channel.sms: twilio.parse,
    Channel.phone: twilio.parse,
}


def _phone(envelope: InboundEnvelope, fallback: str) -> list[InboundEvent]:
    """Twilio voice callbacks come through our webhook; Amazon Connect through EventBridge."""
    if "eventbridge" in envelope.payload:
        return connect.parse(envelope, fallback)
    return twilio.parse(envelope, fallback)


PARSERS[Channel.phone] = _phone


def parsers_with(email_parser: Parser) -> dict[Channel, Parser]:
    """Every channel's parser; email needs I/O (S3), so the processor binds it at wiring time."""
    return {**PARSERS, Channel.email: email_parser}


class UnsupportedRecord(ChannelPayloadError):
    pass


def decode_record(body: str, clock: Clock) -> InboundEnvelope:
    """Our envelope, or an SNS notification / EventBridge event wrapped in one."""
    try:
        data: Any = json.loads(body)
    except ValueError as exc:
        raise UnsupportedRecord("the queue message is not JSON") from exc
    if not isinstance(data, dict):
        raise UnsupportedRecord("the queue message is not a JSON object")
    if data.get("Type") == "Notification" and "TopicArn" in data:
        return InboundEnvelope(
            channel=Channel.email,
            received_at=_when(data.get("Timestamp"), clock),
            reference=str(data.get("MessageId", "")),
            payload={"sns": data},
        )
    if data.get("source") == "aws.connect":
        return InboundEnvelope(
            channel=Channel.phone,
            received_at=_when(data.get("time"), clock),
            reference=str(data.get("id", "")),
            payload={"eventbridge": data},
        )
    return InboundEnvelope.model_validate(data)


def record_ids(body: str, channel_attribute: str | None = None) -> dict[str, str]:
    """What the logs may say about a queued record: its channel and our reference, never content.

    Never raises: it describes records that failed, including those that are not JSON.
    """
    ids = {"channel": channel_attribute or "unknown"}
    try:
        data: Any = json.loads(body)
    except ValueError:
        return ids
    if not isinstance(data, dict):
        return ids
    if data.get("Type") == "Notification" and "TopicArn" in data:
        return {"channel": Channel.email.value, "reference": str(data.get("MessageId", ""))[:100]}
    if data.get("source") == "aws.connect":
        return {"channel": Channel.phone.value, "reference": str(data.get("id", ""))[:100]}
    channel, reference = data.get("channel"), data.get("reference")
    if isinstance(channel, str) and channel_attribute is None:
        ids["channel"] = channel[:40]
    if isinstance(reference, str):
        ids["reference"] = reference[:100]
    return ids


def _when(value: Any, clock: Clock) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            pass
    return clock.now()


def events_of(
    envelope: InboundEnvelope, queue_message_id: str, parsers: dict[Channel, Parser]
) -> list[InboundEvent]:
    """``queue_message_id`` is the dedup key of last resort (a delivery without a provider id)."""
    parser = parsers.get(envelope.channel)
    if parser is None:
        raise UnsupportedRecord(f"no parser for channel {envelope.channel.value}")
    return parser(envelope, f"{envelope.channel.value}:sqs:{queue_message_id}")


def process_envelope(
    repo: Repository,
    clock: Clock,
    envelope: InboundEnvelope,
    queue_message_id: str,
    *,
    parsers: dict[Channel, Parser] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    playbook: Playbook | None = None,
    orders: OrderLookup | None = None,
) -> list[IngestResult]:
    """``playbook``: the team's rules for new tickets (None: the defaults); ``orders``: where a
    new ticket's order is looked up, whose state the qualification rules may test."""
    # Commerce (issue 6): Shopify/WooCommerce deliveries are orders and carts, not messages.
    if commerce_source_of(envelope) is not None:
        return commerce_sync.process_envelope(repo, clock, envelope, sleep=sleep)
    events = events_of(envelope, queue_message_id, parsers or PARSERS)
    return [record_event(repo, clock, event, sleep, playbook, orders=orders) for event in events]
