"""AWS-side inbound sources that moto does not originate: SES receiving and EventBridge events.

Each test taps the declared wiring with an extra queue of its own (a second subscription or
target), so it sees what the inbound queue receives without racing the inbound processor.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from infra import registry
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def _tap_queue(aws: Callable[[str], Any]) -> tuple[str, str]:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=f"e2e-tap-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _receive_one(aws: Callable[[str], Any], url: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = aws("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            return messages[0]
    pytest.fail("nothing arrived on the tap queue")


def _mail(subject: str) -> bytes:
    return (
        "Return-Path: <client@example.org>\r\n"
        "From: Client <client@example.org>\r\n"
        "To: support+t42@guichet.local\r\n"
        f"Subject: {subject}\r\n"
        "Date: Tue, 25 Nov 2026 10:00:00 +0100\r\n"
        "Message-ID: <e2e-1@example.org>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "\r\n"
        "Bonjour !\r\n"
    ).encode()


def test_inbound_email_is_stored_and_notified_like_ses(stack: Stack, aws: Callable[[str], Any]) -> None:
    spec = getattr(registry, "EMAIL_RECEIPT", None)
    if spec is None:
        pytest.skip("registry.EMAIL_RECEIPT is not declared")
    resources = stack.get("/local/stack").json()
    topic_arn = resources["topics"][spec.topic]
    tap_url, tap_arn = _tap_queue(aws)
    aws("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=tap_arn)

    subject = f"Colis {uuid.uuid4().hex[:6]}"
    raw = _mail(subject)
    reply = stack.post("/local/inbound-email", body=raw, headers={"Content-Type": "message/rfc822"})
    assert reply.status == 202, reply.body
    stored = reply.json()
    assert stored["key"] == f"{spec.prefix}{stored['messageId']}"
    assert stored["recipients"] == ["support+t42@guichet.local"]
    obj = aws("s3").get_object(Bucket=stored["bucket"], Key=stored["key"])
    assert obj["Body"].read() == raw

    envelope = json.loads(_receive_one(aws, tap_url)["Body"])
    assert envelope["Type"] == "Notification"
    assert envelope["TopicArn"] == topic_arn
    notification = json.loads(envelope["Message"])
    assert notification["notificationType"] == "Received"
    assert notification["mail"]["messageId"] == stored["messageId"]
    assert notification["mail"]["commonHeaders"]["subject"] == subject
    assert notification["receipt"]["action"] == {
        "type": "S3",
        "topicArn": topic_arn,
        "bucketName": stored["bucket"],
        "objectKeyPrefix": spec.prefix,
        "objectKey": stored["key"],
    }
    assert "content" not in notification


def test_inbound_email_needs_a_body(stack: Stack) -> None:
    reply = stack.post("/local/inbound-email", body=b"")
    assert reply.status in (400, 404)


def test_events_are_routed_by_the_declared_rules(stack: Stack, aws: Callable[[str], Any]) -> None:
    rules = getattr(registry, "EVENT_RULES", ())
    if not rules:
        pytest.skip("registry.EVENT_RULES declares no rule")
    rule = rules[0]
    tap_url, tap_arn = _tap_queue(aws)
    aws("events").put_targets(Rule=rule.name, Targets=[{"Id": "e2e-tap", "Arn": tap_arn}])
    try:
        marker = uuid.uuid4().hex
        reply = stack.post(
            "/local/events",
            body=json.dumps(
                {"source": rule.source, "detail-type": rule.detail_type, "detail": {"m": marker}}
            ).encode(),
        )
        assert reply.status == 200, reply.body
        assert reply.json()["failed"] == 0
        event = json.loads(_receive_one(aws, tap_url)["Body"])
        assert event["source"] == rule.source
        assert event["detail-type"] == rule.detail_type
        assert event["detail"] == {"m": marker}
    finally:
        aws("events").remove_targets(Rule=rule.name, Ids=["e2e-tap"])


def test_events_need_source_and_detail_type(stack: Stack) -> None:
    assert stack.post("/local/events", body=b'{"detail": {}}').status == 400
    assert stack.post("/local/events", body=b"not json").status == 400
