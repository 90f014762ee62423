"""A customer's message from the customer space: enqueue it like every other channel."""

from __future__ import annotations

from shared.adapters.channels.portal import PortalAuthor, PortalMessageIn
from shared.domain.common import Channel
from shared.domain.ids import new_id, stable_id
from shared.domain.inbound import InboundEnvelope
from shared.ports import Clock, InboundQueue


def submit(author: PortalAuthor, message: PortalMessageIn, queue: InboundQueue, clock: Clock) -> str:
    """The reference is stable for a repeated ``client_submission_id`` (retries change nothing)."""
    if message.client_submission_id:
        dedup_key: str | None = f"portal:{author.subject}:{message.client_submission_id}"
        reference = stable_id("P", author.subject, message.client_submission_id)[:13]
    else:
        dedup_key, reference = None, new_id("P")[:13]
    queue.send(
        InboundEnvelope(
            channel=Channel.portal,
            received_at=clock.now(),
            reference=reference,
            dedup_key=dedup_key,
            payload={
                "author": author.model_dump(mode="json", exclude_none=True),
                "message": message.model_dump(mode="json", exclude_none=True),
            },
        )
    )
    return reference
