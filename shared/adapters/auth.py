"""Who is calling: the JWT claims API Gateway's authorizer verified, and the caller's roles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STAFF_ROLES = frozenset({"agent", "supervisor", "admin"})


class Forbidden(Exception):
    """Authenticated, but not allowed to do this (403)."""


@dataclass(frozen=True)
class Caller:
    subject: str
    email: str | None
    roles: frozenset[str]

    def require_any(self, allowed: frozenset[str]) -> None:
        if not self.roles & allowed:
            raise Forbidden(f"this needs one of the roles: {', '.join(sorted(allowed))}")


def _groups(raw: Any) -> frozenset[str]:
    """API Gateway renders a list claim as the string ``[agent supervisor]``."""
    if isinstance(raw, list):
        return frozenset(str(g) for g in raw)
    if isinstance(raw, str):
        return frozenset(part for part in raw.strip("[]").replace(",", " ").split() if part)
    return frozenset()


def caller_from_event(event: dict[str, Any]) -> Caller:
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt", {}).get("claims") or {}
    return Caller(
        subject=str(claims.get("sub", "")),
        email=claims.get("email"),
        roles=_groups(claims.get("cognito:groups")),
    )
