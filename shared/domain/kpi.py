"""Supervisors' KPIs, kept as counters updated on write (never computed by scanning).

One item per day and scope: ``all``, ``queue:<topic>``, ``agent:<id>``, ``channel:<channel>``,
``technician:<id>`` (CSAT of the orders they installed). Averages are computed at read time from
sums and counts. What counts, and when:

* a customer message: ``messages_in`` per channel; a new ticket: ``tickets_created``;
* a reply that went out: ``messages_out`` per channel and agent (a reply to a third party too);
  the reply that gave the customer their first response (the SLA clock's ``first_responded_at``
  set by it, which a reply to a third party never does): ``first_responses`` and
  ``first_response_seconds``, on the day of the reply;
* a solved ticket: ``resolved``, ``resolution_seconds``, ``sla_met`` or ``sla_breached``;
* a satisfaction survey answer (an order's, for the team and the technician) or a customer's
  rating of a solved ticket (for the team, its queue, channel and agent): ``csat_answers``,
  ``csat_score_sum``, ``csat_satisfied`` (4 or 5).
"""

from __future__ import annotations

from datetime import datetime

from shared.domain.common import DomainModel
from shared.domain.ticket import Ticket, TicketStatus

SATISFIED_FROM = 4  # a CSAT of 4 or 5 out of 5 counts as satisfied


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


def on_reply(
    channel: str, agent_id: str | None, before: Ticket | None, after: Ticket | None, at: datetime
) -> list[KpiIncrement]:
    """A reply that went out on ``channel``: volume out per channel and agent. When it is the
    ticket's first response (the clock had none ``before`` and has one ``after``), the time it
    took, for the team, the ticket's queue and channel, and the agent who answered."""
    day = day_of(at)
    increments = [KpiIncrement(day=day, scope=f"channel:{channel}", counters={"messages_out": 1})]
    if agent_id:
        increments.append(KpiIncrement(day=day, scope=f"agent:{agent_id}", counters={"messages_out": 1}))
    was = before.sla.first_responded_at if before is not None and before.sla is not None else None
    now = after.sla.first_responded_at if after is not None and after.sla is not None else None
    if after is not None and was is None and now is not None:
        counters = {
            "first_responses": 1,
            "first_response_seconds": int((now - after.created_at).total_seconds()),
        }
        scopes = ["all", f"queue:{after.topic.value}", f"channel:{after.channel.value}"]
        if agent_id:
            scopes.append(f"agent:{agent_id}")
        increments += [KpiIncrement(day=day, scope=scope, counters=counters) for scope in scopes]
    return combine(increments)


def _csat(score: int) -> dict[str, int]:
    counters = {"csat_answers": 1, "csat_score_sum": score}
    if score >= SATISFIED_FROM:
        counters["csat_satisfied"] = 1
    return counters


def _ticket_scopes(ticket: Ticket) -> list[str]:
    """What a ticket's outcome counts for: the team, its queue and channel, the agent holding it."""
    scopes = ["all", f"queue:{ticket.topic.value}", f"channel:{ticket.channel.value}"]
    if ticket.assignee_id:
        scopes.append(f"agent:{ticket.assignee_id}")
    return scopes


def on_csat(score: int, technician_id: str | None, at: datetime) -> list[KpiIncrement]:
    """A satisfaction survey answer (1-5), for the team and the technician who installed."""
    scopes = ["all", *([f"technician:{technician_id}"] if technician_id else [])]
    return [KpiIncrement(day=day_of(at), scope=scope, counters=_csat(score)) for scope in scopes]


def on_rating(ticket: Ticket, score: int, at: datetime) -> list[KpiIncrement]:
    """A customer's rating of a solved ticket (1-5), on the day it was given."""
    return [
        KpiIncrement(day=day_of(at), scope=scope, counters=_csat(score)) for scope in _ticket_scopes(ticket)
    ]


def combine(increments: list[KpiIncrement]) -> list[KpiIncrement]:
    """One increment per day and scope (one UpdateItem each), counters summed, order kept."""
    merged: dict[tuple[str, str], dict[str, int]] = {}
    for increment in increments:
        counters = merged.setdefault((increment.day, increment.scope), {})
        for name, value in increment.counters.items():
            counters[name] = counters.get(name, 0) + value
    return [
        KpiIncrement(day=day, scope=scope, counters=counters) for (day, scope), counters in merged.items()
    ]


def solves(before: Ticket | None, after: Ticket | None) -> bool:
    """The change that solved the ticket (what ``on_solved`` counts, once)."""
    return (
        after is not None
        and after.status is TicketStatus.solved
        and (before is None or before.status is not TicketStatus.solved)
    )


def on_solved(ticket: Ticket, at: datetime) -> list[KpiIncrement]:
    """Resolution time and SLA compliance, for the team, the ticket's queue and its agent
    (the first response is counted when it is given: ``on_reply``)."""
    clock = ticket.sla
    met = clock is not None and not clock.breached
    counters = {
        "resolved": 1,
        "resolution_seconds": int((at - ticket.created_at).total_seconds()),
        "sla_met" if met else "sla_breached": 1,
    }
    return [KpiIncrement(day=day_of(at), scope=scope, counters=counters) for scope in _ticket_scopes(ticket)]


class KpiView(DomainModel):
    scope: str
    counters: dict[str, int]
    average_resolution_minutes: float | None = None
    average_first_response_minutes: float | None = None
    sla_compliance: float | None = None
    average_csat: float | None = None  # out of 5
    satisfaction_rate: float | None = None  # share of answers scoring 4 or 5


def view(scope: str, counters: dict[str, int]) -> KpiView:
    resolved = counters.get("resolved", 0)
    responses = counters.get("first_responses", 0)
    judged = counters.get("sla_met", 0) + counters.get("sla_breached", 0)
    answers = counters.get("csat_answers", 0)
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
        average_csat=round(counters.get("csat_score_sum", 0) / answers, 2) if answers else None,
        satisfaction_rate=round(counters.get("csat_satisfied", 0) / answers, 3) if answers else None,
    )
