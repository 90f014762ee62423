"""Company accounts for staff: create or change an account, add, change or remove its contacts.

Each use case reads what it decides on (GetItem), lets shared.domain.accounts decide, and
writes once (one transaction, audited). A write that loses a race (``Conflict``) is decided
again on fresh reads, a bounded number of times; the fresh decision says what is wrong (the
customer joined another account meanwhile, the account is full, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from shared.adapters.dynamodb.accounts import AccountStore
from shared.domain import accounts as rules
from shared.domain.accounts import AccountAuditEntry
from shared.domain.customer import Account, Contact, ContactRole
from shared.domain.errors import Conflict, NotFound
from shared.domain.ids import new_id
from shared.domain.timeline import TimelineEntry
from shared.ports import Clock, Repository

ATTEMPTS = 3
MAX_PAGE = 100
R = TypeVar("R")


class _LostRace(Exception):
    """The write's guard failed: what was read changed meanwhile (the cause is the Conflict)."""

    def __init__(self, conflict: Conflict) -> None:
        super().__init__(str(conflict))
        self.conflict = conflict


def _write(call: Callable[[], None]) -> None:
    try:
        call()
    except Conflict as lost:
        raise _LostRace(lost) from lost


def _retrying(attempt: Callable[[], R]) -> R:
    """Decide again on fresh reads when the write lost a race; a Conflict a rule raises (another
    account, a full account) is the answer at once."""
    for remaining in range(ATTEMPTS - 1, -1, -1):
        try:
            return attempt()
        except _LostRace as lost:
            if not remaining:
                raise lost.conflict from None
    raise AssertionError("unreachable")


def _audit(
    account_id: str, actor: str, action: str, changes: dict[str, str], clock: Clock
) -> AccountAuditEntry:
    return AccountAuditEntry(
        id=new_id("AU"), account_id=account_id, actor=actor, action=action, changes=changes, at=clock.now()
    )


def save_account(
    store: AccountStore,
    clock: Clock,
    account_id: str,
    name: str,
    vat_number: str | None,
    *,
    actor: str,
    roles: frozenset[str],
) -> Account:
    """Create the account, or change its name and VAT number (supervisors and admins)."""
    rules.check_account_id(account_id)

    def attempt() -> Account:
        now = clock.now()
        found = store.get_account(account_id)
        decided = rules.save_account(
            found.value if found else None, account_id, name=name, vat_number=vat_number, now=now, roles=roles
        )
        if decided is None:
            assert found is not None
            return found.value
        account, changes = decided
        audit = _audit(account_id, actor, "created" if found is None else "updated", changes, clock)
        if found is None:
            _write(lambda: store.create_account(account, audit))
        else:
            _write(lambda: store.update_account(account, found.version, audit))
        return account

    return _retrying(attempt)


def account_with_contacts(
    store: AccountStore, account_id: str, limit: int, cursor: str | None
) -> tuple[Account, str | None]:
    """The account with a page of its contacts (``contacts``) and the cursor of the next page."""
    rules.check_account_id(account_id)
    found, page = store.account_with_contacts(account_id, max(1, min(limit, MAX_PAGE)), cursor)
    if found is None:
        raise NotFound("account", account_id)
    return found.value.model_copy(update={"contacts": page.items}), page.next_cursor


def account_audit(store: AccountStore, account_id: str, limit: int) -> list[AccountAuditEntry]:
    rules.check_account_id(account_id)
    entries = store.account_audit(account_id, max(1, min(limit, 200)))
    if not entries and store.get_account(account_id) is None:
        raise NotFound("account", account_id)
    return entries


def put_contact(
    store: AccountStore,
    repo: Repository,
    clock: Clock,
    account_id: str,
    customer_id: str,
    *,
    name: str | None,
    roles: list[ContactRole],
    email: str | None,
    phone: str | None,
    actor: str,
) -> Contact:
    """Make the customer a contact of the account with these roles, or change their card.
    404 for an unknown account or customer; 409 if they are a contact of another account."""
    rules.check_account_id(account_id)
    rules.check_customer_id(customer_id)

    def attempt() -> Contact:
        now = clock.now()
        customer = repo.get_customer(customer_id)
        if customer is None:
            raise NotFound("customer", customer_id)
        account = store.get_account(account_id)
        if account is None:
            raise NotFound("account", account_id)
        rules.check_joinable(customer.value, account_id)
        existing = store.get_contact(account_id, customer_id) if customer.value.account_id else None
        contact = rules.build_contact(
            customer.value, name=name, roles=roles, email=email, phone=phone, now=now, existing=existing
        )
        changes = rules.contact_changes(existing, contact)
        if existing is not None:
            if changes:
                audit = _audit(account_id, actor, "contact_updated", changes, clock)
                _write(lambda: store.update_contact(account_id, contact, audit))
            return contact if changes else existing
        rules.check_capacity(account.value)
        audit = _audit(account_id, actor, "contact_added", changes, clock)
        roles_text = ", ".join(r.value for r in contact.roles)
        entry = TimelineEntry(
            event_id=f"account:{account_id}:{audit.id}",
            kind="account",
            summary=f"Contact of {account.value.name} ({roles_text})",
            details={"account_id": account_id, "roles": roles_text, "by": actor},
            at=now,
        )
        _write(lambda: store.add_contact(account_id, contact, audit, entry))
        return contact

    return _retrying(attempt)


def remove_contact(
    store: AccountStore, clock: Clock, account_id: str, customer_id: str, *, actor: str
) -> None:
    """The customer stops being a contact of the account (their profile stays)."""
    rules.check_account_id(account_id)
    rules.check_customer_id(customer_id)

    def attempt() -> None:
        now = clock.now()
        account = store.get_account(account_id)
        if account is None:
            raise NotFound("account", account_id)
        contact = store.get_contact(account_id, customer_id)
        if contact is None:
            raise NotFound("contact", f"{customer_id} of account {account_id}")
        audit = _audit(
            account_id, actor, "contact_removed", {"contact": customer_id, "name": contact.name}, clock
        )
        entry = TimelineEntry(
            event_id=f"account:{account_id}:{audit.id}",
            kind="account",
            summary=f"No longer a contact of {account.value.name}",
            details={"account_id": account_id, "by": actor},
            at=now,
        )
        _write(lambda: store.remove_contact(account_id, customer_id, audit, entry))

    _retrying(attempt)
