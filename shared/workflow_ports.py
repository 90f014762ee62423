"""Ports of the order workflow: what its use cases need from the outside, as small Protocols.

Beside shared/ports.py (the inbound pipeline's ports) so that the two evolve without touching
each other. Handler modules wire the real adapters once per cold start; unit tests pass fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shared.domain.alerts import WhatsAppAlert
from shared.domain.audit import AuditEntry
from shared.domain.catalog import Product, Slot, StockLevel, Technician
from shared.domain.customer import Customer
from shared.domain.invoice import Invoice
from shared.domain.message import Message
from shared.domain.order import Order, OrderStage
from shared.domain.quote import Quote
from shared.domain.survey import Survey
from shared.domain.ticket import Ticket
from shared.domain.timeline import TimelineEntry
from shared.domain.workflow import Csat, WorkflowRecord
from shared.ports import Versioned


class Orders(Protocol):
    """The part of ``OrderRepository`` (shared/adapters/dynamodb/orders.py) the workflow uses."""

    def get_order(self, order_id: str) -> Versioned[Order] | None: ...

    def save_order(self, order: Order, expected_version: int) -> int: ...

    def create_order(self, order: Order, timeline: Iterable[tuple[str, TimelineEntry]] = ()) -> int: ...

    def record_stage(
        self,
        order_id: str,
        stage: OrderStage,
        at: datetime,
        note: str | None = None,
        *,
        expected_stage: OrderStage | None = None,
    ) -> bool: ...

    def link_ticket(
        self, order_id: str, ticket_id: str, at: datetime, by: str = "system", order_number: str | None = None
    ) -> bool: ...

    def mark_satisfaction_requested(self, order_id: str, at: datetime) -> bool: ...


class Tickets(Protocol):
    """The part of ``DynamoRepository`` that solves back-office tickets."""

    def get_ticket(self, ticket_id: str) -> Versioned[Ticket] | None: ...

    def save_ticket(
        self, before: Versioned[Ticket], after: Ticket, audit: list[AuditEntry], note: Message | None = None
    ) -> None: ...


class Customers(Protocol):
    def get_customer(self, customer_id: str) -> Versioned[Customer] | None: ...

    def identity_owner(self, kind: str, value: str) -> str | None: ...


class WorkflowData(Protocol):
    """``WorkflowStore`` (shared/adapters/dynamodb/workflow_store.py)."""

    def put_product(self, product: Product) -> None: ...

    def products(self, skus: Iterable[str]) -> dict[str, Product]: ...

    def set_stock(self, sku: str, available: int) -> None: ...

    def stock(self, skus: Iterable[str]) -> dict[str, StockLevel]: ...

    def reserve_stock(self, order_id: str, quantities: dict[str, int], at: datetime) -> bool: ...

    def has_reservation(self, order_id: str) -> bool: ...

    def put_technician(self, technician: Technician) -> None: ...

    def technicians(self) -> list[Technician]: ...

    def booked_slots(
        self, technician_ids: Iterable[str], start: datetime, end: datetime
    ) -> set[tuple[str, datetime]]: ...

    def book_slot(
        self, slot: Slot, order_id: str, record: WorkflowRecord, expected_version: int | None
    ) -> int: ...

    def create_quote(self, quote: Quote) -> None: ...

    def get_quote(self, quote_id: str) -> Versioned[Quote] | None: ...

    def save_quote(self, quote: Quote, expected_version: int) -> int: ...

    def get_workflow(self, order_id: str) -> Versioned[WorkflowRecord] | None: ...

    def save_workflow(self, record: WorkflowRecord, expected_version: int | None) -> int: ...

    def get_invoice(self, order_id: str) -> Invoice | None: ...

    def issue_invoice(
        self, order_id: str, year: int, build: Callable[[int], Invoice]
    ) -> tuple[Invoice, bool]: ...

    def claim_alert(self, order_id: str, key: str, at: datetime, lease_until: datetime) -> bool: ...

    def complete_alert(
        self,
        order_id: str,
        key: str,
        *,
        status: str,
        channel: str | None,
        provider_id: str | None,
        customer_id: str | None,
        timeline: TimelineEntry | None,
    ) -> None: ...

    def release_alert(self, order_id: str, key: str, reason: str) -> None: ...

    def open_ticket(self, order_id: str, reason: str, ticket: Ticket, note: Message) -> tuple[str, bool]: ...

    def open_tickets(self, order_id: str, reason_prefix: str) -> list[tuple[str, str]]:
        """(reason, ticket id) of the order's back-office tickets not yet solved by the workflow."""
        ...

    def mark_ticket_resolved(self, order_id: str, reason: str, at: datetime) -> None: ...

    def create_survey(self, survey: Survey) -> tuple[Survey, bool]: ...

    def get_survey(self, token: str) -> Versioned[Survey] | None: ...

    def survey_for_order(self, order_id: str) -> Versioned[Survey] | None: ...

    def due_surveys(self, sent_before: datetime, limit: int = 100) -> list[Versioned[Survey]]: ...

    def mark_reminded(self, survey: Survey, version: int, at: datetime, *, last: bool) -> bool: ...

    def record_answer(
        self, survey: Survey, version: int, csat: Csat, timeline: TimelineEntry | None
    ) -> None: ...


class Notifier(Protocol):
    """Outbound alerts. Each returns the provider's message id."""

    def send_email(self, to: str, subject: str, text: str, html: str) -> str: ...

    def send_sms(self, phone: str, text: str) -> str: ...


class WhatsAppNotifier(Protocol):
    """Alerts as approved WhatsApp templates (a port of its own: most deployments and steps
    have no WhatsApp, and its credentials are read only when a customer needs it)."""

    def available(self) -> bool:
        """Whether this deployment can send WhatsApp (may read the credentials, once)."""
        ...

    def send_template(self, wa_id: str, template: WhatsAppAlert) -> str:
        """Send it; the provider's message id. Raises ``DeliveryRejected`` for a refusal that a
        retry would not change, ``DeliveryUncertain`` when the message may have gone out."""
        ...


class WorkflowEngine(Protocol):
    """The state machine, seen from the code that starts executions and answers callbacks."""

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        """Start an execution named ``name``; False if one with that name already exists."""
        ...

    def send_success(self, token: str, output: dict[str, Any]) -> None: ...

    def send_failure(self, token: str, error: str, cause: str) -> None: ...


@dataclass(frozen=True)
class Provisioned:
    reference: str  # the provisioning system's id for the order
    serial_numbers: dict[str, list[str]] = field(default_factory=dict)  # order line id -> serials


class Provisioning(Protocol):
    def declare(self, order: Order, hardware: dict[str, Product]) -> Provisioned:
        """Declare the order (idempotent by order id); raises TransientError or ProvisioningRejected."""
        ...


class Documents(Protocol):
    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def url(self, key: str, expires_s: int = 300) -> str: ...


class Uploads(Protocol):
    """Files people upload straight to storage (presigned), e.g. commissioning photos."""

    def presign_upload(self, key: str, content_type: str, max_bytes: int, expires_s: int) -> dict[str, Any]:
        """``{"url", "fields"}``: an HTML form POST of at most ``max_bytes`` of ``content_type``."""
        ...

    def exists(self, key: str) -> bool: ...

    def url(self, key: str, expires_s: int = 300) -> str: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
