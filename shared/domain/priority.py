"""Priority: how soon a ticket should be served, from facts an agent can check.

A ticket starts at the level its request type deserves (an unhappy customer before a question)
and climbs one level for each aggravating fact: a valuable customer, a customer who keeps
coming back on several channels within a day (impatience, before it turns into a complaint),
a service-level deadline close by. An overdue deadline makes it urgent outright. Every step is
written in ``reasons`` so the agent sees why a ticket jumped the queue, and the outcome depends
only on the arguments (``now`` included), so the same facts always give the same priority.

Queues serve first come first served within a priority (the issue); ``score`` is an ordering
aid and a display value (higher is more pressing), never a hidden re-ordering.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import Field, field_validator

from shared.domain.common import Channel, DomainModel
from shared.domain.customer import CustomerTraits
from shared.domain.ticket import Priority, TicketType

# Level 0 is low, 3 urgent: the opposite of Priority.rank, which orders the queue index.
_LEVELS = [Priority.low, Priority.normal, Priority.high, Priority.urgent]


def level(priority: Priority) -> int:
    return _LEVELS.index(priority)


def raise_priority(priority: Priority, steps: int = 1) -> Priority:
    """``priority`` raised by ``steps`` levels, capped at urgent (an SLA escalation, say)."""
    return _LEVELS[max(0, min(level(priority) + steps, len(_LEVELS) - 1))]


def max_priority(*priorities: Priority) -> Priority:
    """The most pressing of ``priorities`` (e.g. never lower what an agent set by hand)."""
    return max(priorities, key=level)


_BASE: dict[TicketType, Priority] = {
    TicketType.complaint: Priority.high,
    TicketType.callback: Priority.high,  # the customer tried to reach us and could not
    TicketType.assistance: Priority.normal,
    TicketType.order_change: Priority.normal,  # before the order moves on, but no fire
    TicketType.unqualified: Priority.normal,
    TicketType.information: Priority.low,
}
# Within one level: complaint > callback > assistance > order change > unqualified > information.
_TYPE_WEIGHTS: dict[TicketType, int] = {
    TicketType.complaint: 50,
    TicketType.callback: 45,
    TicketType.assistance: 40,
    TicketType.order_change: 30,
    TicketType.unqualified: 20,
    TicketType.information: 10,
}


class PriorityPolicy(DomainModel):
    """Thresholds admins may tune; stored as JSON (durations as ISO 8601, amounts as strings).

    ``base`` and ``type_weights`` may list only the types to change: the others keep their
    defaults, so a partial edit never silently drops complaints to normal.
    """

    base: dict[TicketType, Priority] = Field(default_factory=lambda: dict(_BASE))
    type_weights: dict[TicketType, int] = Field(default_factory=lambda: dict(_TYPE_WEIGHTS))
    valuable_lifetime_value: Decimal | None = Decimal("1000")  # None: not a criterion
    valuable_average_basket: Decimal | None = Decimal("200")
    impatience_window: timedelta = Field(default=timedelta(hours=24), gt=timedelta(0))
    impatient_contacts: int = Field(default=2, ge=1)  # this many contacts ...
    impatient_channels: int = Field(default=2, ge=1)  # ... on at least this many channels
    insistent_contacts: int | None = Field(default=3, ge=2)  # or this many on any channels
    sla_due_soon: timedelta = Field(default=timedelta(hours=1), ge=timedelta(0))

    @field_validator("base")
    @classmethod
    def _complete_base(cls, base: dict[TicketType, Priority]) -> dict[TicketType, Priority]:
        return {**_BASE, **base}

    @field_validator("type_weights")
    @classmethod
    def _complete_weights(cls, weights: dict[TicketType, int]) -> dict[TicketType, int]:
        return {**_TYPE_WEIGHTS, **weights}


DEFAULT_PRIORITY_POLICY = PriorityPolicy()


class PriorityDecision(DomainModel):
    priority: Priority
    score: int  # 100 per level (low 0 ... urgent 300) + the type's weight
    reasons: list[str]


def _is_valuable(traits: CustomerTraits | None, policy: PriorityPolicy) -> str | None:
    if traits is None:
        return None
    lifetime = policy.valuable_lifetime_value
    if lifetime is not None and traits.lifetime_value >= lifetime:
        return f"valuable customer: lifetime value {traits.lifetime_value} >= {lifetime}"
    basket = policy.valuable_average_basket
    if basket is not None and traits.average_basket is not None and traits.average_basket >= basket:
        return f"valuable customer: average basket {traits.average_basket} >= {basket}"
    return None


def _is_impatient(
    recent_contacts: Sequence[tuple[Channel, datetime]], now: datetime, policy: PriorityPolicy
) -> str | None:
    since = now - policy.impatience_window
    recent = [(channel, at) for channel, at in recent_contacts if since < at <= now]
    channels = sorted({channel.value for channel, _ in recent})
    hours = policy.impatience_window.total_seconds() / 3600
    window = f"{hours:g} h"
    if len(recent) >= policy.impatient_contacts and len(channels) >= policy.impatient_channels:
        return f"impatient customer: {len(recent)} contacts on {', '.join(channels)} within {window}"
    if policy.insistent_contacts is not None and len(recent) >= policy.insistent_contacts:
        return f"insistent customer: {len(recent)} contacts within {window}"
    return None


def _format_delay(delay: timedelta) -> str:
    minutes = int(delay.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def priority_for(
    ticket_type: TicketType,
    customer_traits: CustomerTraits | None,
    recent_contacts: Sequence[tuple[Channel, datetime]],
    sla_due_at: datetime | None,
    now: datetime,
    *,
    policy: PriorityPolicy = DEFAULT_PRIORITY_POLICY,
) -> PriorityDecision:
    """The priority of a ticket and why.

    ``recent_contacts`` are the customer's inbound contacts (channel, time), the current message
    included; those outside ``(now - window, now]`` are ignored, so the caller may pass a
    timeline page as it is. ``sla_due_at`` is the ticket's next running deadline
    (``SlaClock.next_due()``), None when none runs (paused, or not started).
    """
    base = policy.base.get(ticket_type, Priority.normal)
    current = level(base)
    reasons = [f"{ticket_type.value}: starts {base.value}"]

    def bump(reason: str) -> None:
        nonlocal current
        if current >= level(Priority.urgent):
            reasons.append(f"{reason} (already urgent)")
            return
        current += 1
        reasons.append(f"{reason}: +1 level -> {_LEVELS[current].value}")

    valuable = _is_valuable(customer_traits, policy)
    if valuable:
        bump(valuable)
    impatient = _is_impatient(recent_contacts, now, policy)
    if impatient:
        bump(impatient)
    if sla_due_at is not None:
        if sla_due_at < now:
            current = level(Priority.urgent)
            reasons.append(f"SLA deadline passed {_format_delay(now - sla_due_at)} ago: urgent")
        elif sla_due_at - now <= policy.sla_due_soon:
            bump(f"SLA deadline in {_format_delay(sla_due_at - now)}")
    priority = _LEVELS[current]
    return PriorityDecision(
        priority=priority,
        score=100 * current + policy.type_weights.get(ticket_type, 0),
        reasons=reasons,
    )
