"""What an e-commerce platform tells us (Shopify, WooCommerce), normalised, before it is synced.

Webhooks and history imports both become these events; ``shared/services/commerce_sync.py``
applies them to orders, checkouts, profiles and timelines. Platforms deliver out of order
and more than once: every event carries the platform's own ``source_updated_at`` (older news
never overwrites newer) and a ``dedup_key`` (a redelivery changes nothing).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from shared.domain.common import Address, DomainModel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim
from shared.domain.order import Order, OrderLine, OrderSource, OrderStage, Payment, Refund, Shipment


class PlatformCustomer(DomainModel):
    """Who the platform says the buyer is; each identifier is normalised or dropped."""

    platform_id: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    @property
    def display_name(self) -> str | None:
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return name or None

    def claims(self, source: OrderSource) -> list[IdentityClaim]:
        """Lookup order: the platform's customer id, then email, then phone (parsers store
        them normalised, invalid ones dropped)."""
        found: list[IdentityClaim] = []
        if self.platform_id and source in (OrderSource.shopify, OrderSource.woocommerce):
            found.append(IdentityClaim(kind=IdentityKind(source.value), value=self.platform_id))
        if self.email:
            found.append(IdentityClaim(kind=IdentityKind.email, value=self.email))
        if self.phone:
            found.append(IdentityClaim(kind=IdentityKind.phone, value=self.phone))
        return found


class OrderSnapshot(DomainModel):
    """The whole order as the platform holds it now (orders/*, order.*, an export row)."""

    source: OrderSource
    topic: str
    dedup_key: str | None
    external_id: str
    number: str
    customer: PlatformCustomer = Field(default_factory=PlatformCustomer)
    lines: list[OrderLine] = Field(default_factory=list)
    billing_address: Address | None = None
    shipping_address: Address | None = None
    payment: Payment = Field(default_factory=Payment)
    shipments: list[Shipment] = Field(default_factory=list)
    fulfillment_status: str | None = None
    total: Decimal = Decimal("0")
    currency: str = "EUR"
    checkout_token: str | None = None
    placed_at: datetime | None = None
    cancelled_at: datetime | None = None
    completed_at: datetime | None = None  # WooCommerce "completed": the shop says it was delivered
    refunds: list[Refund] = Field(default_factory=list)  # every refund the platform lists
    source_updated_at: datetime | None = None


class RefundSnapshot(DomainModel):
    """One refund of an order (Shopify ``refunds/create``): its amount and lines."""

    source: OrderSource
    topic: str
    dedup_key: str | None
    order_external_id: str
    refund: Refund


class FulfillmentSnapshot(DomainModel):
    """One shipment of an order (Shopify ``fulfillments/create|update``)."""

    source: OrderSource
    topic: str
    dedup_key: str | None
    order_external_id: str
    shipment: Shipment


class CheckoutSnapshot(DomainModel):
    """A checkout in progress (Shopify ``checkouts/create|update``): a cart with a contact."""

    source: OrderSource
    topic: str
    dedup_key: str | None
    token: str
    cart_token: str | None = None
    customer: PlatformCustomer = Field(default_factory=PlatformCustomer)
    lines: list[OrderLine] = Field(default_factory=list)
    total: Decimal = Decimal("0")
    currency: str = "EUR"
    recovery_url: str | None = None
    source_created_at: datetime | None = None
    source_updated_at: datetime | None = None
    completed_at: datetime | None = None


class CustomerSnapshot(DomainModel):
    """A platform customer account (Shopify ``customers/*``, WooCommerce ``customer.*``)."""

    source: OrderSource
    topic: str
    dedup_key: str | None
    customer: PlatformCustomer
    source_updated_at: datetime | None = None


class DeletedResource(StrEnum):
    order = "order"
    customer = "customer"


class Deletion(DomainModel):
    """WooCommerce ``*.deleted``: only ``{"id": N}`` is sent."""

    source: OrderSource
    topic: str
    dedup_key: str | None
    resource: DeletedResource
    external_id: str
    at: datetime


class Ignored(DomainModel):
    """A delivery we accept but do not sync (an unsupported topic); kept for the logs."""

    source: OrderSource
    topic: str
    reason: str


CommerceEvent = (
    OrderSnapshot
    | FulfillmentSnapshot
    | RefundSnapshot
    | CheckoutSnapshot
    | CustomerSnapshot
    | Deletion
    | Ignored
)


# The stages a platform order goes through, in order (it never goes back, except to cancelled).
PLATFORM_STAGES = (
    OrderStage.reception,
    OrderStage.preparation,
    OrderStage.satisfaction,
    OrderStage.completed,
)


def implied_stage(order: Order) -> OrderStage:
    """The stage a platform order's status implies: cancelled or deleted; delivered (completed
    when no survey will be asked: an imported past delivery, or nobody to ask; else the
    satisfaction stage, whose survey is asked now); shipped or partly fulfilled (preparation:
    the shop prepares and ships it); else received (reception)."""
    if order.cancelled_at is not None or order.deleted_at is not None:
        return OrderStage.cancelled
    if order.delivered_at is not None or order.is_delivered():
        if order.satisfaction_skipped or not order.customer_id:
            return OrderStage.completed
        return OrderStage.satisfaction
    live = [s for s in order.shipments if s.status not in ("cancelled", "failed")]
    if live or (order.fulfillment_status or "").lower() in ("partial", "fulfilled", "shipped"):
        return OrderStage.preparation
    return OrderStage.reception


def later_stage(current: OrderStage, implied: OrderStage) -> bool:
    """Whether moving a platform order from ``current`` to ``implied`` is progress."""
    if current is implied or current in (OrderStage.cancelled, OrderStage.completed):
        return False
    if implied is OrderStage.cancelled:
        return True
    if current not in PLATFORM_STAGES:  # a quote's workflow stage: the platform does not drive it
        return False
    return PLATFORM_STAGES.index(implied) > PLATFORM_STAGES.index(current)
