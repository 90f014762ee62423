"""Read tickets for agents: the list, newest first, and one ticket with its messages."""

from __future__ import annotations

from shared.domain.errors import NotFound
from shared.domain.message import Message
from shared.domain.ticket import Ticket, TicketSummary
from shared.ports import Page, Repository

MAX_PAGE = 100


def list_tickets(repo: Repository, limit: int, cursor: str | None) -> Page[TicketSummary]:
    return repo.list_tickets(limit=max(1, min(limit, MAX_PAGE)), cursor=cursor)


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
