"""Twilio form posts -> inbound messages, delivery statuses and call records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

import pytest

from shared.adapters.channels import twilio
from shared.adapters.channels.errors import ChannelPayloadError
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import CallRecord, DeliveryStatusUpdate, IdentityClaim, InboundMessage
from shared.domain.message import DeliveryStatus
from tests.unit.channels.fixtures import RECEIVED_AT, envelope, sample_bytes

FORM = "application/x-www-form-urlencoded"


def _sample(name: str) -> str:
    return sample_bytes(name).decode().strip()


def _parse(body: str, channel: Channel = Channel.sms, **extra):
    return twilio.parse(envelope(channel, body, FORM, **extra), "sms:sqs:1")


def _form(**params: str) -> str:
    return urlencode(params)


def test_sms_sample():
    [event] = _parse(_sample("twilio_sms_inbound.form"))
    assert isinstance(event, InboundMessage)
    assert event.dedup_key == "twilio:SM0123456789abcdef0123456789abcdef"
    assert event.channel is Channel.sms
    assert event.identities == [IdentityClaim(kind=IdentityKind.phone, value="+33612345678")]
    assert event.text == "Ma commande #1001 n'est pas arrivée"
    assert (event.content_type, event.attachments) == ("text", [])
    assert event.sent_at == RECEIVED_AT  # Twilio sends no time with a message
    assert event.metadata["to"] == "+33757000000"


def test_whatsapp_via_twilio_sample():
    [event] = _parse(_sample("twilio_whatsapp_inbound_media.form"))
    assert event.channel is Channel.whatsapp
    assert event.dedup_key == "twilio:MM89abcdef0123456789abcdef01234567"
    assert event.identities == [
        IdentityClaim(kind=IdentityKind.whatsapp, value="33612345678"),
        IdentityClaim(kind=IdentityKind.phone, value="+33612345678"),
    ]
    assert event.display_name == "Sheena"
    assert (event.content_type, event.text) == ("image", "Photo du colis")
    [attachment] = event.attachments
    assert attachment.content_type == "image/jpeg"
    assert attachment.url is not None and attachment.url.endswith("/Media/ME0123456789abcdef0123456789abcdef")
    assert event.metadata["to"] == "+14155238886"


def test_message_status_sample():
    [event] = _parse(_sample("twilio_message_status_callback.form"))
    assert isinstance(event, DeliveryStatusUpdate)
    assert event.dedup_key == "twilio:SM1111111111111111111111111111111a:delivered"
    assert (event.status, event.error, event.channel) == (DeliveryStatus.delivered, None, Channel.sms)
    assert event.provider_message_id == "SM1111111111111111111111111111111a"
    assert event.recipient == IdentityClaim(kind=IdentityKind.phone, value="+33612345678")


def test_voice_status_sample():
    [event] = _parse(_sample("twilio_voice_status_callback.form"), Channel.phone)
    assert isinstance(event, CallRecord)
    assert event.dedup_key == "twilio:CA0123456789abcdef0123456789abcdef:completed:3"
    assert (event.provider, event.provider_call_id) == ("twilio", "CA0123456789abcdef0123456789abcdef")
    assert (event.direction, event.status, event.duration_s, event.sequence) == (
        "inbound",
        "completed",
        142,
        3,
    )
    assert event.caller == IdentityClaim(kind=IdentityKind.phone, value="+33612345678")
    assert event.recording_url is not None and event.recording_url.endswith(
        "RE0123456789abcdef0123456789abcdef"
    )
    assert event.at == datetime(2025, 6, 10, 14, 3, 12, tzinfo=UTC)
    assert event.completed and not event.missed


def test_params_given_by_the_webhook_win_over_the_body():
    params = dict(parse_qsl(_sample("twilio_sms_inbound.form"), keep_blank_values=True))
    [from_params] = _parse("", params=params)
    [from_body] = _parse(_sample("twilio_sms_inbound.form"))
    assert from_params == from_body
    as_lists = {k: [v] for k, v in params.items()}
    assert _parse("", params=as_lists) == [from_body]


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("queued", DeliveryStatus.sent),
        ("sending", DeliveryStatus.sent),
        ("sent", DeliveryStatus.sent),
        ("delivered", DeliveryStatus.delivered),
        ("read", DeliveryStatus.read),
        ("undelivered", DeliveryStatus.failed),
        ("failed", DeliveryStatus.failed),
    ],
)
def test_message_statuses(raw, status):
    body = _form(MessageSid="SM1", MessageStatus=raw, To="+33612345678", From="+33757000000")
    [event] = _parse(body)
    assert (event.status, event.dedup_key) == (status, f"twilio:SM1:{raw}")


def test_failed_status_carries_the_error_code():
    body = _form(MessageSid="SM1", MessageStatus="undelivered", ErrorCode="30003", To="+33612345678")
    [event] = _parse(body)
    assert (event.status, event.error) == (DeliveryStatus.failed, "30003")
    body = _form(MessageSid="SM1", MessageStatus="failed", ErrorCode="63016", ErrorMessage="Outside window")
    [event] = _parse(body)
    assert event.error == "63016: Outside window"


def test_whatsapp_status_is_on_the_whatsapp_channel():
    body = _form(
        MessageSid="SM2", MessageStatus="read", To="whatsapp:+33612345678", From="whatsapp:+14155238886"
    )
    [event] = _parse(body)
    assert event.channel is Channel.whatsapp
    assert event.recipient == IdentityClaim(kind=IdentityKind.whatsapp, value="33612345678")


def test_unknown_statuses_are_skipped():
    assert _parse(_form(MessageSid="SM1", MessageStatus="brand-new-status")) == []


def test_reply_to_and_several_media():
    body = _form(
        MessageSid="MM1",
        From="whatsapp:+33612345678",
        To="whatsapp:+14155238886",
        Body="",
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/m0",
        MediaContentType0="application/pdf",
        MediaUrl1="https://api.twilio.com/m1",
        MediaContentType1="image/png",
        OriginalRepliedMessageSid="MM0",
        MessageType="document",
    )
    [event] = _parse(body)
    assert event.reply_to_provider_id == "MM0"
    assert [a.url for a in event.attachments] == ["https://api.twilio.com/m0", "https://api.twilio.com/m1"]
    assert event.content_type == "document"


def test_whatsapp_location_button_and_unknown_types():
    base = {"MessageSid": "MM1", "From": "whatsapp:+33612345678", "To": "whatsapp:+14155238886"}
    [location] = _parse(
        _form(**base, MessageType="location", Latitude="48.85", Longitude="2.35", Address="1 rue X", Body="")
    )
    assert (location.content_type, location.text) == ("location", "1 rue X, (48.85, 2.35)")
    [button] = _parse(_form(**base, MessageType="button", ButtonText="Oui", ButtonPayload="YES", Body="Oui"))
    assert (button.content_type, button.text, button.metadata["reply_id"]) == ("interactive", "Oui", "YES")
    [unknown] = _parse(_form(**base, MessageType="contacts", Body=""))
    assert (unknown.content_type, unknown.raw_type) == ("unsupported", "contacts")


@pytest.mark.parametrize(
    ("direction", "caller"),
    [
        ("inbound", "+33612345678"),
        ("outbound-api", "+33698765432"),
        ("outbound-dial", "+33698765432"),
    ],
)
def test_call_direction_and_the_customer_number(direction, caller):
    body = _form(
        CallSid="CA1",
        CallStatus="no-answer",
        Direction=direction,
        From="+33612345678",
        To="+33698765432",
        SequenceNumber="1",
    )
    [event] = _parse(body, Channel.phone)
    assert event.direction == ("inbound" if direction == "inbound" else "outbound")
    assert event.caller == IdentityClaim(kind=IdentityKind.phone, value=caller)
    assert event.status == "no-answer"
    assert event.missed == (direction == "inbound")
    assert event.duration_s is None and event.recording_url is None
    assert event.dedup_key == "twilio:CA1:no-answer:1"


def test_anonymous_or_client_callers_have_no_identity():
    body = _form(
        CallSid="CA1", CallStatus="busy", Direction="inbound", From="client:agent42", To="+33757000000"
    )
    [event] = _parse(body, Channel.phone)
    assert event.caller is None
    assert event.dedup_key == "twilio:CA1:busy:-"


def test_json_body_callbacks():
    body = json.dumps({"MessageSid": "SM9", "MessageStatus": "delivered", "To": "+33612345678"})
    [event] = twilio.parse(envelope(Channel.sms, body, "application/json"), "fb")
    assert event.dedup_key == "twilio:SM9:delivered"


@pytest.mark.parametrize(
    "body",
    [
        "",
        _form(Body="hello"),  # no MessageSid, no CallSid
        _form(MessageSid="SM1", Body="x"),  # no From
        _form(MessageSid="SM1", From="12", Body="x"),  # From not a number
        _form(CallSid="CA1", CallStatus="completed", CallDuration="long"),
    ],
)
def test_malformed_posts_raise_a_clear_error(body):
    with pytest.raises(ChannelPayloadError):
        _parse(body)


def test_an_envelope_without_body_or_params_is_an_error():
    from shared.domain.inbound import InboundEnvelope

    env = InboundEnvelope(channel=Channel.sms, received_at=RECEIVED_AT, reference="D1", payload={})
    with pytest.raises(ChannelPayloadError, match="no params and no body"):
        twilio.parse(env, "fb")


def test_a_connect_event_routed_here_says_where_it_belongs():
    from shared.domain.inbound import InboundEnvelope

    payload = {"eventbridge": {"source": "aws.connect", "detail": {}}}
    env = InboundEnvelope(channel=Channel.phone, received_at=RECEIVED_AT, reference="r", payload=payload)
    with pytest.raises(ChannelPayloadError, match=r"connect\.parse"):
        twilio.parse(env, "fb")
