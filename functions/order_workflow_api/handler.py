"""Order back office API: quotes, the workflow's human steps, the catalog and the technicians.

Staff (JWT of the staff pool):
  POST /api/quotes, GET /api/quotes/{id}, POST /api/quotes/{id}/accept (on the customer's behalf)
  POST /api/orders/{id}/commissioning   the technician's report -> answers the waiting execution
  POST /api/orders/{id}/commissioning/uploads  a presigned upload for a photo or the signature
  POST /api/orders/{id}/billable        billable status of lines -> releases a billing hold
  POST /api/orders/{id}/workflow/restart, GET /api/orders/{id}/workflow, GET /api/orders/{id}/invoice
  PUT  /api/catalog/products/{sku}, PUT /api/technicians/{id}   (supervisors and admins)
Customers (JWT of the customer pool), their own records only:
  GET /api/portal/quotes/{id}, POST /api/portal/quotes/{id}/accept, GET /api/portal/orders/{id}/invoice
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from shared.adapters import api_errors
from shared.adapters.auth import (
    BACK_OFFICE_ROLES,
    COORDINATOR_ROLES,
    STAFF_ROLES,
    TECHNICIAN_ROLE,
    Forbidden,
    caller_from_event,
    customer_from_event,
)
from shared.adapters.aws.documents import S3Documents
from shared.adapters.aws.stepfunctions import StepFunctionsEngine
from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb.config_store import DynamoConfigStore
from shared.adapters.dynamodb.orders import OrderRepository
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.adapters.dynamodb.workflow_store import WorkflowStore
from shared.domain.catalog import Product, Slot, Technician, WorkingWindow
from shared.domain.common import Address
from shared.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from shared.domain.order import BillableStatus
from shared.domain.order_policy import ORDER_POLICY, OrderPolicy
from shared.domain.quote import Quote
from shared.domain.workflow import Signature, TestResult
from shared.services import order_commissioning, quotes, team_config
from shared.services.identity_resolution import signed_in_customer
from shared.settings import OrderApiSettings, load

logger = Logger()
app = APIGatewayHttpResolver(enable_validation=True)
CATALOG_ROLES = frozenset({"supervisor", "admin"})
POLICY_READERS = frozenset({"supervisor", "admin", "billing"})


@dataclass
class _Wired:
    settings: OrderApiSettings
    store: WorkflowStore
    orders: OrderRepository
    customers: DynamoRepository
    engine: StepFunctionsEngine
    documents: S3Documents
    clock: SystemClock

    @property
    def timeouts(self) -> quotes.Timeouts:
        s = self.settings
        return quotes.Timeouts(s.commissioning_timeout_s, s.billing_hold_timeout_s, s.back_order_wait_s)


_wired: _Wired | None = None


def _w() -> _Wired:
    global _wired  # noqa: PLW0603 (one wiring per cold start)
    if _wired is None:
        settings = load(OrderApiSettings)
        table = boto3.resource("dynamodb").Table(settings.table_name)
        _wired = _Wired(
            settings=settings,
            store=WorkflowStore(table),
            orders=OrderRepository(table),
            customers=DynamoRepository(table),
            engine=StepFunctionsEngine(boto3.client("stepfunctions"), settings.order_workflow_arn),
            documents=S3Documents(boto3.client("s3"), settings.documents_bucket),
            clock=SystemClock(),
        )
    return _wired


# ------------------------------------------------------------------ callers
def _staff(roles: frozenset[str] = STAFF_ROLES) -> str:
    caller = caller_from_event(app.current_event.raw_event)
    caller.require_any(roles)
    return caller.email or caller.subject


def _customer_id() -> str:
    """The profile the customer-pool sign-in opens (its sub, or its verified email or phone held
    as proven: shared/domain/trust.py). Someone unknown to Guichet has no quotes to see."""
    customer = signed_in_customer(_w().customers, customer_from_event(app.current_event.raw_event).sign_in())
    if customer is None:
        raise NotFound("customer", "(caller)")
    return customer.id


# ------------------------------------------------------------------ models
class LineIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=10_000)
    unit_price: Decimal | None = Field(default=None, ge=0)


class QuoteIn(BaseModel):
    customer_id: str = Field(min_length=1, max_length=64)
    lines: list[LineIn] = Field(min_length=1, max_length=100)
    billing_address: Address
    shipping_address: Address


class SlotIn(BaseModel):
    technician_id: str
    start: datetime


class AcceptIn(BaseModel):
    slot: SlotIn | None = None  # one of the quote's offered slots; none: the first available


class Accepted(BaseModel):
    order_id: str
    number: str
    stage: str


class CommissioningIn(BaseModel):
    technician_id: str | None = Field(
        default=None, max_length=64, description="The visit's technician (a coordinator entering it for them)"
    )
    tests: list[TestResult] = Field(min_length=1, max_length=100)
    installed_line_ids: list[str] | None = Field(default=None, max_length=500)
    notes: str | None = Field(default=None, max_length=2000)
    photos: list[str] = Field(default_factory=list, max_length=20, description="Upload ids of the photos")
    signature: Signature | None = Field(default=None, description="Who signed for the customer")


class UploadIn(BaseModel):
    content_type: str = Field(description="image/jpeg or image/png", max_length=100)


class UploadOut(BaseModel):
    upload_id: str = Field(description="Name it in the report's photos (or signature.image)")
    url: str = Field(description="POST the file here as multipart/form-data, after the fields")
    fields: dict[str, str]
    expires_at: datetime
    max_bytes: int


class ReportOut(BaseModel):
    attempt: int
    passed: bool
    failed_tests: list[str]


class BillableIn(BaseModel):
    lines: dict[str, BillableStatus] = Field(min_length=1, max_length=500)


class ProductIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    unit_price: Decimal = Field(ge=0)
    vat_rate: Decimal = Field(default=Decimal("0.20"), ge=0, le=1)
    orderable: bool = True
    is_service: bool = False
    skill: str | None = Field(default=None, max_length=64)
    stock_tracked: bool = False
    stock_available: int | None = Field(default=None, ge=0)  # set the shelf count too


class TechnicianIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254, description="Their staff account's email")
    skills: list[str] = Field(default_factory=list, max_length=50)
    windows: list[WorkingWindow] = Field(default_factory=list, max_length=50)
    timezone: str = "Europe/Paris"
    active: bool = True


def _created(body: BaseModel) -> Response[str]:
    return Response(201, content_types.APPLICATION_JSON, body.model_dump_json())


# ------------------------------------------------------------------ quotes
@app.post("/api/quotes")
def create_quote(body: QuoteIn) -> Response[str]:
    who = _staff()
    w = _w()
    quote = quotes.create_quote(
        w.store,
        w.customers,
        w.clock,
        customer_id=body.customer_id,
        lines=[quotes.LineRequest(line.sku, line.quantity, line.unit_price) for line in body.lines],
        billing_address=body.billing_address,
        shipping_address=body.shipping_address,
        created_by=f"agent:{who}",
    )
    logger.info("quote created", extra={"quote_id": quote.id})
    return _created(quote)


@app.get("/api/quotes/<quote_id>")
def get_quote(quote_id: str) -> Quote:
    _staff()
    return quotes.quote_for(_w().store, quote_id).value


def _accept(quote_id: str, body: AcceptIn, by: str, customer_id: str | None) -> Response[str]:
    w = _w()
    slot = None
    if body.slot is not None:
        slot = Slot(technician_id=body.slot.technician_id, start=body.slot.start, end=body.slot.start)
    order = quotes.accept_quote(
        w.store,
        w.orders,
        w.engine,
        w.clock,
        w.timeouts,
        quote_id=quote_id,
        accepted_by=by,
        customer_id=customer_id,
        slot=slot,
    )
    logger.info("quote accepted", extra={"quote_id": quote_id, "order_id": order.id})
    return _created(Accepted(order_id=order.id, number=order.number, stage=order.stage.value))


@app.post("/api/quotes/<quote_id>/accept")
def accept_quote(quote_id: str, body: AcceptIn) -> Response[str]:
    return _accept(quote_id, body, f"agent:{_staff()}", None)


@app.get("/api/portal/quotes/<quote_id>")
def portal_quote(quote_id: str) -> Quote:
    return quotes.quote_for(_w().store, quote_id, _customer_id()).value


@app.post("/api/portal/quotes/<quote_id>/accept")
def portal_accept(quote_id: str, body: AcceptIn) -> Response[str]:
    customer_id = _customer_id()
    return _accept(quote_id, body, f"customer:{customer_id}", customer_id)


# ------------------------------------------------------------------ the workflow's human steps
def _reporter() -> order_commissioning.Reporter:
    caller = caller_from_event(app.current_event.raw_event)
    return order_commissioning.Reporter(
        who=caller.email or caller.subject,
        email=caller.email,
        technician=TECHNICIAN_ROLE in caller.roles,
        coordinator=bool(caller.roles & COORDINATOR_ROLES),
    )


@app.post("/api/orders/<order_id>/commissioning/uploads")
def commissioning_upload(order_id: str, body: UploadIn) -> Response[str]:
    """A presigned upload (15 minutes, 10 MB) for a photo of the visit or the signature."""
    w = _w()
    grant = order_commissioning.commissioning_upload(
        w.store,
        w.orders,
        w.documents,
        w.clock,
        order_id=order_id,
        reporter=_reporter(),
        content_type=body.content_type,
    )
    return _created(UploadOut(**grant.__dict__))


@app.post("/api/orders/<order_id>/commissioning")
def commissioning(order_id: str, body: CommissioningIn) -> ReportOut:
    """The visit's report: from its technician, or a coordinator for them; not before it starts."""
    w = _w()
    report = order_commissioning.submit_commissioning(
        w.store,
        w.orders,
        w.engine,
        w.documents,
        w.clock,
        order_id=order_id,
        reporter=_reporter(),
        tests=body.tests,
        installed_line_ids=body.installed_line_ids,
        technician_id=body.technician_id,
        notes=body.notes,
        photos=body.photos,
        signature=body.signature,
    )
    logger.info("commissioning report", extra={"order_id": order_id, "passed": report.passed})
    return ReportOut(
        attempt=report.attempt, passed=report.passed, failed_tests=[t.name for t in report.failed_tests()]
    )


@app.post("/api/orders/<order_id>/billable")
def billable(order_id: str, body: BillableIn) -> dict[str, Any]:
    _staff()
    w = _w()
    order = quotes.set_billable(w.store, w.orders, w.engine, w.clock, order_id=order_id, statuses=body.lines)
    return {"order_id": order.id, "lines": {line.id: line.billable_status.value for line in order.lines}}


@app.post("/api/orders/<order_id>/workflow/restart")
def restart(order_id: str) -> dict[str, str]:
    _staff()
    w = _w()
    name = quotes.restart_workflow(w.store, w.orders, w.engine, w.clock, w.timeouts, order_id=order_id)
    logger.info("workflow restarted", extra={"order_id": order_id, "execution": name})
    return {"execution": name}


@app.get("/api/orders/<order_id>/workflow")
def workflow(order_id: str) -> dict[str, Any]:
    _staff()
    w = _w()
    view = quotes.workflow_details(w.store, w.store, order_id, w.documents)
    if not view:
        raise NotFound("workflow of order", order_id)
    return view


def _invoice_redirect(order_id: str, customer_id: str | None) -> Response[str]:
    w = _w()
    found = w.orders.get_order(order_id)
    if found is None or (customer_id is not None and found.value.customer_id != customer_id):
        raise NotFound("order", order_id)
    record = w.store.get_workflow(order_id)
    invoice = record.value.invoice if record else None
    if invoice is None or not invoice.document_key:
        raise NotFound("invoice of order", order_id)
    return Response(
        302,
        content_types.APPLICATION_JSON,
        json.dumps({"number": invoice.number}),
        headers={"Location": w.documents.url(invoice.document_key)},
    )


@app.get("/api/orders/<order_id>/invoice")
def staff_invoice(order_id: str) -> Response[str]:
    _staff()
    return _invoice_redirect(order_id, None)


@app.get("/api/portal/orders/<order_id>/invoice")
def portal_invoice(order_id: str) -> Response[str]:
    return _invoice_redirect(order_id, _customer_id())


# ------------------------------------------------------------------ catalog and resources
@app.put("/api/catalog/products/<sku>")
def put_product(sku: str, body: ProductIn) -> Product:
    _staff(CATALOG_ROLES)
    fields = body.model_dump(exclude={"stock_available"})
    product = Product.model_validate({"sku": sku, **fields})
    w = _w()
    w.store.put_product(product)
    if body.stock_available is not None:
        w.store.set_stock(sku, body.stock_available)
    return product


@app.put("/api/technicians/<technician_id>")
def put_technician(technician_id: str, body: TechnicianIn) -> Technician:
    _staff(CATALOG_ROLES)
    technician = Technician.model_validate({"id": technician_id, **body.model_dump()})
    _w().store.put_technician(technician)
    return technician


# ------------------------------------------------------------------ the order policy
class PolicyOut(BaseModel):
    version: int = Field(description="Quote it in the next PUT; 0: nothing was ever stored")
    is_default: bool
    updated_at: datetime | None = None
    updated_by: str | None = None
    policy: OrderPolicy


class PolicyIn(BaseModel):
    version: int = Field(ge=0, description="The version this edit starts from; 409 if another was saved")
    policy: OrderPolicy


def _policy_out(setting: Any) -> PolicyOut:
    return PolicyOut(
        version=setting.version,
        is_default=setting.is_default,
        updated_at=setting.updated_at,
        updated_by=setting.updated_by,
        policy=setting.value,
    )


@app.get("/api/admin/order-policy")
def get_order_policy() -> PolicyOut:
    """The team's language for back-office tickets, which invoices may be issued without a
    person validating them, payment terms and the payment follow-up (supervisors, billing, admins)."""
    _staff(POLICY_READERS)
    return _policy_out(team_config.read(DynamoConfigStore(_w().store.table), ORDER_POLICY))


@app.put("/api/admin/order-policy")
def put_order_policy(body: PolicyIn) -> PolicyOut:
    who = _staff(frozenset({"admin"}))
    saved = team_config.save(
        DynamoConfigStore(_w().store.table),
        _w().clock,
        ORDER_POLICY,
        body.policy,
        body.version,
        by=f"agent:{who}",
    )
    logger.info("order policy saved", extra={"version": saved.version})
    return _policy_out(saved)


# ------------------------------------------------------------------ errors
def _error(status: int, message: str, errors: list[dict[str, str]] | None = None) -> Response[str]:
    body: dict[str, Any] = {"message": message}
    if errors:
        body["errors"] = errors
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body))


@app.exception_handler(InvalidInput)
def _invalid(error: InvalidInput) -> Response[str]:
    return _error(422, "invalid input", error.errors)


@app.exception_handler(ValueError)
def _bad_value(error: ValueError) -> Response[str]:
    return _error(400, str(error).splitlines()[0][:200])


@app.exception_handler(RequestValidationError)
def _validation(exc: RequestValidationError) -> Response[str]:
    return api_errors.validation_error(exc)


api_errors.answer_domain_errors(app, NotFound, Conflict, Forbidden, NotAllowed)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # Coordinators, the billing role and technicians reach this API (each route checks its roles).
    return api_errors.answer_staff_api(app, event, context, BACK_OFFICE_ROLES)
