"""Key builders of the order and commerce items (see docs/data-model.md, "Orders and commerce").

Kept apart from keys.py so the order back office and the inbound pipeline evolve without
touching each other's key code; both address the same single table.
"""

from __future__ import annotations

from shared.adapters.dynamodb.keys import shard_of
from shared.adapters.dynamodb.schema import DUE_SHARDS

ORDER_SK = "#ORDER"
ORDER_EXTERNAL_SK = "#ORDEREXT"
CHECKOUT_SK = "#CHECKOUT"
LINK_PREFIX = "LINK#"


def order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def order_external_pk(platform: str, external_id: str) -> str:
    """One item per platform order: its uniqueness is what makes a first sync create only once."""
    return f"ORDEREXT#{platform}#{external_id}"


def fold_order_number(number: str) -> str:
    """What people type for an order number: ``#1001``, ``1001 ``, ``cmd-2026-0042`` -> canonical."""
    return "".join(number.split()).lstrip("#").upper()


def order_number_pk(number: str) -> str:
    return f"ORDERNUM#{fold_order_number(number)}"


def order_number_sk(order_id: str) -> str:
    """Several orders may share a number (a Shopify #1001 and a WooCommerce 1001): one item each."""
    return f"ORDER#{order_id}"


def customer_orders_pk(customer_id: str) -> str:
    return f"ORDERS#CUSTOMER#{customer_id}"


def customer_orders_keys(customer_id: str, placed_iso: str, order_id: str) -> dict[str, str]:
    """GSI1 keys on the order item: a customer's orders, newest first, always in step with it."""
    return {"gsi1pk": customer_orders_pk(customer_id), "gsi1sk": f"{placed_iso}#{order_id}"}


def ticket_link_sk(ticket_id: str) -> str:
    return f"{LINK_PREFIX}TICKET#{ticket_id}"


def message_link_sk(ticket_id: str, message_id: str) -> str:
    return f"{LINK_PREFIX}MSG#{ticket_id}#{message_id}"


def checkout_pk(platform: str, token: str) -> str:
    return f"CHECKOUT#{platform}#{token}"


def cart_due_pk(shard: int) -> str:
    return f"DUE#CART#{shard}"


def cart_due_keys(checkout_id: str, updated_iso: str) -> dict[str, str]:
    """GSI3 keys of an open checkout: due once its last update is older than the abandon delay."""
    return {
        "gsi3pk": cart_due_pk(shard_of(checkout_id, DUE_SHARDS)),
        "gsi3sk": f"{updated_iso}#{checkout_id}",
    }
