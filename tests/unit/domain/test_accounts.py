"""Company accounts: VAT numbers, who may change an account, contact cards and their roles."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.domain.accounts import (
    MAX_CONTACTS,
    NotAllowed,
    build_contact,
    check_capacity,
    check_joinable,
    contact_changes,
    normalize_vat,
    save_account,
)
from shared.domain.customer import Account, Contact, ContactRole, Customer, Identity
from shared.domain.errors import Conflict, InvalidInput
from shared.domain.identity import IdentityKind

NOW = datetime(2026, 11, 25, 10, tzinfo=UTC)
AGENT = frozenset({"agent"})
SUPERVISOR = frozenset({"supervisor"})


def _customer(**changes) -> Customer:
    base = Customer(
        id="C1",
        display_name="Jean Martin",
        identities=[
            Identity(kind=IdentityKind.email, value="jean@example.net", first_seen_at=NOW),
            Identity(kind=IdentityKind.phone, value="+33612345678", first_seen_at=NOW),
        ],
        created_at=NOW,
        updated_at=NOW,
    )
    return base.model_copy(update=changes)


def _contact(**changes) -> Contact:
    return build_contact(
        _customer(),
        **{"name": None, "roles": [ContactRole.billing], "email": None, "phone": None, "now": NOW, **changes},
    )


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("fr 40 303 265 045", "FR40303265045"),
        ("DE-123.456.789", "DE123456789"),
        ("  ", None),
        (None, None),
        ("EL123456789", "EL123456789"),
    ],
)
def test_vat_numbers_are_stored_in_one_form(raw, clean):
    assert normalize_vat(raw) == clean


@pytest.mark.parametrize("raw", ["123456789", "FR", "F1234", "FR 40 303 265 045 123 456 789"])
def test_a_malformed_vat_number_is_refused_with_the_expected_shape(raw):
    with pytest.raises(InvalidInput) as refused:
        normalize_vat(raw)
    assert refused.value.errors[0]["field"] == "vat_number" and "FR40303265045" in str(refused.value)


def test_any_staff_member_creates_an_account_and_the_audit_says_what_it_holds():
    account, changes = save_account(
        None, "acme", name="  Acme   SARL", vat_number="fr40303265045", now=NOW, roles=AGENT
    )
    assert (account.name, account.vat_number, account.created_at) == ("Acme SARL", "FR40303265045", NOW)
    assert changes == {"name": "Acme SARL", "vat_number": "FR40303265045"}


def test_only_supervisors_and_admins_change_an_existing_account():
    existing = Account(id="acme", name="Acme", vat_number="FR40303265045", contact_count=3, created_at=NOW)

    with pytest.raises(NotAllowed):
        save_account(existing, "acme", name="Acme Group", vat_number="FR40303265045", now=NOW, roles=AGENT)
    assert (
        save_account(existing, "acme", name="Acme", vat_number="fr 40303265045", now=NOW, roles=AGENT) is None
    )

    changed, changes = save_account(
        existing, "acme", name="Acme Group", vat_number=None, now=NOW, roles=SUPERVISOR
    )
    assert changes == {"name": "Acme -> Acme Group", "vat_number": "FR40303265045 -> (none)"}
    assert changed.contact_count == 3 and changed.vat_number is None and changed.updated_at == NOW


@pytest.mark.parametrize("account_id", ["", "-acme", "a" * 65, "ac me", "acme#1"])
def test_account_ids_are_short_and_plain(account_id):
    with pytest.raises(InvalidInput):
        save_account(None, account_id, name="Acme", vat_number=None, now=NOW, roles=AGENT)


def test_a_contact_card_defaults_to_the_profile_and_normalises_what_is_given():
    assert (_contact().name, _contact().email, _contact().phone) == (
        "Jean Martin",
        "jean@example.net",
        "+33612345678",
    )
    given = _contact(name=" Jean  M. ", email="Jean.M@Exemple.FR", phone="06 11 22 33 44")
    assert (given.name, given.email, given.phone) == ("Jean M.", "jean.m@exemple.fr", "+33611223344")
    assert given.added_at == NOW


def test_a_contact_card_needs_roles_once_each_a_name_and_valid_details():
    with pytest.raises(InvalidInput) as refused:
        build_contact(
            _customer(display_name=None),
            name=None,
            roles=[ContactRole.billing, ContactRole.technical, ContactRole.billing],
            email="nope",
            phone="abc",
            now=NOW,
        )
    assert {e["field"] for e in refused.value.errors} == {"roles", "name", "email", "phone"}
    with pytest.raises(InvalidInput, match="at least one role"):
        _contact(roles=[])


def test_changing_a_contact_keeps_when_it_was_added_and_audits_only_what_changed():
    before = _contact()
    later = datetime(2026, 12, 1, tzinfo=UTC)
    after = build_contact(
        _customer(),
        name=None,
        roles=[ContactRole.billing, ContactRole.technical],
        email=None,
        phone=None,
        now=later,
        existing=before,
    )
    assert (after.added_at, after.updated_at) == (NOW, later)
    assert contact_changes(before, after) == {"contact": "C1", "roles": "billing -> billing, technical"}
    assert contact_changes(before, before) == {}
    assert contact_changes(None, before) == {"contact": "C1", "name": "Jean Martin", "roles": "billing"}


def test_a_customer_belongs_to_one_account_and_a_merged_profile_to_none():
    check_joinable(_customer(), "acme")
    check_joinable(_customer(account_id="acme"), "acme")  # changing their card
    with pytest.raises(Conflict, match="already a contact of account globex"):
        check_joinable(_customer(account_id="globex"), "acme")
    with pytest.raises(Conflict, match="merged into C2"):
        check_joinable(_customer(merged_into="C2"), "acme")


def test_an_account_holds_a_bounded_number_of_contacts():
    check_capacity(Account(id="acme", name="Acme", contact_count=MAX_CONTACTS - 1, created_at=NOW))
    with pytest.raises(Conflict):
        check_capacity(Account(id="acme", name="Acme", contact_count=MAX_CONTACTS, created_at=NOW))
