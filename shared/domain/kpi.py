"""Supervisors' KPIs, kept as counters updated on write (never computed by scanning).

One item per day and scope: ``all``, ``queue:<topic>``, ``agent:<id>``, ``channel:<channel>``.
Averages are computed at read time from sums and counts.
"""

from __future__ import annotations

from datetime import datetime

from shared.domain.common import DomainModel
from shared.domain.ticket import Ticket


class KpiIncrement(DomainModel):
    day: str  # YYYY-MM-DD (UTC)
    scope: str
    counters: dict[str, int]


def day_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def on_inbound(channel: str, topic: str | None, new_ticket: bool, at: datetime) -> list[KpiIncrement]:
    """A customer message: volume per channel; a new ticket: created per queue and channel."""
    day = day_of(at)
    increments = [KpiIncrement(day=day, scope=f"channel:{channel}", counters={"messages_in": 1})]
    if new_ticket:
        increments.append(KpiIncrement(day=day, scope="all", counters={"tickets_created": 1}))
        if topic:
            increments.append(KpiIncrement(day=day, scope=f"queue:{topic}", counters={"tickets_created": 1}))
    return increments


def on_solved(ticket: Ticket, at: datetime) -> list[KpiIncrement]:
    """Resolution time and SLA compliance, for the team, the ticket's queue and its agent."""
    clock = ticket.sla
    met = clock is not None and not clock.breached
    counters = {
        "resolved": 1,
        "resolution_seconds": int((at - ticket.created_at).total_seconds()),
        "sla_met" if met else "sla_breached": 1,
    }
    if clock is not None and clock.first_responded_at is not None:
        counters["first_responses"] = 1
        counters["first_response_seconds"] = int(
            (clock.first_responded_at - ticket.created_at).total_seconds()
        )
    day = day_of(at)
    scopes = ["all", f"queue:{ticket.topic.value}", f"channel:{ticket.channel.value}"]
    if ticket.assignee_id:
        scopes.append(f"agent:{ticket.assignee_id}")
    return [KpiIncrement(day=day, scope=scope, counters=counters) for scope in scopes]


class KpiView(DomainModel):
    scope: str
    counters: dict[str, int]
    average_resolution_minutes: float | None = None
    average_first_response_minutes: float | None = None
    sla_compliance: float | None = None


def view(scope: str, counters: dict[str, int]) -> KpiView:
    resolved = counters.get("resolved", 0)
    responses = counters.get("first_responses", 0)
    judged = counters.get("sla_met", 0) + counters.get("sla_breached", 0)
    return KpiView(
        scope=scope,
        counters=counters,
        average_resolution_minutes=round(counters.get("resolution_seconds", 0) / resolved / 60, 1)
        if resolved
        else None,
        average_first_response_minutes=round(counters.get("first_response_seconds", 0) / responses / 60, 1)
        if responses
        else None,
        sla_compliance=round(counters.get("sla_met", 0) / judged, 3) if judged else None,
    )
