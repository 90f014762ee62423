"""Large and batched deliveries (issue 15 items 2 and 3) on moto, through the real handlers.

A Meta delivery up to Meta's 3 MB goes through the 256 KiB queue by claim check (S3); a
delivery of many events becomes one record per event, each recorded, retried or dead-lettered
alone; the split and the batch are bounded by the invocation's remaining time.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json

import pytest
from botocore.client import BaseClient

from functions.commerce_webhook.handler import handler as commerce_webhook
from functions.inbound_processor.handler import handler as processor
from functions.meta_webhook.handler import handler as meta_webhook
from shared.adapters.aws import claim_check
from shared.adapters.channels.signatures import hmac_sha256_hex
from shared.adapters.dynamodb.repository import DynamoRepository
from tests.pipeline_support import ClockedContext, queue_messages, run_queue
from tests.support import load_event, sqs_event

META_SECRET = "TEST_APP_SECRET"


@pytest.fixture
def calls(monkeypatch):
    """Every AWS call made, as "service:Operation"."""
    made: list[str] = []
    original = BaseClient._make_api_call

    def counted(self, operation, params):
        made.append(f"{self.meta.service_model.service_name}:{operation}")
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted)
    return made


def _whatsapp_delivery(count: int, *, text_bytes: int = 40, first: int = 0) -> dict:
    """A signed WhatsApp POST of ``count`` text messages from ``count`` people."""
    event = load_event("meta_webhook/whatsapp_message_text")
    body = json.loads(event["body"])
    value = body["entry"][0]["changes"][0]["value"]
    template, contact = value["messages"][0], value["contacts"][0]
    value["messages"], value["contacts"] = [], []
    for n in range(first, first + count):
        sender = f"33612{n:06d}"
        value["messages"].append(
            {
                **copy.deepcopy(template),
                "from": sender,
                "id": f"wamid.big{n}",
                "text": {"body": "é" * (text_bytes // 2)},
            }
        )
        value["contacts"].append({**contact, "wa_id": sender, "user_id": f"FR.{n}"})
    raw = json.dumps(body).encode()
    event["body"] = raw.decode()
    event["headers"]["x-hub-signature-256"] = "sha256=" + hmac_sha256_hex(META_SECRET, raw)
    return event


def _queued(aws) -> list[dict]:
    return queue_messages(aws)


def test_a_delivery_over_the_queue_limit_travels_by_claim_check_and_is_recorded(aws, lambda_context, calls):
    # Meta escapes non-ASCII ("\\u00e9": 6 bytes a letter): 50,000 letters are 300 KB of JSON.
    event = _whatsapp_delivery(1, text_bytes=100_000)
    assert len(event["body"].encode()) > claim_check.QUEUE_MESSAGE_LIMIT

    response = meta_webhook(event, lambda_context)

    assert response["statusCode"] == 200
    assert [c for c in calls if not c.startswith("secretsmanager")] == ["s3:PutObject", "sqs:SendMessage"]
    [queued] = _queued(aws)
    bucket, key = claim_check.parse_pointer(queued["Body"])
    assert bucket == aws["payloads_bucket"] and key.startswith("claim-check/")
    assert int(queued["MessageAttributes"]["ExtendedPayloadSize"]["StringValue"]) > 300_000
    stored = aws_object(aws, bucket, key)
    assert json.loads(stored)["payload"]["body"] == event["body"]  # the raw body, byte for byte

    stats = run_queue(aws, processor)

    assert stats.failed == 0
    repo = DynamoRepository(aws["table"])
    owner = repo.identity_owner("whatsapp", "33612000000")
    customer = repo.get_customer(owner).value
    _, page = repo.ticket_messages(customer.open_ticket_id, limit=5, cursor=None)
    [message] = page.items
    assert message.text.startswith("ééé")


def aws_object(aws, bucket: str, key: str) -> str:
    import boto3

    return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def test_a_3_mb_delivery_of_a_thousand_messages_is_accepted_and_split_in_one_record_per_message(
    aws, lambda_context, calls, monkeypatch
):
    event = _whatsapp_delivery(1000, text_bytes=800)
    assert 2_500_000 < len(event["body"].encode()) <= 3 * 1024 * 1024

    assert meta_webhook(event, lambda_context)["statusCode"] == 200
    [delivery] = _take_all(aws)
    reference = json.loads(delivery_body(aws, delivery))["reference"]
    # moto's SendMessageBatch costs O(queue length) per message: the batches are recorded here.
    batches: list[list[dict]] = []
    original = BaseClient._make_api_call

    def recorded(self, operation, params):
        if operation == "SendMessageBatch":
            batches.append(params["Entries"])
            return {"Successful": [{"Id": e["Id"], "MessageId": e["Id"]} for e in params["Entries"]]}
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recorded)
    calls.clear()

    response = processor(sqs_event([delivery]), lambda_context)

    assert response == {"batchItemFailures": []}
    # The claim check read back, then the 1,000 pieces ten per call (each piece a few KB).
    assert calls == ["s3:GetObject"]
    assert len(batches) == 100 and {len(b) for b in batches} == {10}
    ids = set()
    for entry in (e for batch in batches for e in batch):
        envelope = json.loads(entry["MessageBody"])
        assert envelope["payload"]["part_of"] == reference
        assert entry["MessageAttributes"]["channel"]["StringValue"] == "whatsapp"
        ids.add(_piece_message({"Body": entry["MessageBody"]})["id"])
    assert ids == {f"wamid.big{n}" for n in range(1000)}


def delivery_body(aws, queued: dict) -> str:
    location = claim_check.parse_pointer(queued["Body"])
    return aws_object(aws, *location) if location else queued["Body"]


def test_each_message_of_a_batch_succeeds_or_fails_alone(aws, lambda_context):
    event = _whatsapp_delivery(12)
    body = json.loads(event["body"])
    body["entry"][0]["changes"][0]["value"]["messages"][5]["timestamp"] = "not a time"  # a poison message
    raw = json.dumps(body).encode()
    event["body"] = raw.decode()
    event["headers"]["x-hub-signature-256"] = "sha256=" + hmac_sha256_hex(META_SECRET, raw)
    meta_webhook(event, lambda_context)

    stats = run_queue(aws, processor)

    repo = DynamoRepository(aws["table"])
    recorded = {n for n in range(12) if repo.identity_owner("whatsapp", f"33612{n:06d}") is not None}
    assert recorded == set(range(12)) - {5}
    [dead] = queue_messages(aws, "dlq_url")  # only the poison message, after its 5 receives
    assert _piece_message(dead)["id"] == "wamid.big5"
    assert stats.failed == 5


def test_the_split_stops_in_time_and_what_is_left_continues_in_a_later_invocation(aws):
    meta_webhook(_whatsapp_delivery(95), ClockedContext())
    pieces: list[dict] = []
    invocations = 0
    while deliveries := [m for m in _take_all(aws) if not _is_piece(m, pieces)]:
        # Each look at the clock costs 1.5 s of a 10 s invocation: 5 batches, then a continuation.
        for delivery in deliveries:
            invocations += 1
            clock = ClockedContext(remaining_ms=10_000, cost_ms=1_500)
            assert processor(sqs_event([delivery]), clock) == {"batchItemFailures": []}
    pieces += _take_all(aws)

    assert invocations == 2  # 50 pieces, then the 45 left
    ids = [_piece_message(p)["id"] for p in pieces]
    assert sorted(ids) == sorted(f"wamid.big{n}" for n in range(95))  # each once, none lost


def _take_all(aws) -> list[dict]:
    messages = queue_messages(aws)
    for message in messages:
        aws["sqs"].delete_message(QueueUrl=aws["queue_url"], ReceiptHandle=message["ReceiptHandle"])
    return messages


def _is_piece(message: dict, pieces: list[dict]) -> bool:
    if "part_of" in json.loads(message["Body"])["payload"]:
        pieces.append(message)
        return True
    return False


def _piece_message(message: dict) -> dict:
    body = json.loads(json.loads(message["Body"])["payload"]["body"])
    [event] = body["entry"][0]["changes"][0]["value"]["messages"]
    return event


def test_records_reached_with_too_little_time_left_go_back_on_the_queue_uncounted(aws, calls):
    records = []
    for n in range(3):
        record = load_event("inbound_processor/form_record")["Records"][0]
        record["messageId"] = f"late-{n}"
        records.append(record)
    calls.clear()

    response = processor({"Records": records}, ClockedContext(remaining_ms=2_500))

    assert response == {"batchItemFailures": []}  # nothing counts as a failed receive
    assert "dynamodb:TransactWriteItems" not in calls
    assert sorted(m["Body"] for m in _queued(aws)) == sorted(r["body"] for r in records)
    stats = run_queue(aws, processor)
    assert stats.failed == 0
    assert DynamoRepository(aws["table"]).identity_owner("email", "jean.martin@example.net") is not None


def test_a_claim_check_pointing_outside_the_payloads_bucket_is_refused(aws, lambda_context):
    record = {
        "MessageId": "foreign",
        "Body": claim_check.pointer("someone-elses-bucket", "claim-check/x.json"),
    }

    response = processor(sqs_event([record]), lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": "foreign"}]}


def test_a_large_shopify_order_is_accepted_and_synced_through_the_claim_check(aws, lambda_context, calls):
    from shared.adapters.dynamodb.orders import OrderRepository
    from tests.integration.commerce_support import SHOPIFY_ORDER

    event = load_event("commerce_webhook/shopify_orders_create")
    body = json.loads(event["body"])
    line = body["line_items"][0]
    body["line_items"] = [{**line, "id": 9000 + n, "title": f"Article {n} " + "x" * 600} for n in range(400)]
    raw = json.dumps(body).encode()
    assert len(raw) > claim_check.QUEUE_MESSAGE_LIMIT
    event["body"] = raw.decode()
    event["headers"]["x-shopify-hmac-sha256"] = base64.b64encode(
        hmac.new(b"test_secret_key", raw, hashlib.sha256).digest()
    ).decode()

    assert commerce_webhook(event, lambda_context)["statusCode"] == 200
    assert "s3:PutObject" in calls
    assert run_queue(aws, processor).failed == 0
    order = OrderRepository(aws["table"]).get_order(SHOPIFY_ORDER)
    assert order is not None and len(order.value.lines) == 400
