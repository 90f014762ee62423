"""Record one inbound customer message: customer, ticket, message and timeline, atomically."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from shared.domain import intake
from shared.domain.errors import Conflict, Duplicate, IdentityTaken
from shared.domain.inbound import InboundMessage
from shared.ports import Clock, InboundWrite, Repository
from shared.services.identity_resolution import find_customer

MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class IngestResult:
    ticket_id: str | None
    message_id: str | None
    customer_id: str | None
    created_customer: bool = False
    created_ticket: bool = False
    duplicate: bool = False


def record_message(
    repo: Repository,
    clock: Clock,
    inbound: InboundMessage,
    sleep: Callable[[float], None] = time.sleep,
) -> IngestResult:
    """Idempotent: a second delivery with the same dedup key changes nothing.

    Concurrent first messages from one person race on the identity records and on the
    profile's version (conditional writes in one transaction); a loser backs off, re-reads
    and joins the winner's profile and ticket. An identifier owned by another profile is
    not claimed (merging profiles is a separate, recorded decision).
    """
    taken: set[tuple[str, str]] = set()
    for attempt in range(MAX_ATTEMPTS):
        try:
            return _attempt(repo, clock, inbound, taken)
        except Duplicate:
            return IngestResult(None, None, None, duplicate=True)
        except IdentityTaken as error:
            taken.update(error.identities)
        except Conflict:
            pass
        sleep(random.uniform(0.005, 0.02) * (attempt + 1))  # noqa: S311 (jitter, not crypto)
    raise Conflict(f"gave up after {MAX_ATTEMPTS} concurrent-write conflicts")


def _attempt(
    repo: Repository, clock: Clock, inbound: InboundMessage, taken: set[tuple[str, str]]
) -> IngestResult:
    now = clock.now()
    found = find_customer(repo, inbound)
    customer = found.value if found else intake.new_customer(inbound, now)

    current = repo.get_ticket(customer.open_ticket_id) if (found and customer.open_ticket_id) else None
    joining = current is not None and intake.accepts_messages(current.value)
    ticket = current.value if (current and joining) else intake.open_ticket(inbound, customer.id, now)

    identities = [
        identity
        for identity in intake.missing_identities(customer, inbound, now)
        if (identity.kind.value, identity.value) not in taken
    ]
    message = intake.to_message(inbound, ticket.id, customer.id, now)
    repo.record_inbound(
        InboundWrite(
            dedup_key=inbound.dedup_key,
            message=message,
            claimed_identities=identities,
            timeline_summary=intake.timeline_summary(inbound),
            new_customer=None
            if found
            else intake.record_contact(customer, inbound, identities, ticket.id, now),
            customer_update=intake.contact_update(customer, inbound, identities, ticket.id, now)
            if found
            else None,
            new_ticket=None if joining else intake.with_message_counted(ticket, inbound),
            ticket_update=intake.ticket_update(ticket, inbound, now) if joining else None,
        )
    )
    created_ticket = not joining
    return IngestResult(
        ticket_id=ticket.id,
        message_id=message.id,
        customer_id=customer.id,
        created_customer=found is None,
        created_ticket=created_ticket,
    )
