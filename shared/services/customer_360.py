"""The customer 360 view for agents: profile (identities, merge evidence, traits), the company
account with its contacts and their roles, recent orders, tickets, and the timeline.

A bounded number of reads whatever the customer's history: GetItem the profile, Query the
timeline page, Query the customer's tickets (GSI6), Query the customer's orders (GSI1, the
orders store's own method), and, for a company contact, one Query of the account's partition
(the account and its first contacts): 4 calls, 5 with an account; plus, for a profile others
were merged into, one timeline Query and one tickets Query per merged profile (at most
MAX_MERGED_PROFILES), merged by time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.adapters.dynamodb.accounts import AccountStore
from shared.adapters.dynamodb.orders import OrderRepository
from shared.domain.accounts import check_customer_id
from shared.domain.common import DomainModel
from shared.domain.customer import Account, Customer
from shared.domain.errors import NotFound
from shared.domain.order import Order, OrderSource, OrderStage, PaymentStatus
from shared.domain.ticket import TicketSummary
from shared.domain.timeline import TimelineEntry
from shared.ports import Repository

MAX_PAGE = 100
RECENT_TICKETS = 20
RECENT_ORDERS = 10  # the rest: GET /api/customers/{id}/orders?cursor=<orders_next_cursor>
ACCOUNT_CONTACTS = 50  # the rest: GET /api/accounts/{id}?cursor=<contacts_next_cursor>


class OrderSummary(DomainModel):
    """What the 360 view shows of an order (the whole order: GET /api/orders/{id})."""

    id: str
    number: str
    source: OrderSource
    stage: OrderStage
    total: Decimal
    currency: str
    payment_status: PaymentStatus
    placed_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None

    @classmethod
    def of(cls, order: Order) -> OrderSummary:
        return cls(
            id=order.id,
            number=order.number,
            source=order.source,
            stage=order.stage,
            total=order.total,
            currency=order.currency,
            payment_status=order.payment.status,
            placed_at=order.placed_at or order.created_at,
            delivered_at=order.delivered_at,
            cancelled_at=order.cancelled_at,
        )


@dataclass(frozen=True)
class CustomerView:
    customer: Customer
    account: Account | None  # with its first ACCOUNT_CONTACTS contacts
    contacts_next_cursor: str | None
    orders: list[OrderSummary]
    orders_next_cursor: str | None
    tickets: list[TicketSummary]
    timeline: list[TimelineEntry]
    next_cursor: str | None  # the timeline's


MAX_MERGED_PROFILES = 20  # one more Query each for the timeline and the tickets


def merged_profiles(customer: Customer) -> list[str]:
    """The profiles merged into this one and not separated since, newest merge first: their
    tickets and timeline entries stay where they were written, and the 360 view reads them too."""
    live = [e.merged_customer_id for e in reversed(customer.merges) if e.undone_at is None]
    return list(dict.fromkeys(live))[:MAX_MERGED_PROFILES]


def customer_360(
    repo: Repository,
    accounts: AccountStore,
    orders: OrderRepository,
    customer_id: str,
    *,
    limit: int,
    cursor: str | None,
) -> CustomerView:
    check_customer_id(customer_id)
    found = repo.get_customer(customer_id)
    if found is None:
        raise NotFound("customer", customer_id)
    customer = found.value
    merged = merged_profiles(customer)
    timeline = repo.customer_timeline(customer_id, max(1, min(limit, MAX_PAGE)), cursor, merged=merged)
    tickets = repo.list_tickets(
        limit=RECENT_TICKETS, cursor=None, view="customer", who=customer_id, merged=merged
    )
    recent = orders.customer_orders(customer_id, RECENT_ORDERS, None)
    account: Account | None = None
    contacts_cursor: str | None = None
    if customer.account_id:
        held, contacts = accounts.account_with_contacts(customer.account_id, ACCOUNT_CONTACTS)
        if held is not None:
            account = held.value.model_copy(update={"contacts": contacts.items})
            contacts_cursor = contacts.next_cursor
    return CustomerView(
        customer=customer,
        account=account,
        contacts_next_cursor=contacts_cursor,
        orders=[OrderSummary.of(o) for o in recent.items],
        orders_next_cursor=recent.next_cursor,
        tickets=tickets.items,
        timeline=timeline.items,
        next_cursor=timeline.next_cursor,
    )
