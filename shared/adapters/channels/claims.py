"""Identity claims from provider identifiers, normalised the way the domain keys customers."""

from __future__ import annotations

from shared.domain.identity import IdentityKind, InvalidIdentifier, normalize
from shared.domain.inbound import IdentityClaim


def claim(kind: IdentityKind, raw: str | None) -> IdentityClaim | None:
    """A normalised identity claim, or None when the value is absent or not a valid identifier.

    Invalid values are dropped rather than raised: one odd identifier (a short code, an
    anonymous caller) must not stop the rest of the delivery from being recorded.
    """
    if raw is None or not raw.strip():
        return None
    try:
        return IdentityClaim(kind=kind, value=normalize(kind, raw))
    except InvalidIdentifier:
        return None


def unique_claims(*claims: IdentityClaim | None) -> list[IdentityClaim]:
    """Claims in the given order (lookup order), without Nones or repeats."""
    seen: set[tuple[str, str]] = set()
    result: list[IdentityClaim] = []
    for item in claims:
        if item is None or (item.kind.value, item.value) in seen:
            continue
        seen.add((item.kind.value, item.value))
        result.append(item)
    return result
