"""Apply what Shopify and WooCommerce tell us to orders, carts, profiles and timelines.

Rules (issue 6, item 1):
* exactly once per delivery: the dedup record is the first operation of the event's transaction;
* older news never overwrites newer: the platform's ``updated_at`` / ``date_modified_gmt`` is
  kept on the order (per shipment for fulfillments) and compared before every write, and the
  write is guarded by the version that was read;
* orders and carts are linked to a customer found by identity resolution (platform customer
  id, email, phone), created if nobody matches, with the same identity-uniqueness items as the
  inbound pipeline (a lost race re-reads and joins the winner);
* an order, each shipment change, a cancellation, a delivery and an abandoned cart each get one
  timeline entry with a deterministic id (a replay rewrites the same item);
* a delivered order asks the workflow for the satisfaction stage once (``shared/order_ports``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from shared.adapters.commerce.delivery import parse_envelope
from shared.adapters.dynamodb.orders import CustomerChange, OrderRepository, OrderWrite
from shared.domain import customer_value
from shared.domain.commerce import (
    CheckoutSnapshot,
    CommerceEvent,
    CustomerSnapshot,
    DeletedResource,
    Deletion,
    FulfillmentSnapshot,
    Ignored,
    OrderSnapshot,
    PlatformCustomer,
    RefundSnapshot,
    implied_stage,
    later_stage,
)
from shared.domain.common import Channel
from shared.domain.customer import Customer, Identity
from shared.domain.errors import Duplicate
from shared.domain.identity import IdentityKind, Proof
from shared.domain.ids import new_id, stable_id
from shared.domain.inbound import InboundEnvelope, InboundMessage
from shared.domain.order import (
    Checkout,
    CheckoutStatus,
    Order,
    OrderSource,
    OrderStage,
    PaymentStatus,
    Refund,
    Shipment,
    StageEvent,
)
from shared.domain.timeline import TimelineEntry
from shared.order_ports import SatisfactionStarter, satisfaction_starter
from shared.ports import Clock, Repository, Versioned
from shared.services.identity_resolution import find_customer
from shared.services.ingest import IngestResult, retry_lost_races

log = logging.getLogger("guichet.commerce")

DEFAULT_ABANDON_DELAY = timedelta(minutes=60)
_NEWSWORTHY_PAYMENT = {PaymentStatus.paid, PaymentStatus.refunded, PaymentStatus.voided, PaymentStatus.failed}


class OrderNotSynced(Exception):
    """A fulfillment for an order we have not received yet: fail the record, SQS retries later."""


@dataclass(frozen=True)
class SyncResult:
    outcome: str  # created, updated, unchanged, stale, duplicate, ignored
    order_id: str | None = None
    customer_id: str | None = None
    checkout_id: str | None = None
    created_customer: bool = False
    satisfaction_requested: bool = False
    reason: str | None = None


def order_id_for(source: OrderSource, external_id: str) -> str:
    """Deterministic: a webhook and an import of the same platform order address one item."""
    return stable_id("O", source.value, external_id)


def checkout_id_for(source: OrderSource, token: str) -> str:
    return stable_id("K", source.value, token)


# ------------------------------------------------------------------ processor entry point
def process_envelope(
    repo: Repository,
    clock: Clock,
    envelope: InboundEnvelope,
    *,
    orders: OrderRepository | None = None,
    starter: SatisfactionStarter | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[IngestResult]:
    """The inbound router's commerce branch: parse, sync, log (ids and outcome, never content).

    Returns what the processor counts: one duplicate result for a redelivery, else nothing
    (commerce events are not messages; the outcome is logged here).
    """
    event = parse_envelope(envelope)
    result = apply(orders or OrderRepository.beside(repo), repo, clock, event, starter, sleep=sleep)
    log.info(
        "commerce event synced",
        extra={
            "source": event.source.value,
            "topic": event.topic,
            "outcome": result.outcome,
            "order_id": result.order_id,
            "checkout_id": result.checkout_id,
            "customer_id": result.customer_id,
            "created_customer": result.created_customer,
            "satisfaction_requested": result.satisfaction_requested,
        },
    )
    if result.outcome == "duplicate":
        return [IngestResult(None, None, result.customer_id, duplicate=True)]
    return []


def apply(
    orders: OrderRepository,
    repo: Repository,
    clock: Clock,
    event: CommerceEvent,
    starter: SatisfactionStarter | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncResult:
    hook = starter or satisfaction_starter()
    if isinstance(event, OrderSnapshot):
        return sync_order(orders, repo, clock, event, hook, sleep=sleep)
    if isinstance(event, FulfillmentSnapshot):
        return sync_fulfillment(orders, clock, event, hook, sleep=sleep)
    if isinstance(event, RefundSnapshot):
        return sync_refund(orders, clock, event, sleep=sleep)
    if isinstance(event, CheckoutSnapshot):
        return sync_checkout(orders, repo, clock, event, sleep=sleep)
    if isinstance(event, CustomerSnapshot):
        return sync_customer(orders, repo, clock, event, sleep=sleep)
    if isinstance(event, Deletion):
        return sync_deletion(orders, repo, clock, event, sleep=sleep)
    assert isinstance(event, Ignored)
    return SyncResult("ignored", reason=event.reason)


# ------------------------------------------------------------------------------ orders
def sync_order(
    orders: OrderRepository,
    repo: Repository,
    clock: Clock,
    snap: OrderSnapshot,
    starter: SatisfactionStarter,
    *,
    sleep: Callable[[float], None] = time.sleep,
    current: Versioned[Order] | None = None,
    prefetched: bool = False,
    history: bool = False,
) -> SyncResult:
    """Create or update the order. ``current``/``prefetched``: the import reads orders in
    batches and passes what it found (None = not there) for the first attempt. ``history``:
    an imported order already delivered gets no satisfaction survey (``satisfaction_skipped``),
    customers are not surveyed about last year's parcel."""
    order_id = order_id_for(snap.source, snap.external_id)
    seen: dict[str, Order | None] = {}

    def attempt(taken: set[tuple[str, str]], first: bool) -> SyncResult:
        now = clock.now()
        found = current if (first and prefetched) else orders.get_order(order_id)
        before = found.value if found else None
        seen["order"] = before
        if before is not None and _older(snap.source_updated_at, before.source_updated_at):
            return SyncResult("stale", order_id, before.customer_id)
        if (
            before is not None
            and snap.source_updated_at == before.source_updated_at
            and snap.dedup_key is None
        ):
            return SyncResult("unchanged", order_id, before.customer_id)
        if before is not None and before.customer_id:
            customer_id: str | None = before.customer_id
            change = None
        else:
            customer_id, change = _resolve(
                repo, snap.customer, snap.source, now=now, taken=taken, orders_added=1
            )
        after = _merged_order(before, snap, order_id, customer_id, now)
        if (
            history
            and after.delivered_at
            and not (after.satisfaction_requested_at or after.satisfaction_skipped)
        ):
            after = after.model_copy(update={"satisfaction_skipped": "delivered before the history import"})
        after = _staged(after, snap.source, now, history=history)
        change = _with_value(change, before, after)
        checkout, checkout_version = _completed_checkout(orders, snap, order_id, customer_id, now)
        timeline = [(customer_id, e) for e in _order_timeline(before, after, now)] if customer_id else []
        orders.commit(
            OrderWrite(
                dedup_key=snap.dedup_key,
                customer=change,
                order=after,
                order_version=found.version if found else None,
                checkout=checkout,
                checkout_version=checkout_version,
                timeline=timeline,
                at=now,
            )
        )
        seen["order"] = after
        return SyncResult(
            "updated" if found else "created",
            order_id,
            customer_id,
            checkout.id if checkout else None,
            created_customer=bool(change and change.new_customer),
        )

    try:
        result = retry_lost_races(attempt, sleep)
    except Duplicate:
        # The order as this attempt read it: the redelivery changed nothing since.
        known = seen.get("order")
        result = SyncResult("duplicate", order_id, known.customer_id if known else None)
    return _with_satisfaction(orders, clock, starter, seen.get("order"), result)


def sync_fulfillment(
    orders: OrderRepository,
    clock: Clock,
    snap: FulfillmentSnapshot,
    starter: SatisfactionStarter,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncResult:
    order_id = order_id_for(snap.source, snap.order_external_id)
    seen: dict[str, Order | None] = {}

    def attempt(taken: set[tuple[str, str]], first: bool) -> SyncResult:
        now = clock.now()
        found = orders.get_order(order_id)
        if found is None:
            raise OrderNotSynced(f"fulfillment for order {order_id}, not synced yet")
        before = found.value
        seen["order"] = before
        incoming = snap.shipment
        existing = next((s for s in before.shipments if _same_shipment(s, incoming)), None)
        if existing is not None and _older(incoming.source_updated_at, existing.source_updated_at):
            return SyncResult("stale", order_id, before.customer_id)
        after = _deliver_if_done(
            before.model_copy(
                update={"shipments": _merge_shipments(before.shipments, [incoming]), "updated_at": now}
            ),
            now,
        )
        after = _staged(after, snap.source, now)
        timeline = (
            [(before.customer_id, e) for e in _order_timeline(before, after, now)]
            if before.customer_id
            else []
        )
        orders.commit(
            OrderWrite(
                dedup_key=snap.dedup_key, order=after, order_version=found.version, timeline=timeline, at=now
            )
        )
        seen["order"] = after
        return SyncResult("updated", order_id, before.customer_id)

    try:
        result = retry_lost_races(attempt, sleep)
    except Duplicate:
        known = seen.get("order")
        result = SyncResult("duplicate", order_id, known.customer_id if known else None)
    return _with_satisfaction(orders, clock, starter, seen.get("order"), result)


def sync_refund(
    orders: OrderRepository,
    clock: Clock,
    snap: RefundSnapshot,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncResult:
    """One refund (Shopify ``refunds/create``): kept on the order with its amount and lines; the
    payment status (partially refunded, refunded), the customer's lifetime value and timeline
    follow. A refund of an order not synced yet fails the record (SQS retries)."""
    order_id = order_id_for(snap.source, snap.order_external_id)

    def attempt(taken: set[tuple[str, str]], first: bool) -> SyncResult:
        now = clock.now()
        found = orders.get_order(order_id)
        if found is None:
            raise OrderNotSynced(f"refund for order {order_id}, not synced yet")
        before = found.value
        refunds = _merge_refunds(before.refunds, [snap.refund])
        if refunds == before.refunds:
            if snap.dedup_key:
                orders.commit(OrderWrite(dedup_key=snap.dedup_key, at=now))
            return SyncResult("unchanged", order_id, before.customer_id)
        after = before.model_copy(update={"refunds": refunds, "updated_at": now}).with_refund_status()
        timeline = (
            [(before.customer_id, e) for e in _order_timeline(before, after, now)]
            if before.customer_id
            else []
        )
        orders.commit(
            OrderWrite(
                dedup_key=snap.dedup_key,
                customer=_with_value(None, before, after),
                order=after,
                order_version=found.version,
                timeline=timeline,
                at=now,
            )
        )
        return SyncResult("updated", order_id, before.customer_id)

    try:
        return retry_lost_races(attempt, sleep)
    except Duplicate:
        return SyncResult("duplicate", order_id)


def request_satisfaction(
    orders: OrderRepository, clock: Clock, starter: SatisfactionStarter, order: Order | None
) -> bool:
    """Delivered and not yet requested: call the workflow's port, then record it (first wins).
    True when the port was called.

    The port is called before the record, so a crash in between calls it again on the retry
    (the port is idempotent); the record makes later deliveries of the same news stop here.
    """
    if order is None or order.satisfaction_requested_at is not None or order.satisfaction_skipped:
        return False
    if order.stage is OrderStage.cancelled or order.deleted_at is not None or not order.is_delivered():
        return False
    starter.start_satisfaction(order.id)
    orders.mark_satisfaction_requested(order.id, clock.now())  # False if the starter recorded it
    return True


def _with_satisfaction(
    orders: OrderRepository,
    clock: Clock,
    starter: SatisfactionStarter,
    order: Order | None,
    result: SyncResult,
) -> SyncResult:
    if result.outcome in ("stale", "unchanged") and order is not None and order.satisfaction_requested_at:
        return result
    requested = request_satisfaction(orders, clock, starter, order)
    if not requested:
        return result
    return SyncResult(
        result.outcome,
        result.order_id,
        result.customer_id,
        result.checkout_id,
        result.created_customer,
        satisfaction_requested=True,
    )


def _merged_order(
    before: Order | None, snap: OrderSnapshot, order_id: str, customer_id: str | None, now: datetime
) -> Order:
    """The platform's view replaces the synced fields; what Guichet owns (stage, history,
    satisfaction request, links) is kept; shipments merge by id, newest news per shipment."""
    history = list(before.stage_history) if before else []
    stage = before.stage if before else OrderStage.reception
    if before is None:
        history.append(
            StageEvent(stage=stage, at=snap.placed_at or now, note=f"synced from {snap.source.value}")
        )
    order = Order(
        id=order_id,
        number=snap.number,
        source=snap.source,
        external_id=snap.external_id,
        customer_id=customer_id,
        lines=snap.lines,
        billing_address=snap.billing_address,
        shipping_address=snap.shipping_address,
        payment=snap.payment,
        shipments=_merge_shipments(before.shipments if before else [], snap.shipments),
        stage=stage,
        stage_history=history,
        total=snap.total,
        currency=snap.currency,
        source_updated_at=snap.source_updated_at,
        created_at=before.created_at if before else now,
        updated_at=now,
        email=snap.customer.email,
        phone=snap.customer.phone,
        platform_customer_id=snap.customer.platform_id,
        checkout_token=snap.checkout_token,
        fulfillment_status=snap.fulfillment_status,
        placed_at=snap.placed_at,
        cancelled_at=snap.cancelled_at,
        deleted_at=None,
        delivered_at=before.delivered_at if before else None,
        satisfaction_requested_at=before.satisfaction_requested_at if before else None,
        satisfaction_skipped=before.satisfaction_skipped if before else None,
        refunds=_merge_refunds(before.refunds if before else [], snap.refunds),
    )
    if snap.completed_at is not None and order.delivered_at is None:
        order = order.model_copy(update={"delivered_at": snap.completed_at})
    return _deliver_if_done(order.with_refund_status(), now)


def _merge_refunds(current: list[Refund], incoming: list[Refund]) -> list[Refund]:
    """Refunds by id: the order webhook lists them all, ``refunds/create`` brings one (maybe
    first); none is lost whichever comes first."""
    merged = {refund.id: refund for refund in current}
    for refund in incoming:
        known = merged.get(refund.id)
        # An order's summary (WooCommerce) has no lines: a detailed copy already kept wins.
        if known is None or refund.lines or not known.lines:
            merged[refund.id] = refund
    return sorted(merged.values(), key=lambda r: (r.refunded_at is None, r.refunded_at, r.id))


def _staged(order: Order, source: OrderSource, now: datetime, *, history: bool = False) -> Order:
    """The order at the stage its status implies (never back, except to cancelled), with the
    stage event dated when the platform says it happened. Nothing is sent: a stage is not an alert."""
    implied = implied_stage(order)
    if not later_stage(order.stage, implied):
        return order
    at = (
        {
            OrderStage.cancelled: order.cancelled_at or order.deleted_at,
            OrderStage.satisfaction: order.delivered_at,
            OrderStage.completed: order.delivered_at,
            OrderStage.preparation: min(
                (s.shipped_at for s in order.shipments if s.shipped_at), default=None
            ),
        }.get(implied)
        or order.source_updated_at
        or now
    )
    verb = {
        OrderStage.cancelled: "cancelled",
        OrderStage.preparation: "shipped",
        OrderStage.satisfaction: "delivered",
        OrderStage.completed: "delivered",
    }.get(implied, implied.value)
    how = "imported from" if history else "on"
    note = f"{verb} {how} {source.value}"
    events = [*order.stage_history, StageEvent(stage=implied, at=at, note=note)]
    return order.model_copy(update={"stage": implied, "stage_history": events})


def _deliver_if_done(order: Order, now: datetime) -> Order:
    if order.delivered_at is not None or not order.is_delivered():
        return order
    times = [s.delivered_at for s in order.shipments if s.delivered_at is not None]
    return order.model_copy(update={"delivered_at": max(times) if times else now})


def _same_shipment(a: Shipment, b: Shipment) -> bool:
    if a.id and b.id:
        return a.id == b.id
    return bool(a.tracking_number) and a.tracking_number == b.tracking_number


def _merge_shipments(current: list[Shipment], incoming: list[Shipment]) -> list[Shipment]:
    merged = list(current)
    for shipment in incoming:
        index = next((i for i, s in enumerate(merged) if _same_shipment(s, shipment)), None)
        if index is None:
            merged.append(shipment)
        elif not _older(shipment.source_updated_at, merged[index].source_updated_at):
            merged[index] = shipment
    return merged


def _completed_checkout(
    orders: OrderRepository, snap: OrderSnapshot, order_id: str, customer_id: str | None, now: datetime
) -> tuple[Checkout | None, int | None]:
    """The checkout this order came from is no cart to chase: completed (or recovered, if it was
    already reported abandoned). A checkout we have not seen yet gets a completed record, so its
    late webhook cannot reopen it."""
    if not snap.checkout_token:
        return None, None
    found = orders.get_checkout(snap.source.value, snap.checkout_token)
    if found is None:
        checkout = Checkout(
            id=checkout_id_for(snap.source, snap.checkout_token),
            source=snap.source,
            token=snap.checkout_token,
            customer_id=customer_id,
            status=CheckoutStatus.completed,
            order_id=order_id,
            completed_at=snap.placed_at or now,
            created_at=now,
            updated_at=now,
        )
        return checkout, None
    current = found.value
    if current.status in (CheckoutStatus.completed, CheckoutStatus.recovered):
        return None, None
    status = (
        CheckoutStatus.recovered if current.status is CheckoutStatus.abandoned else CheckoutStatus.completed
    )
    checkout = current.model_copy(
        update={
            "status": status,
            "order_id": order_id,
            "completed_at": snap.placed_at or now,
            "updated_at": now,
        }
    )
    return checkout, found.version


def _order_timeline(before: Order | None, after: Order, now: datetime) -> list[TimelineEntry]:
    """One entry per newsworthy change, with ids derived from the change (replays rewrite them)."""
    entries: list[TimelineEntry] = []
    moment = after.source_updated_at or now
    details = {"order_id": after.id, "order_number": after.number, "source": after.source.value}
    if before is None:
        count = sum(line.quantity for line in after.lines)
        entries.append(
            TimelineEntry(
                event_id=f"order:{after.id}:placed",
                kind="order",
                summary=f"Order {after.number} placed on {after.source.value}:"
                f" {after.total} {after.currency}, {count} item{'s' if count != 1 else ''}",
                details={**details, "total": str(after.total), "currency": after.currency},
                at=after.placed_at or moment,
            )
        )
    elif after.payment.status is not before.payment.status and after.payment.status in _NEWSWORTHY_PAYMENT:
        entries.append(
            TimelineEntry(
                event_id=f"order:{after.id}:payment:{after.payment.status.value}",
                kind="order",
                summary=f"Order {after.number}: payment {after.payment.status.value}",
                details={**details, "payment_status": after.payment.status.value},
                at=moment,
            )
        )
    known = {refund.id for refund in (before.refunds if before else [])}
    titles = {line.id: line.title for line in after.lines}
    for refund in after.refunds:
        if refund.id in known:
            continue
        items = ", ".join(
            f"{line.quantity} x {titles.get(line.line_id, line.line_id)}"
            for line in refund.lines
            if line.quantity
        )
        entries.append(
            TimelineEntry(
                event_id=f"order:{after.id}:refund:{refund.id}",
                kind="order",
                summary=f"Order {after.number}: refund of {refund.amount} {refund.currency}"
                + (f" ({items})" if items else "")
                + ("" if after.payment.status is PaymentStatus.refunded else ", partial"),
                details={
                    **details,
                    "refund_id": refund.id,
                    "amount": str(refund.amount),
                    "currency": refund.currency,
                    "lines": ",".join(f"{line.line_id}:{line.quantity}" for line in refund.lines),
                },
                at=refund.refunded_at or moment,
            )
        )
    if after.cancelled_at is not None and (before is None or before.cancelled_at is None):
        entries.append(
            TimelineEntry(
                event_id=f"order:{after.id}:cancelled",
                kind="order",
                summary=f"Order {after.number} cancelled on {after.source.value}",
                details=details,
                at=after.cancelled_at,
            )
        )
    previous = {(s.id or s.tracking_number): s.status for s in (before.shipments if before else [])}
    for shipment in after.shipments:
        key = shipment.id or shipment.tracking_number
        if key is None or (key in previous and previous[key] == shipment.status):
            continue
        status = shipment.status or "shipped"
        via = f" via {shipment.carrier}" if shipment.carrier else ""
        tracking = f" (tracking {shipment.tracking_number})" if shipment.tracking_number else ""
        shipment_details = {**details, "shipment_id": key, "status": status}
        if shipment.tracking_url:
            shipment_details["tracking_url"] = shipment.tracking_url
        entries.append(
            TimelineEntry(
                event_id=f"order:{after.id}:shipment:{key}:{status}",
                kind="shipment",
                summary=f"Order {after.number}: {status}{via}{tracking}",
                details=shipment_details,
                at=shipment.source_updated_at or shipment.shipped_at or moment,
            )
        )
    if after.delivered_at is not None and (before is None or before.delivered_at is None):
        entries.append(
            TimelineEntry(
                event_id=f"order:{after.id}:delivered",
                kind="order",
                summary=f"Order {after.number} delivered",
                details=details,
                at=after.delivered_at,
            )
        )
    return entries


# --------------------------------------------------------------------------- checkouts
def sync_checkout(
    orders: OrderRepository,
    repo: Repository,
    clock: Clock,
    snap: CheckoutSnapshot,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncResult:
    """An open checkout waits on the due index; the sweeper reports it abandoned after the delay."""
    checkout_id = checkout_id_for(snap.source, snap.token)

    def attempt(taken: set[tuple[str, str]], first: bool) -> SyncResult:
        now = clock.now()
        found = orders.get_checkout(snap.source.value, snap.token)
        before = found.value if found else None
        if before is not None and before.status in (CheckoutStatus.completed, CheckoutStatus.recovered):
            if snap.dedup_key:
                orders.commit(OrderWrite(dedup_key=snap.dedup_key, at=now))
            return SyncResult("unchanged", before.order_id, before.customer_id, checkout_id)
        if before is not None and _older(snap.source_updated_at, before.source_updated_at):
            return SyncResult("stale", None, before.customer_id, checkout_id)
        if before is not None and before.customer_id:
            customer_id: str | None = before.customer_id
            change = None
        else:
            customer_id, change = _resolve(repo, snap.customer, snap.source, now=now, taken=taken)
        status = CheckoutStatus.completed if snap.completed_at else CheckoutStatus.open
        checkout = Checkout(
            id=checkout_id,
            source=snap.source,
            token=snap.token,
            cart_token=snap.cart_token,
            customer_id=customer_id,
            email=snap.customer.email,
            phone=snap.customer.phone,
            platform_customer_id=snap.customer.platform_id,
            lines=snap.lines,
            total=snap.total,
            currency=snap.currency,
            recovery_url=snap.recovery_url,
            status=status,
            source_created_at=snap.source_created_at,
            source_updated_at=snap.source_updated_at or now,
            completed_at=snap.completed_at,
            created_at=before.created_at if before else now,
            updated_at=now,
        )
        orders.commit(
            OrderWrite(
                dedup_key=snap.dedup_key,
                customer=change,
                checkout=checkout,
                checkout_version=found.version if found else None,
                at=now,
            )
        )
        return SyncResult(
            "updated" if found else "created",
            None,
            customer_id,
            checkout_id,
            created_customer=bool(change and change.new_customer),
        )

    try:
        return retry_lost_races(attempt, sleep)
    except Duplicate:
        return SyncResult("duplicate", checkout_id=checkout_id)


@dataclass(frozen=True)
class SweepResult:
    abandoned: int
    lost_races: int


def sweep_abandoned_carts(
    orders: OrderRepository, clock: Clock, delay: timedelta = DEFAULT_ABANDON_DELAY, limit: int = 100
) -> SweepResult:
    """Checkouts with no order ``delay`` after their last update become abandoned carts on the
    customer's timeline. Reads only due items (GSI3, at most ``limit`` per shard per run)."""
    now = clock.now()
    abandoned = lost = 0
    for due in orders.due_checkouts(now - delay, limit):
        checkout = due.value
        at = (checkout.source_updated_at or checkout.updated_at) + delay
        count = sum(line.quantity for line in checkout.lines)
        details = {"checkout_id": checkout.id, "total": str(checkout.total), "currency": checkout.currency}
        if checkout.recovery_url:
            details["recovery_url"] = checkout.recovery_url
        entry = TimelineEntry(
            event_id=f"cart:{checkout.id}:abandoned",
            kind="abandoned_cart",
            summary=f"Abandoned cart on {checkout.source.value}: {checkout.total} {checkout.currency},"
            f" {count} item{'s' if count != 1 else ''}",
            details=details,
            at=at,
        )
        if orders.mark_checkout_abandoned(checkout, due.version, now, entry):
            abandoned += 1
        else:
            lost += 1  # the customer came back, or an order completed it, meanwhile
    return SweepResult(abandoned, lost)


# --------------------------------------------------------------------------- customers
def sync_customer(
    orders: OrderRepository,
    repo: Repository,
    clock: Clock,
    snap: CustomerSnapshot,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncResult:
    """A platform account: find or create the profile, add the identifiers it did not have."""

    def attempt(taken: set[tuple[str, str]], first: bool) -> SyncResult:
        now = clock.now()
        customer_id, change = _resolve(repo, snap.customer, snap.source, now=now, taken=taken)
        if customer_id is None:
            return SyncResult("ignored", reason="no usable identifier")
        orders.commit(OrderWrite(dedup_key=snap.dedup_key, customer=change, at=now))
        outcome = "created" if change and change.new_customer else ("updated" if change else "unchanged")
        return SyncResult(outcome, None, customer_id, created_customer=outcome == "created")

    try:
        return retry_lost_races(attempt, sleep)
    except Duplicate:
        return SyncResult("duplicate")


def sync_deletion(
    orders: OrderRepository,
    repo: Repository,
    clock: Clock,
    event: Deletion,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncResult:
    """An order deleted on the shop is kept (its tickets and history matter) and marked
    cancelled; a deleted account keeps its profile and gets a timeline note."""

    def attempt(taken: set[tuple[str, str]], first: bool) -> SyncResult:
        now = clock.now()
        if event.resource is DeletedResource.customer:
            owner = repo.identity_owner(event.source.value, event.external_id)
            timeline = []
            if owner:
                timeline.append(
                    (
                        owner,
                        TimelineEntry(
                            event_id=f"account:{event.source.value}:{event.external_id}:deleted",
                            kind="account",
                            summary=f"Customer account deleted on {event.source.value}",
                            at=event.at,
                        ),
                    )
                )
            orders.commit(OrderWrite(dedup_key=event.dedup_key, timeline=timeline, at=now))
            return SyncResult("updated" if owner else "unchanged", None, owner)
        order_id = order_id_for(event.source, event.external_id)
        found = orders.get_order(order_id)
        if found is None or found.value.deleted_at is not None:
            if event.dedup_key:
                orders.commit(OrderWrite(dedup_key=event.dedup_key, at=now))
            return SyncResult("unchanged", order_id)
        before = found.value
        history = list(before.stage_history)
        stage = before.stage
        if stage not in (OrderStage.cancelled, OrderStage.completed):
            stage = OrderStage.cancelled
            history.append(StageEvent(stage=stage, at=event.at, note=f"deleted on {event.source.value}"))
        after = before.model_copy(
            update={"deleted_at": event.at, "stage": stage, "stage_history": history, "updated_at": now}
        )
        timeline = []
        if before.customer_id:
            entry = TimelineEntry(
                event_id=f"order:{order_id}:deleted",
                kind="order",
                summary=f"Order {before.number} deleted on {event.source.value}",
                details={"order_id": order_id, "order_number": before.number, "source": event.source.value},
                at=event.at,
            )
            timeline.append((before.customer_id, entry))
        orders.commit(
            OrderWrite(
                dedup_key=event.dedup_key,
                customer=_with_value(None, before, after),
                order=after,
                order_version=found.version,
                timeline=timeline,
                at=now,
            )
        )
        return SyncResult("updated", order_id, before.customer_id)

    try:
        return retry_lost_races(attempt, sleep)
    except Duplicate:
        return SyncResult("duplicate")


# ------------------------------------------------------------------------------ helpers
def _with_value(change: CustomerChange | None, before: Order | None, after: Order) -> CustomerChange | None:
    """The profile change with the order's effect on the value traits (orders count, lifetime
    value: what it counts now minus what it counted before, ADDed on write)."""
    deltas = customer_value.change(before, after)
    if change is not None:
        count, value = deltas.pop(change.customer_id, (0, Decimal("0")))
        change = replace(change, orders_added=count, value_added=value)
    for customer_id, (count, value) in deltas.items():  # the order's customer, when already linked
        if change is None:
            change = CustomerChange(
                customer_id=customer_id, orders_added=count, value_added=value, traits_only=True
            )
    return change


def _resolve(
    repo: Repository,
    who: PlatformCustomer,
    source: OrderSource,
    *,
    now: datetime,
    taken: set[tuple[str, str]],
    orders_added: int = 0,
) -> tuple[str | None, CustomerChange | None]:
    """The profile these identifiers belong to (the first one with an owner decides, as for
    messages, except that a phone decides only for an order without email), with the
    identifiers it lacks; or a new profile. None when there is no usable
    identifier (a guest order without email or phone stays unlinked)."""
    claims = who.claims(source)
    if not claims:
        return None, None
    # find_customer reads only the identities: this message is a lookup key, never recorded.
    # A phone is shared more often than an email (a household, a switchboard): with an email, the
    # phone does not decide who this is; it is only claimed if nobody owns it yet.
    deciding = [c for c in claims if c.kind is not IdentityKind.phone] if who.email else claims
    lookup = InboundMessage(
        dedup_key="commerce-lookup", channel=Channel.web_form, identities=deciding, sent_at=now
    )
    found = find_customer(repo, lookup)
    if found is not None:
        customer = found.value
        missing = [
            Identity(kind=c.kind, value=c.value, first_seen_at=now, proof=Proof.claimed)
            for c in claims
            if not customer.holds_proof  # a shop's data is a claim: never on a proven profile
            and not customer.has_identity(c.kind, c.value)
            and (c.kind.value, c.value) not in taken
            and (c in deciding or _unowned(repo, c.kind.value, c.value, taken))
        ]
        first = who.first_name if not customer.first_name else None
        last = who.last_name if not customer.last_name else None
        display = who.display_name if not customer.display_name else None
        if not missing and not (first or last or display) and not orders_added:
            return customer.id, None
        return customer.id, CustomerChange(
            customer_id=customer.id,
            claimed_identities=missing,
            first_name=first,
            last_name=last,
            display_name=display,
            orders_added=orders_added,
        )
    identities = [
        Identity(kind=c.kind, value=c.value, first_seen_at=now, proof=Proof.claimed)
        for c in claims
        if (c.kind.value, c.value) not in taken
        and (c in deciding or _unowned(repo, c.kind.value, c.value, taken))
    ]
    if not identities:
        return None, None
    customer = Customer(
        id=new_id("C"),
        display_name=who.display_name,
        first_name=who.first_name,
        last_name=who.last_name,
        identities=identities,
        created_at=now,
        updated_at=now,
    )
    return customer.id, CustomerChange(
        customer_id=customer.id,
        new_customer=customer,
        claimed_identities=identities,
        orders_added=orders_added,
    )


def _unowned(repo: Repository, kind: str, value: str, taken: set[tuple[str, str]]) -> bool:
    """An identifier that did not take part in the lookup (a phone beside an email): one GetItem
    now instead of a cancelled transaction when someone else owns it."""
    if repo.identity_owner(kind, value) is None:
        return True
    taken.add((kind, value))
    return False


def _older(incoming: datetime | None, stored: datetime | None) -> bool:
    """True when the incoming news is strictly older than what is stored (it must not win)."""
    return incoming is not None and stored is not None and incoming < stored
