"""Messenger and Instagram payloads -> messages, echoes, receipts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.adapters.channels import messenger, meta
from shared.adapters.channels.errors import ChannelPayloadError
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import (
    DeliveryStatusUpdate,
    IdentityClaim,
    InboundMessage,
    OutboundEcho,
    ReadWatermark,
)
from shared.domain.message import DeliveryStatus
from tests.unit.channels.fixtures import envelope, json_envelope, sample_bytes, sample_json

PSID = "7316512345678901"
PAGE = "682498302938465"
IGSID = "1164875501234567"


def _parse(data, channel=Channel.messenger):
    return messenger.parse(json_envelope(channel, data), "messenger:sqs:1")


def _one_message(message: dict, object_="page") -> dict:
    return {
        "object": object_,
        "entry": [
            {
                "id": PAGE,
                "time": 1518479195594,
                "messaging": [
                    {
                        "sender": {"id": PSID},
                        "recipient": {"id": PAGE},
                        "timestamp": 1518479195308,
                        "message": {"mid": "m_1", **message},
                    }
                ],
            }
        ],
    }


def test_messenger_message_sample():
    [event] = messenger.parse(envelope(Channel.messenger, sample_bytes("messenger_message.json")), "fb")
    assert isinstance(event, InboundMessage)
    assert event.channel is Channel.messenger
    assert event.dedup_key.startswith("messenger:m_AG5Hz2Uq7")
    assert event.identities == [IdentityClaim(kind=IdentityKind.messenger, value=PSID)]
    assert event.text == "Je veux retourner un article"
    assert event.content_type == "text"
    [attachment] = event.attachments
    assert attachment.url == "https://scontent.xx.fbcdn.net/v/t1.15752-9/example.jpg"
    assert attachment.content_type == "image/*"
    assert event.sent_at == datetime.fromtimestamp(1518479195.308, UTC)
    assert event.metadata == {"account_id": PAGE}


def test_echo_delivery_and_read_sample():
    echo, delivery, read = messenger.parse(
        envelope(Channel.messenger, sample_bytes("messenger_echo_delivery_read.json")), "fb"
    )
    assert isinstance(echo, OutboundEcho)
    assert echo.dedup_key == "messenger:echo:m_echo_0001"
    assert echo.recipient == IdentityClaim(kind=IdentityKind.messenger, value=PSID)
    assert echo.text == "Bien sûr, voici l'étiquette de retour."
    assert echo.app_id == "1517776481860111"
    assert echo.provider_message_id == "m_echo_0001"

    assert isinstance(delivery, ReadWatermark)
    assert delivery.dedup_key == f"messenger:delivery:{PSID}:1518479299500"
    assert delivery.status is DeliveryStatus.delivered
    assert delivery.mids == ["m_echo_0001"]
    assert delivery.watermark == datetime.fromtimestamp(1518479299.5, UTC)
    assert delivery.recipient == IdentityClaim(kind=IdentityKind.messenger, value=PSID)

    assert isinstance(read, ReadWatermark)
    assert read.dedup_key == f"messenger:read:{PSID}:1518479299500"
    assert read.status is DeliveryStatus.read


def test_an_echo_is_never_a_customer_message():
    events = _parse(sample_json("messenger_echo_delivery_read.json"))
    assert not any(isinstance(e, InboundMessage) for e in events)


def test_instagram_sample():
    message, read = messenger.parse(envelope(Channel.instagram, sample_bytes("instagram_message.json")), "fb")
    assert isinstance(message, InboundMessage)
    assert message.channel is Channel.instagram
    assert message.dedup_key.startswith("instagram:aWdfZAG1")
    assert message.identities == [IdentityClaim(kind=IdentityKind.instagram, value=IGSID)]
    assert message.text == "Vous livrez en Belgique ?"
    assert isinstance(read, DeliveryStatusUpdate)
    assert read.status is DeliveryStatus.read
    assert read.provider_message_id == message.provider_ids["mid"]
    assert read.dedup_key == f"instagram:read:{IGSID}:{read.provider_message_id}"
    assert read.recipient == IdentityClaim(kind=IdentityKind.instagram, value=IGSID)


def test_meta_parse_routes_page_and_instagram_bodies():
    for name, channel in (
        ("messenger_message.json", Channel.messenger),
        ("instagram_message.json", Channel.instagram),
    ):
        env = envelope(channel, sample_bytes(name))
        assert meta.parse(env, "fb") == messenger.parse(env, "fb")


def test_quick_reply_and_reply_to():
    [event] = _parse(
        _one_message({"text": "Oui", "quick_reply": {"payload": "YES"}, "reply_to": {"mid": "m_0"}})
    )
    assert event.metadata["quick_reply_payload"] == "YES"
    assert event.reply_to_provider_id == "m_0"


@pytest.mark.parametrize(
    ("attachment_type", "content_type", "raw_type"),
    [
        ("image", "image", None),
        ("video", "video", None),
        ("audio", "audio", None),
        ("file", "document", None),
        ("ig_reel", "video", None),
        ("share", "unsupported", "share"),
        ("story_mention", "unsupported", "story_mention"),
    ],
)
def test_attachment_only_messages(attachment_type, content_type, raw_type):
    message = {"attachments": [{"type": attachment_type, "payload": {"url": "https://cdn.example/x"}}]}
    [event] = _parse(_one_message(message))
    assert (event.content_type, event.raw_type, event.text) == (content_type, raw_type, "")
    assert event.attachments[0].url == "https://cdn.example/x"


def test_instagram_deleted_and_unsupported_messages():
    [deleted] = _parse(_one_message({"is_deleted": True}, "instagram"), Channel.instagram)
    assert (deleted.content_type, deleted.raw_type) == ("unsupported", "is_deleted")
    assert deleted.dedup_key == "instagram:deleted:m_1"  # not the original's key, or it would be dropped
    [unsupported] = _parse(_one_message({"is_unsupported": True}, "instagram"), Channel.instagram)
    assert (unsupported.content_type, unsupported.raw_type) == ("unsupported", "is_unsupported")
    assert unsupported.dedup_key == "instagram:m_1"


def test_instagram_echo_inside_messages():
    data = _one_message({"is_echo": True, "text": "Merci !"}, "instagram")
    item = data["entry"][0]["messaging"][0]
    item["sender"], item["recipient"] = {"id": PAGE}, {"id": IGSID}
    [echo] = _parse(data, Channel.instagram)
    assert isinstance(echo, OutboundEcho)
    assert echo.recipient == IdentityClaim(kind=IdentityKind.instagram, value=IGSID)
    assert echo.dedup_key == "instagram:echo:m_1"


def test_instagram_changes_shape_is_read_too():
    data = _one_message({"text": "Bonjour"}, "instagram")
    entry = data["entry"][0]
    entry["changes"] = [{"field": "messages", "value": entry.pop("messaging")[0]}]
    [event] = _parse(data, Channel.instagram)
    assert event.text == "Bonjour"


def test_postbacks_and_reactions():
    data = _one_message({})
    item = data["entry"][0]["messaging"][0]
    del item["message"]
    item["postback"] = {"mid": "m_pb", "title": "Suivre ma commande", "payload": "TRACK"}
    [postback] = _parse(data)
    assert (postback.content_type, postback.text, postback.dedup_key) == (
        "interactive",
        "Suivre ma commande",
        "messenger:m_pb",
    )
    del item["postback"]
    item["reaction"] = {"mid": "m_echo_0001", "action": "react", "reaction": "love", "emoji": "❤"}
    [reaction] = _parse(data)
    assert (reaction.content_type, reaction.text, reaction.reply_to_provider_id) == (
        "reaction",
        "❤",
        "m_echo_0001",
    )
    assert reaction.dedup_key == f"messenger:reaction:{PSID}:m_echo_0001:react:1518479195308"


def test_events_guichet_does_not_use_are_skipped():
    data = _one_message({})
    item = data["entry"][0]["messaging"][0]
    del item["message"]
    item["optin"] = {"ref": "x"}
    assert _parse(data) == []


def test_every_entry_and_item_is_handled():
    first = sample_json("messenger_message.json")
    second = sample_json("messenger_echo_delivery_read.json")
    data = {"object": "page", "entry": first["entry"] + second["entry"]}
    assert [type(e).__name__ for e in _parse(data)] == [
        "InboundMessage",
        "OutboundEcho",
        "ReadWatermark",
        "ReadWatermark",
    ]


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d.update(object="user"), "object"),
        (lambda d: d.pop("entry"), "entry"),
        (lambda d: d["entry"][0]["messaging"][0].pop("sender"), "sender"),
        (lambda d: d["entry"][0]["messaging"][0]["message"].pop("mid"), "mid"),
        (lambda d: d["entry"][0]["messaging"][0].update(timestamp="later"), "timestamp"),
    ],
)
def test_malformed_payloads_raise_a_clear_error(mutate, fragment):
    data = sample_json("messenger_message.json")
    mutate(data)
    with pytest.raises(ChannelPayloadError, match=fragment):
        _parse(data)


def test_an_echo_without_recipient_is_an_error():
    data = sample_json("messenger_echo_delivery_read.json")
    del data["entry"][0]["messaging"][0]["recipient"]
    with pytest.raises(ChannelPayloadError, match="recipient"):
        _parse(data)
