"""Channel rules: windows to the second, SMS encoding and segments, length limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.common import Channel
from shared.domain.outbound_rules import (
    Draft,
    MessageTag,
    OutboundPolicy,
    RefusalCode,
    SmsEncoding,
    check_length,
    check_outbound,
    sms_info,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
CURLY = "\u2019"  # the curly apostrophe, a frequent UCS-2 trigger in French
TEXT = Draft(text="Bonjour, votre colis part demain.")


def decide(channel: Channel, ago: timedelta | None, draft: Draft = TEXT, **kw: object):
    last = None if ago is None else NOW - ago
    return check_outbound(channel, draft, last_inbound_at=last, now=NOW, **kw)


# --- WhatsApp -----------------------------------------------------------------------------


def test_whatsapp_free_text_inside_the_window() -> None:
    decision = decide(Channel.whatsapp, timedelta(hours=23, minutes=59, seconds=59))
    assert decision.allowed and decision.tag is None
    assert decision.window_closes_at == NOW + timedelta(seconds=1)


def test_whatsapp_free_text_at_exactly_24_hours_is_refused_with_a_template_hint() -> None:
    decision = decide(Channel.whatsapp, timedelta(hours=24))
    assert not decision.allowed
    assert decision.code is RefusalCode.template_required
    assert "Pick an approved template" in (decision.reason or "")
    assert "24 hours" in (decision.reason or "")


def test_whatsapp_never_contacted_needs_a_template() -> None:
    decision = decide(Channel.whatsapp, None)
    assert decision.code is RefusalCode.template_required
    assert "never written on WhatsApp" in (decision.reason or "")


def test_whatsapp_template_is_allowed_outside_the_window() -> None:
    draft = Draft(template="order_update")
    assert decide(Channel.whatsapp, timedelta(days=30), draft).allowed
    assert decide(Channel.whatsapp, None, draft).allowed


def test_whatsapp_length_limit() -> None:
    ok = decide(Channel.whatsapp, timedelta(hours=1), Draft(text="a" * 4096))
    too_long = decide(Channel.whatsapp, timedelta(hours=1), Draft(text="a" * 4097))
    assert ok.allowed and ok.length == 4096 and ok.limit == 4096
    assert not too_long.allowed and too_long.code is RefusalCode.too_long
    assert "4096" in (too_long.reason or "")


def test_a_clock_ahead_of_the_inbound_time_counts_as_inside() -> None:
    assert decide(Channel.whatsapp, timedelta(seconds=-5)).allowed


# --- Messenger and Instagram --------------------------------------------------------------


@pytest.mark.parametrize("channel", [Channel.messenger, Channel.instagram])
def test_meta_standard_window_has_no_tag(channel: Channel) -> None:
    decision = decide(channel, timedelta(hours=23))
    assert decision.allowed and decision.tag is None
    assert decision.messaging_type == "RESPONSE"


@pytest.mark.parametrize("channel", [Channel.messenger, Channel.instagram])
def test_meta_at_exactly_24_hours_uses_human_agent(channel: Channel) -> None:
    decision = decide(channel, timedelta(hours=24))
    assert decision.allowed
    assert decision.tag is MessageTag.human_agent
    assert decision.messaging_type == "MESSAGE_TAG"
    assert decision.window_closes_at == NOW - timedelta(hours=24) + timedelta(days=7)


@pytest.mark.parametrize("channel", [Channel.messenger, Channel.instagram])
def test_meta_just_before_7_days_still_tagged(channel: Channel) -> None:
    decision = decide(channel, timedelta(days=7) - timedelta(seconds=1))
    assert decision.allowed and decision.tag is MessageTag.human_agent


@pytest.mark.parametrize("channel", [Channel.messenger, Channel.instagram])
def test_meta_at_exactly_7_days_is_refused(channel: Channel) -> None:
    decision = decide(channel, timedelta(days=7))
    assert not decision.allowed
    assert decision.code is RefusalCode.window_closed
    assert "7 days" in (decision.reason or "") and "email or SMS" in (decision.reason or "")


def test_human_agent_is_only_for_people() -> None:
    decision = decide(Channel.messenger, timedelta(days=2), Draft(text="Rappel", by_agent=False))
    assert not decision.allowed and decision.code is RefusalCode.automated_outside_window
    assert decide(Channel.messenger, timedelta(hours=2), Draft(text="Rappel", by_agent=False)).allowed


def test_meta_needs_the_customer_to_start() -> None:
    decision = decide(Channel.instagram, None)
    assert decision.code is RefusalCode.never_contacted


def test_instagram_and_messenger_limits() -> None:
    assert decide(Channel.instagram, timedelta(hours=1), Draft(text="a" * 1000)).allowed
    assert decide(Channel.instagram, timedelta(hours=1), Draft(text="a" * 1001)).code is RefusalCode.too_long
    assert decide(Channel.messenger, timedelta(hours=1), Draft(text="a" * 2000)).allowed
    assert decide(Channel.messenger, timedelta(hours=1), Draft(text="a" * 2001)).code is RefusalCode.too_long


def test_templates_are_whatsapp_only() -> None:
    decision = decide(Channel.messenger, timedelta(hours=1), Draft(template="order_update"))
    assert decision.code is RefusalCode.template_not_supported


# --- SMS ----------------------------------------------------------------------------------


def test_gsm7_single_and_concatenated() -> None:
    one = sms_info("é" * 160)
    assert (one.encoding, one.segments, one.units, one.per_segment) == (SmsEncoding.gsm7, 1, 160, 160)
    two = sms_info("é" * 161)
    assert (two.segments, two.per_segment) == (2, 153)
    assert sms_info("a" * 306).segments == 2
    assert sms_info("a" * 307).segments == 3


def test_french_accents_split_gsm7_and_ucs2() -> None:
    for char in "éèàùÉÇ":
        assert sms_info(f"Merci {char}").encoding is SmsEncoding.gsm7, char
    for char in "êâîôûçœ«»" + CURLY:
        info = sms_info(f"Merci {char}")
        assert info.encoding is SmsEncoding.ucs2, char
        assert info.ucs2_triggers == (char,)


def test_one_non_gsm_character_switches_the_whole_message() -> None:
    text = "a" * 69 + "ê"
    assert sms_info(text).segments == 1
    assert sms_info(text + "a").segments == 2
    assert sms_info("ê" * 134).segments == 2
    assert sms_info("ê" * 135).segments == 3


def test_emoji_counts_two_utf16_units() -> None:
    assert sms_info("😀" * 35).segments == 1
    info = sms_info("😀" * 36)
    assert (info.encoding, info.units, info.segments) == (SmsEncoding.ucs2, 72, 2)


def test_surrogate_pairs_are_not_split_across_parts() -> None:
    # 66 units then an emoji: 68 units do not fit one 67-unit part, so the emoji starts part 2.
    text = "ê" * 66 + "😀" + "ê" * 66
    assert sms_info(text).segments == 3


def test_extended_characters_count_double() -> None:
    assert sms_info("€" * 80).units == 160
    assert sms_info("€" * 80).segments == 1
    assert sms_info("€" * 81).segments == 2
    for char in "[]{}\\^~|€":
        info = sms_info(char)
        assert (info.encoding, info.units) == (SmsEncoding.gsm7, 2), char


def test_escape_pair_is_not_split_across_parts() -> None:
    # 306 septets would fill exactly two 153-septet parts, but only if ESC and "€" could be
    # separated: "€" after 152 septets moves to part 2, which then overflows into part 3.
    text = "a" * 152 + "€" + "a" * 152
    assert sms_info(text).units == 306
    assert sms_info(text).segments == 3


def test_empty_sms_has_no_segment() -> None:
    assert sms_info("").segments == 0


def test_sms_segment_cap_is_configurable() -> None:
    policy = OutboundPolicy(sms_max_segments=2)
    assert decide(Channel.sms, None, Draft(text="a" * 306), policy=policy).allowed
    refused = decide(Channel.sms, None, Draft(text="a" * 307), policy=policy)
    assert refused.code is RefusalCode.too_many_segments
    assert refused.segments == 3 and refused.encoding is SmsEncoding.gsm7


def test_sms_decision_reports_segments_and_the_culprit() -> None:
    decision = decide(Channel.sms, None, Draft(text=f"Merci {CURLY} " + "a" * 700))
    assert not decision.allowed
    assert decision.encoding is SmsEncoding.ucs2
    assert f"'{CURLY}'" in (decision.reason or "")
    ok = decide(Channel.sms, None, Draft(text="Votre colis arrive demain."))
    assert ok.allowed and ok.segments == 1 and ok.encoding is SmsEncoding.gsm7


def test_check_length_for_sms_gives_the_limit_in_units() -> None:
    check = check_length(Channel.sms, "hello", OutboundPolicy(sms_max_segments=1))
    assert check.fits and check.limit == 160
    assert check_length(Channel.sms, "hello", OutboundPolicy(sms_max_segments=10)).limit == 1530


# --- email, other channels, inputs --------------------------------------------------------


def test_email_is_always_allowed() -> None:
    decision = decide(Channel.email, None, Draft(text="x" * 100_000))
    assert decision.allowed and decision.limit is None


def test_empty_reply_is_refused_unless_it_has_attachments() -> None:
    assert decide(Channel.email, None, Draft(text="  \n")).code is RefusalCode.empty
    assert decide(Channel.email, None, Draft(text="", has_attachments=True)).allowed


@pytest.mark.parametrize("channel", [Channel.phone, Channel.web_form])
def test_channels_without_replies(channel: Channel) -> None:
    decision = decide(channel, timedelta(hours=1))
    assert decision.code is RefusalCode.channel_not_supported
    assert "email" in (decision.reason or "")


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_outbound(Channel.sms, TEXT, last_inbound_at=None, now=datetime(2026, 1, 1))


def test_decision_serialises_for_the_api() -> None:
    body = decide(Channel.whatsapp, timedelta(days=2)).model_dump(mode="json")
    assert body["allowed"] is False and body["code"] == "template_required"
