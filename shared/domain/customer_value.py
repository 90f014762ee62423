"""What an order adds to its customer's value traits (orders count, lifetime value).

Kept on write, never computed by scanning: each commerce write ADDs the difference between
what the order counted before and what it counts now, in the same transaction as the order.
The average basket is lifetime value / orders count, derived when the profile is read
(``CustomerTraits``). Amounts are in the shop's currency (one currency per shop).
"""

from __future__ import annotations

from decimal import Decimal

from shared.domain.order import Order, OrderStage, PaymentStatus

# Money that never came, or went back: such an order counts for nothing.
_NOT_SPENT = frozenset({PaymentStatus.refunded, PaymentStatus.voided, PaymentStatus.failed})


def contribution(order: Order | None) -> tuple[int, Decimal]:
    """(1, total less refunds) for an order its customer placed and kept; (0, 0) for no order,
    a quote, a cancelled or deleted order, or one refunded in full, voided or whose payment
    failed. A partial refund lowers the value, the order still counts."""
    if order is None or order.customer_id is None:
        return 0, Decimal("0")
    if order.stage in (OrderStage.quote, OrderStage.cancelled) or order.cancelled_at or order.deleted_at:
        return 0, Decimal("0")
    if order.payment.status in _NOT_SPENT:
        return 0, Decimal("0")
    kept = order.total - order.refunded_total
    if order.total > 0 and kept <= 0:
        return 0, Decimal("0")
    return 1, kept


def change(before: Order | None, after: Order) -> dict[str, tuple[int, Decimal]]:
    """customer id -> (orders count delta, value delta) for a write from ``before`` to ``after``
    (an order that moves to another customer leaves the first and counts for the second)."""
    deltas: dict[str, tuple[int, Decimal]] = {}
    if before is not None and before.customer_id:
        count, value = contribution(before)
        deltas[before.customer_id] = (-count, -value)
    if after.customer_id:
        count, value = contribution(after)
        old_count, old_value = deltas.get(after.customer_id, (0, Decimal("0")))
        deltas[after.customer_id] = (old_count + count, old_value + value)
    return {c: d for c, d in deltas.items() if d != (0, Decimal("0"))}
