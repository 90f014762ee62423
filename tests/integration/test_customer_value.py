"""Value traits kept on write by commerce sync: orders count, lifetime value, average basket."""

from __future__ import annotations

from decimal import Decimal

from shared.adapters.dynamodb.repository import DynamoRepository
from tests.integration import commerce_support
from tests.integration.commerce_support import deliver

commerce = commerce_support.commerce  # the fixture


def _traits(aws, email):
    repo = DynamoRepository(aws["table"])
    traits = repo.get_customer(repo.identity_owner("email", email)).value.traits
    return traits.orders_count, traits.lifetime_value, traits.average_basket


def test_an_order_raises_the_customers_value_and_its_cancellation_takes_it_back(commerce, lambda_context):
    deliver(commerce, lambda_context, "shopify_orders_create")
    assert _traits(commerce, "bob.norman@example.com") == (1, Decimal("409.94"), Decimal("409.94"))

    deliver(commerce, lambda_context, "shopify_orders_create")  # a redelivery adds nothing
    deliver(commerce, lambda_context, "shopify_orders_updated")  # same total, still kept
    assert _traits(commerce, "bob.norman@example.com") == (1, Decimal("409.94"), Decimal("409.94"))

    deliver(commerce, lambda_context, "shopify_orders_cancelled")
    assert _traits(commerce, "bob.norman@example.com") == (0, Decimal("0"), None)


def test_an_order_deleted_on_the_shop_no_longer_counts(commerce, lambda_context):
    deliver(commerce, lambda_context, "woocommerce_order_created")
    assert _traits(commerce, "marie.dupont@example.org") == (1, Decimal("49.90"), Decimal("49.90"))

    deliver(commerce, lambda_context, "woocommerce_order_deleted")
    assert _traits(commerce, "marie.dupont@example.org") == (0, Decimal("0"), None)
