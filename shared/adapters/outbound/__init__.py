"""Replies on the customer's channel: the port, its result and errors, and the wiring.

Each provider module implements :class:`OutboundChannel` (``send(reply) -> SendResult``):
``ses_email`` (email), ``twilio_sms`` (SMS and WhatsApp via Twilio), ``whatsapp_cloud``
(WhatsApp Cloud API), ``meta_send`` (Messenger, Instagram). ``fakes`` holds an in-memory one
for service tests. The channel rules (``shared.domain.outbound_rules``) are checked *before*
``send``: clients send what they are given and report what the provider said.

This module imports no provider module, so importing the types costs nothing at cold start;
:func:`build_channels` imports the clients it wires.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.common import Channel
from shared.domain.message import DeliveryStatus

if TYPE_CHECKING:
    from shared.adapters.outbound.http import HttpUnavailable

__all__ = [
    "EmailFile",
    "OutboundChannel",
    "OutboundConfig",
    "OutboundError",
    "OutboundReply",
    "ProviderRejected",
    "ProviderUnavailable",
    "RejectionKind",
    "SendResult",
    "UnsupportedReply",
    "WhatsAppTemplate",
    "build_channels",
]


@dataclass(frozen=True, kw_only=True)
class WhatsAppTemplate:
    """An approved WhatsApp template (the only thing WhatsApp accepts outside the window).

    ``body_params`` fill {{1}}, {{2}} ... in order. Twilio addresses templates by Content SID
    (``content_sid``); the Cloud API by ``name`` and ``language``.
    """

    name: str
    language: str = "fr"
    body_params: tuple[str, ...] = ()
    content_sid: str | None = None


@dataclass(frozen=True, kw_only=True)
class EmailFile:
    """An attachment to send by email (bytes already fetched, e.g. from S3)."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class OutboundReply:
    """One message to send; built by the reply service after the channel rules said yes.

    ``to`` is the channel address: an email address, an E.164 number (SMS, WhatsApp), a
    PSID (Messenger) or an IGSID (Instagram). ``tag`` comes from the rules' decision
    (``HUMAN_AGENT`` outside Meta's 24-hour window). Email threading: ``in_reply_to`` and
    ``references`` are the bare Message-IDs of the conversation (as stored on messages).
    """

    message_id: str  # Guichet's id of the outbound Message (never sent to the customer)
    ticket_id: str
    channel: Channel
    to: str = field(repr=False)
    text: str = field(default="", repr=False)
    to_name: str | None = field(default=None, repr=False)
    subject: str | None = field(default=None, repr=False)
    html: str | None = field(default=None, repr=False)
    tag: str | None = None
    template: WhatsAppTemplate | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    reply_to_provider_id: str | None = None  # WhatsApp: quote this wamid
    media_urls: tuple[str, ...] = ()  # public https URLs (Twilio MMS / WhatsApp media)
    files: tuple[EmailFile, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SendResult:
    """What the provider accepted: store ``provider_message_id`` to match status webhooks.

    ``status`` is Guichet's (a provider's "queued"/"accepted" is ``sent``: the provider has
    it); ``raw_status`` is the provider's own word. ``email_message_id`` is the bare RFC
    Message-ID the customer's mail client will reference when replying (SES sets it).
    """

    provider: str
    provider_message_id: str
    status: DeliveryStatus = DeliveryStatus.sent
    segments: int | None = None
    raw_status: str | None = None
    email_message_id: str | None = None


class OutboundChannel(Protocol):
    def send(self, reply: OutboundReply) -> SendResult: ...


class RejectionKind(StrEnum):
    """Why a provider refused, coarse enough to act on (409 vs 502, retry later or not)."""

    outside_window = "outside_window"  # the rules should have caught it: the clock drifted
    throttled = "throttled"  # rate limited with a 4xx (Meta): try again later
    auth = "auth"  # our credentials or permissions: an operator must act
    recipient = "recipient"  # invalid, unreachable or opted-out recipient
    invalid = "invalid"  # anything else the provider found wrong in the request


class OutboundError(Exception):
    def __init__(self, provider: str, message: str) -> None:
        super().__init__(message)
        self.provider = provider


class ProviderRejected(OutboundError):
    """The provider answered 4xx: resending the same request will fail the same way.

    ``str(error)`` names the provider, status and code only (safe to log);
    ``provider_message`` is the provider's text, which may quote the recipient: show it to
    the agent, do not log it.
    """

    def __init__(
        self,
        provider: str,
        *,
        status: int | None,
        code: str | None,
        provider_message: str | None,
        kind: RejectionKind = RejectionKind.invalid,
    ) -> None:
        detail = ", ".join(
            p for p in (f"HTTP {status}" if status else None, f"code {code}" if code else None) if p
        )
        super().__init__(provider, f"{provider} rejected the message ({detail or 'no detail'}, {kind.value})")
        self.status = status
        self.code = code
        self.provider_message = provider_message
        self.kind = kind


class ProviderUnavailable(OutboundError):
    """No answer we can use after the retries (5xx, 429, network).

    ``ambiguous``: the request reached the provider and the answer was lost, so the message
    may have been sent; ask the agent to check the conversation before resending.
    """

    def __init__(
        self,
        provider: str,
        reason: str,
        *,
        status: int | None = None,
        attempts: int = 1,
        ambiguous: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(provider, f"{provider} unavailable: {reason}")
        self.reason = reason
        self.status = status
        self.attempts = attempts
        self.ambiguous = ambiguous
        self.retry_after = retry_after

    @classmethod
    def from_http(cls, provider: str, error: HttpUnavailable) -> ProviderUnavailable:
        return cls(
            provider,
            error.reason if not error.ambiguous else f"{error.reason} (the message may have been sent)",
            status=error.response.status if error.response is not None else None,
            attempts=error.attempts,
            ambiguous=error.ambiguous,
            retry_after=error.retry_after,
        )


class UnsupportedReply(OutboundError, ValueError):
    """The reply cannot be expressed on this client (wrong channel, missing sender ...).

    A programming or configuration error, raised before any call to the provider.
    """


# --- configuration and wiring -------------------------------------------------------------


class OutboundConfig(BaseModel):
    """Non-secret settings of the outbound clients (environment); secrets come separately.

    Base URLs default to the real APIs; the local stack rewrites them to its fake provider
    endpoint (infra/local/outbox.py ``provider_base_url_overrides``).
    """

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    email_from: str | None = Field(default=None, alias="SUPPORT_EMAIL_FROM")  # support@example.com
    email_from_name: str | None = Field(default=None, alias="SUPPORT_EMAIL_NAME")
    ses_configuration_set: str | None = Field(default=None, alias="SES_CONFIGURATION_SET")

    twilio_base_url: str = Field(default="https://api.twilio.com", alias="TWILIO_API_BASE_URL")
    twilio_sms_from: str | None = Field(default=None, alias="TWILIO_SMS_FROM")
    twilio_messaging_service_sid: str | None = Field(default=None, alias="TWILIO_MESSAGING_SERVICE_SID")
    twilio_whatsapp_from: str | None = Field(default=None, alias="TWILIO_WHATSAPP_FROM")
    twilio_status_callback_url: str | None = Field(default=None, alias="TWILIO_STATUS_CALLBACK_URL")

    meta_graph_base_url: str = Field(default="https://graph.facebook.com", alias="META_GRAPH_BASE_URL")
    meta_graph_version: str = Field(default="v23.0", alias="META_GRAPH_VERSION", pattern=r"^v\d+\.\d+$")
    whatsapp_provider: str = Field(default="cloud", alias="WHATSAPP_PROVIDER", pattern=r"^(cloud|twilio)$")
    whatsapp_phone_number_id: str | None = Field(default=None, alias="WHATSAPP_PHONE_NUMBER_ID")
    instagram_base_url: str = Field(default="https://graph.facebook.com", alias="INSTAGRAM_GRAPH_BASE_URL")

    connect_timeout: float = Field(default=3.0, gt=0, le=10, alias="OUTBOUND_CONNECT_TIMEOUT")
    read_timeout: float = Field(default=10.0, gt=0, le=30, alias="OUTBOUND_READ_TIMEOUT")
    max_attempts: int = Field(default=3, ge=1, le=5, alias="OUTBOUND_MAX_ATTEMPTS")


# Keys of the provider-credentials secret (Secrets Manager, one JSON object).
SECRET_KEYS = {
    "twilio_account_sid": "Twilio Account SID (AC...)",
    "twilio_auth_token": "Twilio auth token (or an API key secret with twilio_api_key_sid)",
    "twilio_api_key_sid": "optional: Twilio API key SID (SK...), used as the basic-auth user",
    "whatsapp_access_token": "WhatsApp Cloud API system-user token",
    "messenger_page_access_token": "Page access token for the Messenger Send API",
    "instagram_access_token": "token for the Instagram Send API (page or Instagram login)",
}


def build_channels(
    config: OutboundConfig,
    secret: Callable[[str], str | None],
    *,
    ses_client: Any = None,
) -> dict[Channel, OutboundChannel]:
    """The clients this deployment can use, by channel; a channel missing its settings is absent.

    ``secret(key)`` reads a key of the provider-credentials secret (None when unset), e.g.
    ``lambda k: secrets.values().get(k)``; it is called here, once per cold start, so a
    rotation needs a new container (or a new call to build_channels).
    """
    # Deferred: the provider modules import this one (a top-level import would be circular).
    from shared.adapters.outbound.http import RetryPolicy, Timeouts  # noqa: PLC0415
    from shared.adapters.outbound.meta_send import MetaSendClient, MetaSendConfig  # noqa: PLC0415
    from shared.adapters.outbound.ses_email import SesEmailClient, SesEmailConfig  # noqa: PLC0415
    from shared.adapters.outbound.twilio_sms import TwilioConfig, TwilioMessagesClient  # noqa: PLC0415
    from shared.adapters.outbound.whatsapp_cloud import (  # noqa: PLC0415
        WhatsAppCloudClient,
        WhatsAppCloudConfig,
    )

    timeouts = Timeouts(connect=config.connect_timeout, read=config.read_timeout)
    retry = RetryPolicy(attempts=config.max_attempts)
    channels: dict[Channel, OutboundChannel] = {}

    if ses_client is not None and config.email_from:
        channels[Channel.email] = SesEmailClient(
            ses_client,
            SesEmailConfig(
                from_address=config.email_from,
                from_name=config.email_from_name,
                configuration_set=config.ses_configuration_set,
            ),
        )

    account, token = secret("twilio_account_sid"), secret("twilio_auth_token")
    twilio = None
    if account and token:
        twilio = TwilioMessagesClient(
            TwilioConfig(
                account_sid=account,
                auth_token=token,
                api_key_sid=secret("twilio_api_key_sid"),
                sms_from=config.twilio_sms_from,
                messaging_service_sid=config.twilio_messaging_service_sid,
                whatsapp_from=config.twilio_whatsapp_from,
                status_callback_url=config.twilio_status_callback_url,
                base_url=config.twilio_base_url,
            ),
            timeouts=timeouts,
            retry=retry,
        )
        if config.twilio_sms_from or config.twilio_messaging_service_sid:
            channels[Channel.sms] = twilio

    if config.whatsapp_provider == "twilio":
        if twilio is not None and config.twilio_whatsapp_from:
            channels[Channel.whatsapp] = twilio
    else:
        wa_token = secret("whatsapp_access_token")
        if wa_token and config.whatsapp_phone_number_id:
            channels[Channel.whatsapp] = WhatsAppCloudClient(
                WhatsAppCloudConfig(
                    phone_number_id=config.whatsapp_phone_number_id,
                    access_token=wa_token,
                    base_url=config.meta_graph_base_url,
                    api_version=config.meta_graph_version,
                ),
                timeouts=timeouts,
                retry=retry,
            )

    for channel, key, base_url in (
        (Channel.messenger, "messenger_page_access_token", config.meta_graph_base_url),
        (Channel.instagram, "instagram_access_token", config.instagram_base_url),
    ):
        meta_token = secret(key)
        if meta_token:
            channels[channel] = MetaSendClient(
                channel,
                MetaSendConfig(
                    access_token=meta_token, base_url=base_url, api_version=config.meta_graph_version
                ),
                timeouts=timeouts,
                retry=retry,
            )
    return channels
