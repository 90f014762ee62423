"""Merging two profiles of one person, and undoing it: pure decisions, written by the repository."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.common import Channel
from shared.domain.customer import Customer, Identity, MergeEvidence
from shared.domain.errors import Conflict, NotFound
from shared.domain.inbound import IdentityClaim
from shared.domain.timeline import TimelineEntry

SAME_MESSAGE_RULE = "one message carried identifiers of both profiles"
MAX_MOVED_IDENTITIES = 25  # one transaction holds at most 100 writes


@dataclass(frozen=True)
class MergePlan:
    survivor: Customer
    survivor_version: int
    merged: Customer
    merged_version: int
    evidence: MergeEvidence
    timeline: TimelineEntry


@dataclass(frozen=True)
class UndoPlan:
    survivor: Customer
    survivor_version: int
    merged: Customer
    evidence_index: int
    evidence: MergeEvidence
    remaining_identities: list[Identity]
    timeline: TimelineEntry
    leaves_account: bool = False  # the survivor joined the merged profile's company by the merge


def plan_merge(
    first: tuple[Customer, int],
    second: tuple[Customer, int],
    linking: list[IdentityClaim],
    *,
    rule: str,
    now: datetime,
    by: str = "system",
) -> MergePlan:
    """The older profile survives (its id is the one people and tickets already know)."""
    (a, a_version), (b, b_version) = first, second
    (survivor, s_version), (merged, m_version) = ((a, a_version), (b, b_version))
    if b.created_at < a.created_at:
        (survivor, s_version), (merged, m_version) = ((b, b_version), (a, a_version))
    if survivor.id == merged.id:
        raise Conflict("a profile cannot be merged with itself")
    if merged.merged_into is not None:
        raise Conflict(f"profile {merged.id} was already merged into {merged.merged_into}")
    moved = [i for i in merged.identities if not survivor.has_identity(i.kind, i.value)]
    if len(moved) > MAX_MOVED_IDENTITIES:
        raise Conflict(f"profile {merged.id} has too many identities to merge automatically")
    identifiers = [f"{claim.kind.value}:{claim.value}" for claim in linking]
    evidence = MergeEvidence(
        merged_customer_id=merged.id,
        identifiers=identifiers,
        rule=rule,
        merged_at=now,
        merged_by=by,
        moved_identities=moved,
        moved_contacts=dict(merged.traits.contacts_per_channel),
        moved_account_id=merged.account_id if merged.account_id and not survivor.account_id else None,
    )
    entry = TimelineEntry(
        event_id=f"merge-{merged.id}",
        kind="merge",
        summary=f"profile {merged.id} merged into this one ({', '.join(identifiers)})",
        details={"merged_customer_id": merged.id, "rule": rule, "by": by},
        at=now,
    )
    return MergePlan(survivor, s_version, merged, m_version, evidence, entry)


def plan_undo(survivor: tuple[Customer, int], merged: Customer, now: datetime, by: str) -> UndoPlan:
    customer, version = survivor
    open_merges = [
        (position, evidence)
        for position, evidence in enumerate(customer.merges)
        if evidence.merged_customer_id == merged.id and evidence.undone_at is None
    ]
    if not open_merges:
        raise NotFound("merge", f"{merged.id} into {customer.id}")
    index, evidence = open_merges[-1]
    if merged.merged_into != customer.id:
        raise Conflict(f"profile {merged.id} is not merged into {customer.id}")
    given_back = {(i.kind, i.value) for i in evidence.moved_identities}
    remaining = [i for i in customer.identities if (i.kind, i.value) not in given_back]
    undone = evidence.model_copy(update={"undone_at": now, "undone_by": by})
    entry = TimelineEntry(
        event_id=f"unmerge-{merged.id}-{int(now.timestamp())}",
        kind="unmerge",
        summary=f"merge of profile {merged.id} undone by {by}",
        details={"merged_customer_id": merged.id, "by": by},
        at=now,
    )
    leaves = evidence.moved_account_id is not None and customer.account_id == evidence.moved_account_id
    return UndoPlan(customer, version, merged, index, undone, remaining, entry, leaves_account=leaves)


def contact_totals(contacts: dict[Channel, int], sign: int) -> dict[str, int]:
    return {channel.value: sign * count for channel, count in contacts.items() if count}
