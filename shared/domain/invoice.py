"""Invoices: built from the order's billable lines, VAT per line, totals checked, then rendered.

Numbering is gapless and sequential per year (French invoicing rules): the number is taken from
an atomic counter in the same DynamoDB transaction that stores the invoice, so a number exists
only if its invoice does. Here, only the pure part: lines, VAT, totals, the number's format and
the document the customer opens is rendered by invoice_pdf.py.
"""

from __future__ import annotations

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
