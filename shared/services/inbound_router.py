"""Turn one queued envelope into domain messages and record each (the processor's use case)."""

from __future__ import annotations

from collections.abc import Callable

from shared.adapters.channels import web_form
from shared.domain.common import Channel
from shared.domain.inbound import InboundEnvelope, InboundMessage
from shared.ports import Clock, Repository
from shared.services.ingest import IngestResult, record_message

Parser = Callable[[InboundEnvelope, str], list[InboundMessage]]

PARSERS: dict[Channel, Parser] = {
    Channel.web_form: web_form.to_inbound_messages,
}


class UnsupportedChannel(ValueError):
    pass


def process_envelope(
    repo: Repository, clock: Clock, envelope: InboundEnvelope, queue_message_id: str
) -> list[IngestResult]:
    """``queue_message_id`` is the dedup key of last resort (a delivery without a provider id)."""
    parser = PARSERS.get(envelope.channel)
    if parser is None:
        raise UnsupportedChannel(f"no parser for channel {envelope.channel.value}")
    messages = parser(envelope, f"{envelope.channel.value}:sqs:{queue_message_id}")
    return [record_message(repo, clock, message) for message in messages]
