"""The customer space API (/api/portal/*), behind the customer-pool JWT authorizer."""

from __future__ import annotations

import json
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from pydantic import BaseModel

from shared.adapters.aws.sqs import SqsInboundQueue
from shared.adapters.channels.portal import PortalAuthor, PortalMessageIn
from shared.adapters.clock import SystemClock
from shared.services import portal
from shared.settings import PortalSettings, load

logger = Logger()
app = APIGatewayHttpResolver(enable_validation=True)
_wired: tuple[SqsInboundQueue, SystemClock] | None = None


def _wire() -> tuple[SqsInboundQueue, SystemClock]:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        settings = load(PortalSettings)
        _wired = (SqsInboundQueue(boto3.client("sqs"), settings.inbound_queue_url), SystemClock())
    return _wired


class Accepted(BaseModel):
    reference: str
    status: str = "accepted"


def _author() -> PortalAuthor:
    claims = app.current_event.request_context.authorizer.jwt_claim or {}
    return PortalAuthor(
        subject=str(claims.get("sub", "")), email=claims.get("email"), name=claims.get("name")
    )


@app.post("/api/portal/messages")
def post_message(message: PortalMessageIn) -> Response[str]:
    queue, clock = _wire()
    reference = portal.submit(_author(), message, queue, clock)
    logger.info("portal message accepted", extra={"reference": reference})
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=Accepted(reference=reference).model_dump_json(),
    )


@app.exception_handler(ValueError)
def _invalid(error: ValueError) -> Response[str]:
    return Response(400, content_types.APPLICATION_JSON, json.dumps({"message": str(error)}))


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
