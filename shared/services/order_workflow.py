"""The steps of the order workflow, one function per Task state of order_workflow.asl.json.

Every step is safe to run again: it reads what is already done (the workflow record, the
reservation, the invoice, the alert records) and only does the rest. That is what makes Lambda
retries, the state machine's Retry, and a restarted workflow harmless, and keeps the customer
from hearing the same thing twice. Steps raise the named errors of shared/domain/workflow.py;
the state machine retries ``TransientError`` and turns anything else into a back-office ticket
(``incident``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.domain.back_office_texts import TextKey, team_text
from shared.domain.catalog import (
    HORIZON_DAYS,
    LEAD_DAYS,
    Product,
    SlotTaken,
    available_slots,
    required_skills,
)
from shared.domain.customer import Customer
from shared.domain.errors import Conflict
from shared.domain.invoice import build_invoice
from shared.domain.invoice_pdf import render_pdf
from shared.domain.order import BillableStatus, Order, OrderStage
from shared.domain.order_policy import DEFAULT_ORDER_POLICY, OrderPolicy
from shared.domain.quote import money
from shared.domain.team_config import SlaSettings
from shared.domain.ticket import Priority, Topic
from shared.domain.workflow import (
    AlertKind,
    Appointment,
    Awaiting,
    BackOrderExpired,
    BillingBlocked,
    BillingReady,
    CommissioningDone,
    InstallationAbandoned,
    InvoiceRef,
    NoSlotAvailable,
    OrderInvalid,
    OutOfStock,
    TransientError,
    WaitKind,
    WorkflowError,
    WorkflowRecord,
    apply_commissioning,
    lines_blocking_billing,
    mark_billed,
    validate_for_reception,
)
from shared.ports import Versioned
from shared.services.back_office import open_order_ticket, solve_order_tickets
from shared.services.order_alerts import AlertService
from shared.workflow_ports import Clock, Customers, Documents, Orders, Provisioning, Tickets, WorkflowData

STAGE_ORDER = [
    OrderStage.quote,
    OrderStage.reception,
    OrderStage.preparation,
    OrderStage.installation,
    OrderStage.billing,
    OrderStage.satisfaction,
    OrderStage.completed,
]
BOOKING_ATTEMPTS = 10


@dataclass
class StepPorts:
    orders: Orders
    customers: Customers
    store: WorkflowData
    alerts: AlertService
    clock: Clock
    provisioning: Provisioning | None = None
    documents: Documents | None = None
    public_base_url: str = ""
    sla: Callable[[], SlaSettings] | None = None  # the team's stored SLA settings (cached)
    tickets: Tickets | None = None  # solves the back-office tickets a step resolves
    policy: Callable[[], OrderPolicy] | None = None  # the admins' order policy (team language...)

    def order_policy(self) -> OrderPolicy:
        return self.policy() if self.policy is not None else DEFAULT_ORDER_POLICY

    def text(self, key: TextKey, **fields: object) -> tuple[str, str]:
        """A back-office ticket's (subject, note) in the team's language."""
        return team_text(key, self.order_policy().team_locale, **fields)

    def open_ticket(
        self,
        order: Order,
        reason: str,
        key: TextKey,
        *,
        topic: Topic = Topic.back_office,
        priority: Priority = Priority.normal,
        **fields: object,
    ) -> str:
        subject, note = self.text(key, number=order.number, **fields)
        return open_order_ticket(
            self.store,
            self.orders,
            self.clock,
            order,
            sla=self.sla() if self.sla else None,
            reason=reason,
            subject=subject,
            note=note,
            topic=topic,
            priority=priority,
        )

    def solve_tickets(
        self,
        order: Order,
        reason_prefix: str,
        key: TextKey,
        only: Callable[[str], bool] | None = None,
        **fields: object,
    ) -> list[str]:
        """Solve the order's open tickets for ``reason_prefix``: the step they wait on is done."""
        if self.tickets is None:
            return []
        _, note = self.text(key, number=order.number, **fields)
        return solve_order_tickets(
            self.store,
            self.tickets,
            self.clock,
            order,
            reason_prefix=reason_prefix,
            note=note,
            sla=self.sla() if self.sla else None,
            only=only,
        )

    def recovered(self, order: Order, record: WorkflowRecord, stage: str) -> None:
        """A stage that failed in an earlier execution went through: its incident tickets are
        solved (only when the record says it failed: no read otherwise)."""
        if any(entry.startswith(f"{stage}:") for entry in record.failures):
            self.solve_tickets(
                order, "incident-", "incident_recovered", lambda r: r.endswith(f"-{stage}"), stage=stage
            )


# ------------------------------------------------------------------ helpers
def load_order(ports: StepPorts, order_id: str) -> Versioned[Order]:
    found = ports.orders.get_order(order_id)
    if found is None:
        raise OrderInvalid(f"order {order_id} not found")
    return found


def load_record(ports: StepPorts, order_id: str) -> Versioned[WorkflowRecord]:
    """The order's workflow record, created on first use (e.g. an execution started by hand)."""
    found = ports.store.get_workflow(order_id)
    if found is not None:
        return found
    record = WorkflowRecord(order_id=order_id, updated_at=ports.clock.now())
    try:
        version = ports.store.save_workflow(record, None)
    except Conflict:
        again = ports.store.get_workflow(order_id)
        if again is None:
            raise
        return again
    return Versioned(record, version)


def save_record(ports: StepPorts, record: WorkflowRecord, version: int) -> int:
    return ports.store.save_workflow(record.model_copy(update={"updated_at": ports.clock.now()}), version)


def advance(ports: StepPorts, found: Versioned[Order], stage: OrderStage) -> Versioned[Order]:
    """Move the order forward to ``stage`` (never back: a restarted workflow re-runs earlier
    steps, which must not rewind the stage the customer and agents see). Returns the order as
    it now is: recording a stage bumps its version, and a later ``save_order`` needs the new one
    (else it would lose to ourselves and cost a retry)."""
    order = found.value
    if order.stage is OrderStage.cancelled:
        raise OrderInvalid(f"order {order.number} is cancelled")
    if order.stage in STAGE_ORDER and STAGE_ORDER.index(order.stage) >= STAGE_ORDER.index(stage):
        return found
    if ports.orders.record_stage(order.id, stage, ports.clock.now()):
        return load_order(ports, order.id)
    return found


def when(appointment: Appointment, locale: str) -> str:
    local = appointment.start.astimezone(ZoneInfo(appointment.timezone))
    if locale[:2] == "en":
        return local.strftime("%Y-%m-%d at %H:%M")
    return local.strftime("%d/%m/%Y à %H:%M")


def _appointment_fields(customer: Customer | None, appointment: Appointment) -> dict[str, str]:
    return {
        "when": when(appointment, customer.locale if customer else "fr"),
        "technician": appointment.technician_name or appointment.technician_id,
    }


def book_appointment(
    ports: StepPorts,
    order: Order,
    record: Versioned[WorkflowRecord],
    *,
    attempt: int,
    not_before_hours: int = 0,
) -> Versioned[WorkflowRecord]:
    """Book the first free slot (the customer's choice first, if still free) and point the
    workflow record at it, in one transaction per candidate; a slot taken meanwhile by another
    order just moves us to the next candidate."""
    products = ports.store.products(line.sku for line in order.lines if line.sku)
    skills = required_skills(products.values())
    technicians = ports.store.technicians()
    able = [t for t in technicians if t.can_do(skills)]
    now = ports.clock.now()
    not_before = now + timedelta(hours=not_before_hours) if not_before_hours else None
    window_start = now + timedelta(days=LEAD_DAYS - 1)
    booked = ports.store.booked_slots(
        [t.id for t in able], window_start, now + timedelta(days=LEAD_DAYS + HORIZON_DAYS + 1)
    )
    candidates = available_slots(able, skills, booked, now, not_before=not_before, limit=BOOKING_ATTEMPTS)
    wanted = record.value.requested_slot if attempt == 1 else None
    if wanted is not None:
        chosen = [c for c in candidates if (c.technician_id, c.start) == (wanted.technician_id, wanted.start)]
        if not chosen and (wanted.technician_id, wanted.start) not in booked and wanted.start > now:
            chosen = [wanted]
        candidates = chosen + [c for c in candidates if c not in chosen]
    names = {t.id: t for t in technicians}
    for slot in candidates:
        technician = names.get(slot.technician_id)
        appointment = Appointment(
            attempt=attempt,
            technician_id=slot.technician_id,
            technician_name=technician.name if technician else None,
            start=slot.start,
            end=slot.end,
            timezone=technician.timezone if technician else "Europe/Paris",
            booked_at=now,
        )
        past = list(record.value.past_appointments)
        if record.value.appointment is not None:
            past.append(record.value.appointment)
        updated = record.value.model_copy(
            update={"appointment": appointment, "past_appointments": past, "updated_at": now}
        )
        try:
            version = ports.store.book_slot(slot, order.id, updated, record.version)
        except SlotTaken:
            continue
        except Conflict as exc:
            raise TransientError("the workflow record changed while booking") from exc
        return Versioned(updated, version)
    raise NoSlotAvailable(
        f"no technician with skills {sorted(skills) or 'any'} is free in the next {HORIZON_DAYS} days"
    )


# ------------------------------------------------------------------ Reception
def reception(ports: StepPorts, order_id: str) -> dict[str, Any]:
    """Validate the order, tell the customer it is received, book the installation."""
    order = advance(ports, load_order(ports, order_id), OrderStage.reception).value
    record = load_record(ports, order_id)
    customer = ports.alerts.customer(order.customer_id)
    products = ports.store.products(line.sku for line in order.lines if line.sku)
    problems = validate_for_reception(order, customer, products)
    if problems:
        raise OrderInvalid("; ".join(f"{p.field}: {p.message}" for p in problems))
    ports.alerts.send(order, AlertKind.received, customer=customer)
    if record.value.appointment is None:
        record = book_appointment(ports, order, record, attempt=1)
    appointment = record.value.appointment
    assert appointment is not None
    ports.alerts.send(
        order, AlertKind.scheduled, _appointment_fields(customer, appointment), customer=customer
    )
    ports.recovered(order, record.value, "reception")
    return {"appointment": appointment.start.isoformat(), "technician_id": appointment.technician_id}


# ------------------------------------------------------------------ Preparation
def preparation(ports: StepPorts, order_id: str, max_back_orders: int) -> dict[str, Any]:
    """Reserve the hardware (all or nothing), declare the order to provisioning, link each
    line to its serial numbers. Out of stock: tell the customer once, then wait and retry."""
    versioned = advance(ports, load_order(ports, order_id), OrderStage.preparation)
    order = versioned.value
    record = load_record(ports, order_id)
    products = ports.store.products(line.sku for line in order.lines if line.sku)
    hardware = _hardware(order, products)
    if hardware and not ports.store.has_reservation(order_id):
        try:
            ports.store.reserve_stock(order_id, hardware, ports.clock.now())
        except OutOfStock:
            attempts = record.value.back_order_attempts + 1
            updated = record.value.model_copy(update={"back_order_attempts": attempts})
            try:
                save_record(ports, updated, record.version)
            except Conflict as exc:
                raise TransientError("the workflow record changed") from exc
            if attempts > max_back_orders:
                raise BackOrderExpired(
                    f"still out of stock after {max_back_orders} back-order waits"
                ) from None
            ports.alerts.send(order, AlertKind.back_order, customer=ports.alerts.customer(order.customer_id))
            raise
    if record.value.provisioning_reference is None:
        if ports.provisioning is None:
            raise RuntimeError("preparation needs a provisioning port")
        tracked = {sku: p for sku, p in products.items() if p.stock_tracked}
        provisioned = ports.provisioning.declare(order, tracked)
        lines = [
            line.model_copy(
                update={"serial_numbers": provisioned.serial_numbers.get(line.id, line.serial_numbers)}
            )
            for line in order.lines
        ]
        if lines != order.lines:
            try:
                ports.orders.save_order(order.model_copy(update={"lines": lines}), versioned.version)
            except Conflict as exc:
                raise TransientError("the order changed while linking serial numbers") from exc
        record = load_record(ports, order_id)
        updated = record.value.model_copy(update={"provisioning_reference": provisioned.reference})
        try:
            save_record(ports, updated, record.version)
        except Conflict as exc:
            raise TransientError("the workflow record changed") from exc
        record = Versioned(updated, record.version + 1)
    appointment = record.value.appointment
    customer = ports.alerts.customer(order.customer_id)
    fields = _appointment_fields(customer, appointment) if appointment else {}
    ports.alerts.send(order, AlertKind.prepared, fields, customer=customer)
    ports.recovered(order, record.value, "preparation")
    return {"provisioning_reference": record.value.provisioning_reference}


def _hardware(order: Order, products: dict[str, Product]) -> dict[str, int]:
    quantities: dict[str, int] = {}
    for line in order.lines:
        product = products.get(line.sku or "")
        if product is not None and product.stock_tracked:
            quantities[product.sku] = quantities.get(product.sku, 0) + line.quantity
    return quantities


# ------------------------------------------------------------------ Installation
def await_commissioning(ports: StepPorts, order_id: str, token: str) -> dict[str, Any]:
    """Keep the task token: the technician's report (POST /api/orders/{id}/commissioning)
    answers it. The execution then waits, at no cost, until the report or the timeout."""
    advance(ports, load_order(ports, order_id), OrderStage.installation)
    record = load_record(ports, order_id)
    appointment = record.value.appointment
    attempt = appointment.attempt if appointment else 1
    report = record.value.latest_report()
    if report is not None and report.passed and report.attempt >= attempt:
        raise CommissioningDone(f"visit {report.attempt} already passed its commissioning")
    awaiting = Awaiting(kind=WaitKind.commissioning, token=token, since=ports.clock.now(), attempt=attempt)
    try:
        save_record(ports, record.value.model_copy(update={"awaiting": awaiting}), record.version)
    except Conflict as exc:
        raise TransientError("the workflow record changed") from exc
    return {"attempt": attempt}


def commissioned(ports: StepPorts, order_id: str) -> dict[str, Any]:
    """Every test passed: the installed lines become billable, the customer is told."""
    versioned = load_order(ports, order_id)
    order = versioned.value
    record = load_record(ports, order_id).value
    report = record.latest_report()
    if report is None or not report.passed:
        raise WorkflowError("no passed commissioning report recorded")
    updated = apply_commissioning(order, report)
    if updated.lines != order.lines:
        try:
            ports.orders.save_order(updated, versioned.version)
        except Conflict as exc:
            raise TransientError("the order changed") from exc
    ports.alerts.send(order, AlertKind.installed)
    # The tickets of failed visits and missing reports are resolved by this passed visit.
    for prefix in ("commissioning-", "no-report-", "visit-"):
        ports.solve_tickets(
            order, prefix, "commissioning_passed", attempt=report.attempt, tests=len(report.tests)
        )
    ports.recovered(order, record, "installation")
    return {"tests": len(report.tests)}


def commissioning_failed(ports: StepPorts, order_id: str) -> dict[str, Any]:
    """A test failed: a tech-support ticket lists the failed tests, a new visit is booked and
    the customer is told when (one alert per new appointment)."""
    order = load_order(ports, order_id).value
    record = load_record(ports, order_id)
    report = record.value.latest_report()
    if report is None or report.passed:
        raise WorkflowError("no failed commissioning report recorded")
    failed = ", ".join(
        f"{t.name}{' (' + t.measure + ')' if t.measure else ''}" for t in report.failed_tests()
    )
    appointment = record.value.appointment
    if appointment is None or appointment.attempt <= report.attempt:
        record = book_appointment(ports, order, record, attempt=report.attempt + 1, not_before_hours=2)
    appointment = record.value.appointment
    assert appointment is not None
    ports.open_ticket(
        order,
        f"commissioning-{report.attempt}",
        "commissioning_failed",
        topic=Topic.tech_support,
        priority=Priority.high,
        attempt=report.attempt,
        failed=failed,
        when=when(appointment, ports.order_policy().team_locale),
    )
    customer = ports.alerts.customer(order.customer_id)
    ports.alerts.send(
        order,
        AlertKind.rescheduled,
        _appointment_fields(customer, appointment),
        attempt=appointment.attempt,
        customer=customer,
    )
    return {"attempt": appointment.attempt, "appointment": appointment.start.isoformat()}


def commissioning_timeout(ports: StepPorts, order_id: str, max_escalations: int) -> dict[str, Any]:
    """No report in time: an escalation ticket in the back-office queue, then wait again; after
    ``max_escalations`` the installation is abandoned (an incident ticket follows)."""
    order = load_order(ports, order_id).value
    record = load_record(ports, order_id)
    escalations = record.value.escalations
    if record.value.awaiting is not None:  # not yet escalated for this wait (a retry finds None)
        escalations += 1
        try:
            save_record(
                ports,
                record.value.model_copy(update={"awaiting": None, "escalations": escalations}),
                record.version,
            )
        except Conflict as exc:
            raise TransientError("the workflow record changed") from exc
    appointment = record.value.appointment
    locale = ports.order_policy().team_locale
    if appointment is None:
        visit = "aucune visite" if locale == "fr" else "no visit"
    elif locale == "fr":
        visit = (
            f"la visite {appointment.attempt} du {when(appointment, locale)} ({appointment.technician_id})"
        )
    else:
        visit = f"visit {appointment.attempt} on {when(appointment, locale)} ({appointment.technician_id})"
    ports.open_ticket(
        order,
        f"no-report-{escalations}",
        "no_report",
        priority=Priority.high,
        escalations=escalations,
        max=max_escalations,
        visit=visit,
    )
    if escalations >= max_escalations:
        raise InstallationAbandoned(f"no commissioning report after {escalations} escalations")
    return {"escalations": escalations}


# ------------------------------------------------------------------ Billing
def billing(ports: StepPorts, order_id: str) -> dict[str, Any]:
    """Every line billable -> the invoice: numbered, stored as a document, linked on the order."""
    versioned = advance(ports, load_order(ports, order_id), OrderStage.billing)
    order = versioned.value
    blocked = lines_blocking_billing(order)
    if blocked:
        raise BillingBlocked([line.id for line in blocked])
    if ports.documents is None:
        raise RuntimeError("billing needs a documents port")
    now = ports.clock.now()
    invoice, _ = ports.store.issue_invoice(
        order_id, now.year, lambda sequence: build_invoice(order, now.year, sequence, now)
    )
    key = f"invoices/{invoice.year}/{invoice.number}.pdf"
    customer = ports.alerts.customer(order.customer_id)
    locale = customer.locale if customer else "fr"
    ports.documents.put(key, render_pdf(invoice, locale), "application/pdf")
    record = load_record(ports, order_id)
    if record.value.invoice is None or record.value.invoice.document_key != key:
        ref = InvoiceRef(
            number=invoice.number,
            issued_at=invoice.issued_at,
            total_incl_vat=str(invoice.total_incl_vat),
            currency=invoice.currency,
            document_key=key,
        )
        try:
            save_record(ports, record.value.model_copy(update={"invoice": ref}), record.version)
        except Conflict as exc:
            raise TransientError("the workflow record changed") from exc
    if any(line.billable_status is BillableStatus.billable for line in order.lines):
        try:
            ports.orders.save_order(mark_billed(order), versioned.version)
        except Conflict as exc:
            raise TransientError("the order changed") from exc
    link = f"{ports.public_base_url.rstrip('/')}/api/portal/orders/{order_id}/invoice"
    amount = f"{money(invoice.total_incl_vat)} {invoice.currency}"
    fields = {"invoice_number": invoice.number, "amount": amount, "link": link}
    ports.alerts.send(order, AlertKind.invoiced, fields, customer=customer)
    ports.solve_tickets(order, "billing-hold", "billing_released", invoice=invoice.number)
    ports.recovered(order, record.value, "billing")
    return {"invoice": invoice.number}


def billing_hold(ports: StepPorts, order_id: str, token: str) -> dict[str, Any]:
    """Lines without a billable status: a back-office ticket lists them and the order waits
    for someone to decide (POST /api/orders/{id}/billable answers the kept token)."""
    order = load_order(ports, order_id).value
    blocked = lines_blocking_billing(order)
    if not blocked:
        raise BillingReady("nothing blocks billing any more")
    record = load_record(ports, order_id)
    listing = "; ".join(f"{line.id} {line.title} x{line.quantity}" for line in blocked)
    ports.open_ticket(order, "billing-hold", "billing_hold", count=len(blocked), lines=listing)
    awaiting = Awaiting(kind=WaitKind.billing, token=token, since=ports.clock.now())
    try:
        save_record(ports, record.value.model_copy(update={"awaiting": awaiting}), record.version)
    except Conflict as exc:
        raise TransientError("the workflow record changed") from exc
    # Lines decided between our read and the token being kept would never wake us up: look again.
    if not lines_blocking_billing(load_order(ports, order_id).value):
        raise BillingReady("the lines were decided meanwhile")
    return {"lines": [line.id for line in blocked]}


# ------------------------------------------------------------------ Failures
def incident(ports: StepPorts, order_id: str, state: dict[str, Any], execution: str) -> dict[str, Any]:
    """Whatever a step could not handle becomes a back-office ticket that says what failed.

    ``state`` is the execution's state: each Catch put its error under ``failed_<stage>``
    (``{"Error", "Cause"}``). The customer is not told: a person decides what to say.
    """
    failures = {k.removeprefix("failed_"): v for k, v in state.items() if k.startswith("failed_")}
    stage, detail = next(iter(failures.items())) if failures else ("unknown", {})
    detail = detail if isinstance(detail, dict) else {}
    error = str(detail.get("Error") or "unknown error")
    message = _cause_message(detail.get("Cause"))
    found = ports.orders.get_order(order_id)
    if found is None:
        return {"ticket": None}
    order = found.value
    ticket = ports.open_ticket(
        order,
        f"incident-{execution}-{stage}",
        "incident",
        priority=Priority.high,
        stage=stage,
        error=error,
        detail=f" - {message}" if message else "",
        execution=execution,
    )
    record = load_record(ports, order_id)
    entry = f"{stage}: {error}"
    if entry not in record.value.failures:
        failures_list = [*record.value.failures, entry]
        try:
            save_record(ports, record.value.model_copy(update={"failures": failures_list}), record.version)
        except Conflict as exc:
            raise TransientError("the workflow record changed") from exc
    return {"ticket": ticket, "stage": stage, "error": error}


def _cause_message(cause: Any) -> str:
    """The error message inside a Lambda failure's Cause (never its stack trace)."""
    if not cause:
        return ""
    try:
        parsed = json.loads(cause) if isinstance(cause, str) else cause
    except ValueError:
        return str(cause)[:300]
    if isinstance(parsed, dict):
        return str(parsed.get("errorMessage") or "")[:300]
    return str(parsed)[:300]


__all__ = [
    "StepPorts",
    "await_commissioning",
    "billing",
    "billing_hold",
    "book_appointment",
    "commissioned",
    "commissioning_failed",
    "commissioning_timeout",
    "incident",
    "preparation",
    "reception",
    "when",
]
