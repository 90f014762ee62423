"""Quotes: what a customer is offered before it becomes an order (the workflow's Reception).

Staff build a quote from catalog lines; the customer accepts it in the customer space (or staff
accept it on the customer's behalf, e.g. on the phone), optionally choosing one of the offered
installation slots. Acceptance turns it into an order whose id derives from the quote id, so
accepting twice (a double click, a retried request) yields the same order.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from pydantic import Field

from shared.domain.catalog import Product, Slot
from shared.domain.common import Address, DomainModel
from shared.domain.ids import stable_id
from shared.domain.order import Order, OrderLine, OrderSource, OrderStage, StageEvent

CENT = Decimal("0.01")


def money(amount: Decimal) -> Decimal:
    """Round to the cent, half up (the usual rule on French invoices)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class QuoteStatus(StrEnum):
    open = "open"
    accepted = "accepted"
    cancelled = "cancelled"


class QuoteLine(DomainModel):
    sku: str
    title: str
    quantity: int = Field(ge=1, le=10_000)
    unit_price: Decimal = Field(ge=0)
    vat_rate: Decimal = Field(ge=0, le=1)
    is_service: bool = False

    @property
    def amount_excl_vat(self) -> Decimal:
        return money(self.unit_price * self.quantity)

    @property
    def vat(self) -> Decimal:
        return money(self.amount_excl_vat * self.vat_rate)


class Quote(DomainModel):
    id: str
    number: str
    customer_id: str
    lines: list[QuoteLine] = Field(min_length=1)
    billing_address: Address
    shipping_address: Address  # where the installation takes place
    status: QuoteStatus = QuoteStatus.open
    offered_slots: list[Slot] = Field(default_factory=list)
    valid_until: datetime
    created_by: str
    created_at: datetime
    updated_at: datetime
    order_id: str | None = None
    accepted_at: datetime | None = None
    accepted_by: str | None = None
    chosen_slot: Slot | None = None  # the customer's choice among the offered slots, if any

    @property
    def total_excl_vat(self) -> Decimal:
        return sum((line.amount_excl_vat for line in self.lines), Decimal("0"))

    @property
    def total_incl_vat(self) -> Decimal:
        return self.total_excl_vat + sum((line.vat for line in self.lines), Decimal("0"))


def quote_line(product: Product, quantity: int, unit_price: Decimal | None = None) -> QuoteLine:
    """A line priced from the catalog unless staff set a (negotiated) price."""
    return QuoteLine(
        sku=product.sku,
        title=product.title,
        quantity=quantity,
        unit_price=product.unit_price if unit_price is None else unit_price,
        vat_rate=product.vat_rate,
        is_service=product.is_service,
    )


def order_id_for(quote_id: str) -> str:
    """The order a quote becomes: deterministic, so a repeated acceptance finds the same order."""
    return stable_id("O", "quote", quote_id)


def order_from_quote(quote: Quote, now: datetime) -> Order:
    lines = [
        OrderLine(
            id=f"L{position}",
            sku=line.sku,
            title=line.title,
            quantity=line.quantity,
            unit_price=line.unit_price,
            vat_rate=line.vat_rate,
            is_service=line.is_service,
        )
        for position, line in enumerate(quote.lines, start=1)
    ]
    return Order(
        id=order_id_for(quote.id),
        number=quote.number.replace("DEV-", "CMD-", 1),
        source=OrderSource.portal,
        customer_id=quote.customer_id,
        lines=lines,
        billing_address=quote.billing_address,
        shipping_address=quote.shipping_address,
        stage=OrderStage.reception,
        stage_history=[StageEvent(stage=OrderStage.reception, at=now, note=f"quote {quote.number} accepted")],
        total=quote.total_incl_vat,
        created_at=now,
        updated_at=now,
        placed_at=now,
    )
