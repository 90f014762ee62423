"""An in-memory OutboundChannel for service tests: records replies, answers like a provider.

Unit tests of the reply service need to assert what would have been sent and to script
failures (a 4xx rejection, an outage, an ambiguous timeout) without HTTP. SMS segment counts
come from the same rules the agent sees, so tests stay consistent with the preview.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from shared.adapters.outbound import (
    OutboundChannel,
    OutboundError,
    OutboundReply,
    SendResult,
    UnsupportedReply,
)
from shared.adapters.outbound.ses_email import ses_header_message_id
from shared.domain.common import Channel
from shared.domain.message import DeliveryStatus
from shared.domain.outbound_rules import sms_info

_PREFIX = {
    Channel.email: "ses-",
    Channel.sms: "SM",
    Channel.whatsapp: "wamid.fake",
    Channel.messenger: "m_fake",
    Channel.instagram: "m_fake",
}


class FakeOutboundChannel:
    """Implements OutboundChannel. ``sent`` lists accepted replies; ``attempts`` every call."""

    def __init__(self, channels: Iterable[Channel] | None = None, *, provider: str = "fake") -> None:
        self.channels = frozenset(channels) if channels is not None else frozenset(_PREFIX)
        self.provider = provider
        self.sent: list[tuple[OutboundReply, SendResult]] = []
        self.attempts: list[OutboundReply] = []
        self._failures: list[OutboundError] = []
        self._ids = itertools.count(1)

    def fail_next(self, *errors: OutboundError) -> None:
        """The next calls raise these errors, in order (then sends succeed again)."""
        self._failures.extend(errors)

    def send(self, reply: OutboundReply) -> SendResult:
        self.attempts.append(reply)
        if reply.channel not in self.channels:
            raise UnsupportedReply(self.provider, f"this fake does not send {reply.channel.value}")
        if self._failures:
            raise self._failures.pop(0)
        number = next(self._ids)
        provider_id = f"{_PREFIX.get(reply.channel, 'fake-')}{number:032d}"
        result = SendResult(
            provider=self.provider,
            provider_message_id=provider_id,
            status=DeliveryStatus.sent,
            segments=sms_info(reply.text).segments if reply.channel is Channel.sms else None,
            raw_status="queued" if reply.channel is Channel.sms else "accepted",
            email_message_id=ses_header_message_id(provider_id, "eu-west-3")
            if reply.channel is Channel.email
            else None,
        )
        self.sent.append((reply, result))
        return result

    @property
    def replies(self) -> list[OutboundReply]:
        return [reply for reply, _ in self.sent]


def fake_channels(*channels: Channel) -> tuple[FakeOutboundChannel, dict[Channel, OutboundChannel]]:
    """One fake serving every channel given (all by default), and the mapping services take."""
    fake = FakeOutboundChannel(channels or None)
    return fake, dict.fromkeys(fake.channels, fake)
