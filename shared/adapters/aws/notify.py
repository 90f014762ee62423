"""Alerts out through SES (email) and SNS (SMS), behind the ``Notifier`` port.

Errors are sorted once, here: the provider saying "never" (a rejected address, an invalid
number, an opted-out phone) becomes ``DeliveryRejected`` and is not retried; everything else
(throttling, a 5xx, the network) propagates and the caller retries.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from shared.services.order_alerts import DeliveryRejected

_PERMANENT = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerifiedException",
        "InvalidParameter",
        "InvalidParameterValue",
        "InvalidParameterException",
        "OptedOut",
    }
)


class AwsNotifier:
    def __init__(self, ses: Any, sns: Any, sender: str, sms_sender_id: str | None = None) -> None:
        """``ses``/``sns``: boto3 clients; ``sender``: a verified SES identity (the From address)."""
        self._ses = ses
        self._sns = sns
        self._sender = sender
        self._sms_sender_id = sms_sender_id

    def send_email(self, to: str, subject: str, text: str, html: str) -> str:
        try:
            response = self._ses.send_email(
                Source=self._sender,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": text, "Charset": "UTF-8"},
                        "Html": {"Data": html, "Charset": "UTF-8"},
                    },
                },
            )
        except ClientError as error:
            _sort(error)
        return str(response["MessageId"])

    def send_sms(self, phone: str, text: str) -> str:
        attributes: dict[str, Any] = {
            # Transactional: delivered even to numbers on DND lists, priced as such.
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
        }
        if self._sms_sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self._sms_sender_id}
        try:
            response = self._sns.publish(PhoneNumber=phone, Message=text, MessageAttributes=attributes)
        except ClientError as error:
            _sort(error)
        return str(response["MessageId"])


def _sort(error: ClientError) -> Any:
    code = str(error.response.get("Error", {}).get("Code", ""))
    if code in _PERMANENT:
        raise DeliveryRejected(code) from error
    raise error
