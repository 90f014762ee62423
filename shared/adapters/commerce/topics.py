"""The webhook topics Guichet syncs, per platform. Standard library only: the webhook reads them
on a cold start to acknowledge other topics without enqueuing them."""

from __future__ import annotations

SHOPIFY_ORDER_TOPICS = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/paid",
        "orders/cancelled",
        "orders/fulfilled",
        "orders/partially_fulfilled",
    }
)
SHOPIFY_FULFILLMENT_TOPICS = frozenset({"fulfillments/create", "fulfillments/update"})
SHOPIFY_REFUND_TOPICS = frozenset({"refunds/create"})
SHOPIFY_CHECKOUT_TOPICS = frozenset({"checkouts/create", "checkouts/update"})
SHOPIFY_CUSTOMER_TOPICS = frozenset({"customers/create", "customers/update"})
SHOPIFY_TOPICS = (
    SHOPIFY_ORDER_TOPICS
    | SHOPIFY_FULFILLMENT_TOPICS
    | SHOPIFY_REFUND_TOPICS
    | SHOPIFY_CHECKOUT_TOPICS
    | SHOPIFY_CUSTOMER_TOPICS
)

# order.refunded: the order resource after a refund (a custom topic on the
# woocommerce_order_refunded action; order.updated carries the same refunds).
WOOCOMMERCE_ORDER_TOPICS = frozenset({"order.created", "order.updated", "order.restored", "order.refunded"})
WOOCOMMERCE_CUSTOMER_TOPICS = frozenset({"customer.created", "customer.updated"})
WOOCOMMERCE_DELETE_TOPICS = frozenset({"order.deleted", "customer.deleted"})
WOOCOMMERCE_TOPICS = WOOCOMMERCE_ORDER_TOPICS | WOOCOMMERCE_CUSTOMER_TOPICS | WOOCOMMERCE_DELETE_TOPICS

TOPICS = {"shopify": SHOPIFY_TOPICS, "woocommerce": WOOCOMMERCE_TOPICS}
