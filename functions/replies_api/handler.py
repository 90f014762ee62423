"""Replies on the customer's channel and canned responses (/api/*, staff JWT).

* ``POST /api/tickets/{ticket_id}/replies``: send on the chosen channel (default: the customer's
  last inbound one) through SES, Twilio, the WhatsApp Cloud API or the Meta Send API;
* ``GET /api/canned``: the canned responses (agents);
* ``POST /api/tickets/{ticket_id}/canned/{canned_id}/preview``: one rendered for a ticket;
* ``GET/PUT/DELETE /api/admin/canned/{canned_id}``: admins keep them.

A function of its own so that it alone holds the providers' credentials and SES sending
(least privilege: agent_api reads and writes tickets, it cannot message anyone). Message
bodies and addresses are never logged: only ids, channels and outcomes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import Example
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import BaseModel

from shared.adapters import api_errors
from shared.adapters.auth import STAFF_ROLES, Forbidden, caller_from_event
from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb.config_store import DynamoConfigStore
from shared.adapters.dynamodb.orders import OrderRepository
from shared.adapters.dynamodb.outbound_store import OutboundStore
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.adapters.outbound import OutboundChannel, build_channels
from shared.domain.canned import CannedPreview, CannedResponse
from shared.domain.common import Channel
from shared.domain.errors import Conflict, InvalidCursor, InvalidInput, NotFound
from shared.domain.message import Message
from shared.domain.outbound_rules import LengthCheck, SmsEncoding
from shared.domain.replies import ReplyRefused
from shared.services import canned_responses, team_config
from shared.services.replies import Author, ReplyDraft, ReplyNotSent, send_reply
from shared.settings import RepliesSettings, load

logger = Logger()
app = APIGatewayHttpResolver(enable_validation=True)
ADMIN = frozenset({"admin"})
CHANNELS_TTL_S = 300  # credentials re-read at most every 5 minutes: a rotation needs no deploy


@dataclass
class _Wiring:
    settings: RepliesSettings
    reader: DynamoRepository
    orders: OrderRepository
    store: OutboundStore
    channels: dict[Channel, OutboundChannel] | None = None
    channels_at: float = 0.0
    config: team_config.CachedConfig | None = None  # the stored business calendar, 60 s cache


_wired: _Wiring | None = None


def _wire() -> _Wiring:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        settings = load(RepliesSettings)
        table = boto3.resource("dynamodb").Table(settings.table_name)
        _wired = _Wiring(settings, DynamoRepository(table), OrderRepository(table), OutboundStore(table))
    return _wired


def _channels(wiring: _Wiring) -> dict[Channel, OutboundChannel]:
    """The provider clients, built on the first reply (canned reads need no credentials)."""
    now = time.monotonic()
    if wiring.channels is None or now - wiring.channels_at > CHANNELS_TTL_S:
        settings = wiring.settings
        raw = boto3.client("secretsmanager").get_secret_value(SecretId=settings.provider_secrets_id)
        values = {k: str(v) for k, v in json.loads(raw["SecretString"]).items() if v}
        ses = boto3.client("sesv2") if settings.email_from else None
        wiring.channels = build_channels(settings.outbound(), values.get, ses_client=ses)
        wiring.channels_at = now
    return wiring.channels


def _config(wiring: _Wiring) -> team_config.CachedConfig:
    if wiring.config is None:
        store = DynamoConfigStore(boto3.resource("dynamodb").Table(wiring.settings.table_name))
        wiring.config = team_config.CachedConfig(lambda: team_config.load(store))
    return wiring.config


def _author(allowed: frozenset[str] = STAFF_ROLES) -> Author:
    caller = caller_from_event(app.current_event.raw_event)
    caller.require_any(allowed)
    return Author(id=caller.subject or caller.email or "unknown")


# ------------------------------------------------------------------ replies
class ReplySent(BaseModel):
    """The reply as recorded, and what the channel rules said about it."""

    message: Message
    channel: Channel
    segments: int | None = None  # SMS: the provider's count (else ours)
    encoding: SmsEncoding | None = None
    tag: str | None = None  # HUMAN_AGENT outside Meta's 24-hour window
    window_closes_at: datetime | None = None


REPLY_EXAMPLES = {
    "text": Example(
        summary="A reply on the customer's last channel", value={"text": "Bonjour, c'est réglé."}
    ),
    "canned": Example(
        summary="A canned response, rendered for the channel; the ticket then waits on the customer",
        value={"canned_id": "bienvenue", "status": "pending_customer"},
    ),
}


@app.post("/api/tickets/<ticket_id>/replies")
def post_reply(
    ticket_id: str, body: Annotated[ReplyDraft, Body(openapi_examples=REPLY_EXAMPLES)]
) -> Response[str]:
    """Send a reply on the customer's channel: 201 sent, 409 refused by the channel's rules
    (with what to do instead), 502 refused by the provider, 503 provider unreachable."""
    author = _author()
    wiring = _wire()
    outcome = send_reply(
        reader=wiring.reader,
        orders=wiring.orders,
        store=wiring.store,
        channels=_channels(wiring),
        clock=SystemClock(),
        ticket_id=ticket_id,
        draft=body,
        author=author,
        calendar=_config(wiring).current().sla.calendar,  # a paused clock resumes in business time
    )
    decision = outcome.decision
    logger.info(
        "reply sent",
        extra={
            "ticket_id": ticket_id,
            "message_id": outcome.message.id,
            "channel": decision.channel.value,
            "status": outcome.message.delivery_status.value,
            "segments": outcome.segments,
        },
    )
    sent = ReplySent(
        message=outcome.message,
        channel=decision.channel,
        segments=outcome.segments,
        encoding=decision.encoding,
        tag=decision.tag.value if decision.tag else None,
        window_closes_at=decision.window_closes_at,
    )
    return Response(201, content_types.APPLICATION_JSON, sent.model_dump_json())


# ------------------------------------------------------------------ canned responses
class CannedList(BaseModel):
    items: list[CannedResponse]
    next_cursor: str | None


class PreviewIn(BaseModel):
    channel: Channel | None = None  # default: the channel a reply would use


class PreviewOut(BaseModel):
    preview: CannedPreview
    length: LengthCheck
    ready: bool  # every variable has a value and the text fits the channel


@app.get("/api/canned")
def list_canned(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> CannedList:
    _author()
    page = canned_responses.list_canned(_wire().store, limit, cursor)
    return CannedList(items=page.items, next_cursor=page.next_cursor)


@app.post("/api/tickets/<ticket_id>/canned/<canned_id>/preview")
def preview_canned(ticket_id: str, canned_id: str, body: PreviewIn) -> PreviewOut:
    author = _author()
    wiring = _wire()
    rendered = canned_responses.preview_on_ticket(
        reader=wiring.reader,
        orders=wiring.orders,
        store=wiring.store,
        ticket_id=ticket_id,
        canned_id=canned_id,
        channel=body.channel,
        agent_id=author.id,
    )
    return PreviewOut(preview=rendered, length=rendered.length, ready=rendered.ready)


@app.get("/api/admin/canned/<canned_id>")
def get_canned(canned_id: str) -> CannedResponse:
    _author(ADMIN)
    return canned_responses.get(_wire().store, canned_id)


@app.put("/api/admin/canned/<canned_id>")
def put_canned(canned_id: str, body: CannedResponse) -> CannedResponse:
    """Create or replace; templates naming unknown variables are refused (422)."""
    author = _author(ADMIN)
    saved = canned_responses.save(_wire().store, canned_id, body, by=f"agent:{author.id}")
    logger.info("canned response saved", extra={"canned_id": canned_id})
    return saved


@app.delete("/api/admin/canned/<canned_id>")
def delete_canned(canned_id: str) -> Response[str]:
    _author(ADMIN)
    canned_responses.delete(_wire().store, canned_id)
    logger.info("canned response deleted", extra={"canned_id": canned_id})
    return Response(204, content_types.APPLICATION_JSON, "")


# ------------------------------------------------------------------ errors
def _error(status: int, message: str, **extra: Any) -> Response[str]:
    body = {"message": message, **{k: v for k, v in extra.items() if v is not None}}
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body))


@app.exception_handler(ReplyRefused)
def _refused(error: ReplyRefused) -> Response[str]:
    logger.info("reply refused", extra={"code": error.code})
    return _error(409, error.reason, code=error.code)


@app.exception_handler(ReplyNotSent)
def _not_sent(error: ReplyNotSent) -> Response[str]:
    failure = error.failure
    logger.warning(
        "reply not sent",
        extra={
            "message_id": error.message.id,
            "provider": failure.provider,
            "provider_code": failure.provider_code,
            "http_status": failure.http_status,
            "may_have_been_sent": failure.may_have_been_sent,
        },
    )
    response = _error(
        failure.http_status,
        failure.reason,
        code="provider_rejected" if failure.http_status == 502 else "provider_unavailable",
        message_id=error.message.id,
        provider=failure.provider,
        provider_code=failure.provider_code,
        may_have_been_sent=failure.may_have_been_sent,
        retry_after=failure.retry_after,
    )
    if failure.retry_after:
        response.headers["Retry-After"] = str(max(1, round(failure.retry_after)))
    return response


@app.exception_handler(RequestValidationError)
def _invalid_request(error: RequestValidationError) -> Response[str]:
    """Each problem with where it is and what is wrong (an admin fixing a template needs the
    variable's name; the default answer only says "value_error")."""
    problems = [
        {
            "field": ".".join(str(part) for part in problem.get("loc", ()) if part != "body") or "body",
            "message": str(problem.get("msg", problem.get("type", "invalid"))).removeprefix("Value error, "),
        }
        for problem in error.errors()
    ]
    return _error(
        422,
        "invalid request: " + "; ".join(f"{p['field']}: {p['message']}" for p in problems),
        errors=problems,
    )


@app.exception_handler(InvalidInput)
def _invalid(error: InvalidInput) -> Response[str]:
    return _error(422, "invalid input", errors=error.errors)


api_errors.answer_domain_errors(app, NotFound, InvalidCursor, Conflict, Forbidden)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return api_errors.answer_staff_api(app, event, context)
