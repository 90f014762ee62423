"""Twilio Messages API: SMS and WhatsApp via Twilio.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded, HTTP basic auth
(Account SID and auth token, or an API key SID and secret). ``StatusCallback`` points Twilio's
status webhooks at us (functions/twilio_webhook), which move the message from sent to
delivered/failed; ``num_segments`` in the answer is Twilio's own count, stored for billing.
WhatsApp through Twilio uses the same endpoint with ``whatsapp:`` addresses; templates are
Twilio Content templates (``ContentSid`` + ``ContentVariables``).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from shared.adapters.outbound import (
    OutboundReply,
    ProviderRejected,
    ProviderUnavailable,
    RejectionKind,
    SendResult,
    UnsupportedReply,
)
from shared.adapters.outbound.http import (
    HttpClient,
    HttpResponse,
    HttpStatusError,
    HttpUnavailable,
    RetryPolicy,
    Timeouts,
)
from shared.domain.common import Channel
from shared.domain.message import DeliveryStatus

PROVIDER = "twilio"
API_VERSION = "2010-04-01"

# Twilio's status at creation -> Guichet's (anything before delivery: Twilio has it).
_STATUSES = {
    "accepted": DeliveryStatus.sent,
    "scheduled": DeliveryStatus.sent,
    "queued": DeliveryStatus.sent,
    "sending": DeliveryStatus.sent,
    "sent": DeliveryStatus.sent,
    "delivered": DeliveryStatus.delivered,
    "read": DeliveryStatus.read,
    "undelivered": DeliveryStatus.failed,
    "failed": DeliveryStatus.failed,
    "canceled": DeliveryStatus.failed,
}
# Twilio error codes -> what the agent can do about it (www.twilio.com/docs/api/errors).
_KINDS = {
    20003: RejectionKind.auth,  # authentication failed
    20404: RejectionKind.auth,  # resource (account, service) not found
    20429: RejectionKind.throttled,
    21211: RejectionKind.recipient,  # invalid 'To' number
    21408: RejectionKind.recipient,  # permission to send to this region not enabled
    21610: RejectionKind.recipient,  # recipient unsubscribed (STOP)
    21612: RejectionKind.recipient,  # cannot route to this number
    21614: RejectionKind.recipient,  # not a mobile number
    63016: RejectionKind.outside_window,  # WhatsApp freeform message outside the 24 h window
}


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: str = field(repr=False)
    api_key_sid: str | None = None  # when set, the basic-auth user (auth_token is the key secret)
    sms_from: str | None = None  # E.164 number or alphanumeric sender id
    messaging_service_sid: str | None = None  # MG...: preferred over sms_from when set
    whatsapp_from: str | None = None  # E.164 of the WhatsApp sender, with or without "whatsapp:"
    status_callback_url: str | None = None
    base_url: str = "https://api.twilio.com"


def _whatsapp(address: str) -> str:
    return address if address.startswith("whatsapp:") else f"whatsapp:{address}"


def _int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


class TwilioMessagesClient:
    """Sends SMS (``Channel.sms``) and WhatsApp (``Channel.whatsapp``) through Twilio."""

    provider = PROVIDER

    def __init__(
        self,
        config: TwilioConfig,
        *,
        http: HttpClient | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        user = config.api_key_sid or config.account_sid
        credentials = base64.b64encode(f"{user}:{config.auth_token}".encode()).decode("ascii")
        self._auth = {"Authorization": f"Basic {credentials}"}
        self._http = http or HttpClient(config.base_url, timeouts=timeouts, retry=retry)
        self._path = f"/{API_VERSION}/Accounts/{quote(config.account_sid, safe='')}/Messages.json"

    def form(self, reply: OutboundReply) -> list[tuple[str, str]]:
        """The request's form fields (public so tests and the local outbox can compare)."""
        config = self.config
        fields: list[tuple[str, str]] = []
        if reply.channel is Channel.sms:
            if reply.template is not None:
                raise UnsupportedReply(PROVIDER, "templates are a WhatsApp feature, not SMS")
            fields.append(("To", reply.to))
            if config.messaging_service_sid:
                fields.append(("MessagingServiceSid", config.messaging_service_sid))
            elif config.sms_from:
                fields.append(("From", config.sms_from))
            else:
                raise UnsupportedReply(PROVIDER, "no SMS sender: set a messaging service or a from number")
        elif reply.channel is Channel.whatsapp:
            if not config.whatsapp_from:
                raise UnsupportedReply(PROVIDER, "no WhatsApp sender configured for Twilio")
            fields += [("To", _whatsapp(reply.to)), ("From", _whatsapp(config.whatsapp_from))]
        else:
            raise UnsupportedReply(PROVIDER, f"Twilio does not send {reply.channel.value} messages")

        if reply.template is not None:
            if not reply.template.content_sid:
                raise UnsupportedReply(PROVIDER, "a Twilio WhatsApp template needs its Content SID")
            fields.append(("ContentSid", reply.template.content_sid))
            if reply.template.body_params:
                variables = {str(i): value for i, value in enumerate(reply.template.body_params, start=1)}
                fields.append(("ContentVariables", json.dumps(variables, ensure_ascii=False)))
        else:
            if not reply.text and not reply.media_urls:
                raise UnsupportedReply(PROVIDER, "nothing to send: no text and no media")
            if reply.text:
                fields.append(("Body", reply.text))
            fields += [("MediaUrl", url) for url in reply.media_urls]
        if config.status_callback_url:
            fields.append(("StatusCallback", config.status_callback_url))
        return fields

    def send(self, reply: OutboundReply) -> SendResult:
        fields = self.form(reply)
        try:
            response = self._http.request("POST", self._path, form=fields, headers=self._auth)
        except HttpStatusError as error:
            raise rejection(error.response) from None
        except HttpUnavailable as error:
            raise ProviderUnavailable.from_http(PROVIDER, error) from None
        return parse_created(response)


def parse_created(response: HttpResponse) -> SendResult:
    """The Message resource Twilio answers with (201)."""
    data = response.json_or_none()
    if not isinstance(data, dict) or not data.get("sid"):
        raise ProviderUnavailable(
            PROVIDER, "unexpected answer without a message sid", status=response.status, ambiguous=True
        )
    raw_status = str(data.get("status") or "queued")
    return SendResult(
        provider=PROVIDER,
        provider_message_id=str(data["sid"]),
        status=_STATUSES.get(raw_status, DeliveryStatus.sent),
        segments=_int(data.get("num_segments")),
        raw_status=raw_status,
    )


def rejection(response: HttpResponse) -> ProviderRejected:
    """A 4xx answer: ``{"code": 21211, "message": "...", "more_info": "...", "status": 400}``."""
    data = response.json_or_none()
    code: int | None = None
    message: str | None = None
    if isinstance(data, dict):
        code = _int(data.get("code"))
        message = str(data["message"]) if data.get("message") else None
    kind = _KINDS.get(code or 0)
    if kind is None:
        kind = RejectionKind.auth if response.status in (401, 403) else RejectionKind.invalid
    return ProviderRejected(
        PROVIDER,
        status=response.status,
        code=str(code) if code else None,
        provider_message=message,
        kind=kind,
    )
