"""GET /api/customers/{id} and the merge undo, on moto, from events/agent_api samples."""

from __future__ import annotations

import json

from functions.agent_api.handler import handler
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.services.channel_events import record_event
from tests.support import FixedClock, api_event

EMAIL = IdentityClaim(kind=IdentityKind.email, value="jean@example.net")
PHONE = IdentityClaim(kind=IdentityKind.phone, value="+33612345678")


def _request(method: str, path: str, query: str = "") -> dict:
    return api_event("agent_api/get_ticket", method, path, query=query)


def _seed(aws):
    repo, clock = DynamoRepository(aws["table"]), FixedClock()
    a = record_event(
        repo,
        clock,
        InboundMessage(
            dedup_key="email:a",
            channel=Channel.email,
            identities=[EMAIL],
            text="premier",
            sent_at=clock.now(),
        ),
    )
    clock.advance(hours=1)
    b = record_event(
        repo,
        clock,
        InboundMessage(  # a form, not an SMS: a form's claims merge only profiles made of claims
            dedup_key="form:b",
            channel=Channel.web_form,
            identities=[PHONE],
            text="deuxième",
            sent_at=clock.now(),
        ),
    )
    clock.advance(hours=1)
    record_event(
        repo,
        clock,
        InboundMessage(
            dedup_key="form:c",
            channel=Channel.web_form,
            identities=[EMAIL, PHONE],
            text="troisième",
            sent_at=clock.now(),
        ),
    )
    return a.customer_id, b.customer_id


def test_the_360_profile_shows_identities_merge_evidence_and_the_timeline_newest_first(aws, lambda_context):
    survivor, merged = _seed(aws)

    response = handler(_request("GET", f"/api/customers/{survivor}", "limit=2"), lambda_context)

    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert {i["kind"] for i in body["customer"]["identities"]} == {"email", "phone"}
    assert body["customer"]["merges"][0]["merged_customer_id"] == merged
    # The survivor's ticket and the merged profile's (which keeps its customer id), newest first.
    assert [t["subject"] for t in body["tickets"]] == ["deuxième", "premier"]
    first_page = body["timeline"]
    # Newest first: the linking message and the merge it caused (same instant), then older ones.
    assert sorted(e["kind"] for e in first_page) == ["merge", "message"]
    assert "web_form: troisième" in [e["summary"] for e in first_page]
    rest = handler(
        _request("GET", f"/api/customers/{survivor}", f"limit=10&cursor={body['next_cursor']}"),
        lambda_context,
    )
    # The merged profile's messages are on its own partition: read with the survivor's.
    assert [e["summary"] for e in json.loads(rest["body"])["timeline"]] == [
        "web_form: deuxième",
        "email: premier",
    ]


def test_an_agent_undoes_a_merge_through_the_api(aws, lambda_context):
    survivor, merged = _seed(aws)

    response = handler(_request("POST", f"/api/customers/{survivor}/merges/{merged}/undo"), lambda_context)

    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert {i["kind"] for i in body["identities"]} == {"email"}
    assert body["merges"][0]["undone_by"] == "agent:paul@guichet.example"
    again = handler(_request("POST", f"/api/customers/{survivor}/merges/{merged}/undo"), lambda_context)
    assert again["statusCode"] == 404


def test_unknown_customer_is_a_404(aws, lambda_context):
    response = handler(_request("GET", "/api/customers/CNOPE"), lambda_context)
    assert response["statusCode"] == 404
