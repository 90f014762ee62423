"""WooCommerce webhook bodies (REST v3 resources) and export rows -> commerce events.

Topics: ``order.created|updated|restored|refunded|deleted``, ``customer.created|updated|deleted``.
Refunds come with the order (``refunds``: id, reason and a negative ``total``; when the full refund
resources are embedded, their ``line_items`` say which lines, ``_refunded_item_id`` in their meta).
``*.deleted`` bodies are only ``{"id": N}``. ``X-WC-Webhook-Delivery-ID`` changes on every send,
so the dedup key is (webhook id, resource id, ``date_modified_gmt``) (README section 6).
WooCommerce has no shipment resource: "completed" means the shop fulfilled the order, which is
what we treat as delivered; tracking comes from the Shipment Tracking extension's meta when set.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared.adapters.channels.errors import JsonObject
from shared.adapters.commerce import topics
from shared.adapters.commerce.common import (
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
    CommerceEvent,
    CustomerSnapshot,
    DeletedResource,
    Deletion,
    Ignored,
    OrderSnapshot,
    PlatformCustomer,
)
from shared.domain.common import Address
from shared.domain.order import OrderLine, OrderSource, Payment, PaymentStatus, Refund, RefundLine, Shipment

SOURCE = OrderSource.woocommerce
ORDER_TOPICS = topics.WOOCOMMERCE_ORDER_TOPICS
CUSTOMER_TOPICS = topics.WOOCOMMERCE_CUSTOMER_TOPICS
DELETE_TOPICS = topics.WOOCOMMERCE_DELETE_TOPICS

_PAYMENT = {
    "pending": PaymentStatus.pending,
    "on-hold": PaymentStatus.pending,
    "checkout-draft": PaymentStatus.pending,
    "processing": PaymentStatus.paid,
    "completed": PaymentStatus.paid,
    "cancelled": PaymentStatus.voided,
    "refunded": PaymentStatus.refunded,
    "failed": PaymentStatus.failed,
}


def dedup_key(webhook_id: str | None, body: JsonObject) -> str | None:
    resource_id = body.get("id")
    if not webhook_id or resource_id is None:
        return None
    modified = body.get("date_modified_gmt") or "deleted"
    return f"woocommerce:{webhook_id}:{resource_id}:{modified}"


def parse(body: JsonObject, topic: str, webhook_id: str | None, received_at: datetime) -> CommerceEvent:
    dedup = dedup_key(webhook_id, body)
    if topic in ORDER_TOPICS:
        return order(body, topic, dedup)
    if topic in CUSTOMER_TOPICS:
        return CustomerSnapshot(
            source=SOURCE,
            topic=topic,
            dedup_key=dedup,
            customer=_customer(body, body.get("billing"), "customer"),
            source_updated_at=when(body.get("date_modified_gmt"), "customer.date_modified_gmt"),
        )
    if topic in DELETE_TOPICS:
        resource = DeletedResource(topic.split(".", 1)[0])
        return Deletion(
            source=SOURCE,
            topic=topic,
            dedup_key=dedup,
            resource=resource,
            external_id=identifier(body, "id", resource.value),
            at=received_at.astimezone(UTC),
        )
    return Ignored(source=SOURCE, topic=topic, reason="topic not synced")


def order(body: JsonObject, topic: str, dedup: str | None) -> OrderSnapshot:
    where = "order"
    external_id = identifier(body, "id", where)
    status = (text(body, "status", where) or "pending").lower()
    currency = text(body, "currency", where) or "EUR"
    total = money(body.get("total"), "order.total")
    modified = when(body.get("date_modified_gmt"), "order.date_modified_gmt")
    payment_status = _PAYMENT.get(status, PaymentStatus.pending)
    if status == "processing" and not body.get("date_paid_gmt"):
        payment_status = PaymentStatus.pending  # processing without payment: cash on delivery
    completed = None
    if status == "completed":
        completed = when(body.get("date_completed_gmt"), "order.date_completed_gmt") or modified
    billing = body.get("billing")
    customer_id = text(body, "customer_id", where)
    return OrderSnapshot(
        source=SOURCE,
        topic=topic,
        dedup_key=dedup,
        external_id=external_id,
        number=text(body, "number", where) or external_id,
        customer=_customer(
            {"id": customer_id if customer_id not in (None, "0") else None}, billing, "order.billing"
        ),
        lines=[
            _line(item, f"order.line_items[{i}]")
            for i, item in enumerate(_objects(body, "line_items", where))
        ],
        billing_address=_address(billing, "order.billing"),
        shipping_address=_address(body.get("shipping"), "order.shipping"),
        payment=Payment(
            method=text(body, "payment_method_title", where) or text(body, "payment_method", where),
            status=payment_status,
            amount=total,
            currency=currency,
            provider_reference=text(body, "transaction_id", where),
        ),
        shipments=_tracking(body, completed),
        fulfillment_status="completed" if status == "completed" else status,
        total=total,
        currency=currency,
        refunds=_refunds(body, currency),
        placed_at=when(body.get("date_created_gmt"), "order.date_created_gmt"),
        cancelled_at=modified if status in ("cancelled", "trash") else None,
        completed_at=completed,
        source_updated_at=modified,
    )


def _refunds(body: JsonObject, currency: str) -> list[Refund]:
    refunds = []
    for i, item in enumerate(_objects(body, "refunds", "order")):
        where = f"order.refunds[{i}]"
        amount = abs(money(item.get("total", item.get("amount")), f"{where}.total"))
        lines = []
        for j, line in enumerate(_objects(item, "line_items", where)):
            at = f"{where}.line_items[{j}]"
            refunded_id = next(
                (
                    m.get("value")
                    for m in _objects(line, "meta_data", at)
                    if m.get("key") == "_refunded_item_id"
                ),
                None,
            )
            lines.append(
                RefundLine(
                    line_id=str(refunded_id) if refunded_id not in (None, "") else identifier(line, "id", at),
                    quantity=abs(quantity(line.get("quantity", 0), f"{at}.quantity")),
                    amount=abs(money(line.get("total"), f"{at}.total"))
                    + abs(money(line.get("total_tax"), f"{at}.total_tax")),
                )
            )
        refunds.append(
            Refund(
                id=identifier(item, "id", where),
                amount=amount,
                currency=currency,
                lines=lines,
                reason=text(item, "reason", where),
                refunded_at=when(item.get("date_created_gmt"), f"{where}.date_created_gmt"),
                source=SOURCE.value,
            )
        )
    return refunds


def _line(item: JsonObject, where: str) -> OrderLine:
    count = quantity(item.get("quantity"), f"{where}.quantity")
    if count < 1:
        raise CommercePayloadError(f"{where}.quantity is below 1")
    price = item.get("price")
    if price in (None, ""):
        unit = money(item.get("subtotal"), f"{where}.subtotal") / count
    else:
        unit = money(price, f"{where}.price")
    return OrderLine(
        id=text(item, "id", where) or text(item, "sku", where) or text(item, "name", where) or "item",
        sku=text(item, "sku", where),
        title=text(item, "name", where) or "item",
        quantity=count,
        unit_price=unit,
    )


def _customer(customer: JsonObject, billing: Any, where: str) -> PlatformCustomer:
    contact = billing if isinstance(billing, Mapping) else {}
    raw_email = text(customer, "email", where) or text(contact, "email", f"{where}.billing")
    return PlatformCustomer(
        platform_id=text(customer, "id", where),
        email=email(raw_email),
        phone=phone(text(contact, "phone", f"{where}.billing")),
        first_name=text(customer, "first_name", where) or text(contact, "first_name", f"{where}.billing"),
        last_name=text(customer, "last_name", where) or text(contact, "last_name", f"{where}.billing"),
    )


def _address(value: Any, where: str) -> Address | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise CommercePayloadError(f"{where} is not an object")
    return address(
        first_name=text(value, "first_name", where),
        last_name=text(value, "last_name", where),
        company=text(value, "company", where),
        line1=text(value, "address_1", where),
        line2=text(value, "address_2", where),
        postal_code=text(value, "postcode", where),
        city=text(value, "city", where),
        region=text(value, "state", where),
        country=text(value, "country", where),
        phone_number=text(value, "phone", where),
    )


def _tracking(body: JsonObject, completed: datetime | None) -> list[Shipment]:
    """Shipment Tracking extension (``_wc_shipment_tracking_items`` meta), if the shop uses it."""
    shipments: list[Shipment] = []
    for meta in _objects(body, "meta_data", "order"):
        if meta.get("key") != "_wc_shipment_tracking_items" or not isinstance(meta.get("value"), list):
            continue
        for i, item in enumerate(meta["value"]):
            if not isinstance(item, Mapping):
                continue
            where = f"order.meta_data.tracking[{i}]"
            carrier = text(item, "tracking_provider", where) or text(item, "custom_tracking_provider", where)
            number = text(item, "tracking_number", where)
            shipped = item.get("date_shipped")
            shipped_at = None
            if isinstance(shipped, int | str) and str(shipped).isdigit():
                shipped_at = datetime.fromtimestamp(int(shipped), tz=UTC)
            shipments.append(
                Shipment(
                    id=text(item, "tracking_id", where) or number,
                    carrier=carrier,
                    tracking_number=number,
                    tracking_url=tracking_url(carrier, number, text(item, "custom_tracking_link", where)),
                    status="delivered" if completed else "shipped",
                    shipped_at=shipped_at,
                    delivered_at=completed,
                )
            )
    return shipments


def _objects(body: JsonObject, key: str, where: str) -> list[JsonObject]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise CommercePayloadError(f"{where}.{key} is not a list of objects")
    return list(value)
