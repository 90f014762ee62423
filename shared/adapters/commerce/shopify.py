"""Shopify webhook bodies (bare REST resources) and export rows -> commerce events.

Topics: ``orders/create|updated|paid|cancelled|fulfilled|partially_fulfilled``,
``fulfillments/create|update``, ``refunds/create``, ``checkouts/create|update``,
``customers/create|update``.
Anything else is ``Ignored``. The dedup key is ``X-Shopify-Webhook-Id`` (the same across
Shopify's retries, see ../shared/channels/README.md section 5).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.adapters.channels.errors import JsonObject
from shared.adapters.commerce import topics
from shared.adapters.commerce.common import (
    SHOPIFY_FINANCIAL,
    CommercePayloadError,
    address,
    email,
    identifier,
    money,
    phone,
    quantity,
    text,
    tracking_url,
    when,
)
from shared.domain.commerce import (
    CheckoutSnapshot,
    CommerceEvent,
    CustomerSnapshot,
    FulfillmentSnapshot,
    Ignored,
    OrderSnapshot,
    PlatformCustomer,
    RefundSnapshot,
)
from shared.domain.common import Address
from shared.domain.order import OrderLine, OrderSource, Payment, PaymentStatus, Refund, RefundLine, Shipment

SOURCE = OrderSource.shopify
ORDER_TOPICS = topics.SHOPIFY_ORDER_TOPICS
FULFILLMENT_TOPICS = topics.SHOPIFY_FULFILLMENT_TOPICS
REFUND_TOPICS = topics.SHOPIFY_REFUND_TOPICS
CHECKOUT_TOPICS = topics.SHOPIFY_CHECKOUT_TOPICS
CUSTOMER_TOPICS = topics.SHOPIFY_CUSTOMER_TOPICS


def parse(body: JsonObject, topic: str, webhook_id: str | None) -> CommerceEvent:
    dedup = f"shopify:{webhook_id}" if webhook_id else None
    if topic in ORDER_TOPICS:
        return order(body, topic, dedup)
    if topic in FULFILLMENT_TOPICS:
        return fulfillment(body, topic, dedup)
    if topic in REFUND_TOPICS:
        return RefundSnapshot(
            source=SOURCE,
            topic=topic,
            dedup_key=dedup,
            order_external_id=identifier(body, "order_id", "refund"),
            refund=refund(body, "refund", text(body, "currency", "refund") or "EUR"),
        )
    if topic in CHECKOUT_TOPICS:
        return checkout(body, topic, dedup)
    if topic in CUSTOMER_TOPICS:
        return CustomerSnapshot(
            source=SOURCE,
            topic=topic,
            dedup_key=dedup,
            customer=_customer(body, body, "customer"),
            source_updated_at=when(body.get("updated_at"), "customer.updated_at"),
        )
    return Ignored(source=SOURCE, topic=topic, reason="topic not synced")


def order(body: JsonObject, topic: str, dedup_key: str | None) -> OrderSnapshot:
    """An order resource (webhook body, or one line of a JSON export, ``{"order": ...}`` or bare)."""
    if isinstance(body.get("order"), Mapping):
        body = body["order"]
    where = "order"
    external_id = identifier(body, "id", where)
    number = text(body, "name", where) or (
        f"#{text(body, 'order_number', where)}" if body.get("order_number") else None
    )
    currency = text(body, "currency", where) or "EUR"
    customer_obj = _obj(body.get("customer"))
    financial = (text(body, "financial_status", where) or "pending").lower()
    gateways = body.get("payment_gateway_names")
    method = gateways[0] if isinstance(gateways, list) and gateways and isinstance(gateways[0], str) else None
    total = money(body.get("total_price"), "order.total_price")
    shipments = [
        _shipment(item, f"order.fulfillments[{i}]")
        for i, item in enumerate(_objects(body, "fulfillments", where))
    ]
    return OrderSnapshot(
        source=SOURCE,
        topic=topic,
        dedup_key=dedup_key,
        external_id=external_id,
        number=number or f"#{external_id}",
        customer=_customer(customer_obj, body, "order.customer"),
        lines=[
            _line(item, f"order.line_items[{i}]")
            for i, item in enumerate(_objects(body, "line_items", where))
        ],
        billing_address=_address(body.get("billing_address"), "order.billing_address"),
        shipping_address=_address(body.get("shipping_address"), "order.shipping_address"),
        payment=Payment(
            method=method,
            status=SHOPIFY_FINANCIAL.get(financial, PaymentStatus.pending),
            amount=total,
            currency=currency,
        ),
        shipments=shipments,
        fulfillment_status=text(body, "fulfillment_status", where),
        total=total,
        currency=currency,
        refunds=[
            refund(item, f"order.refunds[{i}]", currency)
            for i, item in enumerate(_objects(body, "refunds", where))
        ],
        checkout_token=text(body, "checkout_token", where),
        placed_at=when(body.get("created_at"), "order.created_at"),
        cancelled_at=when(body.get("cancelled_at"), "order.cancelled_at"),
        source_updated_at=when(body.get("updated_at"), "order.updated_at"),
    )


def refund(body: JsonObject, where: str, currency: str) -> Refund:
    """A Refund resource: the money is its successful ``refund`` transactions (what went back to
    the customer), else the refunded lines' subtotal and tax; each line with its quantity."""
    lines = []
    for i, item in enumerate(_objects(body, "refund_line_items", where)):
        at = f"{where}.refund_line_items[{i}]"
        lines.append(
            RefundLine(
                line_id=identifier(item, "line_item_id", at),
                quantity=quantity(item.get("quantity", 0), f"{at}.quantity"),
                amount=money(item.get("subtotal"), f"{at}.subtotal")
                + money(item.get("total_tax"), f"{at}.total_tax"),
            )
        )
    transactions = [
        t
        for t in _objects(body, "transactions", where)
        if str(t.get("kind", "")).lower() == "refund" and str(t.get("status", "success")).lower() == "success"
    ]
    if transactions:
        amount = sum(
            (money(t.get("amount"), f"{where}.transactions.amount") for t in transactions),
            start=money(0, where),
        )
        currency = text(transactions[0], "currency", f"{where}.transactions") or currency
    else:
        amount = sum((line.amount for line in lines), start=money(0, where))
    return Refund(
        id=identifier(body, "id", where),
        amount=amount,
        currency=currency,
        lines=lines,
        reason=text(body, "note", where),
        refunded_at=when(body.get("processed_at") or body.get("created_at"), f"{where}.created_at"),
        source=SOURCE.value,
    )


def fulfillment(body: JsonObject, topic: str, dedup_key: str | None) -> FulfillmentSnapshot:
    return FulfillmentSnapshot(
        source=SOURCE,
        topic=topic,
        dedup_key=dedup_key,
        order_external_id=identifier(body, "order_id", "fulfillment"),
        shipment=_shipment(body, "fulfillment"),
    )


def checkout(body: JsonObject, topic: str, dedup_key: str | None) -> CheckoutSnapshot:
    where = "checkout"
    customer_obj = _obj(body.get("customer"))
    return CheckoutSnapshot(
        source=SOURCE,
        topic=topic,
        dedup_key=dedup_key,
        token=identifier(body, "token", where),
        cart_token=text(body, "cart_token", where),
        customer=_customer(customer_obj, body, "checkout.customer"),
        lines=[
            _line(item, f"checkout.line_items[{i}]")
            for i, item in enumerate(_objects(body, "line_items", where))
        ],
        total=money(body.get("total_price"), "checkout.total_price"),
        currency=text(body, "currency", where) or "EUR",
        recovery_url=text(body, "abandoned_checkout_url", where),
        source_created_at=when(body.get("created_at"), "checkout.created_at"),
        source_updated_at=when(body.get("updated_at"), "checkout.updated_at"),
        completed_at=when(body.get("completed_at"), "checkout.completed_at"),
    )


# Shopify's shipment_status values; "delivered" is what starts the satisfaction stage.
_DONE_FULFILLMENT = {"cancelled", "error", "failure"}


def _shipment(body: JsonObject, where: str) -> Shipment:
    status = (text(body, "status", where) or "").lower()
    shipment_status = (text(body, "shipment_status", where) or "").lower() or None
    carrier = text(body, "tracking_company", where)
    number = text(body, "tracking_number", where) or _first_text(body.get("tracking_numbers"))
    given = text(body, "tracking_url", where) or _first_text(body.get("tracking_urls"))
    updated = when(body.get("updated_at"), f"{where}.updated_at")
    state: str | None
    if status in _DONE_FULFILLMENT:
        state = "cancelled" if status == "cancelled" else "failed"
    else:
        state = shipment_status or ("shipped" if status == "success" else status or None)
    quantities: dict[str, int] = {}
    for i, item in enumerate(_objects(body, "line_items", where)):
        line_id = text(item, "id", f"{where}.line_items[{i}]")
        if line_id:
            quantities[line_id] = quantities.get(line_id, 0) + quantity(
                item.get("quantity", 0), f"{where}.line_items[{i}].quantity"
            )
    return Shipment(
        id=text(body, "id", where),
        carrier=carrier,
        tracking_number=number,
        tracking_url=tracking_url(carrier, number, given),
        status=state,
        shipped_at=when(body.get("created_at"), f"{where}.created_at"),
        delivered_at=updated if state == "delivered" else None,
        line_quantities=quantities,
        source_updated_at=updated,
    )


def _line(item: JsonObject, where: str) -> OrderLine:
    title = text(item, "title", where) or text(item, "name", where) or "item"
    variant = text(item, "variant_title", where)
    tax_lines = item.get("tax_lines")
    rate = None
    if isinstance(tax_lines, list) and tax_lines and isinstance(tax_lines[0], Mapping):
        rate = tax_lines[0].get("rate")
    line_id = text(item, "id", where) or text(item, "variant_id", where) or text(item, "sku", where) or title
    fields: dict[str, Any] = {
        "id": line_id,
        "sku": text(item, "sku", where),
        "title": f"{title} ({variant})" if variant else title,
        "quantity": quantity(item.get("quantity"), f"{where}.quantity"),
        "unit_price": money(item.get("price"), f"{where}.price"),
    }
    if rate is not None:
        fields["vat_rate"] = money(rate, f"{where}.tax_lines[0].rate")
    if fields["quantity"] < 1:
        raise CommercePayloadError(f"{where}.quantity is below 1")
    return OrderLine.model_validate(fields)


def _customer(customer: JsonObject, order_body: JsonObject, where: str) -> PlatformCustomer:
    """The customer object, falling back to the order's own contact fields (guest checkouts)."""
    raw_email = (
        text(customer, "email", where)
        or text(order_body, "email", "order")
        or text(order_body, "contact_email", "order")
    )
    raw_phone = text(customer, "phone", where) or text(order_body, "phone", "order")
    if not raw_phone:
        for key in ("billing_address", "shipping_address", "default_address"):
            nested = order_body.get(key)
            if isinstance(nested, Mapping) and nested.get("phone"):
                raw_phone = text(nested, "phone", f"order.{key}")
                break
    return PlatformCustomer(
        platform_id=text(customer, "id", where),
        email=email(raw_email),
        phone=phone(raw_phone),
        first_name=text(customer, "first_name", where),
        last_name=text(customer, "last_name", where),
    )


def _address(value: Any, where: str) -> Address | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise CommercePayloadError(f"{where} is not an object")
    return address(
        first_name=text(value, "first_name", where),
        last_name=text(value, "last_name", where),
        name=text(value, "name", where),
        company=text(value, "company", where),
        line1=text(value, "address1", where),
        line2=text(value, "address2", where),
        postal_code=text(value, "zip", where),
        city=text(value, "city", where),
        region=text(value, "province", where),
        country=text(value, "country_code", where) or text(value, "country", where),
        phone_number=text(value, "phone", where),
    )


def _objects(body: JsonObject, key: str, where: str) -> list[JsonObject]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise CommercePayloadError(f"{where}.{key} is not a list of objects")
    return list(value)


def _obj(value: Any) -> JsonObject:
    return value if isinstance(value, Mapping) else {}


def _first_text(value: Any) -> str | None:
    if isinstance(value, list) and value and isinstance(value[0], str) and value[0].strip():
        return value[0].strip()
    return None
