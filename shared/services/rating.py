"""The customer space's rating of a solved ticket, counted in the KPIs (CSAT per agent, queue,
channel and day)."""

from __future__ import annotations

from shared.domain import kpi, rating
from shared.domain.ticket import Ticket, TicketRating
from shared.ports import Clock, Repository, Versioned
from shared.services.ticket_work import edit_ticket


def rate_ticket(
    repo: Repository, clock: Clock, customer_id: str, ticket_id: str, *, score: int, comment: str | None
) -> TicketRating:
    def write(found: Versioned[Ticket]) -> Ticket:
        after, audit = rating.rate(found.value, customer_id, score, comment, clock.now())
        repo.save_ticket(found, after, [audit])
        return after

    rated = edit_ticket(repo, ticket_id, write)
    assert rated.rating is not None
    repo.add_kpis(kpi.on_rating(rated, score, rated.rating.at))
    return rated.rating
