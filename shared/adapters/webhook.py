"""The cheap path shared by every provider webhook: verified raw body -> one SQS message.

Webhook modules import this instead of the pydantic domain (measured: the domain models cost
~140 ms of import, boto3 ~150 ms; see bench/results.md). boto3 is imported when the first
delivery arrives. The JSON written here is exactly an ``InboundEnvelope`` (a test checks it).
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from shared.adapters.aws import claim_check


def envelope_json(
    channel: str,
    body: bytes,
    content_type: str,
    *,
    params: dict[str, str] | None = None,
    route: str | None = None,
    dedup_key: str | None = None,
    now: datetime | None = None,
) -> tuple[str, str]:
    """(reference, JSON body of the queue message). Non-UTF-8 bodies travel base64-encoded."""
    moment = now or datetime.now(UTC)
    reference = f"D{uuid.uuid4().hex[:16].upper()}"
    try:
        text, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(body).decode(), "base64"
    payload: dict[str, Any] = {"body": text, "body_encoding": encoding, "content_type": content_type}
    if params is not None:
        payload["params"] = params
    if route is not None:
        payload["route"] = route
    envelope = {
        "channel": channel,
        "received_at": moment.isoformat(),
        "reference": reference,
        "dedup_key": dedup_key,
        "payload": payload,
    }
    return reference, json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))


class LazySqs:
    """One SendMessage per delivery; clients are created on first use (not at import).

    A body over the queue's message limit is stored in ``payload_bucket`` first and the queue
    gets a claim-check pointer (shared/adapters/aws/claim_check.py): two calls instead of one,
    for the rare large delivery, instead of a refusal Meta would retry for days.
    """

    def __init__(self, queue_url: str, payload_bucket: str | None = None) -> None:
        self._url = queue_url
        self._bucket = payload_bucket
        self._client: Any = None
        self._s3: Any = None

    def send(self, body: str, channel: str) -> str:
        import boto3  # noqa: PLC0415 (deferred: webhook cold imports stay small)

        attributes: dict[str, Any] = {"channel": {"DataType": "String", "StringValue": channel}}
        if claim_check.oversized(body):
            if not self._bucket:
                raise ValueError("a body over the queue's message limit needs a payload bucket")
            if self._s3 is None:
                self._s3 = boto3.client("s3")
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
        if self._client is None:
            self._client = boto3.client("sqs")
        response = self._client.send_message(
            QueueUrl=self._url, MessageBody=body, MessageAttributes=attributes
        )
        return str(response["MessageId"])


class LazySecrets:
    """Secrets Manager reader created on first use (see shared.adapters.aws.secrets)."""

    def __init__(self, secret_id: str) -> None:
        self._secret_id = secret_id
        self._reader: Any = None

    def get(self, key: str) -> str:
        if self._reader is None:
            import boto3  # noqa: PLC0415 (deferred: webhook cold imports stay small)

            from shared.adapters.aws.secrets import WebhookSecrets  # noqa: PLC0415

            self._reader = WebhookSecrets(boto3.client("secretsmanager"), self._secret_id)
        value: str = self._reader.get(key)
        return value
