"""Read a customer for agents: the profile with identities and merge evidence, and the timeline."""

from __future__ import annotations

from shared.domain.customer import Customer
from shared.domain.errors import NotFound
from shared.domain.message import Message
from shared.domain.ticket import Ticket
from shared.domain.timeline import TimelineEntry
from shared.ports import Page, Repository

MAX_PAGE = 100


def profile_with_timeline(
    repo: Repository, customer_id: str, limit: int, cursor: str | None
) -> tuple[Customer, Page[TimelineEntry]]:
    found = repo.get_customer(customer_id)
    if found is None:
        raise NotFound("customer", customer_id)
    return found.value, repo.customer_timeline(customer_id, max(1, min(limit, MAX_PAGE)), cursor)


def visible_to_customer(message: Message) -> bool:
    """Customers see their exchanges with the team: never internal notes, never third parties."""
    return (
        message.direction.value != "internal"
        and message.party_id is None
        and message.party_role.value in ("customer", "agent", "system")
    )


def own_ticket(
    repo: Repository, customer_id: str, ticket_id: str, limit: int
) -> tuple[Ticket, list[Message]]:
    ticket, page = repo.ticket_messages(ticket_id, limit=limit, cursor=None)
    if ticket is None or ticket.customer_id != customer_id:
        raise NotFound("ticket", ticket_id)  # another customer's ticket does not exist for them
    return ticket, [m for m in page.items if visible_to_customer(m)]
