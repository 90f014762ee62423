"""Multi-party tickets: agents add a supplier, a carrier or a credit company; what the party
writes threads into the ticket (by email thread or by its registered address or number); the
customer never sees those exchanges."""

from __future__ import annotations

import json

from functions.agent_api.handler import handler
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage, ThreadHints
from shared.services import customers
from shared.services.ingest import IngestResult, record_message
from tests.support import FixedClock, LambdaContext, api_event

PAUL = "3f1c2e9a-0000-4000-8000-00000000a9e1"
CUSTOMER_PHONE = "+33612345678"
CARRIER_EMAIL = "litiges@transports-rapides.fr"
SUPPLIER_PHONE = "+33698765432"


def _call(method: str, path: str, body: dict | None = None, groups: str = "[agent]") -> tuple:
    event = api_event(
        "agent_api/get_ticket", method, path, body=body, claims={"cognito:groups": groups, "sub": PAUL}
    )
    response = handler(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


def _message(key: str, claims: list[IdentityClaim], clock: FixedClock, **extra) -> InboundMessage:
    return InboundMessage(
        dedup_key=key,
        channel=extra.pop("channel", Channel.sms),
        identities=claims,
        text=extra.pop("text", "Mon colis n'est jamais arrivé"),
        sent_at=clock.now(),
        **extra,
    )


def _carrier_writes(repo: DynamoRepository, clock: FixedClock, key: str, text: str, **extra) -> IngestResult:
    """An email from the carrier's address (``extra``: e.g. the thread hints of a reply)."""
    claims = [IdentityClaim(kind=IdentityKind.email, value=CARRIER_EMAIL)]
    message = _message(
        f"email:<{key}@transports-rapides.fr>", claims, clock, channel=Channel.email, text=text, **extra
    )
    return record_message(repo, clock, message)


def _customer_ticket(repo: DynamoRepository, clock: FixedClock) -> str:
    claims = [IdentityClaim(kind=IdentityKind.phone, value=CUSTOMER_PHONE)]
    result = record_message(repo, clock, _message("sms:customer-1", claims, clock))
    assert result.ticket_id is not None
    return result.ticket_id


def _add_carrier(ticket_id: str) -> dict:
    status, ticket = _call(
        "POST",
        f"/api/tickets/{ticket_id}/parties",
        {"role": "carrier", "name": "Transports Rapides", "email": " Litiges@Transports-Rapides.FR "},
    )
    assert status == 201, ticket
    return ticket


def test_an_agent_adds_a_carrier_and_the_change_is_audited(aws, lambda_context):
    ticket_id = _customer_ticket(DynamoRepository(aws["table"]), FixedClock())

    ticket = _add_carrier(ticket_id)

    carrier = next(p for p in ticket["parties"] if p["role"] == "carrier")
    assert carrier["email"] == CARRIER_EMAIL  # normalised like any identity
    assert carrier["name"] == "Transports Rapides"
    _, audit = _call("GET", f"/api/tickets/{ticket_id}/audit")
    assert audit[0]["action"] == "party_added"
    assert audit[0]["changes"]["party_id"] == carrier["id"]


def test_a_party_needs_a_third_party_role_and_a_valid_address(aws, lambda_context):
    ticket_id = _customer_ticket(DynamoRepository(aws["table"]), FixedClock())

    status, body = _call("POST", f"/api/tickets/{ticket_id}/parties", {"role": "customer", "email": "x"})

    assert status == 400
    assert {e["field"] for e in body["errors"]} == {"role", "email"}
    status, body = _call("POST", f"/api/tickets/{ticket_id}/parties", {"role": "supplier"})
    assert status == 400
    assert "email" in body["message"] or body["errors"][0]["field"] == "email"
    assert (
        _call("POST", "/api/tickets/NOPE1234/parties", {"role": "supplier", "phone": SUPPLIER_PHONE})[0]
        == 404
    )
    _add_carrier(ticket_id)
    status, body = _call(
        "POST", f"/api/tickets/{ticket_id}/parties", {"role": "supplier", "email": CARRIER_EMAIL}
    )
    assert status == 409  # one address is one party: its messages would be ambiguous
    assert "already has this email or phone" in body["message"]


def test_the_carriers_email_in_the_ticket_thread_is_the_carriers_not_the_customers(aws, lambda_context):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    ticket_id = _customer_ticket(repo, clock)
    carrier = next(p for p in _add_carrier(ticket_id)["parties"] if p["role"] == "carrier")

    clock.advance(hours=1)
    result = _carrier_writes(
        repo,
        clock,
        "carrier-1",
        "Le colis est bloqué au dépôt de Lyon.",
        subject="Re: colis",
        thread_hints=ThreadHints(plus_tag_ticket=ticket_id),
    )

    assert result.ticket_id == ticket_id
    assert not result.created_customer  # the carrier is not a customer, and not the customer
    ticket, page = repo.ticket_messages(ticket_id, limit=10, cursor=None)
    from_carrier = next(m for m in page.items if m.party_id)
    assert from_carrier.party_role.value == "carrier"
    assert from_carrier.party_id == carrier["id"]
    assert repo.identity_owner("email", CARRIER_EMAIL) is None  # not linked to the customer
    customer = repo.get_customer(ticket.customer_id)
    assert customer is not None
    assert not customer.value.has_identity(IdentityKind.email, CARRIER_EMAIL)
    assert ticket.last_inbound_channel is Channel.sms  # replies still default to the customer's channel


def test_a_suppliers_sms_without_any_thread_key_lands_in_the_case_it_was_added_to(aws, lambda_context):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    ticket_id = _customer_ticket(repo, clock)
    status, _ = _call(
        "POST", f"/api/tickets/{ticket_id}/parties", {"role": "supplier", "phone": "06 98 76 54 32"}
    )
    assert status == 201

    clock.advance(minutes=30)
    result = record_message(
        repo,
        clock,
        _message(
            "sms:supplier-1",
            [IdentityClaim(kind=IdentityKind.phone, value=SUPPLIER_PHONE)],
            clock,
            text="Pièce de remplacement expédiée",
        ),
    )

    assert result.ticket_id == ticket_id
    assert not result.created_customer
    assert not result.created_ticket
    _, page = repo.ticket_messages(ticket_id, limit=10, cursor=None)
    assert [m.party_role.value for m in page.items] == ["customer", "supplier"]


def test_the_customer_never_sees_third_party_exchanges(aws, lambda_context):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    ticket_id = _customer_ticket(repo, clock)
    _add_carrier(ticket_id)
    clock.advance(minutes=5)
    _carrier_writes(repo, clock, "carrier-2", "Livraison refusée par le destinataire")
    ticket = repo.get_ticket(ticket_id)
    assert ticket is not None

    _, visible = customers.own_ticket(repo, ticket.value.customer_id, ticket_id, limit=20)

    assert [m.party_role.value for m in visible] == ["customer"]
    _, everything = repo.ticket_messages(ticket_id, limit=10, cursor=None)
    assert len(everything.items) == 2  # agents see both


def test_a_third_party_answering_ends_the_wait_on_it_and_the_sla_clock_resumes(aws, lambda_context):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    ticket_id = _customer_ticket(repo, clock)
    _add_carrier(ticket_id)
    assert _call("PATCH", f"/api/tickets/{ticket_id}", {"status": "pending_third_party"})[0] == 200
    paused = repo.get_ticket(ticket_id)
    assert paused is not None
    assert paused.value.sla is not None
    assert paused.value.sla.paused_since is not None

    clock.advance(days=1)
    _carrier_writes(repo, clock, "carrier-3", "Colis retrouvé, livraison demain")

    after = repo.get_ticket(ticket_id)
    assert after is not None
    assert after.value.status.value == "open"
    assert after.value.sla is not None
    assert after.value.sla.paused_since is None
    assert after.value.message_count == paused.value.message_count + 1


def test_a_removed_party_no_longer_threads_and_writes_as_anyone_else(aws, lambda_context):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    ticket_id = _customer_ticket(repo, clock)
    carrier = next(p for p in _add_carrier(ticket_id)["parties"] if p["role"] == "carrier")

    status, ticket = _call("DELETE", f"/api/tickets/{ticket_id}/parties/{carrier['id']}")
    assert status == 200
    assert all(p["id"] != carrier["id"] for p in ticket["parties"])
    assert _call("DELETE", f"/api/tickets/{ticket_id}/parties/{carrier['id']}")[0] == 404

    result = _carrier_writes(repo, clock, "carrier-4", "Bonjour")
    assert result.ticket_id != ticket_id  # a stranger's email: a new customer and case
    assert result.created_customer


def test_a_customer_answer_to_a_held_ticket_reopens_it_in_its_queue_and_resumes_the_clock(
    aws, lambda_context
):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    ticket_id = _customer_ticket(repo, clock)
    assert _call("PATCH", f"/api/tickets/{ticket_id}", {"status": "pending_customer"})[0] == 200
    held = repo.get_ticket(ticket_id)
    assert held is not None
    backlog_before = repo.queue_backlog([held.value.topic.value])[held.value.topic.value]

    clock.advance(hours=3)
    record_message(
        repo,
        clock,
        _message("sms:customer-2", [IdentityClaim(kind=IdentityKind.phone, value=CUSTOMER_PHONE)], clock),
    )

    after = repo.get_ticket(ticket_id)
    assert after is not None
    assert after.value.status.value == "open"
    assert after.value.sla is not None
    assert after.value.sla.paused_since is None
    assert repo.queue_backlog([held.value.topic.value])[held.value.topic.value] == backlog_before + 1
