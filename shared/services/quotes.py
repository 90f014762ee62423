"""Quotes and the staff-side actions on a running workflow.

* create a quote from catalog lines, with installation slots to offer;
* accept it (the customer in the customer space, or staff on the customer's behalf): the order
  is created and its workflow started, one execution named after the order;
* staff decide the billable status of lines, which wakes a billing hold;
* restart the workflow of an order after fixing what failed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from shared.domain.catalog import LEAD_DAYS, Slot, available_slots, required_skills
from shared.domain.common import Address
from shared.domain.errors import Conflict, InvalidInput, NotFound
from shared.domain.ids import new_id, ticket_reference
from shared.domain.order import BillableStatus, Order
from shared.domain.quote import Quote, QuoteStatus, order_from_quote, quote_line
from shared.domain.workflow import Awaiting, WaitKind, WorkflowRecord, lines_blocking_billing
from shared.ports import Versioned
from shared.services.order_commissioning import report_links
from shared.workflow_ports import Clock, Customers, Orders, Uploads, WorkflowData, WorkflowEngine

QUOTE_VALID_DAYS = 30
OFFERED_SLOTS = 3


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class Timeouts:
    """Seconds the workflow waits, passed in each execution's input (``$.timeouts``)."""

    commissioning_s: int
    billing_hold_s: int
    back_order_wait_s: int

    def as_input(self) -> dict[str, int]:
        return {
            "commissioning_seconds": self.commissioning_s,
            "billing_hold_seconds": self.billing_hold_s,
            "back_order_wait_seconds": self.back_order_wait_s,
        }


def offer_slots(
    store: WorkflowData, skus: list[str], now: datetime, limit: int = OFFERED_SLOTS
) -> list[Slot]:
    products = store.products(skus)
    skills = required_skills(products.values())
    able = [t for t in store.technicians() if t.can_do(skills)]
    booked = store.booked_slots([t.id for t in able], now, now + timedelta(days=LEAD_DAYS + 29))
    return available_slots(able, skills, booked, now, limit=limit)


def create_quote(
    store: WorkflowData,
    customers: Customers,
    clock: Clock,
    *,
    customer_id: str,
    lines: list[LineRequest],
    billing_address: Address,
    shipping_address: Address,
    created_by: str,
) -> Quote:
    if customers.get_customer(customer_id) is None:
        raise NotFound("customer", customer_id)
    products = store.products(line.sku for line in lines)
    problems = [
        {"field": f"lines[{i}].sku", "message": f"{line.sku}: not in the catalog or not orderable"}
        for i, line in enumerate(lines)
        if line.sku not in products or not products[line.sku].orderable
    ]
    for name, address in (("billing_address", billing_address), ("shipping_address", shipping_address)):
        if not address.is_complete():
            problems.append({"field": name, "message": "incomplete (name, line 1, postcode, city, country)"})
    if problems:
        raise InvalidInput(problems)
    now = clock.now()
    quote = Quote(
        id=new_id("Q"),
        number=f"DEV-{now.year}-{ticket_reference()}",
        customer_id=customer_id,
        lines=[quote_line(products[line.sku], line.quantity, line.unit_price) for line in lines],
        billing_address=billing_address,
        shipping_address=shipping_address,
        offered_slots=offer_slots(store, [line.sku for line in lines], now),
        valid_until=now + timedelta(days=QUOTE_VALID_DAYS),
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    store.create_quote(quote)
    return quote


def quote_for(store: WorkflowData, quote_id: str, customer_id: str | None = None) -> Versioned[Quote]:
    """The quote; for a customer, only their own (someone else's is "not found", not "forbidden")."""
    found = store.get_quote(quote_id)
    if found is None or (customer_id is not None and found.value.customer_id != customer_id):
        raise NotFound("quote", quote_id)
    return found


def accept_quote(
    store: WorkflowData,
    orders: Orders,
    engine: WorkflowEngine,
    clock: Clock,
    timeouts: Timeouts,
    *,
    quote_id: str,
    accepted_by: str,
    customer_id: str | None = None,
    slot: Slot | None = None,
) -> Order:
    """Quote -> order -> workflow. Repeating it is harmless: the order id derives from the quote,
    and the execution is named after the order."""
    found = quote_for(store, quote_id, customer_id)
    quote = found.value
    now = clock.now()
    if quote.status is QuoteStatus.cancelled:
        raise Conflict(f"quote {quote.number} is cancelled")
    if quote.status is QuoteStatus.open and quote.valid_until < now:
        raise Conflict(f"quote {quote.number} expired on {quote.valid_until.date().isoformat()}")
    if slot is not None and not any(
        (o.technician_id, o.start) == (slot.technician_id, slot.start) for o in quote.offered_slots
    ):
        raise InvalidInput([{"field": "slot", "message": "choose one of the offered slots"}])
    order = order_from_quote(quote, now)
    existing = orders.get_order(order.id)
    if existing is None:
        try:
            orders.create_order(order)
        except Conflict:
            existing = orders.get_order(order.id)
    if existing is not None:
        order = existing.value
    if quote.status is QuoteStatus.open:
        accepted = quote.model_copy(
            update={
                "status": QuoteStatus.accepted,
                "order_id": order.id,
                "accepted_at": now,
                "accepted_by": accepted_by,
                "chosen_slot": slot,
                "updated_at": now,
            }
        )
        store.save_quote(accepted, found.version)
        quote = accepted
    if store.get_workflow(order.id) is None:
        record = WorkflowRecord(
            order_id=order.id, executions=[order.id], requested_slot=quote.chosen_slot, updated_at=now
        )
        with contextlib.suppress(Conflict):  # a concurrent acceptance created it
            store.save_workflow(record, None)
    engine.start(order.id, {"order_id": order.id, "timeouts": timeouts.as_input()})
    return order


def restart_workflow(
    store: WorkflowData,
    orders: Orders,
    engine: WorkflowEngine,
    clock: Clock,
    timeouts: Timeouts,
    *,
    order_id: str,
) -> str:
    """A new execution for the order (``<order id>-r<n>``); finished steps are skipped by the
    steps themselves, so the customer hears nothing twice."""
    if orders.get_order(order_id) is None:
        raise NotFound("order", order_id)
    found = store.get_workflow(order_id)
    if found is None:
        record, version = WorkflowRecord(order_id=order_id, updated_at=clock.now()), None
    else:
        record, version = found.value, found.version
    name = f"{order_id}-r{len(record.executions)}" if record.executions else order_id
    updated = record.model_copy(
        update={"executions": [*record.executions, name], "awaiting": None, "updated_at": clock.now()}
    )
    store.save_workflow(updated, version)
    engine.start(name, {"order_id": order_id, "timeouts": timeouts.as_input()})
    return name


def set_billable(
    store: WorkflowData,
    orders: Orders,
    engine: WorkflowEngine,
    clock: Clock,
    *,
    order_id: str,
    statuses: dict[str, BillableStatus],
) -> Order:
    """Staff decide lines' billable status; once nothing blocks billing, a waiting billing hold
    is answered and the invoice follows."""
    found = orders.get_order(order_id)
    if found is None:
        raise NotFound("order", order_id)
    order = found.value
    allowed = {BillableStatus.billable, BillableStatus.not_billable, BillableStatus.pending}
    problems = [
        {"field": f"lines.{line_id}", "message": "not a line of this order"}
        for line_id in statuses
        if line_id not in {line.id for line in order.lines}
    ]
    problems += [
        {"field": f"lines.{line_id}", "message": f"cannot be set to {status.value}"}
        for line_id, status in statuses.items()
        if status not in allowed
    ]
    billed = [
        line.id
        for line in order.lines
        if line.id in statuses and line.billable_status is BillableStatus.billed
    ]
    problems += [{"field": f"lines.{line_id}", "message": "already billed"} for line_id in billed]
    if problems:
        raise InvalidInput(problems)
    lines = [
        line.model_copy(update={"billable_status": statuses[line.id]}) if line.id in statuses else line
        for line in order.lines
    ]
    order = order.model_copy(update={"lines": lines, "updated_at": clock.now()})
    orders.save_order(order, found.version)
    record = store.get_workflow(order_id)
    awaiting: Awaiting | None = record.value.awaiting if record else None
    waiting = record is not None and awaiting is not None and awaiting.kind is WaitKind.billing
    if waiting and record is not None and awaiting is not None and not lines_blocking_billing(order):
        store.save_workflow(
            record.value.model_copy(update={"awaiting": None, "updated_at": clock.now()}), record.version
        )
        engine.send_success(awaiting.token, {"released_by": "billable-status"})
    return order


def workflow_view(store: WorkflowData, order_id: str) -> dict[str, Any]:
    """The workflow part of the 360 order view (no task tokens: they are credentials)."""
    found = store.get_workflow(order_id)
    if found is None:
        return {}
    view = found.value.model_dump(mode="json", exclude={"awaiting"})
    awaiting = found.value.awaiting
    view["waiting_for"] = awaiting.kind.value if awaiting else None
    return view


class SentAlert(Protocol):
    """One alert's record (WorkflowStore's AlertRecord)."""

    @property
    def key(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def channel(self) -> str | None: ...
    @property
    def at(self) -> str | None: ...


class AlertLog(Protocol):
    def alerts(self, order_id: str) -> Sequence[SentAlert]: ...


def invoice_link(order_id: str) -> str:
    """The staff route that redirects to a short-lived link to the invoice document."""
    return f"/api/orders/{order_id}/invoice"


def workflow_details(
    store: WorkflowData, log: AlertLog, order_id: str, uploads: Uploads | None = None
) -> dict[str, Any]:
    """What ``GET /api/orders/{id}/workflow`` answers and the 360 order view embeds: the
    workflow view (appointment, reports, provisioning, invoice, survey, CSAT, failures), the
    alert sent at each stage, and the invoice's link. Empty when the order has no workflow.
    ``uploads``: short-lived links to each report's photos and signature."""
    view = workflow_view(store, order_id)
    if not view:
        return {}
    view["alerts"] = [
        {"key": a.key, "status": a.status, "channel": a.channel, "at": a.at} for a in log.alerts(order_id)
    ]
    if isinstance(view.get("invoice"), dict):
        view["invoice"]["link"] = invoice_link(order_id)
    found = store.get_workflow(order_id) if uploads is not None else None
    if uploads is not None and found is not None:
        for shown, report in zip(view.get("reports") or [], found.value.reports, strict=False):
            shown["links"] = report_links(uploads, order_id, report)
    return view
