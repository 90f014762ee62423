"""Find the customer a message comes from, by its identifiers in priority order."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.domain.customer import Customer
from shared.domain.inbound import InboundMessage
from shared.domain.parties import PartyLink
from shared.ports import Repository, Versioned

MERGE_HOPS = 3


def find_customer(repo: Repository, message: InboundMessage) -> Versioned[Customer] | None:
    """The first identifier with an owner decides (one GetItem each, then the profile).

    A profile that was merged away points to the survivor; follow it (bounded).
    """
    for claim in message.identities:
        owner = repo.identity_owner(claim.kind.value, claim.value)
        if owner is not None:
            return _survivor(repo, owner)
    return None


@dataclass(frozen=True)
class Sender:
    """Who wrote: their profile, if any, and the tickets their address is a third party of."""

    customer: Versioned[Customer] | None
    party_links: list[PartyLink] = field(default_factory=list)


def find_sender(repo: Repository, message: InboundMessage) -> Sender:
    """As :func:`find_customer`, with the party links read in the same Query per identifier
    (they live beside the identity record), newest first."""
    links: list[PartyLink] = []
    for claim in message.identities:
        owner, found = repo.identity_lookup(claim.kind.value, claim.value)
        links += found
        if owner is not None:
            return Sender(_survivor(repo, owner), links)
    return Sender(None, links)


def _survivor(repo: Repository, owner: str) -> Versioned[Customer] | None:
    """The profile, following merges to the one that survived (bounded)."""
    for _ in range(MERGE_HOPS):
        found = repo.get_customer(owner)
        if found is None or found.value.merged_into is None:
            return found
        owner = found.value.merged_into
    return None
