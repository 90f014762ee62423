"""POST /webhooks/form: validate the contact form, enqueue it, answer 202 with a reference."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger
from pydantic import ValidationError

from shared.adapters.aws.sqs import SqsInboundQueue
from shared.adapters.channels.web_form import MAX_BODY_BYTES, ContactForm
from shared.adapters.clock import SystemClock
from shared.adapters.http import BadRequest, error_response, json_response, parse_fields, validation_errors
from shared.services import contact_form
from shared.settings import FormWebhookSettings, load

logger = Logger()
_wired: tuple[SqsInboundQueue, SystemClock] | None = None


def _wire() -> tuple[SqsInboundQueue, SystemClock]:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        settings = load(FormWebhookSettings)
        _wired = (SqsInboundQueue(boto3.client("sqs"), settings.inbound_queue_url), SystemClock())
    return _wired


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        fields = parse_fields(event, MAX_BODY_BYTES)
        try:
            form = ContactForm.model_validate(fields)
        except ValidationError as exc:
            raise BadRequest(400, "the contact form has invalid fields", validation_errors(exc)) from exc
    except BadRequest as error:
        logger.info(
            "form rejected", extra={"status": error.status, "fields": [e["field"] for e in error.errors]}
        )
        return error_response(error)
    queue, clock = _wire()
    receipt = contact_form.submit(form, queue, clock)
    logger.info("form accepted", extra={"reference": receipt.reference, "enqueued": receipt.enqueued})
    return json_response(202, {"reference": receipt.reference, "status": "accepted"})
