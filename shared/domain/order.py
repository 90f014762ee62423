"""Orders: lines, addresses, payment, shipping and the back-office workflow stage."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from shared.domain.common import Address, DomainModel


class OrderSource(StrEnum):
    portal = "portal"  # quote accepted in the customer space
    shopify = "shopify"
    woocommerce = "woocommerce"
    import_ = "import"


class OrderStage(StrEnum):
    quote = "quote"
    reception = "reception"
    preparation = "preparation"
    installation = "installation"
    billing = "billing"
    satisfaction = "satisfaction"
    completed = "completed"
    cancelled = "cancelled"


class BillableStatus(StrEnum):
    pending = "pending"
    billable = "billable"
    not_billable = "not_billable"  # free of charge, explicitly
    billed = "billed"


class OrderLine(DomainModel):
    id: str
    sku: str | None = None
    title: str
    quantity: int = Field(ge=1)
    unit_price: Decimal
    vat_rate: Decimal = Decimal("0.20")
    is_service: bool = False
    serial_numbers: list[str] = Field(default_factory=list)
    billable_status: BillableStatus = BillableStatus.pending

    @property
    def total_excl_vat(self) -> Decimal:
        return self.unit_price * self.quantity


class PaymentStatus(StrEnum):
    pending = "pending"
    authorized = "authorized"
    paid = "paid"
    partially_paid = "partially_paid"
    refunded = "refunded"
    voided = "voided"
    failed = "failed"


class Payment(DomainModel):
    method: str | None = None
    status: PaymentStatus = PaymentStatus.pending
    amount: Decimal = Decimal("0")
    currency: str = "EUR"
    provider_reference: str | None = None


class Shipment(DomainModel):
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    status: str | None = None  # e.g. in_transit, delivered
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None


class StageEvent(DomainModel):
    stage: OrderStage
    at: datetime
    note: str | None = None


class Order(DomainModel):
    id: str
    number: str  # what the customer quotes ("#1001", "CMD-2026-0042")
    source: OrderSource
    external_id: str | None = None  # the platform's id (Shopify/WooCommerce)
    customer_id: str | None = None
    lines: list[OrderLine] = Field(default_factory=list)
    billing_address: Address | None = None
    shipping_address: Address | None = None
    payment: Payment = Field(default_factory=Payment)
    shipments: list[Shipment] = Field(default_factory=list)
    stage: OrderStage = OrderStage.reception
    stage_history: list[StageEvent] = Field(default_factory=list)
    total: Decimal = Decimal("0")
    currency: str = "EUR"
    source_updated_at: datetime | None = None  # to refuse out-of-order webhook updates
    created_at: datetime
    updated_at: datetime
