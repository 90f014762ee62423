"""Accept a contact form submission: enqueue it and give the visitor a reference."""

from __future__ import annotations

from dataclasses import dataclass

from shared.adapters.channels.web_form import ContactForm
from shared.domain.common import Channel
from shared.domain.ids import new_id, stable_id
from shared.domain.inbound import InboundEnvelope
from shared.ports import Clock, InboundQueue


@dataclass(frozen=True)
class Receipt:
    reference: str
    enqueued: bool


def submit(form: ContactForm, queue: InboundQueue, clock: Clock) -> Receipt:
    """A resubmission with the same ``client_submission_id`` gets the same reference, and the
    processor's idempotency record makes it change nothing. A filled honeypot is answered
    like any submission (bots learn nothing) but never enqueued.
    """
    if form.client_submission_id:
        reference = stable_id("F", form.client_submission_id)[:13]
        dedup_key: str | None = f"web_form:{form.client_submission_id}"
    else:
        reference = new_id("F")[:13]
        dedup_key = None
    if form.is_spam:
        return Receipt(reference=reference, enqueued=False)
    envelope = InboundEnvelope(
        channel=Channel.web_form,
        received_at=clock.now(),
        reference=reference,
        dedup_key=dedup_key,
        payload=form.model_dump(mode="json", exclude={"website"}, exclude_none=True),
    )
    queue.send(envelope)
    return Receipt(reference=reference, enqueued=True)
