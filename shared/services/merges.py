"""Profile merges: automatic when one message links two profiles, undoable by an agent."""

from __future__ import annotations

from shared.domain import trust
from shared.domain.customer import Customer
from shared.domain.errors import Conflict, NotFound
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.domain.merge import SAME_MESSAGE_RULE, plan_merge, plan_undo
from shared.ports import Clock, Repository
from shared.services.identity_resolution import find_customer


def merge_linked_profiles(
    repo: Repository, clock: Clock, inbound: InboundMessage, taken: list[tuple[str, str]]
) -> bool:
    """Called when the message's identifiers are owned by another profile than the one it
    resolved to: merge that profile with it. Returns True when the caller should simply retry
    (merged, or the race resolved itself), False when the identifier must be left alone.
    """
    found = find_customer(repo, inbound)
    if found is None:
        # A concurrent first message made the profile (retrying joins it), or the message may
        # not join the owner (a sign-in meeting a claim): then the identifier stays where it is.
        return all(repo.identity_owner(kind, value) is None for kind, value in taken)
    merged_any = False
    for kind, value in taken:
        owner_id = repo.identity_owner(kind, value)
        if owner_id is None or owner_id == found.value.id:
            merged_any = True
            continue
        owner = repo.get_customer(owner_id)
        if owner is None or owner.value.merged_into is not None:
            return False
        if _merge_was_undone(found.value, owner.value):
            return False  # an agent separated these two: never merge them again automatically
        resolved_claim = _claim_of(inbound, found.value)
        owner_claim = next(
            (c for c in inbound.identities if c.kind.value == kind and c.value == value),
            IdentityClaim(kind=IdentityKind(kind), value=value),
        )
        if not trust.may_merge(inbound, found.value, resolved_claim, owner.value, owner_claim):
            return False  # a claim never merges a profile that holds a proof
        linking = [resolved_claim, owner_claim]
        plan = plan_merge(
            (found.value, found.version),
            (owner.value, owner.version),
            [claim for claim in linking if claim is not None],
            rule=SAME_MESSAGE_RULE,
            now=clock.now(),
        )
        try:
            repo.merge_customers(plan)
        except Conflict:
            return True  # someone changed either profile; re-read and decide again
        merged_any = True
    return merged_any


def _merge_was_undone(a: Customer, b: Customer) -> bool:
    return any(
        e.undone_at is not None and e.merged_customer_id in (a.id, b.id) for e in [*a.merges, *b.merges]
    )


def _claim_of(inbound: InboundMessage, customer: Customer) -> IdentityClaim | None:
    """The message's identifier that resolved to ``customer`` (the other half of the evidence)."""
    for claim in inbound.identities:
        if customer.has_identity(claim.kind, claim.value):
            return claim
    return None


def undo_merge(repo: Repository, clock: Clock, survivor_id: str, merged_id: str, by: str) -> Customer:
    survivor = repo.get_customer(survivor_id)
    merged = repo.get_customer(merged_id)
    if survivor is None:
        raise NotFound("customer", survivor_id)
    if merged is None:
        raise NotFound("customer", merged_id)
    plan = plan_undo((survivor.value, survivor.version), merged.value, clock.now(), by)
    repo.undo_merge(plan)
    restored = repo.get_customer(survivor_id)
    assert restored is not None
    return restored.value
