"""The processor's re-enqueue: as few SendMessageBatch calls as SQS allows, nothing dropped."""

from __future__ import annotations

import pytest

from shared.adapters.aws import claim_check
from shared.adapters.aws.sqs import EnqueueFailed, SqsBatchSender


class FakeSqs:
    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[list[dict]] = []
        self.fail_first = fail_first

    def send_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:
        self.calls.append(Entries)
        failing = Entries[: self.fail_first]
        self.fail_first = max(0, self.fail_first - len(failing))
        return {
            "Successful": [{"Id": e["Id"]} for e in Entries[len(failing) :]],
            "Failed": [{"Id": e["Id"], "Code": "InternalError", "SenderFault": False} for e in failing],
        }


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: str) -> None:
        self.objects[f"{Bucket}/{Key}"] = Body


def _sender(sqs: FakeSqs, s3: FakeS3 | None = None) -> SqsBatchSender:
    return SqsBatchSender(sqs, s3 or FakeS3(), "https://sqs/q", "payloads")


def test_ten_messages_a_call_and_never_more_than_the_message_limit_in_all():
    sqs = FakeSqs()
    bodies = [("x" * 30_000, "whatsapp")] * 10 + [("small", "whatsapp")] * 15

    _sender(sqs).send_all(bodies)

    assert [len(c) for c in sqs.calls] == [8, 10, 7]
    for call in sqs.calls:
        assert sum(len(e["MessageBody"]) + 40 for e in call) <= claim_check.QUEUE_MESSAGE_LIMIT
    assert [e["MessageBody"] for c in sqs.calls for e in c] == [b for b, _ in bodies]


def test_a_body_over_the_limit_goes_by_claim_check():
    sqs, s3 = FakeSqs(), FakeS3()

    _sender(sqs, s3).send_all([("y" * 300_000, "messenger")])

    [[entry]] = sqs.calls
    bucket, key = claim_check.parse_pointer(entry["MessageBody"])
    assert s3.objects[f"{bucket}/{key}"] == b"y" * 300_000
    assert entry["MessageAttributes"]["ExtendedPayloadSize"]["StringValue"] == "300000"


def test_failed_entries_are_sent_again_then_reported():
    sqs = FakeSqs(fail_first=1)
    _sender(sqs).send_all([("a", "sms"), ("b", "sms")])
    assert [[e["MessageBody"] for e in c] for c in sqs.calls] == [["a", "b"], ["a"]]

    with pytest.raises(EnqueueFailed):
        _sender(FakeSqs(fail_first=10)).send_all([("a", "sms")])
