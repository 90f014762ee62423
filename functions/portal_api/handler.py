"""The customer space API (/api/portal/*), behind the customer-pool JWT authorizer."""

from __future__ import annotations

import json
from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, Field

from shared.adapters import api_errors
from shared.adapters.auth import Forbidden, customer_from_event
from shared.adapters.aws.sqs import SqsInboundQueue
from shared.adapters.channels.portal import PortalAuthor, PortalMessageIn
from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.errors import Conflict, NotFound
from shared.domain.message import Message
from shared.domain.ticket import TicketRating, TicketSummary
from shared.services import customers, portal, rating
from shared.services.identity_resolution import signed_in_customer
from shared.settings import PortalSettings, load

logger = Logger()
app = APIGatewayHttpResolver(enable_validation=True)
_wired: tuple[SqsInboundQueue, SystemClock, DynamoRepository] | None = None


def _wire() -> tuple[SqsInboundQueue, SystemClock, DynamoRepository]:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        settings = load(PortalSettings)
        repo = DynamoRepository(boto3.resource("dynamodb").Table(settings.table_name))
        _wired = (SqsInboundQueue(boto3.client("sqs"), settings.inbound_queue_url), SystemClock(), repo)
    return _wired


class Accepted(BaseModel):
    reference: str
    status: str = "accepted"


def _author() -> PortalAuthor:
    return customer_from_event(app.current_event.raw_event)


def _customer_id(repo: DynamoRepository) -> str | None:
    """The profile this sign-in opens (its sub, or its verified email or phone, held as proven)."""
    customer = signed_in_customer(repo, _author().sign_in())
    return customer.id if customer is not None else None


@app.post("/api/portal/messages")
def post_message(message: PortalMessageIn) -> Response[str]:
    queue, clock, _ = _wire()
    reference = portal.submit(_author(), message, queue, clock)
    logger.info("portal message accepted", extra={"reference": reference})
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=Accepted(reference=reference).model_dump_json(),
    )


class MyTickets(BaseModel):
    items: list[TicketSummary]
    next_cursor: str | None


class MyTicket(BaseModel):
    ticket: TicketSummary
    messages: list[Message]


@app.get("/api/portal/tickets")
def my_tickets(cursor: Annotated[str | None, Query(max_length=4096)] = None) -> MyTickets:
    """The signed-in customer's own tickets, newest first (nobody else's)."""
    _, _, repo = _wire()
    customer_id = _customer_id(repo)
    if customer_id is None:
        return MyTickets(items=[], next_cursor=None)
    page = repo.list_tickets(limit=25, cursor=cursor, view="customer", who=customer_id)
    return MyTickets(items=page.items, next_cursor=page.next_cursor)


@app.get("/api/portal/tickets/<ticket_id>")
def my_ticket(ticket_id: str) -> MyTicket:
    """One of the customer's tickets with the exchanges they may see (no notes, no third parties)."""
    _, _, repo = _wire()
    customer_id = _customer_id(repo)
    if customer_id is None:
        raise NotFound("ticket", ticket_id)
    ticket, messages = customers.own_ticket(repo, customer_id, ticket_id, limit=100)
    summary = TicketSummary.model_validate(ticket.model_dump(include=set(TicketSummary.model_fields)))
    return MyTicket(ticket=summary, messages=messages)


class RatingIn(BaseModel):
    score: int = Field(ge=1, le=5, description="1 (very dissatisfied) to 5 (very satisfied)")
    comment: str | None = Field(default=None, max_length=1000)


@app.post("/api/portal/tickets/<ticket_id>/rating")
def rate_my_ticket(ticket_id: str, body: RatingIn) -> TicketRating:
    """Rate one of your solved tickets (once): it counts in the team's satisfaction (CSAT)."""
    _, clock, repo = _wire()
    customer_id = _customer_id(repo)
    if customer_id is None:
        raise NotFound("ticket", ticket_id)
    return rating.rate_ticket(repo, clock, customer_id, ticket_id, score=body.score, comment=body.comment)


@app.exception_handler(ValueError)
def _invalid(error: ValueError) -> Response[str]:
    return Response(400, content_types.APPLICATION_JSON, json.dumps({"message": str(error)}))


@app.exception_handler(Forbidden)
def _forbidden(error: Forbidden) -> Response[str]:
    return Response(403, content_types.APPLICATION_JSON, json.dumps({"message": str(error)}))


@app.exception_handler(RequestValidationError)
def _validation(exc: RequestValidationError) -> Response[str]:
    return api_errors.validation_error(exc)


api_errors.answer_domain_errors(app, NotFound, Conflict)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return api_errors.refuse_non_json(event) or app.resolve(event, context)
