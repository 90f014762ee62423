"""Who is calling: the JWT claims API Gateway's authorizer verified, and the caller's roles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.adapters.channels.portal import PortalAuthor

STAFF_ROLES = frozenset({"agent", "supervisor", "admin"})
# The order back office's people (groups of the staff pool): coordinators plan visits and may
# enter a report for a technician, the billing role validates invoices, technicians report on
# their own visits. They reach the order back-office API only (not the ticket workspace).
COORDINATOR_ROLES = frozenset({"coordinator", "supervisor", "admin"})
BILLING_ROLES = frozenset({"billing", "admin"})
TECHNICIAN_ROLE = "technician"
BACK_OFFICE_ROLES = STAFF_ROLES | frozenset({"coordinator", "billing", TECHNICIAN_ROLE})


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


def _claims(event: dict[str, Any]) -> dict[str, Any]:
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt", {}).get("claims")
    return claims if isinstance(claims, dict) else {}


def _true(value: Any) -> bool:
    """A boolean claim: JSON ``true`` in the token, the string ``"true"`` as API Gateway renders it."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def customer_from_event(event: dict[str, Any]) -> PortalAuthor:
    """The signed-in customer (customer pool JWT): the sub, and the email and phone with whether
    Cognito verified them (only a verified one proves anything: shared/domain/trust.py)."""
    claims = _claims(event)
    if not claims.get("sub"):
        raise Forbidden("the token names no customer (no sub claim)")
    return PortalAuthor(
        subject=str(claims["sub"]),
        email=claims.get("email") or None,
        email_verified=_true(claims.get("email_verified")),
        phone=claims.get("phone_number") or None,
        phone_verified=_true(claims.get("phone_number_verified")),
        name=claims.get("name") or None,
    )


def caller_from_event(event: dict[str, Any]) -> Caller:
    claims = _claims(event)
    return Caller(
        subject=str(claims.get("sub", "")),
        email=claims.get("email"),
        roles=_groups(claims.get("cognito:groups")),
    )
