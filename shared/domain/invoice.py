"""Invoices: built from the order's billable lines, VAT per line, totals checked, then rendered.

Numbering is gapless and sequential per year (French invoicing rules): the number is taken from
an atomic counter in the same DynamoDB transaction that stores the invoice, so a number exists
only if its invoice does. Here, only the pure part: lines, VAT, totals, the number's format and
the document the customer opens (HTML, self-contained, printable).
"""

from __future__ import annotations

import html
from datetime import datetime
from decimal import Decimal

from pydantic import Field

from shared.domain.common import Address, DomainModel
from shared.domain.order import BillableStatus, Order
from shared.domain.quote import money
from shared.domain.workflow import InvoiceMismatch

NUMBER_PREFIX = "F"


def invoice_number(year: int, sequence: int) -> str:
    """``F2026-000042``: the year, then the year's sequence (sortable, never reused)."""
    return f"{NUMBER_PREFIX}{year}-{sequence:06d}"


class InvoiceLine(DomainModel):
    line_id: str
    title: str
    quantity: int
    unit_price: Decimal
    vat_rate: Decimal
    amount_excl_vat: Decimal
    vat: Decimal
    amount_incl_vat: Decimal
    serial_numbers: list[str] = Field(default_factory=list)


class Invoice(DomainModel):
    number: str
    year: int
    sequence: int
    order_id: str
    order_number: str
    customer_id: str
    billing_address: Address
    lines: list[InvoiceLine]
    vat_breakdown: dict[str, Decimal]  # rate ("0.20") -> VAT amount
    total_excl_vat: Decimal
    total_vat: Decimal
    total_incl_vat: Decimal
    currency: str
    issued_at: datetime


def build_invoice(order: Order, year: int, sequence: int, issued_at: datetime) -> Invoice:
    """The invoice of ``order``'s billable lines; raises ``InvoiceMismatch`` if it cannot be
    right (no billing address, nothing to bill, or totals that disagree with the order)."""
    if order.customer_id is None:
        raise InvoiceMismatch("the order has no customer")
    if order.billing_address is None or not order.billing_address.is_complete():
        raise InvoiceMismatch("the billing address is incomplete")
    lines: list[InvoiceLine] = []
    for line in order.lines:
        if line.billable_status not in (BillableStatus.billable, BillableStatus.billed):
            continue
        excl = money(line.unit_price * line.quantity)
        vat = money(excl * line.vat_rate)
        lines.append(
            InvoiceLine(
                line_id=line.id,
                title=line.title,
                quantity=line.quantity,
                unit_price=line.unit_price,
                vat_rate=line.vat_rate,
                amount_excl_vat=excl,
                vat=vat,
                amount_incl_vat=excl + vat,
                serial_numbers=line.serial_numbers,
            )
        )
    if not lines:
        raise InvoiceMismatch("no billable line")
    breakdown: dict[str, Decimal] = {}
    for item in lines:
        rate = str(item.vat_rate)
        breakdown[rate] = breakdown.get(rate, Decimal("0")) + item.vat
    invoice = Invoice(
        number=invoice_number(year, sequence),
        year=year,
        sequence=sequence,
        order_id=order.id,
        order_number=order.number,
        customer_id=order.customer_id,
        billing_address=order.billing_address,
        lines=lines,
        vat_breakdown=breakdown,
        total_excl_vat=sum((i.amount_excl_vat for i in lines), Decimal("0")),
        total_vat=sum((i.vat for i in lines), Decimal("0")),
        total_incl_vat=sum((i.amount_incl_vat for i in lines), Decimal("0")),
        currency=order.currency,
        issued_at=issued_at,
    )
    check_totals(invoice, order)
    return invoice


def check_totals(invoice: Invoice, order: Order) -> None:
    """Totals must add up line by line, and match the order when everything on it is billed.

    Lines marked not billable are left out, so only an invoice covering every line is compared
    with the order's total (what the customer was quoted).
    """
    if invoice.total_excl_vat + invoice.total_vat != invoice.total_incl_vat:
        raise InvoiceMismatch("total excl. VAT + VAT differs from total incl. VAT")
    if sum(invoice.vat_breakdown.values(), Decimal("0")) != invoice.total_vat:
        raise InvoiceMismatch("the VAT breakdown differs from the total VAT")
    for item in invoice.lines:
        if item.amount_excl_vat + item.vat != item.amount_incl_vat:
            raise InvoiceMismatch(f"line {item.line_id}: amounts do not add up")
    covers_all = {i.line_id for i in invoice.lines} == {line.id for line in order.lines}
    if covers_all and order.total and money(order.total) != invoice.total_incl_vat:
        raise InvoiceMismatch(
            f"invoice total {invoice.total_incl_vat} differs from the order total {money(order.total)}"
        )


_LABELS = {
    "fr": {
        "title": "Facture",
        "order": "Commande",
        "date": "Date",
        "bill_to": "Facturé à",
        "item": "Désignation",
        "qty": "Qté",
        "unit": "Prix unitaire HT",
        "vat_rate": "TVA",
        "excl": "Montant HT",
        "total_excl": "Total HT",
        "vat": "TVA",
        "total_incl": "Total TTC",
        "serials": "N° de série",
    },
    "en": {
        "title": "Invoice",
        "order": "Order",
        "date": "Date",
        "bill_to": "Bill to",
        "item": "Item",
        "qty": "Qty",
        "unit": "Unit price excl. VAT",
        "vat_rate": "VAT",
        "excl": "Amount excl. VAT",
        "total_excl": "Total excl. VAT",
        "vat": "VAT",
        "total_incl": "Total incl. VAT",
        "serials": "Serial numbers",
    },
}


def render_html(invoice: Invoice, locale: str = "fr", seller: str = "Guichet") -> str:
    """A self-contained, printable HTML invoice (every value escaped)."""
    labels = _LABELS.get(locale[:2], _LABELS["fr"])
    e = html.escape
    address = invoice.billing_address
    address_lines = [
        address.name,
        address.company,
        address.line1,
        address.line2,
        " ".join(p for p in (address.postal_code, address.city) if p),
        address.country,
    ]
    rows = []
    for item in invoice.lines:
        serials = (
            f"<br><small>{e(labels['serials'])}: {e(', '.join(item.serial_numbers))}</small>"
            if item.serial_numbers
            else ""
        )
        rows.append(
            f"<tr><td>{e(item.title)}{serials}</td><td>{item.quantity}</td>"
            f"<td>{item.unit_price:.2f}</td><td>{item.vat_rate * 100:.1f} %</td>"
            f"<td>{item.amount_excl_vat:.2f}</td></tr>"
        )
    vat_rows = "".join(
        f"<tr><th>{e(labels['vat'])} {Decimal(rate) * 100:.1f} %</th><td>{amount:.2f}</td></tr>"
        for rate, amount in sorted(invoice.vat_breakdown.items())
    )
    return (
        f'<!doctype html><html lang="{e(locale[:2])}"><head><meta charset="utf-8">'
        f"<title>{e(labels['title'])} {e(invoice.number)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #ccc;padding:4px;text-align:left}</style></head><body>"
        f"<h1>{e(seller)} - {e(labels['title'])} {e(invoice.number)}</h1>"
        f"<p>{e(labels['date'])}: {invoice.issued_at.date().isoformat()}<br>"
        f"{e(labels['order'])}: {e(invoice.order_number)}</p>"
        f"<p><strong>{e(labels['bill_to'])}</strong><br>"
        + "<br>".join(e(line) for line in address_lines if line)
        + "</p>"
        f"<table><tr><th>{e(labels['item'])}</th><th>{e(labels['qty'])}</th><th>{e(labels['unit'])}</th>"
        f"<th>{e(labels['vat_rate'])}</th><th>{e(labels['excl'])}</th></tr>"
        + "".join(rows)
        + "</table><table>"
        f"<tr><th>{e(labels['total_excl'])}</th>"
        f"<td>{invoice.total_excl_vat:.2f} {e(invoice.currency)}</td></tr>"
        + vat_rows
        + f"<tr><th>{e(labels['total_incl'])}</th><td>{invoice.total_incl_vat:.2f} {e(invoice.currency)}</td>"
        "</tr></table></body></html>"
    )
