"""GET /api/search: by name, email, phone, ticket reference; exact and prefix; accents and case."""

from __future__ import annotations

import json

import pytest

from functions.agent_api.handler import handler
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.services.channel_events import record_event
from tests.support import FixedClock, LambdaContext, api_event


def _search(q: str) -> tuple[int, object]:
    event = api_event("agent_api/list_tickets", "GET", "/api/search", query=f"q={q}")
    response = handler(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def seeded(aws, monkeypatch):
    # A partial reference is searched as a ticket only when it mixes letters and digits (else
    # every word would be one): pin the reference instead of relying on a random one's prefix.
    monkeypatch.setattr("shared.domain.intake.ticket_reference", lambda: "K7M3Q9XA")
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    result = record_event(
        repo,
        clock,
        InboundMessage(
            dedup_key="web_form:s1",
            channel=Channel.web_form,
            display_name="Amélie Dupont-Léger",
            identities=[
                IdentityClaim(kind=IdentityKind.email, value="amelie.dupont@example.org"),
                IdentityClaim(kind=IdentityKind.phone, value="+33612345678"),
            ],
            subject="Colis abîmé",
            text="Mon colis est arrivé abîmé",
            sent_at=clock.now(),
        ),
    )
    return result


@pytest.mark.parametrize(
    "query",
    ["amelie", "AMÉLIE dupont", "dupont", "amelie.dupont@example.org", "0612345678", "+33 6 12 34 56 78"],
)
def test_a_customer_is_found_by_name_email_or_phone_whatever_the_accents_and_case(seeded, query):
    status, hits = _search(query)
    assert status == 200, hits
    assert {"entity": "customer", "id": seeded.customer_id} in [
        {"entity": h["entity"], "id": h["id"]} for h in hits
    ]
    assert [h["label"] for h in hits if h["entity"] == "customer"] == ["Amélie Dupont-Léger"]


def test_a_ticket_is_found_by_its_reference_exact_or_prefix(seeded):
    _, hits = _search(seeded.ticket_id)
    assert [(h["entity"], h["id"], h["exact"]) for h in hits] == [("ticket", seeded.ticket_id, True)]
    _, hits = _search(seeded.ticket_id[:4].lower())
    assert ("ticket", seeded.ticket_id) in [(h["entity"], h["id"]) for h in hits]


def test_too_short_a_query_is_a_clear_400(seeded):
    status, body = _search("am")
    assert status == 400
    assert "3" in json.dumps(body)
