"""SES receiving, played locally: moto stores receipt rules but never receives mail.

``POST /local/inbound-email`` (raw MIME body) does what the declared receipt rule does in AWS:
store the raw message at ``<prefix><messageId>`` in the bucket (the S3 action), then publish
SES's "Received" notification (no ``content``: the S3 action's notification points at the object)
to the rule's topic, whose SQS subscription feeds the inbound queue. The processor therefore sees
exactly what it will see in AWS: an SNS envelope around the notification, and the mail in S3.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Sequence
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.utils import getaddresses, parseaddr
from typing import Any

from infra.local.resources import EmailReceipt

_ID_ALPHABET = string.ascii_lowercase + string.digits
SNS_SUBJECT = "Amazon SES Email Receipt Notification"


def ses_message_id() -> str:
    """SES ids are 40 lower-case alphanumerics (also the S3 key suffix)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(40))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def received_notification(
    raw: bytes,
    *,
    message_id: str,
    receipt: EmailReceipt,
    envelope_from: str | None = None,
    recipients: Sequence[str] = (),
    now: datetime | None = None,
) -> dict[str, Any]:
    """SES's notification for a mail stored by an S3 action (receiving-email-notifications-contents)."""
    now = now or datetime.now(UTC)
    mail = message_from_bytes(raw, policy=policy.compat32)
    headers = [{"name": name, "value": str(value)} for name, value in mail.items()]

    def addresses(name: str) -> list[str]:
        return [str(v) for v in mail.get_all(name, [])]

    to_addresses = [addr for _, addr in getaddresses(addresses("To") + addresses("Cc")) if addr]
    recipients = list(recipients) or to_addresses
    source = envelope_from or parseaddr(str(mail.get("Return-Path") or mail.get("From") or ""))[1]
    common: dict[str, Any] = {"returnPath": parseaddr(str(mail.get("Return-Path") or source))[1] or source}
    if mail.get("From"):
        common["from"] = addresses("From")
    if mail.get("Date"):
        common["date"] = str(mail["Date"])
    if mail.get("To"):
        common["to"] = addresses("To")
    if mail.get("Cc"):
        common["cc"] = addresses("Cc")
    if mail.get("Reply-To"):
        common["replyTo"] = addresses("Reply-To")
    if mail.get("Message-ID"):
        common["messageId"] = str(mail["Message-ID"])
    if mail.get("Subject") is not None:
        common["subject"] = str(mail["Subject"])
    verdict = {"status": "PASS"}
    return {
        "notificationType": "Received",
        "mail": {
            "timestamp": _iso(now),
            "source": source,
            "messageId": message_id,
            "destination": recipients,
            "headersTruncated": False,
            "headers": headers,
            "commonHeaders": common,
        },
        "receipt": {
            "timestamp": _iso(now),
            "processingTimeMillis": 1,
            "recipients": recipients,
            "spamVerdict": dict(verdict),
            "virusVerdict": dict(verdict),
            "spfVerdict": dict(verdict),
            "dkimVerdict": dict(verdict),
            "dmarcVerdict": dict(verdict),
            "action": {
                "type": "S3",
                "topicArn": receipt.topic_arn,
                "bucketName": receipt.bucket,
                "objectKeyPrefix": receipt.prefix,
                "objectKey": f"{receipt.prefix}{message_id}",
            },
        },
    }


def receive(
    raw: bytes,
    *,
    receipt: EmailReceipt,
    s3: Any,
    sns: Any,
    envelope_from: str | None = None,
    recipients: Sequence[str] = (),
) -> dict[str, Any]:
    """Store the mail and notify, as the receipt rule would. Returns where it went."""
    message_id = ses_message_id()
    key = f"{receipt.prefix}{message_id}"
    s3.put_object(Bucket=receipt.bucket, Key=key, Body=raw)
    notification = received_notification(
        raw, message_id=message_id, receipt=receipt, envelope_from=envelope_from, recipients=recipients
    )
    published = sns.publish(TopicArn=receipt.topic_arn, Subject=SNS_SUBJECT, Message=json.dumps(notification))
    return {
        "messageId": message_id,
        "bucket": receipt.bucket,
        "key": key,
        "snsMessageId": published["MessageId"],
        "recipients": notification["mail"]["destination"],
    }
