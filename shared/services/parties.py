"""Agents add and remove the third parties of a ticket (optimistic: read, apply, write guarded)."""

from __future__ import annotations

from shared.domain import parties
from shared.domain.parties import PartyIn
from shared.domain.ticket import Ticket
from shared.ports import Clock, Repository, Versioned
from shared.services.ticket_work import edit_ticket


def add_party(repo: Repository, clock: Clock, ticket_id: str, request: PartyIn, actor: str) -> Ticket:
    party = parties.new_party(request, clock.now())

    def write(found: Versioned[Ticket]) -> Ticket:
        after, audit = parties.add_party(found.value, party, actor, clock.now())
        repo.save_parties(found, after, audit, added=parties.links_for(ticket_id, party), removed=[])
        return after

    return edit_ticket(repo, ticket_id, write)


def remove_party(repo: Repository, clock: Clock, ticket_id: str, party_id: str, actor: str) -> Ticket:
    def write(found: Versioned[Ticket]) -> Ticket:
        after, party, audit = parties.remove_party(found.value, party_id, actor, clock.now())
        repo.save_parties(found, after, audit, added=[], removed=parties.links_for(ticket_id, party))
        return after

    return edit_ticket(repo, ticket_id, write)
