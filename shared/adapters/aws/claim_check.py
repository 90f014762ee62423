"""Claim check for the inbound queue: a body too large for one SQS message waits in S3.

The queue message then holds a pointer in the format of the AWS SQS Extended Client libraries
(Java, Python), so their tools read our messages and ours read theirs:
``["software.amazon.payloadoffloading.PayloadS3Pointer", {"s3BucketName": ..., "s3Key": ...}]``
with the message attribute ``ExtendedPayloadSize`` (the stored body's size in bytes).

The inbound queue keeps SQS's default ``MaximumMessageSize`` of 256 KiB (AWS allows up to 1 MiB
when raised, moto enforces 256 KiB): Meta posts up to 3 MB, and a Shopify order with many lines
can pass 256 KiB. The objects expire by the payloads bucket's lifecycle rule, after the queue's
and its dead-letter queue's retention (a redriven message still finds its body); they are not
deleted after processing, because SQS may deliver a message again after it was processed.

Standard library only: the webhooks import this on a cold start.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

POINTER_CLASS = "software.amazon.payloadoffloading.PayloadS3Pointer"
SIZE_ATTRIBUTE = "ExtendedPayloadSize"
QUEUE_MESSAGE_LIMIT = 256 * 1024  # bytes: body plus message attributes, SQS's default limit
# Our message attributes (channel, ExtendedPayloadSize) take well under 200 bytes.
THRESHOLD = QUEUE_MESSAGE_LIMIT - 1024
PREFIX = "claim-check/"


def size_of(body: str) -> int:
    return len(body.encode("utf-8"))


def oversized(body: str) -> bool:
    return size_of(body) > THRESHOLD


def object_key(now: datetime | None = None) -> str:
    moment = now or datetime.now(UTC)
    return f"{PREFIX}{moment:%Y/%m/%d}/{uuid.uuid4().hex}.json"


def pointer(bucket: str, key: str) -> str:
    return json.dumps([POINTER_CLASS, {"s3BucketName": bucket, "s3Key": key}])


def size_attribute(size: int) -> dict[str, str]:
    return {"DataType": "Number", "StringValue": str(size)}


def parse_pointer(body: str) -> tuple[str, str] | None:
    """(bucket, key) when ``body`` is a claim-check pointer, else None (an ordinary body)."""
    if not body.startswith("[") or POINTER_CLASS not in body[:80]:
        return None
    try:
        value: Any = json.loads(body)
    except ValueError:
        return None
    if (
        isinstance(value, list)
        and len(value) == 2
        and value[0] == POINTER_CLASS
        and isinstance(value[1], dict)
        and isinstance(value[1].get("s3BucketName"), str)
        and isinstance(value[1].get("s3Key"), str)
    ):
        return value[1]["s3BucketName"], value[1]["s3Key"]
    return None


class ForeignPointer(ValueError):
    """A pointer to another bucket: never followed (only our webhooks write claim checks)."""


def resolve(body: str, s3: Any, bucket: str) -> str:
    """The body a queue message stands for: itself, or the claim-checked object it points to."""
    location = parse_pointer(body)
    if location is None:
        return body
    if location[0] != bucket or not location[1].startswith(PREFIX):
        raise ForeignPointer("the claim check points outside the payloads bucket")
    data: bytes = s3.get_object(Bucket=location[0], Key=location[1])["Body"].read()
    return data.decode("utf-8")
