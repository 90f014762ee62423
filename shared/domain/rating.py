"""A customer rates a solved ticket (CSAT): once, only their own, only when it is solved."""

from __future__ import annotations

from datetime import datetime

from shared.domain.audit import AuditEntry
from shared.domain.errors import Conflict, NotFound
from shared.domain.ids import new_id
from shared.domain.ticket import Ticket, TicketRating, TicketStatus

RATEABLE = frozenset({TicketStatus.solved, TicketStatus.closed})


def rate(
    ticket: Ticket, customer_id: str, score: int, comment: str | None, now: datetime
) -> tuple[Ticket, AuditEntry]:
    if ticket.customer_id != customer_id:
        raise NotFound("ticket", ticket.id)  # another customer's ticket does not exist for them
    if ticket.status not in RATEABLE:
        raise Conflict(f"ticket {ticket.id} is not solved yet: rate it once it is")
    if ticket.rating is not None:
        raise Conflict(f"ticket {ticket.id} was already rated")
    rating = TicketRating(score=score, comment=(comment or "").strip() or None, at=now)
    audit = AuditEntry(
        id=new_id("A"),
        ticket_id=ticket.id,
        actor=f"customer:{customer_id}",
        action="rated",
        changes={"score": str(score)},
        at=now,
    )
    return ticket.model_copy(update={"rating": rating, "updated_at": now}), audit
