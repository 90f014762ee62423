"""Order exports (history import): JSON lines or CSV, Shopify or WooCommerce -> order snapshots.

* JSON lines (or one JSON array): each record is the platform's REST order resource, as the
  webhooks send it (Shopify bare or ``{"order": ...}``; WooCommerce ``/wc/v3/orders``).
* Shopify CSV ("Export orders" in the admin): one row per line item, the order's fields on its
  first row, grouped by ``Name``. The export has no ``updated_at``: the latest of created,
  paid, fulfilled and cancelled dates stands in for it.
* WooCommerce CSV (the Order/Customer CSV Export extension, default one-row-per-order format):
  ``line_items`` is ``name:...|sku:...|quantity:2|total:41.58;...``; dates are read as UTC.

Each record keeps its position in the file (``Record.position``), so an interrupted import can
resume after the last record it wrote.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.adapters.commerce import shopify, woocommerce
from shared.adapters.commerce.common import CommercePayloadError, when
from shared.domain.commerce import OrderSnapshot

IMPORT_TOPIC = "import"


class Platform(StrEnum):
    shopify = "shopify"
    woocommerce = "woocommerce"


class Format(StrEnum):
    json = "json"
    csv = "csv"


@dataclass(frozen=True)
class Record:
    position: int  # 0-based index of the record in the file (an order, whatever its rows)
    label: str  # where it is, for people: "line 12", "rows 4-6"
    data: Mapping[str, Any]
    platform: Platform


def detect_format(head: bytes) -> Format:
    """JSON if the first non-blank character opens an object or an array, else CSV."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    return Format.json if text[:1] in (b"{", b"[") else Format.csv


def detect_platform(data: Mapping[str, Any]) -> Platform | None:
    """A JSON order or a CSV header row -> its platform (None if it looks like neither)."""
    if isinstance(data.get("order"), Mapping):
        data = data["order"]
    keys = {str(k) for k in data}
    if {"Name", "Lineitem name"} <= keys or "financial_status" in keys or "admin_graphql_api_id" in keys:
        return Platform.shopify
    if {"order_id", "line_items"} <= keys or "date_created_gmt" in keys or "date_modified_gmt" in keys:
        return Platform.woocommerce
    if "billing_email" in keys or ("billing" in keys and "number" in keys):
        return Platform.woocommerce
    if "line_items" in keys and "name" in keys:
        return Platform.shopify
    return None


def records(raw: bytes, forced: Platform | None = None) -> Iterator[Record]:
    """Every order of the file, in file order. A record that is not an order is still yielded
    (with what could be read) so that the importer rejects it with a reason."""
    text = raw.decode("utf-8-sig")
    if detect_format(raw) is Format.json:
        yield from _json_records(text, forced)
    else:
        yield from _csv_records(text, forced)


def to_snapshot(record: Record) -> OrderSnapshot:
    """The order as the webhook parsers read it (no dedup key: imports are idempotent by the
    order's own ``updated_at``). Raises CommercePayloadError naming the bad field."""
    if record.platform is Platform.shopify:
        return shopify.order(record.data, IMPORT_TOPIC, None)
    return woocommerce.order(record.data, IMPORT_TOPIC, None)


# ------------------------------------------------------------------------------ JSON
def _json_records(text: str, forced: Platform | None) -> Iterator[Record]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except ValueError as exc:
            raise CommercePayloadError("the file is not valid JSON") from exc
        for index, item in enumerate(items if isinstance(items, list) else []):
            yield _json_record(index, f"item {index + 1}", item, forced)
        return
    position = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            item = None
        yield _json_record(position, f"line {number}", item, forced)
        position += 1


def _json_record(position: int, label: str, item: Any, forced: Platform | None) -> Record:
    data: Mapping[str, Any] = item if isinstance(item, Mapping) else {}
    platform = forced or detect_platform(data) or Platform.shopify
    return Record(position, label, data, platform)


# ------------------------------------------------------------------------------- CSV
def _csv_records(text: str, forced: Platform | None) -> Iterator[Record]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = {name: name for name in reader.fieldnames or []}
    platform = forced or detect_platform(header)
    if platform is None:
        raise CommercePayloadError("the CSV header is neither a Shopify nor a WooCommerce orders export")
    if platform is Platform.woocommerce:
        for index, row in enumerate(reader):
            yield Record(index, f"row {index + 2}", _woocommerce_row(row), platform)
        return
    group: list[dict[str, str]] = []
    first_row = 2
    position = 0
    for number, row in enumerate(reader, start=2):
        if group and (row.get("Name") or "") != (group[0].get("Name") or ""):
            yield Record(position, _rows_label(first_row, number - 1), _shopify_rows(group), platform)
            position += 1
            group, first_row = [], number
        group.append(row)
    if group:
        yield Record(
            position, _rows_label(first_row, first_row + len(group) - 1), _shopify_rows(group), platform
        )


def _rows_label(first: int, last: int) -> str:
    return f"row {first}" if first == last else f"rows {first}-{last}"


def _cell(row: Mapping[str, str | None], name: str) -> str | None:
    value = row.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _shopify_rows(rows: list[dict[str, str]]) -> dict[str, Any]:
    """Rows of one order in Shopify's export -> the REST resource shape the parser reads."""
    first = rows[0]
    dates = [_cell(first, c) for c in ("Created at", "Paid at", "Fulfilled at", "Cancelled at")]
    known = [d for d in dates if d]
    name = _cell(first, "Name")
    lines = []
    for index, row in enumerate(rows):
        if not _cell(row, "Lineitem name") and not _cell(row, "Lineitem quantity"):
            continue
        sku = _cell(row, "Lineitem sku")
        lines.append(
            {
                "id": f"{sku or 'line'}-{index + 1}",
                "sku": sku,
                "title": _cell(row, "Lineitem name"),
                "quantity": _cell(row, "Lineitem quantity"),
                "price": _cell(row, "Lineitem price"),
            }
        )
    order: dict[str, Any] = {
        "id": _cell(first, "Id") or name,
        "name": name,
        "email": _cell(first, "Email"),
        "phone": _cell(first, "Phone"),
        "financial_status": _cell(first, "Financial Status"),
        "fulfillment_status": _cell(first, "Fulfillment Status"),
        "currency": _cell(first, "Currency"),
        "total_price": _cell(first, "Total"),
        "created_at": _cell(first, "Created at"),
        "updated_at": max(known, key=_sortable) if known else None,
        "cancelled_at": _cell(first, "Cancelled at"),
        "payment_gateway_names": [m for m in [_cell(first, "Payment Method")] if m],
        "billing_address": _shopify_address(first, "Billing"),
        "shipping_address": _shopify_address(first, "Shipping"),
        "line_items": lines,
    }
    fulfilled = _cell(first, "Fulfilled at")
    if fulfilled and (_cell(first, "Fulfillment Status") or "").lower() == "fulfilled":
        order["fulfillments"] = [
            {
                "id": f"{order['id']}-export",
                "status": "success",
                "created_at": fulfilled,
                "updated_at": fulfilled,
            }
        ]
    return order


def _sortable(value: str) -> str:
    """Export dates ("2025-06-10 11:00:00 +0200") compared in UTC, via the parser's reading."""
    moment = when(value, "date")
    return moment.isoformat() if moment else ""


def _shopify_address(row: Mapping[str, str | None], prefix: str) -> dict[str, Any] | None:
    fields = {
        "name": _cell(row, f"{prefix} Name"),
        "company": _cell(row, f"{prefix} Company"),
        "address1": _cell(row, f"{prefix} Address1") or _cell(row, f"{prefix} Street"),
        "address2": _cell(row, f"{prefix} Address2"),
        "city": _cell(row, f"{prefix} City"),
        "zip": (_cell(row, f"{prefix} Zip") or "").lstrip("'") or None,  # Shopify quotes zips: '75002
        "province": _cell(row, f"{prefix} Province"),
        "country_code": _cell(row, f"{prefix} Country"),
        "phone": _cell(row, f"{prefix} Phone"),
    }
    return fields if any(fields.values()) else None


def _woocommerce_row(row: Mapping[str, str | None]) -> dict[str, Any]:
    """One row of the WooCommerce export -> the REST v3 order shape the parser reads."""

    def address(prefix: str) -> dict[str, Any]:
        return {
            "first_name": _cell(row, f"{prefix}_first_name"),
            "last_name": _cell(row, f"{prefix}_last_name"),
            "company": _cell(row, f"{prefix}_company"),
            "address_1": _cell(row, f"{prefix}_address_1"),
            "address_2": _cell(row, f"{prefix}_address_2"),
            "city": _cell(row, f"{prefix}_city"),
            "state": _cell(row, f"{prefix}_state"),
            "postcode": _cell(row, f"{prefix}_postcode"),
            "country": _cell(row, f"{prefix}_country"),
            "email": _cell(row, f"{prefix}_email"),
            "phone": _cell(row, f"{prefix}_phone"),
        }

    created = _cell(row, "order_date")
    completed = _cell(row, "completed_date") or _cell(row, "date_completed")
    status = (_cell(row, "status") or "pending").lower().removeprefix("wc-")
    paid = _cell(row, "paid_date") or _cell(row, "date_paid")
    if not paid and status in ("processing", "completed"):
        paid = created
    modified = _cell(row, "date_modified") or max((d for d in (created, completed, paid) if d), default=None)
    billing = address("billing")
    billing["email"] = billing["email"] or _cell(row, "customer_email")
    return {
        "id": _cell(row, "order_id"),
        "number": _cell(row, "order_number_formatted")
        or _cell(row, "order_number")
        or _cell(row, "order_id"),
        "status": status,
        "currency": _cell(row, "order_currency"),
        "total": _cell(row, "order_total"),
        "customer_id": _cell(row, "customer_id"),
        "date_created_gmt": created,
        "date_modified_gmt": modified,
        "date_paid_gmt": paid,
        "date_completed_gmt": completed if status == "completed" else None,
        "payment_method": _cell(row, "payment_method"),
        "payment_method_title": _cell(row, "payment_method_title"),
        "transaction_id": _cell(row, "transaction_id"),
        "billing": billing,
        "shipping": address("shipping"),
        "line_items": [
            _woocommerce_item(item) for item in (_cell(row, "line_items") or "").split(";") if item
        ],
    }


def _woocommerce_item(text: str) -> dict[str, Any]:
    """``id:315|name:T-shirt bio|sku:TS-BIO-M|quantity:2|total:41.58`` -> a REST line item."""
    fields: dict[str, Any] = {}
    for part in text.split("|"):
        key, sep, value = part.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    quantity = fields.get("quantity")
    total = fields.get("total") or fields.get("subtotal")
    if quantity and total and "price" not in fields:
        fields["subtotal"] = total  # the parser divides by the quantity
    return fields
