"""Company accounts and the customer 360 view through agent_api on moto: accounts, contacts
with roles, who may change what, and the 360 view gathering account, orders and traits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from functions.agent_api.handler import handler
from shared.adapters.dynamodb.accounts import AccountStore
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.accounts import AccountAuditEntry
from shared.domain.customer import Contact, ContactRole
from shared.domain.errors import Conflict
from shared.domain.timeline import TimelineEntry
from tests.integration import commerce_support
from tests.integration.commerce_support import SHOPIFY_ORDER, deliver
from tests.support import api_event

commerce = commerce_support.commerce  # the fixture
SUPERVISOR = {"cognito:groups": "[supervisor]"}
NO_ROLE = {"cognito:groups": "[]"}


def _call(context, method, path, *, body=None, query="", claims=None):
    event = api_event("agent_api/get_ticket", method, path, query=query, body=body, claims=claims)
    if claims is not None and "cognito:groups" not in claims:
        event["requestContext"]["authorizer"]["jwt"]["claims"].pop("cognito:groups", None)
    response = handler(event, context)
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


def _customers(aws, context) -> tuple[str, str]:
    """Bob (a Shopify order of 409.94) and Marie (a WooCommerce order): two profiles."""
    deliver(aws, context, "shopify_orders_create")
    deliver(aws, context, "woocommerce_order_created")
    repo = DynamoRepository(aws["table"])
    bob = repo.identity_owner("email", "bob.norman@example.com")
    marie = repo.identity_owner("email", "marie.dupont@example.org")
    assert bob and marie and bob != marie
    return bob, marie


def test_an_agent_creates_a_company_adds_contacts_with_roles_and_the_360_view_shows_it_all(
    commerce, lambda_context
):
    bob, marie = _customers(commerce, lambda_context)

    status, account = _call(
        lambda_context,
        "PUT",
        "/api/accounts/acme",
        body={"name": " Acme  SARL ", "vat_number": "fr 40 303.265.045"},
    )
    assert status == 200
    assert (account["name"], account["vat_number"], account["contact_count"]) == (
        "Acme SARL",
        "FR40303265045",
        0,
    )

    status, contact = _call(
        lambda_context,
        "PUT",
        f"/api/accounts/acme/contacts/{bob}",
        body={"roles": ["decision_maker", "billing"]},
    )
    assert status == 200
    # Name, email and phone default to the profile's.
    assert (contact["name"], contact["email"], contact["phone"]) == (
        "Bob Norman",
        "bob.norman@example.com",
        "+33612345678",
    )
    status, _ = _call(
        lambda_context,
        "PUT",
        f"/api/accounts/acme/contacts/{marie}",
        body={"name": "Marie Dupont", "roles": ["technical"], "phone": "06 11 22 33 44"},
    )
    assert status == 200

    status, view = _call(lambda_context, "GET", f"/api/customers/{bob}")

    assert status == 200
    assert view["customer"]["account_id"] == "acme"
    company = view["account"]
    assert (company["id"], company["name"], company["contact_count"]) == ("acme", "Acme SARL", 2)
    assert {c["customer_id"]: (c["name"], c["roles"]) for c in company["contacts"]} == {
        bob: ("Bob Norman", ["decision_maker", "billing"]),
        marie: ("Marie Dupont", ["technical"]),
    }
    assert [c["phone"] for c in company["contacts"] if c["customer_id"] == marie] == ["+33611223344"]
    assert [(o["id"], o["number"], o["total"], o["stage"]) for o in view["orders"]] == [
        (SHOPIFY_ORDER, "#1001", "409.94", "reception")
    ]
    assert view["orders_next_cursor"] is None
    traits = view["customer"]["traits"]
    assert (traits["orders_count"], traits["lifetime_value"], traits["average_basket"]) == (
        1,
        "409.94",
        "409.94",
    )
    assert "contacts_per_channel" in traits and "last_contact_at" in traits
    assert "Contact of Acme SARL (decision_maker, billing)" in [e["summary"] for e in view["timeline"]]
    assert view["tickets"] == [] and "next_cursor" in view  # the fields that were there stay

    status, audit = _call(lambda_context, "GET", "/api/accounts/acme/audit")
    assert status == 200
    assert [a["action"] for a in audit] == ["contact_added", "contact_added", "created"]
    assert audit[-1]["actor"].startswith("agent:") and audit[-1]["changes"]["vat_number"] == "FR40303265045"


def test_contacts_page_through_the_account_view(commerce, lambda_context):
    bob, marie = _customers(commerce, lambda_context)
    _call(lambda_context, "PUT", "/api/accounts/acme", body={"name": "Acme"})
    for who in (bob, marie):
        _call(lambda_context, "PUT", f"/api/accounts/acme/contacts/{who}", body={"roles": ["purchasing"]})

    status, first = _call(lambda_context, "GET", "/api/accounts/acme", query="limit=1")
    assert status == 200 and len(first["account"]["contacts"]) == 1 and first["next_cursor"]
    status, second = _call(
        lambda_context, "GET", "/api/accounts/acme", query=f"limit=1&cursor={first['next_cursor']}"
    )
    assert status == 200
    seen = {first["account"]["contacts"][0]["customer_id"], second["account"]["contacts"][0]["customer_id"]}
    assert seen == {bob, marie} and second["account"]["name"] == "Acme"
    assert _call(lambda_context, "GET", "/api/accounts/acme", query="cursor=garbage")[0] == 400
    # A cursor is valid for the account it was issued for only.
    assert (
        _call(lambda_context, "GET", "/api/accounts/globex", query=f"cursor={first['next_cursor']}")[0] == 400
    )


def test_changing_roles_and_removing_a_contact(commerce, lambda_context):
    bob, _ = _customers(commerce, lambda_context)
    _call(lambda_context, "PUT", "/api/accounts/acme", body={"name": "Acme"})
    _call(lambda_context, "PUT", f"/api/accounts/acme/contacts/{bob}", body={"roles": ["billing"]})

    status, changed = _call(
        lambda_context, "PUT", f"/api/accounts/acme/contacts/{bob}", body={"roles": ["billing", "technical"]}
    )
    assert status == 200 and changed["roles"] == ["billing", "technical"]
    _, account = _call(lambda_context, "GET", "/api/accounts/acme")
    assert account["account"]["contact_count"] == 1  # changed, not added twice

    status, body = _call(lambda_context, "DELETE", f"/api/accounts/acme/contacts/{bob}")
    assert status == 200 and body == {"account_id": "acme", "customer_id": bob, "removed": True}
    _, view = _call(lambda_context, "GET", f"/api/customers/{bob}")
    assert view["account"] is None and view["customer"]["account_id"] is None
    assert "No longer a contact of Acme" in [e["summary"] for e in view["timeline"]]
    _, account = _call(lambda_context, "GET", "/api/accounts/acme")
    assert account["account"]["contacts"] == [] and account["account"]["contact_count"] == 0
    assert _call(lambda_context, "DELETE", f"/api/accounts/acme/contacts/{bob}")[0] == 404
    # Free again: another company may take them.
    _call(lambda_context, "PUT", "/api/accounts/globex", body={"name": "Globex"})
    assert (
        _call(lambda_context, "PUT", f"/api/accounts/globex/contacts/{bob}", body={"roles": ["other"]})[0]
        == 200
    )
    _, audit = _call(lambda_context, "GET", "/api/accounts/acme/audit")
    assert [a["action"] for a in audit] == ["contact_removed", "contact_updated", "contact_added", "created"]


def test_a_customer_is_a_contact_of_one_company_only(commerce, lambda_context):
    bob, _ = _customers(commerce, lambda_context)
    for account_id in ("acme", "globex"):
        _call(lambda_context, "PUT", f"/api/accounts/{account_id}", body={"name": account_id.title()})
    assert (
        _call(lambda_context, "PUT", f"/api/accounts/acme/contacts/{bob}", body={"roles": ["billing"]})[0]
        == 200
    )

    status, body = _call(
        lambda_context, "PUT", f"/api/accounts/globex/contacts/{bob}", body={"roles": ["billing"]}
    )

    assert status == 409 and "already a contact of account acme" in body["message"]
    _, globex = _call(lambda_context, "GET", "/api/accounts/globex")
    assert globex["account"]["contacts"] == [] and globex["account"]["contact_count"] == 0


def test_two_companies_racing_for_one_customer_one_wins(commerce, lambda_context):
    """Both decided on the same read (no account yet): the conditional write lets one through."""
    bob, _ = _customers(commerce, lambda_context)
    for account_id in ("acme", "globex"):
        _call(lambda_context, "PUT", f"/api/accounts/{account_id}", body={"name": account_id.title()})
    store, now = AccountStore(commerce["table"]), datetime(2026, 11, 25, 10, tzinfo=UTC)

    def add(account_id: str) -> None:
        contact = Contact(
            customer_id=bob, name="Bob", roles=[ContactRole.billing], added_at=now, updated_at=now
        )
        audit = AccountAuditEntry(
            id=f"A{account_id}", account_id=account_id, actor="agent:x", action="x", at=now
        )
        entry = TimelineEntry(event_id=f"e{account_id}", kind="account", summary="joined", at=now)
        store.add_contact(account_id, contact, audit, entry)

    add("acme")
    with pytest.raises(Conflict):
        add("globex")

    assert DynamoRepository(commerce["table"]).get_customer(bob).value.account_id == "acme"
    assert store.get_contact("globex", bob) is None
    assert store.get_account("globex").value.contact_count == 0
    assert store.account_audit("globex", 10)[0].action == "created"  # nothing of the loser's write


def test_unknown_customers_and_accounts_answer_404(commerce, lambda_context):
    bob, _ = _customers(commerce, lambda_context)
    assert _call(lambda_context, "GET", "/api/customers/CNOPE")[0] == 404
    assert _call(lambda_context, "GET", "/api/accounts/nope")[0] == 404
    assert _call(lambda_context, "GET", "/api/accounts/nope/audit")[0] == 404
    assert (
        _call(lambda_context, "PUT", f"/api/accounts/nope/contacts/{bob}", body={"roles": ["billing"]})[0]
        == 404
    )
    _call(lambda_context, "PUT", "/api/accounts/acme", body={"name": "Acme"})
    status, body = _call(
        lambda_context, "PUT", "/api/accounts/acme/contacts/CNOPE", body={"roles": ["billing"]}
    )
    assert status == 404 and body["message"] == "customer CNOPE not found"
    long_id = "C" * 3000  # longer than any key DynamoDB accepts: no customer, not a failure
    assert _call(lambda_context, "GET", f"/api/customers/{long_id}")[0] == 404
    assert (
        _call(lambda_context, "PUT", f"/api/accounts/acme/contacts/{long_id}", body={"roles": ["other"]})[0]
        == 404
    )
    assert _call(lambda_context, "DELETE", f"/api/accounts/acme/contacts/{long_id}")[0] == 404


def test_bad_roles_vat_numbers_and_ids_are_refused_with_what_is_wrong(commerce, lambda_context):
    bob, _ = _customers(commerce, lambda_context)
    _call(lambda_context, "PUT", "/api/accounts/acme", body={"name": "Acme"})
    path = f"/api/accounts/acme/contacts/{bob}"

    status, body = _call(lambda_context, "PUT", path, body={"roles": ["ceo"]})
    assert status == 422 and "roles" in body["message"]
    assert _call(lambda_context, "PUT", path, body={"roles": []})[0] == 422
    assert _call(lambda_context, "PUT", path, body={})[0] == 422
    status, body = _call(lambda_context, "PUT", path, body={"roles": ["billing", "billing"]})
    assert status == 400 and body["errors"] == [
        {"field": "roles", "message": "listed more than once: billing"}
    ]
    status, body = _call(lambda_context, "PUT", path, body={"roles": ["billing"], "email": "not-an-email"})
    assert status == 400 and body["errors"][0]["field"] == "email"
    status, body = _call(
        lambda_context, "PUT", "/api/accounts/acme", body={"name": "Acme", "vat_number": "123"}
    )
    assert status == 400 and body["errors"][0]["field"] == "vat_number"
    assert _call(lambda_context, "PUT", "/api/accounts/acme", body={"name": "   "})[0] == 400
    assert _call(lambda_context, "PUT", "/api/accounts/acme", body={"vat_number": "FR40303265045"})[0] == 422
    assert _call(lambda_context, "PUT", "/api/accounts/-bad", body={"name": "X"})[0] == 400
    _, account = _call(lambda_context, "GET", "/api/accounts/acme")
    assert account["account"]["contacts"] == []  # nothing was written


def test_who_may_do_what(commerce, lambda_context):
    bob, _ = _customers(commerce, lambda_context)
    customer_token = {"sub": "7d4c9e1a-0000-4000-8000-0000000c0ffe", "email": "claire.dubois@example.org"}
    for claims in (customer_token, NO_ROLE):
        assert (
            _call(lambda_context, "PUT", "/api/accounts/acme", body={"name": "Acme"}, claims=claims)[0] == 403
        )
        assert _call(lambda_context, "GET", f"/api/customers/{bob}", claims=claims)[0] == 403
    assert (
        _call(lambda_context, "PUT", "/api/accounts/acme", body={"name": "Acme"})[0] == 200
    )  # an agent creates
    for claims in (customer_token, NO_ROLE):
        assert _call(lambda_context, "GET", "/api/accounts/acme", claims=claims)[0] == 403
        assert _call(lambda_context, "GET", "/api/accounts/acme/audit", claims=claims)[0] == 403
        contact = f"/api/accounts/acme/contacts/{bob}"
        assert _call(lambda_context, "PUT", contact, body={"roles": ["billing"]}, claims=claims)[0] == 403
        assert _call(lambda_context, "DELETE", contact, claims=claims)[0] == 403

    # An agent may not rename a company or change its VAT number; a supervisor may.
    status, body = _call(lambda_context, "PUT", "/api/accounts/acme", body={"name": "Acme Group"})
    assert status == 403 and "supervisors" in body["message"]
    assert (
        _call(lambda_context, "PUT", "/api/accounts/acme", body={"name": "Acme"})[0] == 200
    )  # no change: fine
    status, body = _call(
        lambda_context, "PUT", "/api/accounts/acme", body={"name": "Acme Group"}, claims=SUPERVISOR
    )
    assert status == 200 and body["name"] == "Acme Group"
    _, audit = _call(lambda_context, "GET", "/api/accounts/acme/audit")
    assert audit[0]["action"] == "updated" and audit[0]["changes"] == {"name": "Acme -> Acme Group"}
