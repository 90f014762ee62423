"""Provider webhooks: verify the sender's signature over the raw bytes, enqueue, acknowledge.

Nothing else happens in the webhook (one SQS call per delivery, plus an S3 put for a body over
the queue's message limit: shared/adapters/aws/claim_check.py); the processor parses. This
module stays free of the pydantic domain so webhook functions start fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class RawQueue(Protocol):
    def send(self, body: str, channel: str) -> str: ...


class SecretSource(Protocol):
    def get(self, key: str) -> str: ...


@dataclass(frozen=True)
class Delivery:
    channel: str
    body: bytes
    content_type: str
    route: str | None = None
    params: dict[str, str] | None = None


@dataclass(frozen=True)
class Outcome:
    status: int
    message: str
    reference: str | None = None


def accept(
    delivery: Delivery,
    verified: bool,
    queue: RawQueue,
    envelope: Callable[..., tuple[str, str]],
) -> Outcome:
    """401 and nothing stored when the signature does not verify; else one enqueue."""
    if not verified:
        return Outcome(401, "the signature is missing or does not match")
    reference, body = envelope(
        delivery.channel, delivery.body, delivery.content_type, params=delivery.params, route=delivery.route
    )
    queue.send(body, delivery.channel)
    return Outcome(200, "received", reference)
