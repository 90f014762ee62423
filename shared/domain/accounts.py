"""Company accounts (B2B): who may change what, and how an account and its contacts are kept valid.

An account is a company; its contacts are customers (profiles) with roles. A customer is a
contact of at most one account (the profile carries ``account_id``; the store enforces it with
a conditional write). No I/O here: the service reads, these rules decide, the store writes.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import Field

from shared.domain.common import DomainModel
from shared.domain.customer import Account, Contact, ContactRole, Customer
from shared.domain.errors import Conflict, InvalidInput, NotFound
from shared.domain.identity import IdentityKind, InvalidIdentifier, normalize_email, normalize_phone

MAX_CUSTOMER_ID = 64
MAX_CONTACTS = 500  # per account: the account view pages them; the cap keeps one company bounded
EDITORS = frozenset({"supervisor", "admin"})  # change an existing account's name or VAT number

_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# EU VAT numbers: a 2-letter country prefix (EL for Greece, XI for Northern Ireland) and 2 to 13
# letters or digits; other countries' tax ids are accepted in the same shape.
_VAT = re.compile(r"^[A-Z]{2}[0-9A-Z+*]{2,13}$")


class NotAllowed(Exception):
    """The caller's role does not allow this change (answered 403)."""


class AccountAuditEntry(DomainModel):
    """Who changed an account or its contacts, and when (kept in the account's partition)."""

    id: str
    account_id: str
    actor: str  # "agent:<subject>"
    action: str  # created, updated, contact_added, contact_updated, contact_removed
    changes: dict[str, str] = Field(default_factory=dict)  # field -> "old -> new"
    at: datetime


def check_account_id(account_id: str) -> None:
    if not _ACCOUNT_ID.match(account_id):
        raise InvalidInput(
            [
                {
                    "field": "account_id",
                    "message": "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
                }
            ]
        )


def check_customer_id(customer_id: str) -> None:
    """Customer ids are short (ULID-shaped): a longer one names no customer (and would make
    a key DynamoDB refuses)."""
    if not customer_id or len(customer_id) > MAX_CUSTOMER_ID:
        raise NotFound("customer", customer_id[:MAX_CUSTOMER_ID] + ("..." if customer_id else ""))


def normalize_vat(raw: str | None) -> str | None:
    """``fr 40 303 265 045`` -> ``FR40303265045``; empty -> None; a malformed one -> InvalidInput."""
    if raw is None:
        return None
    value = re.sub(r"[\s.\-/]", "", raw).upper()
    if not value:
        return None
    if not _VAT.match(value):
        raise InvalidInput(
            [
                {
                    "field": "vat_number",
                    "message": "a 2-letter country prefix, then 2 to 13 letters or digits: FR40303265045",
                }
            ]
        )
    return value


def _clean_name(raw: str, field: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise InvalidInput([{"field": field, "message": "must not be blank"}])
    return name


def save_account(
    existing: Account | None,
    account_id: str,
    *,
    name: str,
    vat_number: str | None,
    now: datetime,
    roles: frozenset[str],
) -> tuple[Account, dict[str, str]] | None:
    """The account to write and what changed; None when nothing changes.

    Any staff member creates an account (an agent on the phone with a new company); changing
    an existing account's name or VAT number (what invoices carry) is for supervisors and admins.
    """
    check_account_id(account_id)
    clean = _clean_name(name, "name")
    vat = normalize_vat(vat_number)
    if existing is None:
        changes = {"name": clean} | ({"vat_number": vat} if vat else {})
        return Account(id=account_id, name=clean, vat_number=vat, created_at=now, updated_at=now), changes
    changes = {}
    if existing.name != clean:
        changes["name"] = f"{existing.name} -> {clean}"
    if existing.vat_number != vat:
        changes["vat_number"] = f"{existing.vat_number or '(none)'} -> {vat or '(none)'}"
    if not changes:
        return None
    if not roles & EDITORS:
        raise NotAllowed("only supervisors and admins change an existing account's name or VAT number")
    return existing.model_copy(update={"name": clean, "vat_number": vat, "updated_at": now}), changes


def check_joinable(customer: Customer, account_id: str) -> None:
    """A merged profile cannot join (its survivor can); a contact of another account must leave it first."""
    if customer.merged_into:
        raise Conflict(f"customer {customer.id} was merged into {customer.merged_into}: add that profile")
    if customer.account_id and customer.account_id != account_id:
        raise Conflict(
            f"customer {customer.id} is already a contact of account {customer.account_id}:"
            " remove them from it first"
        )


def check_capacity(account: Account) -> None:
    if account.contact_count >= MAX_CONTACTS:
        raise Conflict(f"account {account.id} already has {MAX_CONTACTS} contacts")


def _first(customer: Customer, kind: IdentityKind) -> str | None:
    values = customer.identity_values(kind)
    return values[0] if values else None


def build_contact(
    customer: Customer,
    *,
    name: str | None,
    roles: list[ContactRole],
    email: str | None,
    phone: str | None,
    now: datetime,
    existing: Contact | None = None,
) -> Contact:
    """The contact card: roles listed once each (at least one), the name given or the profile's,
    the email and phone given (normalised) or the profile's."""
    errors: list[dict[str, str]] = []
    if not roles:
        errors.append({"field": "roles", "message": "at least one role"})
    twice = sorted({r.value for r in roles if roles.count(r) > 1})
    if twice:
        errors.append({"field": "roles", "message": f"listed more than once: {', '.join(twice)}"})
    fallback = customer.display_name or " ".join(p for p in (customer.first_name, customer.last_name) if p)
    chosen = name if name is not None else (existing.name if existing else fallback)
    clean_name = " ".join((chosen or "").split())
    if not clean_name:
        errors.append({"field": "name", "message": "required (the customer's profile has no name)"})
    try:
        clean_email = normalize_email(email) if email else _first(customer, IdentityKind.email)
    except InvalidIdentifier as exc:
        errors.append({"field": "email", "message": str(exc)})
        clean_email = None
    try:
        clean_phone = normalize_phone(phone) if phone else _first(customer, IdentityKind.phone)
    except InvalidIdentifier as exc:
        errors.append({"field": "phone", "message": str(exc)})
        clean_phone = None
    if errors:
        raise InvalidInput(errors)
    return Contact(
        customer_id=customer.id,
        name=clean_name,
        roles=list(roles),
        email=clean_email,
        phone=clean_phone,
        added_at=existing.added_at if existing and existing.added_at else now,
        updated_at=now,
    )


def contact_changes(before: Contact | None, after: Contact) -> dict[str, str]:
    """What the audit trail records for a contact change (empty: nothing changed)."""
    roles = ", ".join(r.value for r in after.roles)
    if before is None:
        return {"contact": after.customer_id, "name": after.name, "roles": roles}
    changes: dict[str, str] = {}
    if before.name != after.name:
        changes["name"] = f"{before.name} -> {after.name}"
    if before.roles != after.roles:
        changes["roles"] = f"{', '.join(r.value for r in before.roles)} -> {roles}"
    for field in ("email", "phone"):
        old, new = getattr(before, field), getattr(after, field)
        if old != new:
            changes[field] = f"{old or '(none)'} -> {new or '(none)'}"
    return {"contact": after.customer_id, **changes} if changes else {}
