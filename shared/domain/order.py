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
    partially_refunded = "partially_refunded"
    refunded = "refunded"
    voided = "voided"
    failed = "failed"


class Payment(DomainModel):
    method: str | None = None
    status: PaymentStatus = PaymentStatus.pending
    amount: Decimal = Decimal("0")
    currency: str = "EUR"
    provider_reference: str | None = None


class RefundLine(DomainModel):
    line_id: str  # the order line refunded
    quantity: int = Field(default=0, ge=0)
    amount: Decimal = Decimal("0")  # refunded for this line, taxes included


class Refund(DomainModel):
    """Money given back on an order: by the platform (Shopify, WooCommerce) or, for an order
    Guichet invoiced, by a credit note."""

    id: str  # the platform's refund id, or the credit note's number
    amount: Decimal  # taxes included, in the order's currency
    currency: str = "EUR"
    lines: list[RefundLine] = Field(default_factory=list)
    reason: str | None = None
    refunded_at: datetime | None = None
    source: str  # shopify, woocommerce, credit_note


class Shipment(DomainModel):
    id: str | None = None  # the platform's fulfillment id (Shopify), to update it in place
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    status: str | None = None  # e.g. in_transit, delivered
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    line_quantities: dict[str, int] = Field(default_factory=dict)  # order line id -> quantity shipped
    source_updated_at: datetime | None = None  # the platform's updated_at: older news never wins


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
    # --- synced from an e-commerce platform (Shopify, WooCommerce) or an import
    email: str | None = None  # the contact the platform holds for this order
    phone: str | None = None
    platform_customer_id: str | None = None
    checkout_token: str | None = None  # Shopify: the checkout this order completed
    fulfillment_status: str | None = None  # the platform's word (fulfilled, partial, completed...)
    placed_at: datetime | None = None  # when the customer ordered (the platform's created_at)
    cancelled_at: datetime | None = None
    deleted_at: datetime | None = None  # deleted on the platform (WooCommerce order.deleted)
    delivered_at: datetime | None = None
    satisfaction_requested_at: datetime | None = None  # the satisfaction stage was asked for
    satisfaction_skipped: str | None = None  # why it never will be (e.g. delivered before an import)
    refunds: list[Refund] = Field(default_factory=list)

    @property
    def refunded_total(self) -> Decimal:
        return sum((refund.amount for refund in self.refunds), Decimal("0"))

    def with_refund_status(self) -> Order:
        """The payment status the refunds imply: refunded in full, or partially (a paid order)."""
        refunded = self.refunded_total
        status = self.payment.status
        if refunded <= 0 or status in (PaymentStatus.voided, PaymentStatus.failed):
            return self
        full = self.total > 0 and refunded >= self.total
        wanted = PaymentStatus.refunded if full else PaymentStatus.partially_refunded
        if status is wanted:
            return self
        return self.model_copy(update={"payment": self.payment.model_copy(update={"status": wanted})})

    def is_delivered(self) -> bool:
        """Every line shipped by delivered shipments, or the platform says fulfilled and every
        shipment it told us about is delivered (platforms do not always itemise shipments).
        Cancelled and failed shipments do not count either way."""
        if self.delivered_at is not None:
            return True
        live = [s for s in self.shipments if s.status not in ("cancelled", "failed")]
        delivered = [s for s in live if s.status == "delivered"]
        if not delivered or len(delivered) < len(live):
            return False
        if self.fulfillment_status == "fulfilled":
            return True
        shipped: dict[str, int] = {}
        for shipment in delivered:
            for line_id, quantity in shipment.line_quantities.items():
                shipped[line_id] = shipped.get(line_id, 0) + quantity
        return bool(self.lines) and all(shipped.get(line.id, 0) >= line.quantity for line in self.lines)


class OrderLinkKind(StrEnum):
    ticket = "ticket"
    message = "message"


class OrderLink(DomainModel):
    """A ticket (or one message of a ticket) about an order: what the 360 order view gathers."""

    kind: OrderLinkKind
    order_id: str
    ticket_id: str
    message_id: str | None = None
    message_sent_at: datetime | None = None  # with message_id: addresses the message item
    linked_at: datetime
    linked_by: str = "system"


class CheckoutStatus(StrEnum):
    open = "open"  # the customer is (or was) at the checkout, no order yet
    completed = "completed"  # an order came out of it
    abandoned = "abandoned"  # no order after the configured delay: shown on the profile
    recovered = "recovered"  # ordered after all, once it had been reported abandoned


class Checkout(DomainModel):
    """A platform checkout (Shopify ``checkouts/*``): an abandoned cart when no order follows."""

    id: str
    source: OrderSource
    token: str
    cart_token: str | None = None
    customer_id: str | None = None
    email: str | None = None
    phone: str | None = None
    platform_customer_id: str | None = None
    lines: list[OrderLine] = Field(default_factory=list)
    total: Decimal = Decimal("0")
    currency: str = "EUR"
    recovery_url: str | None = None
    status: CheckoutStatus = CheckoutStatus.open
    order_id: str | None = None
    source_created_at: datetime | None = None
    source_updated_at: datetime | None = None
    completed_at: datetime | None = None
    abandoned_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
