"""Agents add and remove the third parties of a ticket (optimistic: read, apply, write guarded)."""

from __future__ import annotations

from shared.domain import parties
from shared.domain.errors import Conflict, NotFound
from shared.domain.parties import PartyIn
from shared.domain.ticket import Ticket
from shared.ports import Clock, Repository

ATTEMPTS = 3


def add_party(repo: Repository, clock: Clock, ticket_id: str, request: PartyIn, actor: str) -> Ticket:
    party = parties.new_party(request, clock.now())
    for _ in range(ATTEMPTS):
        found = repo.get_ticket(ticket_id)
        if found is None:
            raise NotFound("ticket", ticket_id)
        after, audit = parties.add_party(found.value, party, actor, clock.now())
        try:
            repo.save_parties(found, after, audit, added=parties.links_for(ticket_id, party), removed=[])
        except Conflict:
            continue  # the ticket changed meanwhile: add to the new version
        return after
    raise Conflict(f"ticket {ticket_id} keeps changing; try again")


def remove_party(repo: Repository, clock: Clock, ticket_id: str, party_id: str, actor: str) -> Ticket:
    for _ in range(ATTEMPTS):
        found = repo.get_ticket(ticket_id)
        if found is None:
            raise NotFound("ticket", ticket_id)
        after, party, audit = parties.remove_party(found.value, party_id, actor, clock.now())
        try:
            repo.save_parties(found, after, audit, added=[], removed=parties.links_for(ticket_id, party))
        except Conflict:
            continue
        return after
    raise Conflict(f"ticket {ticket_id} keeps changing; try again")
