"""``GET /api/search?q=``: customers and tickets by name, email, phone, ticket reference; and
orders by number. Index items only (no Scan), accents and case ignored, exact then prefix."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.search import query_plan
from shared.ports import Repository

PER_QUERY = 20


@dataclass(frozen=True)
class Hit:
    entity: str  # customer | ticket
    id: str
    label: str
    matched: str  # name | email | phone | ticket
    exact: bool


def search(repo: Repository, q: str, limit: int = 20) -> list[Hit]:
    """Exact matches first, then prefix matches; one hit per customer or ticket."""
    hits: dict[tuple[str, str], Hit] = {}
    for planned in query_plan(q):  # raises QueryTooShort (a 400) under 3 letters or digits
        for entry in repo.search(planned.pk, planned.sk_prefix, PER_QUERY):
            key = (entry.entity, entry.entity_id)
            hit = Hit(entry.entity, entry.entity_id, entry.label, entry.kind.value, planned.exact)
            if key not in hits or (hit.exact and not hits[key].exact):
                hits[key] = hit
    ranked = sorted(hits.values(), key=lambda h: (not h.exact, h.label.casefold()))
    return ranked[:limit]
