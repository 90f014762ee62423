"""The order back office's policy, set by admins without a deployment (``/api/admin/order-policy``).

* the team's language: back-office tickets and notes the workflow writes are in it (French by
  default), as alerts are in each customer's;
* which invoices may be issued without a person validating them (none by default: an invoice
  is a draft until someone in the billing role validates it);
* payment terms printed on invoices (due date, late-payment penalty rate, early payment) and
  the payment follow-up of B2B invoices (reminders before and after the due date).

Stored and versioned like the team configuration (shared/domain/team_config.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field

from shared.domain.common import DomainModel
from shared.domain.team_config import ConfigSpec

MAX_PAYMENT_DAYS = 60  # Code de commerce L441-10: at most 60 days from the invoice date


class AutoIssueRule(DomainModel):
    """Invoices that may be issued (numbered and sent) without a person validating them.

    Off by default. When on, an invoice qualifies only if every condition holds: its total
    including VAT is at most ``max_total_incl_vat`` (when set), no line is sold below its
    catalog price unless ``allow_discounts``, and the order is not a B2B account's when
    ``b2b_needs_validation``.
    """

    enabled: bool = False
    max_total_incl_vat: Decimal | None = Field(default=None, ge=0)
    allow_discounts: bool = False
    b2b_needs_validation: bool = True


class PaymentTerms(DomainModel):
    """What every invoice says about payment (mandatory mentions, Code de commerce L441-9)."""

    days: int = Field(default=30, ge=0, le=MAX_PAYMENT_DAYS)
    # At least three times the legal interest rate; commonly the ECB refinancing rate + 10 points.
    late_penalty_rate_percent: Decimal = Field(default=Decimal("12.15"), ge=0, le=100)
    early_payment_discount: str | None = Field(default=None, max_length=200)  # None: "Pas d'escompte"
    methods: str = Field(default="virement bancaire", max_length=200)
    iban: str | None = Field(default=None, max_length=40)


class PaymentFollowUp(DomainModel):
    """Reminders of unpaid B2B invoices, on the customer's allowed channel."""

    reminder_days_before_due: int = Field(default=3, ge=0, le=30)
    reminder_days_after_due: list[int] = Field(default_factory=lambda: [1, 15], max_length=5)
    overdue_ticket_after_days: int = Field(default=1, ge=0, le=90)


class OrderPolicy(DomainModel):
    team_locale: Literal["fr", "en"] = "fr"
    auto_issue: AutoIssueRule = Field(default_factory=AutoIssueRule)
    payment: PaymentTerms = Field(default_factory=PaymentTerms)
    follow_up: PaymentFollowUp = Field(default_factory=PaymentFollowUp)


DEFAULT_ORDER_POLICY = OrderPolicy()
ORDER_POLICY = ConfigSpec("order_policy", OrderPolicy, DEFAULT_ORDER_POLICY, "order back-office policy")
