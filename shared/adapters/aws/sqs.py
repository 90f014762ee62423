"""SQS adapters: the inbound queue port (forms, customer space) and the processor's re-enqueue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.adapters.aws import claim_check
from shared.domain.inbound import InboundEnvelope

BATCH_ENTRIES = 10  # SendMessageBatch: at most 10 entries and the message limit in total
RETRIES = 2  # a batch's failed entries are sent again this many times


class EnqueueFailed(RuntimeError):
    """Some messages could not be enqueued: the caller's record fails and is retried."""


class SqsInboundQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, envelope: InboundEnvelope) -> str:
        response = self._client.send_message(
            QueueUrl=self._url,
            MessageBody=envelope.model_dump_json(),
            MessageAttributes={"channel": {"DataType": "String", "StringValue": envelope.channel.value}},
        )
        return str(response["MessageId"])


class SqsBatchSender:
    """Many queue messages in as few calls as SQS allows (10 per SendMessageBatch, 256 KiB in
    all); a body over the message limit goes by claim check through ``payload_bucket``."""

    def __init__(self, sqs: Any, s3: Any, queue_url: str, payload_bucket: str) -> None:
        self._sqs = sqs
        self._s3 = s3
        self._url = queue_url
        self._bucket = payload_bucket

    def send_all(self, messages: Sequence[tuple[str, str]]) -> None:
        """``messages``: (body, channel). Raises ``EnqueueFailed`` if some could not be sent."""
        entries = [self._entry(str(i), body, channel) for i, (body, channel) in enumerate(messages)]
        for chunk in _chunks(entries):
            self._send(chunk)

    def _entry(self, entry_id: str, body: str, channel: str) -> dict[str, Any]:
        attributes: dict[str, Any] = {"channel": {"DataType": "String", "StringValue": channel}}
        if claim_check.oversized(body):
            key = claim_check.object_key()
            data = body.encode("utf-8")
            self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=data,
                ContentType="application/json",
                ServerSideEncryption="AES256",
            )
            attributes[claim_check.SIZE_ATTRIBUTE] = claim_check.size_attribute(len(data))
            body = claim_check.pointer(self._bucket, key)
        return {"Id": entry_id, "MessageBody": body, "MessageAttributes": attributes}

    def _send(self, chunk: list[dict[str, Any]]) -> None:
        pending = chunk
        for _ in range(1 + RETRIES):
            response = self._sqs.send_message_batch(QueueUrl=self._url, Entries=pending)
            failed = {f["Id"] for f in response.get("Failed", [])}
            pending = [entry for entry in pending if entry["Id"] in failed]
            if not pending:
                return
        raise EnqueueFailed(f"{len(pending)} of {len(chunk)} messages were not enqueued")


def _entry_size(entry: dict[str, Any]) -> int:
    attributes = sum(
        len(name) + len(value["DataType"]) + len(value["StringValue"].encode())
        for name, value in entry["MessageAttributes"].items()
    )
    return claim_check.size_of(entry["MessageBody"]) + attributes


def _chunks(entries: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive groups of at most 10 entries whose sizes add up to the message limit."""
    chunks: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for entry in entries:
        entry_size = _entry_size(entry)
        if current and (len(current) == BATCH_ENTRIES or size + entry_size > claim_check.QUEUE_MESSAGE_LIMIT):
            chunks.append(current)
            current, size = [], 0
        current.append(entry)
        size += entry_size
    if current:
        chunks.append(current)
    return chunks
