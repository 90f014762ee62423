"""The in-memory channel for service tests, the wiring from settings, the HTTP helper's policy."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from shared.adapters.outbound import (
    OutboundChannel,
    OutboundConfig,
    OutboundReply,
    ProviderRejected,
    ProviderUnavailable,
    RejectionKind,
    UnsupportedReply,
    build_channels,
)
from shared.adapters.outbound.fakes import FakeOutboundChannel, fake_channels
from shared.adapters.outbound.http import HttpClient, RetryPolicy
from shared.adapters.outbound.meta_send import MetaSendClient
from shared.adapters.outbound.ses_email import SesEmailClient
from shared.adapters.outbound.twilio_sms import TwilioMessagesClient
from shared.adapters.outbound.whatsapp_cloud import WhatsAppCloudClient
from shared.domain.common import Channel
from shared.domain.message import DeliveryStatus


def reply(channel: Channel = Channel.sms, text: str = "Bonjour") -> OutboundReply:
    return OutboundReply(message_id="m1", ticket_id="K7M3Q9XA", channel=channel, to="+33612345678", text=text)


# --- fake ---------------------------------------------------------------------------------


def test_fake_records_and_answers_like_a_provider() -> None:
    fake, channels = fake_channels()
    sms = channels[Channel.sms].send(reply(text="ê" * 71))
    mail = channels[Channel.email].send(reply(Channel.email))
    assert sms.segments == 2 and sms.status is DeliveryStatus.sent and sms.raw_status == "queued"
    assert sms.provider_message_id != mail.provider_message_id
    assert mail.email_message_id is not None and mail.email_message_id.endswith(".amazonses.com")
    assert [r.channel for r in fake.replies] == [Channel.sms, Channel.email]


def test_fake_scripted_failures_then_success() -> None:
    fake = FakeOutboundChannel([Channel.whatsapp])
    fake.fail_next(
        ProviderRejected(
            "fake", status=400, code="131047", provider_message=None, kind=RejectionKind.outside_window
        ),
        ProviderUnavailable("fake", "HTTP 503 after 3 attempt(s)", status=503, attempts=3),
    )
    with pytest.raises(ProviderRejected):
        fake.send(reply(Channel.whatsapp))
    with pytest.raises(ProviderUnavailable):
        fake.send(reply(Channel.whatsapp))
    assert fake.send(reply(Channel.whatsapp)).provider_message_id.startswith("wamid.")
    assert len(fake.attempts) == 3 and len(fake.sent) == 1
    with pytest.raises(UnsupportedReply):
        fake.send(reply(Channel.sms))


def test_fake_satisfies_the_protocol() -> None:
    channel: OutboundChannel = FakeOutboundChannel()
    assert channel.send(reply()).provider_message_id


def test_reply_repr_hides_personal_data() -> None:
    text = repr(reply(text="secret body"))
    assert "secret body" not in text and "+33612345678" not in text and "K7M3Q9XA" in text


def test_errors_str_is_safe_to_log() -> None:
    error = ProviderRejected("twilio", status=400, code="21211", provider_message="+33612345678 is invalid")
    assert str(error) == "twilio rejected the message (HTTP 400, code 21211, invalid)"
    unavailable = ProviderUnavailable("meta", "read timeout", ambiguous=True)
    assert "meta unavailable: read timeout" in str(unavailable)


# --- wiring -------------------------------------------------------------------------------

SECRETS = {
    "twilio_account_sid": "AC1",
    "twilio_auth_token": "tok",
    "whatsapp_access_token": "wa",
    "messenger_page_access_token": "page",
    "instagram_access_token": "ig",
}


def ses_stub() -> Any:
    return SimpleNamespace(
        meta=SimpleNamespace(service_model=SimpleNamespace(service_name="sesv2"), region_name="eu-west-3")
    )


def test_build_channels_from_environment_names() -> None:
    config = OutboundConfig.model_validate(
        {
            "SUPPORT_EMAIL_FROM": "support@shop.example",
            "TWILIO_API_BASE_URL": "http://127.0.0.1:3000/local/providers/twilio",
            "TWILIO_SMS_FROM": "+33700000000",
            "META_GRAPH_BASE_URL": "http://127.0.0.1:3000/local/providers/meta",
            "WHATSAPP_PHONE_NUMBER_ID": "106",
            "OUTBOUND_READ_TIMEOUT": "5",
        }
    )
    channels = build_channels(config, SECRETS.get, ses_client=ses_stub())
    assert isinstance(channels[Channel.email], SesEmailClient)
    assert isinstance(channels[Channel.sms], TwilioMessagesClient)
    assert isinstance(channels[Channel.whatsapp], WhatsAppCloudClient)
    assert isinstance(channels[Channel.messenger], MetaSendClient)
    assert isinstance(channels[Channel.instagram], MetaSendClient)
    assert channels[Channel.sms].config.base_url == "http://127.0.0.1:3000/local/providers/twilio"
    assert channels[Channel.whatsapp]._http.timeouts.read == 5


def test_channels_without_settings_are_absent_and_whatsapp_can_go_through_twilio() -> None:
    config = OutboundConfig.model_validate(
        {"WHATSAPP_PROVIDER": "twilio", "TWILIO_WHATSAPP_FROM": "+14155238886"}
    )
    channels = build_channels(config, {"twilio_account_sid": "AC1", "twilio_auth_token": "t"}.get)
    assert set(channels) == {Channel.whatsapp}
    assert isinstance(channels[Channel.whatsapp], TwilioMessagesClient)
    assert build_channels(OutboundConfig(), {}.get) == {}


def test_config_rejects_unknown_values() -> None:
    with pytest.raises(ValidationError):
        OutboundConfig.model_validate({"WHATSAPP_PROVIDER": "carrier-pigeon"})
    with pytest.raises(ValidationError):
        OutboundConfig.model_validate({"META_GRAPH_VERSION": "23"})


# --- HTTP helper policy -------------------------------------------------------------------


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(backoff=0.25, max_delay=1.0)
    assert [policy.delay(n, 1.0) for n in (1, 2, 3, 4)] == [0.25, 0.5, 1.0, 1.0]
    assert policy.delay(1, 0.0) == 0.125  # jitter keeps at least half


@pytest.mark.parametrize("url", ["ftp://host", "api.twilio.com", "https://"])
def test_base_url_must_be_http(url: str) -> None:
    with pytest.raises(ValueError, match="base URL"):
        HttpClient(url)


def test_json_and_form_are_exclusive() -> None:
    with pytest.raises(ValueError, match="either"):
        HttpClient("http://127.0.0.1:1").request("POST", "/", json_body={}, form={"a": "b"})
