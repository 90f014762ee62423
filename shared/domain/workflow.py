"""The five-stage order workflow: its state, its rules and the errors its steps raise.

The state machine (infra/statemachine/order_workflow.asl.json) only sequences the stages; what
each stage decides lives here, pure, so it is tested without AWS. The step handlers raise the
errors below, and the state machine's Retry/Catch match them **by class name**: renaming one is
a change to the ASL too (tests/unit/test_workflow_asl.py checks that every name it catches
exists here).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.domain.catalog import Product, Slot
from shared.domain.common import DomainModel
from shared.domain.customer import Customer
from shared.domain.errors import DomainError
from shared.domain.order import BillableStatus, Order, OrderLine

# ------------------------------------------------------------------ errors (ASL names)


class WorkflowError(DomainError):
    """A step failed for a business reason; caught by the state machine into a ticket."""


class TransientError(WorkflowError):
    """A dependency is unavailable or a write lost a race: retried with backoff by the ASL."""


class OrderInvalid(WorkflowError):
    """Reception found the order cannot be fulfilled as it stands (the ticket lists why)."""


class NoSlotAvailable(WorkflowError):
    """No technician with the skills is free within the planning horizon."""


class OutOfStock(WorkflowError):
    """Hardware is missing: the order goes to the back-order path (wait, then prepare again)."""

    def __init__(self, skus: list[str]) -> None:
        super().__init__("out of stock: " + ", ".join(skus))
        self.skus = skus


class BackOrderExpired(WorkflowError):
    """Still out of stock after the last back-order attempt."""


class ProvisioningRejected(WorkflowError):
    """The provisioning system refused the order (a 4xx: retrying would not help)."""


class BillingBlocked(WorkflowError):
    """Some lines have no billable status yet: the order waits (billing hold)."""

    def __init__(self, line_ids: list[str]) -> None:
        super().__init__("lines without a billable status: " + ", ".join(line_ids))
        self.line_ids = line_ids


class BillingReady(WorkflowError):
    """Raised by the billing hold when nothing blocks billing any more: the state machine goes
    straight back to Billing instead of waiting for a callback nobody will send."""


class CommissioningDone(WorkflowError):
    """The current visit already has a passed report (a restarted workflow): skip the wait."""


class InvoiceMismatch(WorkflowError):
    """The invoice's totals do not match the order's lines (never issue a wrong invoice)."""


class InstallationAbandoned(WorkflowError):
    """No commissioning report after the last escalation."""


# ------------------------------------------------------------------ alerts


class AlertKind(StrEnum):
    """What the customer is told, one alert per kind (and attempt) per order."""

    received = "received"
    scheduled = "scheduled"
    back_order = "back_order"
    prepared = "prepared"
    rescheduled = "rescheduled"
    installed = "installed"
    invoiced = "invoiced"
    survey = "survey"
    survey_reminder = "survey_reminder"


def alert_key(kind: AlertKind, attempt: int | None = None) -> str:
    """The exactly-once key of an alert within its order (``rescheduled-2``, ``survey_reminder-1``)."""
    return kind.value if attempt is None else f"{kind.value}-{attempt}"


# ------------------------------------------------------------------ workflow state


class Appointment(DomainModel):
    attempt: int = Field(ge=1)  # 1 for the first visit, +1 after each failed commissioning
    technician_id: str
    technician_name: str | None = None
    start: datetime
    end: datetime
    timezone: str = "Europe/Paris"  # the technician's: how the customer is told the time
    booked_at: datetime


class TestOutcome(StrEnum):
    passed = "passed"
    failed = "failed"


class TestResult(DomainModel):
    """One commissioning test: what was checked, its result and, optionally, what was measured."""

    name: str = Field(min_length=1, max_length=100)
    result: TestOutcome
    measure: str | None = Field(default=None, max_length=200)  # e.g. "-18 dBm", "940 Mbit/s"
    line_id: str | None = None

    @property
    def passed(self) -> bool:
        return self.result is TestOutcome.passed


class Signature(DomainModel):
    """The customer's signature at the end of the visit: who signed, and its image if taken."""

    signed_by: str = Field(min_length=1, max_length=200)
    image: str | None = None  # upload id of the signature's picture


class CommissioningReport(DomainModel):
    attempt: int
    technician_id: str | None = None  # the technician assigned to the visit the report is for
    tests: list[TestResult] = Field(min_length=1)
    installed_line_ids: list[str] | None = None  # None: every line was installed
    notes: str | None = Field(default=None, max_length=2000)
    photos: list[str] = Field(default_factory=list)  # upload ids (presigned uploads)
    signature: Signature | None = None
    received_at: datetime
    received_by: str  # "technician:<id>" or "coordinator:<who>" (entered for the technician)

    @property
    def passed(self) -> bool:
        return all(test.passed for test in self.tests)

    def failed_tests(self) -> list[TestResult]:
        return [test for test in self.tests if not test.passed]


class WaitKind(StrEnum):
    commissioning = "commissioning"
    billing = "billing"


class Awaiting(DomainModel):
    """The task token of the callback the execution is waiting on (one at a time)."""

    kind: WaitKind
    token: str
    since: datetime
    attempt: int = 1


class InvoiceRef(DomainModel):
    number: str
    issued_at: datetime
    total_incl_vat: str
    currency: str
    document_key: str | None = None  # S3 key of the document the customer opens


class Csat(DomainModel):
    score: int = Field(ge=1, le=5)
    comment: str | None = None
    answered_at: datetime
    technician_id: str | None = None


class WorkflowRecord(DomainModel):
    """What the workflow owns about one order (``ORDER#<id>`` / ``#WORKFLOW``)."""

    order_id: str
    executions: list[str] = Field(default_factory=list)  # names, oldest first (restarts)
    requested_slot: Slot | None = None  # the customer's choice among the quote's offered slots
    appointment: Appointment | None = None
    past_appointments: list[Appointment] = Field(default_factory=list)
    reports: list[CommissioningReport] = Field(default_factory=list)
    awaiting: Awaiting | None = None
    escalations: int = 0
    back_order_attempts: int = 0
    provisioning_reference: str | None = None
    invoice: InvoiceRef | None = None
    survey_id: str | None = None
    csat: Csat | None = None
    failures: list[str] = Field(default_factory=list)  # "stage: Error" of caught failures
    updated_at: datetime

    def latest_report(self) -> CommissioningReport | None:
        return self.reports[-1] if self.reports else None


# ------------------------------------------------------------------ rules


class Problem(DomainModel):
    field: str
    message: str


def validate_for_reception(
    order: Order, customer: Customer | None, products: dict[str, Product]
) -> list[Problem]:
    """Reception's checks: the customer is known, every line is priced and orderable, and the
    billing and installation addresses are complete."""
    problems: list[Problem] = []
    if customer is None:
        problems.append(Problem(field="customer_id", message="unknown customer"))
    if not order.lines:
        problems.append(Problem(field="lines", message="the order has no lines"))
    for line in order.lines:
        product = products.get(line.sku or "")
        where = f"lines[{line.id}]"
        if product is None:
            problems.append(Problem(field=where, message=f"{line.sku or 'no sku'}: not in the catalog"))
            continue
        if not product.orderable:
            problems.append(Problem(field=where, message=f"{line.sku}: not orderable"))
        if line.unit_price <= 0 and line.billable_status is not BillableStatus.not_billable:
            problems.append(Problem(field=where, message=f"{line.sku}: no price"))
    for name in ("billing_address", "shipping_address"):
        address = getattr(order, name)
        if address is None or not address.is_complete():
            problems.append(Problem(field=name, message="incomplete (name, line 1, postcode, city, country)"))
    return problems


def apply_commissioning(order: Order, report: CommissioningReport) -> Order:
    """After a passed commissioning, the installed lines become billable.

    A line the technician did not install keeps its pending status: billing will stop on it and
    a back-office ticket will ask someone to decide (bill it, or mark it not billable).
    """
    installed = set(report.installed_line_ids) if report.installed_line_ids is not None else None
    lines: list[OrderLine] = []
    for line in order.lines:
        if line.billable_status is BillableStatus.pending and (installed is None or line.id in installed):
            lines.append(line.model_copy(update={"billable_status": BillableStatus.billable}))
        else:
            lines.append(line)
    return order.model_copy(update={"lines": lines})


def lines_blocking_billing(order: Order) -> list[OrderLine]:
    """Every line must be billable (or explicitly not billable, or already billed) to invoice."""
    return [line for line in order.lines if line.billable_status is BillableStatus.pending]


def mark_billed(order: Order) -> Order:
    lines = [
        line.model_copy(update={"billable_status": BillableStatus.billed})
        if line.billable_status is BillableStatus.billable
        else line
        for line in order.lines
    ]
    return order.model_copy(update={"lines": lines})


LOW_CSAT = 2  # a score at or under this opens a follow-up ticket
