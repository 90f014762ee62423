"""WhatsApp Cloud API: text replies inside the 24-hour window, approved templates outside it.

``POST /{version}/{phone_number_id}/messages`` with a bearer token (a system-user token of
the WhatsApp Business Account). Meta answers ``{"messages": [{"id": "wamid..."}]}``; that
wamid is what status webhooks (sent/delivered/read/failed) refer to. Errors share the Graph
API shape (meta_send.graph_rejection); 131047 means the window closed between the rules'
check and the send.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from shared.adapters.outbound import (
    OutboundReply,
    ProviderUnavailable,
    SendResult,
    UnsupportedReply,
)
from shared.adapters.outbound.http import (
    HttpClient,
    HttpStatusError,
    HttpUnavailable,
    RetryPolicy,
    Timeouts,
)
from shared.adapters.outbound.meta_send import graph_rejection
from shared.domain.common import Channel

PROVIDER = "whatsapp_cloud"


@dataclass(frozen=True)
class WhatsAppCloudConfig:
    phone_number_id: str
    access_token: str = field(repr=False)
    base_url: str = "https://graph.facebook.com"
    api_version: str = "v23.0"


def _recipient(address: str) -> str:
    """wa_id or E.164; Twilio-style ``whatsapp:`` prefixes are dropped."""
    return address.removeprefix("whatsapp:")


class WhatsAppCloudClient:
    provider = PROVIDER

    def __init__(
        self,
        config: WhatsAppCloudConfig,
        *,
        http: HttpClient | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self._auth = {"Authorization": f"Bearer {config.access_token}"}
        self._http = http or HttpClient(config.base_url, timeouts=timeouts, retry=retry)
        self._path = (
            f"/{quote(config.api_version, safe='')}/{quote(config.phone_number_id, safe='')}/messages"
        )

    def payload(self, reply: OutboundReply) -> dict[str, Any]:
        """The JSON body (public so tests and the local outbox can compare)."""
        if reply.channel is not Channel.whatsapp:
            raise UnsupportedReply(PROVIDER, f"the WhatsApp Cloud API does not send {reply.channel.value}")
        if reply.media_urls:
            raise UnsupportedReply(PROVIDER, "media messages are not supported yet on the Cloud API client")
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": _recipient(reply.to),
        }
        if reply.template is not None:
            template: dict[str, Any] = {
                "name": reply.template.name,
                "language": {"code": reply.template.language},
            }
            if reply.template.body_params:
                template["components"] = [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": value} for value in reply.template.body_params
                        ],
                    }
                ]
            body.update(type="template", template=template)
        else:
            if not reply.text:
                raise UnsupportedReply(PROVIDER, "nothing to send: the text is empty")
            body.update(type="text", text={"preview_url": False, "body": reply.text})
        if reply.reply_to_provider_id:
            body["context"] = {"message_id": reply.reply_to_provider_id}
        return body

    def send(self, reply: OutboundReply) -> SendResult:
        body = self.payload(reply)
        try:
            response = self._http.request("POST", self._path, json_body=body, headers=self._auth)
        except HttpStatusError as error:
            raise graph_rejection(PROVIDER, error.response) from None
        except HttpUnavailable as error:
            raise ProviderUnavailable.from_http(PROVIDER, error) from None
        data = response.json_or_none()
        messages = data.get("messages") if isinstance(data, dict) else None
        first = (
            messages[0] if isinstance(messages, list) and messages and isinstance(messages[0], dict) else {}
        )
        wamid = first.get("id")
        if not wamid:
            raise ProviderUnavailable(
                PROVIDER, "unexpected answer without a message id", status=response.status, ambiguous=True
            )
        return SendResult(
            provider=PROVIDER,
            provider_message_id=str(wamid),
            raw_status=str(first.get("message_status") or "accepted"),
        )
