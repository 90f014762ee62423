"""Messenger and Instagram Send API, and the Graph API error shape WhatsApp shares.

``POST /{version}/me/messages`` with a Page (or Instagram) access token as a bearer header,
never in the query string, where it would end up in access logs. Inside the 24-hour window
``messaging_type`` is ``RESPONSE``; after it, up to 7 days, ``MESSAGE_TAG`` with
``tag: HUMAN_AGENT`` (the rules in shared.domain.outbound_rules decide, the reply carries
the tag). Meta answers ``{"recipient_id": ..., "message_id": "m_..."}``; the ``mid`` comes
back in delivery/read webhooks and echoes.
"""

from __future__ import annotations

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

# Graph API error codes (developers.facebook.com/docs/graph-api/guides/error-handling,
# WhatsApp Cloud API error codes) -> what the agent or an operator can do.
_THROTTLED = frozenset({4, 17, 32, 613, 80006, 80007, 130429, 131048, 131056})
_AUTH = frozenset({0, 3, 10, 190, 200, 131005, 131031})
_RECIPIENT = frozenset({551, 131026, 131050})
_OUTSIDE_WINDOW = frozenset({131047})
_OUTSIDE_WINDOW_SUBCODES = frozenset({2018278, 2018108})  # Messenger: outside the allowed window
META_TAGS = frozenset({"HUMAN_AGENT", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE"})


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def graph_rejection(provider: str, response: HttpResponse) -> ProviderRejected:
    """``{"error": {"message", "type", "code", "error_subcode", "error_data": {"details"}}}``."""
    data = response.json_or_none()
    error = data.get("error") if isinstance(data, dict) else None
    code = subcode = None
    message: str | None = None
    if isinstance(error, dict):
        code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
        details = (
            error.get("error_data", {}).get("details") if isinstance(error.get("error_data"), dict) else None
        )
        message = " ".join(str(part) for part in (error.get("message"), details) if part) or None
    if code in _OUTSIDE_WINDOW or subcode in _OUTSIDE_WINDOW_SUBCODES:
        kind = RejectionKind.outside_window
    elif code in _THROTTLED:
        kind = RejectionKind.throttled
    elif code in _RECIPIENT:
        kind = RejectionKind.recipient
    elif code in _AUTH or response.status in (401, 403):
        kind = RejectionKind.auth
    else:
        kind = RejectionKind.invalid
    shown = None if code is None else (f"{code}/{subcode}" if subcode else str(code))
    return ProviderRejected(provider, status=response.status, code=shown, provider_message=message, kind=kind)


@dataclass(frozen=True)
class MetaSendConfig:
    access_token: str = field(repr=False)
    base_url: str = "https://graph.facebook.com"  # graph.instagram.com for Instagram login
    api_version: str = "v23.0"
    sender_id: str = "me"  # the Page (or Instagram account) the token belongs to


class MetaSendClient:
    """Sends text replies on Messenger or Instagram (one client per channel and token)."""

    def __init__(
        self,
        channel: Channel,
        config: MetaSendConfig,
        *,
        http: HttpClient | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if channel not in (Channel.messenger, Channel.instagram):
            raise ValueError(f"the Send API serves Messenger and Instagram, not {channel.value}")
        self.channel = channel
        self.provider = channel.value
        self.config = config
        self._auth = {"Authorization": f"Bearer {config.access_token}"}
        self._http = http or HttpClient(config.base_url, timeouts=timeouts, retry=retry)
        self._path = f"/{quote(config.api_version, safe='')}/{quote(config.sender_id, safe='')}/messages"

    def payload(self, reply: OutboundReply) -> dict[str, Any]:
        """The JSON body (public so tests and the local outbox can compare)."""
        if reply.channel is not self.channel:
            raise UnsupportedReply(
                self.provider, f"this client sends {self.channel.value}, not {reply.channel.value}"
            )
        if reply.template is not None:
            raise UnsupportedReply(self.provider, "templates are a WhatsApp feature")
        if reply.media_urls:
            raise UnsupportedReply(self.provider, "attachments are not supported yet on Messenger/Instagram")
        if not reply.text:
            raise UnsupportedReply(self.provider, "nothing to send: the text is empty")
        body: dict[str, Any] = {"recipient": {"id": reply.to}, "message": {"text": reply.text}}
        if reply.tag:
            if reply.tag not in META_TAGS:
                raise UnsupportedReply(self.provider, f"unknown message tag {reply.tag!r}")
            body["messaging_type"] = "MESSAGE_TAG"
            body["tag"] = reply.tag
        else:
            body["messaging_type"] = "RESPONSE"
        return body

    def send(self, reply: OutboundReply) -> SendResult:
        body = self.payload(reply)
        try:
            response = self._http.request("POST", self._path, json_body=body, headers=self._auth)
        except HttpStatusError as error:
            raise graph_rejection(self.provider, error.response) from None
        except HttpUnavailable as error:
            raise ProviderUnavailable.from_http(self.provider, error) from None
        data = response.json_or_none()
        mid = data.get("message_id") if isinstance(data, dict) else None
        if not mid:
            raise ProviderUnavailable(
                self.provider,
                "unexpected answer without a message_id",
                status=response.status,
                ambiguous=True,
            )
        return SendResult(provider=self.provider, provider_message_id=str(mid), raw_status="accepted")
