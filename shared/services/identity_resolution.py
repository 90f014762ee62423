"""Find the customer a message comes from, by its identifiers in order and how each is proven
(rules: shared/domain/trust.py), and the customer a customer-space sign-in opens."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.domain import trust
from shared.domain.customer import Customer
from shared.domain.inbound import InboundMessage
from shared.domain.parties import PartyLink
from shared.ports import Repository, Versioned

MERGE_HOPS = 3


@dataclass(frozen=True)
class Sender:
    """Who wrote: their profile, if any, how the message reached it, the claims the message's
    proof takes back, and the tickets its identifiers are a third party of."""

    customer: Versioned[Customer] | None
    party_links: list[PartyLink] = field(default_factory=list)
    via: trust.Match | None = None
    releases: list[trust.Match] = field(default_factory=list)


def find_customer(repo: Repository, message: InboundMessage) -> Versioned[Customer] | None:
    """As :func:`find_sender`, the profile only."""
    return find_sender(repo, message).customer


def find_sender(repo: Repository, message: InboundMessage) -> Sender:
    """One Query per identifier (its owner and party links, which live beside the identity
    record), then the owner's profile (following merges), in the message's order until one is
    tied by proof on both sides; a message that proves nothing stops at the first owner."""
    proves_any = any(trust.proof_of(message, c).proven for c in message.identities)
    links: list[PartyLink] = []
    matches: list[trust.Match] = []
    for claim in message.identities:
        owner, found = repo.identity_lookup(claim.kind.value, claim.value)
        links += found
        if owner is None:
            continue
        profile = _survivor(repo, owner)
        if profile is None:
            continue
        candidate = trust.match(message, claim, profile.value, profile.version)
        matches.append(candidate)
        if candidate.proven or not proves_any:
            break
    resolution = trust.resolve(message, matches)
    chosen = resolution.found
    customer = Versioned(chosen.customer, chosen.version) if chosen is not None else None
    return Sender(customer, links, chosen, resolution.releases)


def signed_in_customer(repo: Repository, sign_in: trust.SignIn) -> Customer | None:
    """The profile a customer-space sign-in opens: through its sub, else its verified email or
    phone, each only where the profile holds it as proven (one GetItem each, then the profile)."""
    for kind, value in sign_in.identifiers():
        owner = repo.identity_owner(kind.value, value)
        profile = _survivor(repo, owner) if owner is not None else None
        if profile is not None and trust.opens_for(profile.value, kind, value):
            return profile.value
    return None


def _survivor(repo: Repository, owner: str) -> Versioned[Customer] | None:
    """The profile, following merges to the one that survived (bounded)."""
    for _ in range(MERGE_HOPS):
        found = repo.get_customer(owner)
        if found is None or found.value.merged_into is None:
            return found
        owner = found.value.merged_into
    return None
