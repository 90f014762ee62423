"""The agent workspace API (/api/*), behind the staff JWT authorizer."""

from __future__ import annotations

import json
from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from shared.adapters.auth import STAFF_ROLES, Forbidden, caller_from_event
from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.customer import Customer
from shared.domain.errors import Conflict, InvalidCursor, NotFound
from shared.domain.message import Message
from shared.domain.ticket import Ticket, TicketSummary
from shared.domain.timeline import TimelineEntry
from shared.services import customers, merges, tickets
from shared.settings import ApiSettings, load

logger = Logger()
app = APIGatewayHttpResolver(enable_validation=True)
_repo: DynamoRepository | None = None


def _repository() -> DynamoRepository:
    global _repo  # noqa: PLW0603 (one wiring per cold start)
    if _repo is None:
        settings = load(ApiSettings)
        _repo = DynamoRepository(boto3.resource("dynamodb").Table(settings.table_name))
    return _repo


class TicketList(BaseModel):
    items: list[TicketSummary]
    next_cursor: str | None


class TicketDetail(BaseModel):
    ticket: Ticket
    messages: list[Message]
    next_cursor: str | None


class CustomerView(BaseModel):
    customer: Customer
    timeline: list[TimelineEntry]
    next_cursor: str | None


def _staff() -> str:
    caller = caller_from_event(app.current_event.raw_event)
    caller.require_any(STAFF_ROLES)
    return caller.email or caller.subject


@app.get("/api/tickets")
def list_tickets(
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> TicketList:
    _staff()
    page = tickets.list_tickets(_repository(), limit, cursor)
    return TicketList(items=page.items, next_cursor=page.next_cursor)


@app.get("/api/tickets/<ticket_id>")
def get_ticket(
    ticket_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> TicketDetail:
    _staff()
    ticket, page = tickets.ticket_with_messages(_repository(), ticket_id, limit, cursor)
    return TicketDetail(ticket=ticket, messages=page.items, next_cursor=page.next_cursor)


@app.get("/api/customers/<customer_id>")
def get_customer(
    customer_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> CustomerView:
    """The profile (identities, merge evidence, traits) and the timeline across channels, newest first."""
    _staff()
    customer, page = customers.profile_with_timeline(_repository(), customer_id, limit, cursor)
    return CustomerView(customer=customer, timeline=page.items, next_cursor=page.next_cursor)


@app.post("/api/customers/<customer_id>/merges/<merged_id>/undo")
def undo_merge(customer_id: str, merged_id: str) -> Customer:
    """Separate a profile that was merged into this one; it will not be merged again automatically."""
    who = _staff()
    return merges.undo_merge(_repository(), SystemClock(), customer_id, merged_id, by=f"agent:{who}")


def _error(status: int, message: str) -> Response[str]:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps({"message": message})
    )


@app.exception_handler(NotFound)
def _not_found(error: NotFound) -> Response[str]:
    return _error(404, str(error))


@app.exception_handler(InvalidCursor)
def _bad_cursor(error: InvalidCursor) -> Response[str]:
    return _error(400, str(error))


@app.exception_handler(Conflict)
def _conflict(error: Conflict) -> Response[str]:
    return _error(409, str(error))


@app.exception_handler(Forbidden)
def _forbidden(error: Forbidden) -> Response[str]:
    return _error(403, str(error))


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
