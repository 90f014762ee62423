"""Read tickets for agents: the list, newest first, and one ticket with its messages."""

from __future__ import annotations

from shared.domain.errors import InvalidInput, NotFound
from shared.domain.message import Message
from shared.domain.ticket import Ticket, TicketSummary
from shared.domain.ticket_list import TicketFilters
from shared.ports import Page, Repository

MAX_PAGE = 100


def list_tickets(
    repo: Repository,
    limit: int,
    cursor: str | None,
    *,
    view: str = "all",
    who: str | None = None,
    topic: str | None = None,
    filters: TicketFilters | None = None,
) -> Page[TicketSummary]:
    if view == "queue" and not topic:
        raise InvalidInput([{"field": "topic", "message": "the queue view needs a topic"}])
    if filters is not None and filters.problems():
        raise InvalidInput(filters.problems())
    return repo.list_tickets(
        limit=max(1, min(limit, MAX_PAGE)), cursor=cursor, view=view, who=who, topic=topic, filters=filters
    )


def ticket_with_messages(
    repo: Repository, ticket_id: str, limit: int, cursor: str | None
) -> tuple[Ticket, Page[Message]]:
    ticket, messages = repo.ticket_messages(ticket_id, limit=max(1, min(limit, MAX_PAGE)), cursor=cursor)
    if ticket is None and cursor is None:
        raise NotFound("ticket", ticket_id)
    if ticket is None:
        # Later pages do not repeat the ticket record: read it on its own.
        found = repo.get_ticket(ticket_id)
        if found is None:
            raise NotFound("ticket", ticket_id)
        ticket = found.value
    return ticket, messages
