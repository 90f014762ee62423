"""Inbound email: SES notification (via SNS and SQS) -> raw MIME -> stored parts -> a message.

Only notifications of our receipt rule are accepted: published on the configured topic, for
mail its S3 action stored in our bucket under our prefix (or carried inline by an SNS action
on that topic). SES's verdicts go on the message; a virus FAIL keeps the attachments out of
reach (never stored, marked blocked).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from shared.adapters.channels import email
from shared.adapters.channels.errors import ChannelPayloadError
from shared.domain.inbound import InboundEnvelope, InboundEvent


class BlobStore(Protocol):
    bucket: str

    def get(self, bucket: str, key: str) -> bytes: ...

    def put(self, key: str, data: bytes, content_type: str) -> str: ...


@dataclass(frozen=True)
class EmailPolicy:
    topic_arn: str
    bucket: str
    prefix: str
    support_domains: tuple[str, ...] = ()


class ForeignNotification(ChannelPayloadError):
    """Not from our receipt rule: never processed (it goes to the DLQ for inspection)."""


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def email_events(
    envelope: InboundEnvelope, fallback_dedup: str, *, policy: EmailPolicy, blobs: BlobStore
) -> list[InboundEvent]:
    """A parser like the others (``fallback_dedup`` unused: mail always has an SES message id)."""
    notification = email.parse_sns_envelope(envelope.payload["sns"])
    if notification.topic_arn != policy.topic_arn:
        raise ForeignNotification("email: the notification did not come from the inbound-email topic")
    raw = _raw_mail(notification, policy, blobs)
    parsed = email.parse_mime(raw)
    quarantined = notification.verdicts.get("virus") == "FAIL"
    keys: list[str | None] = []
    for index, part in enumerate(parsed.attachments):
        if quarantined:
            keys.append(None)
            continue
        name = _UNSAFE.sub("_", part.filename or f"part-{index}")[:100]
        key = f"attachments/email/{notification.ses_message_id}/{index}-{name}"
        keys.append(blobs.put(key, part.data, part.content_type))
    return [
        email.to_inbound_message(
            notification, parsed, support_domains=policy.support_domains, storage_keys=keys
        )
    ]


def _raw_mail(notification: email.SesNotification, policy: EmailPolicy, blobs: BlobStore) -> bytes:
    if notification.action_type == "S3":
        bucket, key = notification.s3_bucket, notification.s3_key
        if bucket != policy.bucket or not key or not key.startswith(policy.prefix):
            raise ForeignNotification("email: the stored mail is not in the receipt rule's bucket and prefix")
        return blobs.get(bucket, key)
    if notification.content is not None and notification.action_topic_arn == policy.topic_arn:
        return notification.content
    raise ForeignNotification("email: neither our S3 action nor our SNS action")
