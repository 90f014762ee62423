"""Find the customer a message comes from, by its identifiers in priority order."""

from __future__ import annotations

from shared.domain.customer import Customer
from shared.domain.inbound import InboundMessage
from shared.ports import Repository, Versioned


def find_customer(repo: Repository, message: InboundMessage) -> Versioned[Customer] | None:
    """The first identifier with an owner decides (one GetItem each, then the profile).

    A profile that was merged away points to the survivor; follow it (bounded).
    """
    for claim in message.identities:
        owner = repo.identity_owner(claim.kind.value, claim.value)
        if owner is None:
            continue
        for _ in range(3):
            found = repo.get_customer(owner)
            if found is None:
                break
            if found.value.merged_into is None:
                return found
            owner = found.value.merged_into
        return None
    return None
