"""Meta and Twilio webhooks on moto, from events/ samples: verify, enqueue once, then process."""

from __future__ import annotations

import json

import pytest
from boto3.dynamodb.conditions import Key

from functions.inbound_processor.handler import handler as processor
from functions.meta_webhook.handler import handler as meta_webhook
from functions.twilio_webhook.handler import handler as twilio_webhook
from shared.adapters.dynamodb.repository import DynamoRepository
from shared.domain.message import DeliveryStatus, Direction
from shared.domain.ticket import TicketType
from tests.support import load_event


def _drain(aws) -> list[dict]:
    messages = (
        aws["sqs"]
        .receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10, AttributeNames=["All"])
        .get("Messages", [])
    )
    for message in messages:
        aws["sqs"].delete_message(QueueUrl=aws["queue_url"], ReceiptHandle=message["ReceiptHandle"])
    return messages


def _process(aws, lambda_context) -> dict:
    """Like the event source mapping: until the queue is empty (split deliveries add pieces)."""
    failures: list[dict] = []
    while messages := _drain(aws):
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
        failures += processor({"Records": records}, lambda_context)["batchItemFailures"]
    return {"batchItemFailures": failures}


@pytest.mark.parametrize(
    "sample",
    [
        "whatsapp_message_text",
        "whatsapp_message_image_reply",
        "whatsapp_statuses",
        "messenger_message",
        "messenger_echo_delivery_read",
        "instagram_message",
    ],
)
def test_signed_meta_deliveries_are_enqueued_once_with_the_raw_body(aws, lambda_context, sample):
    event = load_event(f"meta_webhook/{sample}")

    response = meta_webhook(event, lambda_context)

    assert response["statusCode"] == 200
    [queued] = _drain(aws)
    envelope = json.loads(queued["Body"])
    assert envelope["payload"]["body"] == event["body"]  # byte for byte, never re-serialised
    assert _process_body(aws, lambda_context, queued) == {"batchItemFailures": []}


def _process_body(aws, lambda_context, queued):
    record = {
        "messageId": queued["MessageId"],
        "receiptHandle": "x",
        "body": queued["Body"],
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-3:123456789012:guichet-inbound",
        "awsRegion": "eu-west-3",
    }
    return processor({"Records": [record]}, lambda_context)


def test_a_bad_meta_signature_is_a_401_and_nothing_is_stored(aws, lambda_context):
    response = meta_webhook(load_event("meta_webhook/whatsapp_bad_signature"), lambda_context)

    assert response["statusCode"] == 401
    assert "signature" in json.loads(response["body"])["message"]
    assert _drain(aws) == []


def test_a_missing_meta_signature_is_a_401(aws, lambda_context):
    event = load_event("meta_webhook/whatsapp_message_text")
    del event["headers"]["x-hub-signature-256"]

    assert meta_webhook(event, lambda_context)["statusCode"] == 401
    assert _drain(aws) == []


def test_the_meta_handshake_answers_the_raw_challenge_or_403(aws, lambda_context):
    event = load_event("meta_webhook/whatsapp_verify_get")
    ok = meta_webhook(event, lambda_context)
    assert (ok["statusCode"], ok["body"]) == (200, "1158201444")

    event["queryStringParameters"]["hub.verify_token"] = "wrong"
    assert meta_webhook(event, lambda_context)["statusCode"] == 403


def test_a_whatsapp_message_makes_a_customer_a_ticket_and_a_second_delivery_changes_nothing(
    aws, lambda_context
):
    for _ in range(2):  # Meta retries: the same wamid twice
        assert (
            meta_webhook(load_event("meta_webhook/whatsapp_message_text"), lambda_context)["statusCode"]
            == 200
        )
    assert _process(aws, lambda_context) == {"batchItemFailures": []}

    repo = DynamoRepository(aws["table"])
    [listed] = repo.list_tickets(limit=10, cursor=None).items
    ticket = repo.get_ticket(listed.id).value
    assert ticket.channel.value == "whatsapp"
    assert ticket.message_count == 1
    customer = repo.get_customer(ticket.customer_id).value
    assert {i.kind.value for i in customer.identities} >= {"whatsapp"}


def test_twilio_sms_is_verified_against_the_public_url_and_recorded(aws, lambda_context):
    response = twilio_webhook(load_event("twilio_webhook/twilio_sms_inbound"), lambda_context)

    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "text/xml"
    assert "<Response/>" in response["body"]
    assert _process(aws, lambda_context) == {"batchItemFailures": []}
    repo = DynamoRepository(aws["table"])
    owner = repo.identity_owner("phone", "+33612345678")
    [ticket] = repo.list_tickets(limit=10, cursor=None).items
    assert ticket.customer_id == owner
    _, page = repo.ticket_messages(ticket.id, limit=10, cursor=None)
    assert page.items[0].text == "Ma commande #1001 n'est pas arrivée"


def test_twilio_with_a_wrong_signature_or_url_is_a_401(aws, lambda_context, monkeypatch):
    event = load_event("twilio_webhook/twilio_sms_inbound")
    event["headers"]["x-twilio-signature"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
    assert twilio_webhook(event, lambda_context)["statusCode"] == 401

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://elsewhere.example.com")
    import functions.twilio_webhook.handler as module

    monkeypatch.setattr(module, "_wired", None)
    assert (
        twilio_webhook(load_event("twilio_webhook/twilio_sms_inbound"), lambda_context)["statusCode"] == 401
    )
    assert _drain(aws) == []


def test_twilio_whatsapp_media_becomes_attachments(aws, lambda_context):
    twilio_webhook(load_event("twilio_webhook/twilio_whatsapp_inbound_media"), lambda_context)
    _process(aws, lambda_context)

    repo = DynamoRepository(aws["table"])
    [ticket] = repo.list_tickets(limit=10, cursor=None).items
    assert ticket.channel.value == "whatsapp"
    _, page = repo.ticket_messages(ticket.id, limit=10, cursor=None)
    [attachment] = page.items[0].attachments
    assert attachment.url and attachment.content_type


def test_a_completed_call_lands_on_the_timeline_with_duration_and_recording(aws, lambda_context):
    assert (
        twilio_webhook(load_event("twilio_webhook/twilio_voice_status_callback"), lambda_context)[
            "statusCode"
        ]
        == 200
    )
    assert _process(aws, lambda_context) == {"batchItemFailures": []}

    repo = DynamoRepository(aws["table"])
    assert repo.list_tickets(limit=10, cursor=None).items == []  # a completed call opens no ticket
    owner = repo.identity_owner("phone", "+33612345678")
    [entry] = aws["table"].query(
        KeyConditionExpression=Key("pk").eq(f"CUSTOMER#{owner}") & Key("sk").begins_with("TL#")
    )["Items"]
    assert entry["summary"] == "phone: inbound call, 2 min 22 s"
    assert entry["details"]["recording_url"].endswith("/Recordings/RE0123456789abcdef0123456789abcdef")


def test_a_missed_voice_call_opens_a_call_back_ticket(aws, lambda_context):
    event = _resigned_voice(CallStatus="no-answer", CallDuration="0")
    assert twilio_webhook(event, lambda_context)["statusCode"] == 200
    assert _process(aws, lambda_context) == {"batchItemFailures": []}

    [ticket] = DynamoRepository(aws["table"]).list_tickets(limit=10, cursor=None).items
    assert ticket.type is TicketType.callback


def _resigned_voice(**changes: str) -> dict:
    """The voice sample with some parameters changed, signed again with the test token."""
    import base64
    from urllib.parse import parse_qsl, urlencode

    from shared.adapters.channels.twilio import compute_twilio_signature, parse_form

    event = load_event("twilio_webhook/twilio_voice_status_callback")
    params = dict(parse_qsl(base64.b64decode(event["body"]).decode(), keep_blank_values=True))
    params.update(changes)
    body = urlencode(params)
    event["body"] = base64.b64encode(body.encode()).decode()
    event["headers"]["x-twilio-signature"] = compute_twilio_signature(
        "https://api.example.com/webhooks/twilio/voice", parse_form(body), "12345"
    )
    return event


def test_a_status_for_a_message_not_recorded_yet_is_kept_for_it(aws, lambda_context):
    assert (
        twilio_webhook(load_event("twilio_webhook/twilio_message_status_callback"), lambda_context)[
            "statusCode"
        ]
        == 200
    )
    assert _process(aws, lambda_context) == {"batchItemFailures": []}

    ref = DynamoRepository(aws["table"]).provider_message("sms", "SM1111111111111111111111111111111a")
    assert ref is not None
    assert ref.status_rank == DeliveryStatus.delivered.rank
    assert ref.message_sk is None


def test_malformed_or_wrong_content_type_twilio_posts_are_4xx(aws, lambda_context):
    event = load_event("twilio_webhook/twilio_sms_inbound")
    event["headers"]["content-type"] = "application/json"
    assert twilio_webhook(event, lambda_context)["statusCode"] == 415


def test_messenger_echo_is_recorded_as_outbound(aws, lambda_context):
    meta_webhook(load_event("meta_webhook/messenger_message"), lambda_context)
    _process(aws, lambda_context)
    meta_webhook(load_event("meta_webhook/messenger_echo_delivery_read"), lambda_context)
    assert _process(aws, lambda_context) == {"batchItemFailures": []}

    repo = DynamoRepository(aws["table"])
    tickets = repo.list_tickets(limit=10, cursor=None).items
    messages = [m for t in tickets for m in repo.ticket_messages(t.id, limit=50, cursor=None)[1].items]
    assert all(m.direction is Direction.inbound for m in messages if m.party_role.value == "customer")
    outbound = [m for m in messages if m.direction is Direction.outbound]
    assert outbound, "the echo must be recorded as an outbound message"
    assert outbound[0].delivery_status in (DeliveryStatus.sent, DeliveryStatus.delivered, DeliveryStatus.read)
