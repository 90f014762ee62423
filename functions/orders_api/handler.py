"""The order back office API for agents (/api/orders/*), behind the staff JWT authorizer.

* ``GET /api/orders/{order_id}``: the 360 order view (contact, addresses, lines, payment,
  shipments with tracking links, linked tickets, every exchange, stage and history, and the
  order workflow's details: appointment, serials, commissioning, invoice link, alerts, CSAT);
* ``GET /api/orders?number=#1001``: orders by the number a customer quotes;
* ``PUT /api/orders/{order_id}/tickets/{ticket_id}``: link a ticket to the order;
* ``GET /api/customers/{customer_id}/orders``: a customer's orders, newest first.
"""

from __future__ import annotations

from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from shared.adapters import api_errors
from shared.adapters.auth import STAFF_ROLES, Forbidden, caller_from_event
from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb.orders import OrderRepository
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.adapters.dynamodb.workflow_store import WorkflowStore
from shared.domain.errors import Conflict, InvalidCursor, NotFound
from shared.domain.order import Order
from shared.services.order_view import OrderView, order_view
from shared.settings import ApiSettings, load

logger = Logger()
app = APIGatewayHttpResolver(enable_validation=True)
_wired: tuple[OrderRepository, DynamoRepository, WorkflowStore] | None = None


def _wire() -> tuple[OrderRepository, DynamoRepository, WorkflowStore]:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        table = boto3.resource("dynamodb").Table(load(ApiSettings).table_name)
        _wired = (OrderRepository(table), DynamoRepository(table), WorkflowStore(table))
    return _wired


class OrderList(BaseModel):
    items: list[Order]
    next_cursor: str | None = None


class Linked(BaseModel):
    order_id: str
    ticket_id: str
    linked: bool  # False: it already was


def _staff() -> str:
    caller = caller_from_event(app.current_event.raw_event)
    caller.require_any(STAFF_ROLES)
    return caller.email or caller.subject


@app.get("/api/orders/<order_id>")
def get_order(order_id: str) -> OrderView:
    _staff()
    orders, repo, workflow = _wire()
    return order_view(orders, repo, order_id, workflow)


@app.get("/api/orders")
def find_orders(number: Annotated[str, Query(min_length=1, max_length=64)]) -> OrderList:
    _staff()
    orders, _, _ = _wire()
    return OrderList(items=orders.orders_by_number(number))


@app.put("/api/orders/<order_id>/tickets/<ticket_id>")
def link_ticket(order_id: str, ticket_id: str) -> Linked:
    who = _staff()
    orders, _, _ = _wire()
    found = orders.get_order(order_id)
    if found is None:
        raise NotFound("order", order_id)
    linked = orders.link_ticket(
        order_id, ticket_id, SystemClock().now(), by=f"agent:{who}", order_number=found.value.number
    )
    logger.info(
        "ticket linked to order", extra={"order_id": order_id, "ticket_id": ticket_id, "linked": linked}
    )
    return Linked(order_id=order_id, ticket_id=ticket_id, linked=linked)


@app.get("/api/customers/<customer_id>/orders")
def customer_orders(
    customer_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> OrderList:
    _staff()
    orders, _, _ = _wire()
    page = orders.customer_orders(customer_id, limit, cursor)
    return OrderList(items=page.items, next_cursor=page.next_cursor)


@app.exception_handler(RequestValidationError)
def _validation(exc: RequestValidationError) -> Response[str]:
    return api_errors.validation_error(exc)


api_errors.answer_domain_errors(app, NotFound, InvalidCursor, Conflict, Forbidden)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return api_errors.answer_staff_api(app, event, context)
