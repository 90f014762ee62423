"""POST /api/portal/messages: the signed-in customer's message, then processed like any channel."""

from __future__ import annotations

import json

from functions.inbound_processor.handler import handler as processor
from functions.portal_api.handler import handler as portal_api
from shared.adapters.dynamodb.repository import DynamoRepository
from tests.support import LambdaContext, api_event, load_event


def _process_queue(aws, lambda_context):
    messages = aws["sqs"].receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10)["Messages"]
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {},
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-west-3:123456789012:guichet-inbound",
            "awsRegion": "eu-west-3",
        }
        for m in messages
    ]
    return processor({"Records": records}, lambda_context)


def test_a_customer_message_from_the_space_becomes_a_portal_ticket(aws, lambda_context):
    response = portal_api(load_event("portal_api/post_message"), lambda_context)

    assert response["statusCode"] == 202
    assert json.loads(response["body"])["reference"].startswith("P")
    assert _process_queue(aws, lambda_context) == {"batchItemFailures": []}
    repo = DynamoRepository(aws["table"])
    owner = repo.identity_owner("portal", "7d4c9e1a-0000-4000-8000-0000000c0ffe")
    assert owner == repo.identity_owner("email", "claire.dubois@example.org")
    [ticket] = repo.list_tickets(limit=10, cursor=None).items
    assert (ticket.channel.value, ticket.order_number, ticket.customer_id) == (
        "portal",
        "CMD-2026-0042",
        owner,
    )


def test_the_author_comes_from_the_token_not_the_body(aws, lambda_context):
    event = load_event("portal_api/post_message")
    body = json.loads(event["body"])
    body["author"] = {"subject": "someone-else"}
    event["body"] = json.dumps(body)

    response = portal_api(event, lambda_context)

    assert response["statusCode"] == 422  # unknown fields are refused, never trusted


def test_an_empty_message_is_refused(aws, lambda_context):
    event = load_event("portal_api/post_message")
    event["body"] = json.dumps({"text": ""})

    response = portal_api(event, lambda_context)

    assert response["statusCode"] == 422
    assert "text" in response["body"]


CLAIRE = "7d4c9e1a-0000-4000-8000-0000000c0ffe"


def _portal_get(path: str, sub: str = CLAIRE) -> tuple[int, dict]:
    # Another customer has their own sub and (Cognito keeps emails unique in a pool) their own email.
    other = {} if sub == CLAIRE else {"email": f"{sub}@example.org"}
    event = api_event("portal_api/post_message", "GET", path, claims={"sub": sub, **other})
    response = portal_api(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_a_customer_sees_their_own_tickets_without_internal_notes(aws, lambda_context):
    from shared.services.ticket_work import add_note
    from tests.support import FixedClock

    portal_api(load_event("portal_api/post_message"), lambda_context)
    _process_queue(aws, lambda_context)
    repo = DynamoRepository(aws["table"])
    [listed] = repo.list_tickets(limit=10, cursor=None).items
    add_note(repo, FixedClock(), listed.id, "Client mécontent, geste commercial possible", "paul")

    status, mine = _portal_get("/api/portal/tickets")
    assert status == 200 and [t["id"] for t in mine["items"]] == [listed.id]
    status, detail = _portal_get(f"/api/portal/tickets/{listed.id}")
    assert status == 200
    assert [m["direction"] for m in detail["messages"]] == ["inbound"]  # the note stays internal

    status, theirs = _portal_get("/api/portal/tickets", sub="someone-else")
    assert theirs["items"] == []
    assert _portal_get(f"/api/portal/tickets/{listed.id}", sub="someone-else")[0] == 404
