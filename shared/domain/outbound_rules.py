"""What a reply may be on each channel, decided before anything is sent.

A reply the channel will refuse must be stopped with a reason the agent can act on, never
saved as "sent" and silently dropped (../shared/channels/outbound-rules.md). Everything here
is pure: the caller supplies the customer's last inbound message time on the channel and
"now", so the window edges are testable to the second.

Windows are half-open: a reply at exactly 24 hours (or 7 days) after the customer's last
message is outside. Meta counts the window *from* the last message, and a refusal by us costs
the agent a click where a refusal by Meta costs a failed send.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.domain.common import Channel

# --- SMS encoding -------------------------------------------------------------------------

# 3GPP TS 23.038 basic character set (ESC, 0x1B, left out: it is not text an agent types).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each character costs two septets (ESC + the character).
GSM7_EXTENDED = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153  # septets; a concatenated part loses 7 to the UDH
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units


class SmsEncoding(StrEnum):
    gsm7 = "GSM-7"
    ucs2 = "UCS-2"


class MessageTag(StrEnum):
    """Meta message tags Guichet uses for replies outside the standard window."""

    human_agent = "HUMAN_AGENT"


class RefusalCode(StrEnum):
    """Machine-readable reasons (the API can map them; the text is for the agent)."""

    empty = "empty"
    too_long = "too_long"
    too_many_segments = "too_many_segments"
    template_required = "template_required"
    template_not_supported = "template_not_supported"
    window_closed = "window_closed"
    never_contacted = "never_contacted"
    automated_outside_window = "automated_outside_window"
    channel_not_supported = "channel_not_supported"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SmsInfo(_Frozen):
    """How an SMS body will be encoded and split, as the carrier counts it."""

    encoding: SmsEncoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int  # capacity of one segment for this message (160/153 or 70/67)
    ucs2_triggers: tuple[str, ...] = ()  # the characters that forced UCS-2, first seen first


def _gsm7_cost(char: str) -> int | None:
    if char in GSM7_BASIC:
        return 1
    if char in GSM7_EXTENDED:
        return 2
    return None


def _utf16_units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def _count_parts(costs: list[int], single: int, part: int) -> int:
    """Parts needed when an escape pair or a surrogate pair may not straddle two parts."""
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part:
            parts, used = parts + 1, 0
        used += cost
    return parts


def sms_info(text: str) -> SmsInfo:
    """Encoding and segment count of ``text``.

    One character outside GSM-7 switches the whole message to UCS-2, which cuts a segment
    from 160 to 70 characters: the agent sees which characters did it. Twilio's "smart
    encoding" may substitute some of them; counting without it never under-estimates.
    """
    gsm_costs: list[int] = []
    triggers: dict[str, None] = {}
    for char in text:
        cost = _gsm7_cost(char)
        if cost is None:
            triggers.setdefault(char, None)
        else:
            gsm_costs.append(cost)
    if not triggers:
        segments = _count_parts(gsm_costs, GSM7_SINGLE, GSM7_PART)
        units = sum(gsm_costs)
        return SmsInfo(
            encoding=SmsEncoding.gsm7,
            units=units,
            segments=segments,
            per_segment=GSM7_SINGLE if segments <= 1 else GSM7_PART,
        )
    costs = [_utf16_units(char) for char in text]
    segments = _count_parts(costs, UCS2_SINGLE, UCS2_PART)
    return SmsInfo(
        encoding=SmsEncoding.ucs2,
        units=sum(costs),
        segments=segments,
        per_segment=UCS2_SINGLE if segments <= 1 else UCS2_PART,
        ucs2_triggers=tuple(list(triggers)[:10]),
    )


# --- policy -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboundPolicy:
    """The numbers behind the rules; defaults follow the providers' documentation."""

    whatsapp_window: timedelta = timedelta(hours=24)
    meta_standard_window: timedelta = timedelta(hours=24)  # Messenger and Instagram
    human_agent_window: timedelta = timedelta(days=7)
    sms_max_segments: int = 10
    max_length: dict[Channel, int] = field(
        default_factory=lambda: {
            Channel.whatsapp: 4096,
            Channel.messenger: 2000,
            Channel.instagram: 1000,
        }
    )


DEFAULT_POLICY = OutboundPolicy()

# Channels a reply can be typed on at all.
_REPLYABLE = frozenset(
    {Channel.email, Channel.sms, Channel.whatsapp, Channel.messenger, Channel.instagram, Channel.portal}
)


# --- inputs and decision ------------------------------------------------------------------


class Draft(_Frozen):
    """What the agent wants to send.

    ``template`` is the name of an approved WhatsApp template (its variables are filled by
    Meta, so the length rules apply to ``text`` only). ``by_agent`` is false for automation:
    ``HUMAN_AGENT`` may only carry messages written by a person.
    """

    text: str = ""
    template: str | None = None
    has_attachments: bool = False
    by_agent: bool = True


class LengthCheck(_Frozen):
    """Whether a body fits the channel, with the figures to show beside the text box."""

    channel: Channel
    fits: bool
    length: int  # characters (SMS: encoding units)
    limit: int | None  # characters, or SMS units over all allowed segments; None = no limit
    segments: int | None = None
    encoding: SmsEncoding | None = None
    ucs2_triggers: tuple[str, ...] = ()
    code: RefusalCode | None = None
    reason: str | None = None


class OutboundDecision(_Frozen):
    """Allowed or refused, and how to send when allowed (``tag`` for Meta, SMS figures)."""

    channel: Channel
    allowed: bool
    code: RefusalCode | None = None
    reason: str | None = None
    tag: MessageTag | None = None
    segments: int | None = None
    encoding: SmsEncoding | None = None
    length: int = 0
    limit: int | None = None
    window_closes_at: datetime | None = None  # when the current window (or tag period) ends

    @property
    def messaging_type(self) -> str:
        """Meta Send API ``messaging_type``: a tag needs ``MESSAGE_TAG``."""
        return "MESSAGE_TAG" if self.tag is not None else "RESPONSE"


_CHANNEL_NAMES = {
    Channel.whatsapp: "WhatsApp",
    Channel.messenger: "Messenger",
    Channel.instagram: "Instagram",
    Channel.sms: "SMS",
    Channel.email: "email",
    Channel.portal: "the customer space",
}


def _name(channel: Channel) -> str:
    return _CHANNEL_NAMES.get(channel, channel.value)


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours >= 48 and hours % 24 == 0:
        return f"{int(hours // 24)} days"
    return f"{hours:g} hours"


def check_length(channel: Channel, text: str, policy: OutboundPolicy = DEFAULT_POLICY) -> LengthCheck:
    """Does ``text`` fit ``channel``? SMS counts segments; WhatsApp, Messenger, Instagram characters."""
    if channel is Channel.sms:
        info = sms_info(text)
        max_segments = policy.sms_max_segments
        per_part = GSM7_PART if info.encoding is SmsEncoding.gsm7 else UCS2_PART
        single = GSM7_SINGLE if info.encoding is SmsEncoding.gsm7 else UCS2_SINGLE
        limit = single if max_segments == 1 else per_part * max_segments
        fits = info.segments <= max_segments
        reason = None
        if not fits:
            reason = (
                f"This SMS needs {info.segments} segments ({info.encoding.value}); the limit is "
                f"{max_segments}. Shorten it"
                + (
                    f" or replace {', '.join(repr(c) for c in info.ucs2_triggers[:5])}, which force UCS-2"
                    if info.ucs2_triggers
                    else ""
                )
                + "."
            )
        return LengthCheck(
            channel=channel,
            fits=fits,
            length=info.units,
            limit=limit,
            segments=info.segments,
            encoding=info.encoding,
            ucs2_triggers=info.ucs2_triggers,
            code=None if fits else RefusalCode.too_many_segments,
            reason=reason,
        )
    max_length = policy.max_length.get(channel)
    length = len(text)
    fits = max_length is None or length <= max_length
    return LengthCheck(
        channel=channel,
        fits=fits,
        length=length,
        limit=max_length,
        code=None if fits else RefusalCode.too_long,
        reason=None
        if fits
        else f"{_name(channel)} accepts up to {max_length} characters; this reply has {length}.",
    )


def _refuse(channel: Channel, code: RefusalCode, reason: str, **extra: object) -> OutboundDecision:
    return OutboundDecision.model_validate(
        {"channel": channel, "allowed": False, "code": code, "reason": reason, **extra}
    )


def _allow(channel: Channel, **extra: object) -> OutboundDecision:
    return OutboundDecision.model_validate({"channel": channel, "allowed": True, **extra})


def _aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def check_outbound(
    channel: Channel,
    draft: Draft,
    *,
    last_inbound_at: datetime | None,
    now: datetime,
    policy: OutboundPolicy = DEFAULT_POLICY,
) -> OutboundDecision:
    """Decide whether ``draft`` may be sent on ``channel`` now.

    ``last_inbound_at`` is the customer's last inbound message *on this channel* (None if the
    customer never wrote there): windows open with the customer's messages, not ours.
    """
    _aware(now, "now")
    if last_inbound_at is not None:
        _aware(last_inbound_at, "last_inbound_at")

    if channel not in _REPLYABLE:
        hint = "reply by email or SMS" if channel is Channel.phone else "reply by email"
        return _refuse(
            channel,
            RefusalCode.channel_not_supported,
            f"Replies cannot be sent on the {channel.value} channel; {hint}.",
        )
    if draft.template is not None and channel is not Channel.whatsapp:
        return _refuse(
            channel,
            RefusalCode.template_not_supported,
            f"Approved templates exist only on WhatsApp; write a {_name(channel)} reply instead.",
        )
    if draft.template is None and not draft.text.strip() and not draft.has_attachments:
        return _refuse(channel, RefusalCode.empty, "The reply is empty.")

    length = check_length(channel, draft.text, policy) if draft.template is None else None
    sizes: dict[str, object] = {}
    if length is not None:
        sizes = {
            "length": length.length,
            "limit": length.limit,
            "segments": length.segments,
            "encoding": length.encoding,
        }
        if not length.fits:
            assert length.code is not None and length.reason is not None
            return _refuse(channel, length.code, length.reason, **sizes)

    elapsed = None if last_inbound_at is None else max(now - last_inbound_at, timedelta(0))

    if channel is Channel.whatsapp:
        if draft.template is not None:
            return _allow(channel)
        window = policy.whatsapp_window
        if elapsed is None or elapsed >= window:
            since = (
                "The customer has never written on WhatsApp"
                if elapsed is None
                else f"The customer's last WhatsApp message is more than {_hours(window)} old"
            )
            return _refuse(
                channel,
                RefusalCode.template_required,
                f"{since}: WhatsApp only accepts approved templates outside the {_hours(window)} "
                "customer-service window. Pick an approved template.",
                **sizes,
            )
        assert last_inbound_at is not None
        return _allow(channel, window_closes_at=last_inbound_at + window, **sizes)

    if channel in (Channel.messenger, Channel.instagram):
        if elapsed is None:
            return _refuse(
                channel,
                RefusalCode.never_contacted,
                f"Only the customer can start a {_name(channel)} conversation; reply by another channel.",
                **sizes,
            )
        assert last_inbound_at is not None
        standard, tagged = policy.meta_standard_window, policy.human_agent_window
        if elapsed < standard:
            return _allow(channel, window_closes_at=last_inbound_at + standard, **sizes)
        if elapsed < tagged:
            if not draft.by_agent:
                return _refuse(
                    channel,
                    RefusalCode.automated_outside_window,
                    f"Outside the {_hours(standard)} window, {_name(channel)} only accepts messages "
                    "written by an agent (HUMAN_AGENT tag); automated messages are refused.",
                    **sizes,
                )
            return _allow(
                channel, tag=MessageTag.human_agent, window_closes_at=last_inbound_at + tagged, **sizes
            )
        return _refuse(
            channel,
            RefusalCode.window_closed,
            f"The customer's last {_name(channel)} message is more than {_hours(tagged)} old: "
            f"{_name(channel)} refuses replies after that. Reply by email or SMS.",
            **sizes,
        )

    # SMS, email and the customer space: no window.
    return _allow(channel, **sizes)
