"""GET /api/tickets and /api/tickets/{id} on moto, from events/agent_api samples."""

from __future__ import annotations

import json
from datetime import timedelta

from functions.agent_api.handler import handler
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.domain.sla_policy import DEFAULT_CALENDAR, add_business_time
from shared.services.ingest import record_message
from tests.support import FixedClock, api_event, load_event


def _seed(aws, count: int, clock: FixedClock) -> list[str]:
    """``count`` customers, each with one ticket, created one minute apart."""
    repo = DynamoRepository(aws["table"])
    ids = []
    for n in range(count):
        clock.advance(minutes=1)
        result = record_message(
            repo,
            clock,
            InboundMessage(
                dedup_key=f"web_form:seed-{n}",
                channel=Channel.web_form,
                identities=[IdentityClaim(kind=IdentityKind.email, value=f"client{n}@example.com")],
                subject=f"Demande {n}",
                text=f"Bonjour, demande numéro {n}",
                sent_at=clock.now(),
            ),
        )
        ids.append(result.ticket_id)
    return ids


def _list(aws, lambda_context, query: str = "") -> dict:
    event = api_event("agent_api/list_tickets", "GET", "/api/tickets", query=query)
    response = handler(event, lambda_context)
    return {"status": response["statusCode"], "body": json.loads(response["body"])}


def test_list_is_newest_first_and_pages_through_every_ticket_once(aws, lambda_context):
    created = _seed(aws, 11, FixedClock())

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = "limit=4" + (f"&cursor={cursor}" if cursor else "")
        result = _list(aws, lambda_context, query)
        assert result["status"] == 200
        seen += [t["id"] for t in result["body"]["items"]]
        cursor = result["body"]["next_cursor"]
        pages += 1
        if cursor is None:
            break
        assert pages < 10

    assert seen == list(reversed(created))
    assert pages == 3


def test_ticket_detail_has_its_messages_in_order(aws, lambda_context):
    clock = FixedClock()
    repo = DynamoRepository(aws["table"])
    for n, text in enumerate(["Bonjour", "Vous êtes là ?"]):
        clock.advance(minutes=5)
        result = record_message(
            repo,
            clock,
            InboundMessage(
                dedup_key=f"web_form:detail-{n}",
                channel=Channel.web_form,
                identities=[IdentityClaim(kind=IdentityKind.email, value="lea@example.com")],
                text=text,
                sent_at=clock.now(),
            ),
        )
    event = load_event("agent_api/get_ticket")
    event["rawPath"] = f"/api/tickets/{result.ticket_id}"
    event["requestContext"]["http"]["path"] = event["rawPath"]
    event["pathParameters"] = {"ticket_id": result.ticket_id}

    response = handler(event, lambda_context)

    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body["ticket"]["id"] == result.ticket_id
    assert body["ticket"]["message_count"] == 2
    assert [m["text"] for m in body["messages"]] == ["Bonjour", "Vous êtes là ?"]
    assert body["messages"][0]["channel"] == "web_form"


def test_unknown_ticket_is_a_404_with_a_json_message(aws, lambda_context):
    response = handler(load_event("agent_api/get_ticket"), lambda_context)

    assert response["statusCode"] == 404
    assert json.loads(response["body"])["message"] == "ticket K7M3Q9XA not found"


def test_a_user_without_a_staff_role_is_refused(aws, lambda_context):
    response = handler(load_event("agent_api/list_tickets_no_role"), lambda_context)

    assert response["statusCode"] == 403
    assert "agent" in json.loads(response["body"])["message"]


def test_a_forged_cursor_is_a_400(aws, lambda_context):
    result = _list(aws, lambda_context, "cursor=bm90LWEtY3Vyc29y")

    assert result["status"] == 400
    assert "cursor" in result["body"]["message"]


def test_limit_out_of_range_is_a_client_error(aws, lambda_context):
    result = _list(aws, lambda_context, "limit=1000")

    assert result["status"] == 422


def test_sla_due_time_is_returned_with_the_ticket(aws, lambda_context):
    clock = FixedClock()
    [ticket_id] = _seed(aws, 1, clock)

    result = _list(aws, lambda_context)

    [ticket] = result["body"]["items"]
    assert ticket["id"] == ticket_id
    # A normal-priority first response: 4 business hours (Paris office hours) from creation.
    due = add_business_time(clock.now(), timedelta(hours=4), DEFAULT_CALENDAR)
    assert ticket["sla"]["first_response_due_at"].startswith(due.strftime("%Y-%m-%dT%H:%M"))
