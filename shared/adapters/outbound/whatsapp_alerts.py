"""Order alerts as WhatsApp templates, through the outbound library's WhatsApp client.

Implements the workflow's ``WhatsAppNotifier`` port on top of an :class:`OutboundChannel`
(the Cloud API client, or Twilio's when ``WHATSAPP_PROVIDER=twilio``). The client is built on
the first need, once per container: ``available()`` is asked only for a customer known by a
WhatsApp number and no email, so steps that only email never read the providers secret.

Provider errors are sorted for the alert service: a refusal that a retry would not change (a
bad or unreachable number, an invalid or unapproved template) is ``DeliveryRejected``; an
answer lost after the request reached the provider is ``DeliveryUncertain`` (never resent);
throttling, outages and our own credentials (an operator must act) propagate, so the step is
retried and then becomes a back-office ticket.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.adapters.outbound import (
    OutboundChannel,
    OutboundReply,
    ProviderRejected,
    ProviderUnavailable,
    RejectionKind,
    WhatsAppTemplate,
)
from shared.domain.alerts import WhatsAppAlert
from shared.domain.common import Channel
from shared.services.order_alerts import DeliveryRejected, DeliveryUncertain

_FINAL = frozenset({RejectionKind.recipient, RejectionKind.invalid})


class WhatsAppTemplateAlerts:
    """``factory()`` returns the WhatsApp client, or None when this deployment has none."""

    def __init__(self, factory: Callable[[], OutboundChannel | None]) -> None:
        self._factory = factory
        self._channel: OutboundChannel | None = None
        self._built = False

    def _client(self) -> OutboundChannel | None:
        if not self._built:
            self._channel = self._factory()
            self._built = True
        return self._channel

    def available(self) -> bool:
        return self._client() is not None

    def send_template(self, wa_id: str, template: WhatsAppAlert) -> str:
        channel = self._client()
        if channel is None:
            raise RuntimeError("WhatsApp is not configured in this deployment")
        reply = OutboundReply(
            message_id=f"alert-{template.name}",  # never sent; alerts belong to no ticket
            ticket_id="",
            channel=Channel.whatsapp,
            to=wa_id,
            text=template.preview,
            template=WhatsAppTemplate(
                name=template.name, language=template.language, body_params=template.body_params
            ),
        )
        try:
            return channel.send(reply).provider_message_id
        except ProviderRejected as error:
            if error.kind in _FINAL:
                raise DeliveryRejected(str(error)) from error
            raise
        except ProviderUnavailable as error:
            if error.ambiguous:
                raise DeliveryUncertain(str(error)) from error
            raise
