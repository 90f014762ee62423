"""Value traits: what an order adds to its customer (orders count, lifetime value, average basket)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from shared.domain.customer import CustomerTraits
from shared.domain.customer_value import change, contribution
from shared.domain.order import Order, OrderSource, OrderStage, Payment, PaymentStatus

NOW = datetime(2026, 11, 25, 10, tzinfo=UTC)


def _order(**changes) -> Order:
    base = Order(
        id="O1",
        number="#1001",
        source=OrderSource.shopify,
        customer_id="C1",
        total=Decimal("409.94"),
        payment=Payment(status=PaymentStatus.paid),
        created_at=NOW,
        updated_at=NOW,
    )
    return base.model_copy(update=changes)


def test_a_kept_order_counts_its_total_and_a_lost_one_nothing():
    assert contribution(_order()) == (1, Decimal("409.94"))
    for lost in (
        _order(stage=OrderStage.cancelled),
        _order(cancelled_at=NOW),
        _order(deleted_at=NOW),
        _order(stage=OrderStage.quote),
        _order(payment=Payment(status=PaymentStatus.refunded)),
        _order(customer_id=None),
        None,
    ):
        assert contribution(lost) == (0, Decimal("0"))


def test_a_write_adds_the_difference_to_the_customers_it_touches():
    assert change(None, _order()) == {"C1": (1, Decimal("409.94"))}
    assert change(_order(), _order(total=Decimal("420.00"))) == {"C1": (0, Decimal("10.06"))}
    assert change(_order(), _order(cancelled_at=NOW)) == {"C1": (-1, Decimal("-409.94"))}
    assert change(_order(), _order()) == {}  # a shipment, a note: nothing to add
    assert change(_order(customer_id=None), _order()) == {"C1": (1, Decimal("409.94"))}  # linked late


def test_the_average_basket_is_derived_from_the_kept_counters():
    stored = {
        "orders_count": 3,
        "lifetime_value": "0",
        "orders_value": Decimal("100.50"),
        "average_basket": "9",
    }
    traits = CustomerTraits.model_validate(stored)
    assert (traits.lifetime_value, traits.average_basket) == (Decimal("100.50"), Decimal("33.50"))
    assert CustomerTraits().average_basket is None
    assert CustomerTraits.model_validate({"orders_count": 0, "orders_value": 0}).average_basket is None
    # Given explicitly (tests, policies), it is kept.
    assert CustomerTraits(lifetime_value=Decimal("250"), average_basket=Decimal("250")).average_basket == 250
