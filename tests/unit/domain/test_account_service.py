"""The account use cases decide again after a lost race, and answer a rule's conflict at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.domain.customer import Account, ContactRole, Customer
from shared.domain.errors import Conflict
from shared.ports import Versioned
from shared.services import accounts

NOW = datetime(2026, 11, 25, 10, tzinfo=UTC)


class Clock:
    def now(self) -> datetime:
        return NOW


class Repo:
    def __init__(self, customer: Customer) -> None:
        self.customer, self.reads = customer, 0

    def get_customer(self, customer_id: str):
        self.reads += 1
        return Versioned(self.customer, 3) if customer_id == self.customer.id else None


class Store:
    def __init__(self, lose: int) -> None:
        self.lose, self.writes = lose, []

    def get_account(self, account_id: str):
        return Versioned(Account(id=account_id, name="Acme", created_at=NOW), 1)

    def get_contact(self, account_id: str, customer_id: str):
        return None

    def add_contact(self, account_id, contact, audit, entry) -> None:
        if self.lose:
            self.lose -= 1
            raise Conflict("a concurrent write changed the records; re-read and retry")
        self.writes.append((account_id, contact.customer_id, audit.action, entry.summary))


def _put(store: Store, repo: Repo):
    return accounts.put_contact(
        store,
        repo,
        Clock(),
        "acme",
        "C1",
        name="Jean",
        roles=[ContactRole.billing],
        email=None,
        phone=None,
        actor="agent:paul",
    )


def test_a_lost_race_is_decided_again_on_fresh_reads():
    store, repo = Store(lose=1), Repo(Customer(id="C1", created_at=NOW, updated_at=NOW))
    assert _put(store, repo).name == "Jean"
    assert repo.reads == 2 and store.writes == [("acme", "C1", "contact_added", "Contact of Acme (billing)")]


def test_losing_every_attempt_ends_in_a_conflict():
    store, repo = Store(lose=accounts.ATTEMPTS), Repo(Customer(id="C1", created_at=NOW, updated_at=NOW))
    with pytest.raises(Conflict, match="concurrent write"):
        _put(store, repo)
    assert repo.reads == accounts.ATTEMPTS and store.writes == []


def test_a_rule_conflict_is_answered_at_once():
    store = Store(lose=0)
    repo = Repo(Customer(id="C1", account_id="globex", created_at=NOW, updated_at=NOW))
    with pytest.raises(Conflict, match="already a contact of account globex"):
        _put(store, repo)
    assert repo.reads == 1
