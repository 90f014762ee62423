"""The processor's first stage for batched deliveries: one queue record per event (fan-out).

A Meta delivery holding many events is split (shared/adapters/channels/meta_split.py) and its
pieces go back on the inbound queue, ten per SendMessageBatch; each piece is then processed,
retried or dead-lettered alone, and many consumers share the work. A delivery of one event (the
usual case) is processed at once, with no extra hop.

The stage is bounded by the invocation's time: before each batch it checks what is left, and
when that runs short it enqueues everything not yet sent as one delivery (a continuation), which
a later invocation splits further. Sending a piece twice (a crash after some batches) is
harmless: each event carries its provider id and is recorded once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shared.adapters.channels import meta_split
from shared.adapters.channels.errors import ChannelPayloadError, envelope_json
from shared.domain.common import Channel
from shared.domain.inbound import InboundEnvelope

META_CHANNELS = (Channel.whatsapp, Channel.messenger, Channel.instagram)
PIECES_PER_CALL = 10  # SendMessageBatch's limit
# Stop sending batches with less than this left: one more call (the continuation) must fit.
SEND_RESERVE_S = 2.0
# The processor starts no record with less than this left of its invocation (timeout 10 s; a
# message takes well under a second): the record goes back on the queue instead.
RECORD_RESERVE_S = 3.0


class RecordQueue(Protocol):
    def send_all(self, messages: Sequence[tuple[str, str]]) -> None:
        """(body, channel) pairs onto the inbound queue; raises if some could not be sent."""
        ...


@dataclass(frozen=True)
class FanOut:
    pieces: int  # events in the delivery
    enqueued: int  # pieces sent one by one
    continued: int  # pieces sent back as one continuation delivery (time ran short)


def pieces_of(envelope: InboundEnvelope) -> list[dict[str, Any]]:
    """The delivery's single-event bodies when it holds more than one event, else []."""
    if envelope.channel not in META_CHANNELS or "part_of" in envelope.payload:
        return []
    try:
        body = envelope_json(envelope.payload, envelope.channel.value)
    except ChannelPayloadError:
        return []  # the parser reports it
    pieces = meta_split.split(body)
    return pieces if len(pieces) > 1 else []


def fan_out(
    envelope: InboundEnvelope,
    pieces: list[dict[str, Any]],
    queue: RecordQueue,
    seconds_left: Callable[[], float],
) -> FanOut:
    """Enqueue ``pieces`` (from :func:`pieces_of`) as their own records, within the time left."""
    offset = int(envelope.payload.get("part_offset", 0))
    channel = envelope.channel.value
    sent = 0
    while sent < len(pieces):
        if seconds_left() < SEND_RESERVE_S:
            rest = _continuation(envelope, meta_split.join(pieces[sent:]), offset + sent)
            queue.send_all([(rest, channel)])
            return FanOut(len(pieces), sent, len(pieces) - sent)
        chunk = pieces[sent : sent + PIECES_PER_CALL]
        queue.send_all([(_piece(envelope, p, offset + sent + i), channel) for i, p in enumerate(chunk)])
        sent += len(chunk)
    return FanOut(len(pieces), sent, 0)


def _piece(parent: InboundEnvelope, body: dict[str, Any], index: int) -> str:
    return _envelope(parent, body, f"{parent.reference}-{index}", {"part_of": parent.reference})


def _continuation(parent: InboundEnvelope, body: dict[str, Any], offset: int) -> str:
    return _envelope(parent, body, parent.reference, {"part_offset": offset})


def _envelope(parent: InboundEnvelope, body: dict[str, Any], reference: str, extra: dict[str, Any]) -> str:
    payload = {
        "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        "body_encoding": "utf-8",
        "content_type": "application/json",
        **extra,
    }
    envelope = parent.model_copy(update={"reference": reference, "dedup_key": None, "payload": payload})
    return envelope.model_dump_json()
