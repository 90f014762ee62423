"""WhatsApp Cloud API payloads -> events: samples, every message type, batching, bad payloads."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from shared.adapters.channels import meta, whatsapp
from shared.adapters.channels.errors import ChannelPayloadError
from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import DeliveryStatusUpdate, IdentityClaim, InboundMessage
from shared.domain.message import DeliveryStatus
from tests.unit.channels.fixtures import envelope, json_envelope, sample_bytes, sample_json

WAMID_TEXT = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUJDMTIzNDU2Nzg5MABCREVGRwA="
OUR_WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"


def _parse(data) -> list:
    return whatsapp.parse(json_envelope(Channel.whatsapp, data), "whatsapp:sqs:1")


def _with_message(message: dict, contacts: list | None = None) -> dict:
    data = sample_json("whatsapp_message_text.json")
    value = data["entry"][0]["changes"][0]["value"]
    value["messages"] = [{"from": "16505551234", "id": "wamid.X", "timestamp": "1749416383", **message}]
    if contacts is not None:
        value["contacts"] = contacts
    return data


def test_text_sample():
    [event] = whatsapp.parse(envelope(Channel.whatsapp, sample_bytes("whatsapp_message_text.json")), "fb")
    assert isinstance(event, InboundMessage)
    assert event.dedup_key == f"whatsapp:{WAMID_TEXT}"
    assert event.channel is Channel.whatsapp
    assert event.identities == [
        IdentityClaim(kind=IdentityKind.whatsapp, value="16505551234"),
        IdentityClaim(kind=IdentityKind.whatsapp_user, value="US.13491208655302741918"),
        IdentityClaim(kind=IdentityKind.phone, value="+16505551234"),
    ]
    assert event.display_name == "Sheena Nelson"
    assert event.text == "Bonjour, où est ma commande #1001 ?"
    assert event.content_type == "text"
    assert event.sent_at == datetime.fromtimestamp(1749416383, UTC)
    assert event.provider_ids == {"wamid": WAMID_TEXT}
    assert event.metadata["phone_number_id"] == "106540352242922"
    assert event.metadata["waba_id"] == "102290129340398"


def test_image_reply_sample():
    [event] = whatsapp.parse(
        envelope(Channel.whatsapp, sample_bytes("whatsapp_message_image_reply.json")), "fb"
    )
    assert event.content_type == "image"
    assert event.text == "Colis abîmé"
    assert event.reply_to_provider_id == OUR_WAMID
    [attachment] = event.attachments
    assert attachment.provider_media_id == "1003383421387256"
    assert attachment.content_type == "image/jpeg"
    assert attachment.url is None and attachment.storage_key is None
    assert event.metadata["media_sha256"] == "u3iX3d1o8Kp0cF5a2b6m0yQH7Zc1pQ9vVd0nK8Zq2wE="
    assert [c.kind for c in event.identities] == [IdentityKind.whatsapp, IdentityKind.phone]


def test_statuses_sample():
    read, failed = whatsapp.parse(envelope(Channel.whatsapp, sample_bytes("whatsapp_statuses.json")), "fb")
    assert isinstance(read, DeliveryStatusUpdate) and isinstance(failed, DeliveryStatusUpdate)
    assert (read.dedup_key, read.status, read.error) == (
        f"whatsapp:{OUR_WAMID}:read",
        DeliveryStatus.read,
        None,
    )
    assert read.provider_message_id == OUR_WAMID
    assert read.recipient == IdentityClaim(kind=IdentityKind.whatsapp, value="16505551234")
    assert read.at == datetime.fromtimestamp(1749416500, UTC)
    assert failed.status is DeliveryStatus.failed
    assert failed.dedup_key.endswith(":failed")
    assert failed.error is not None
    assert failed.error.startswith(
        "131047 Re-engagement message: Message failed to send because more than 24"
    )


def test_meta_parse_routes_whatsapp_bodies():
    env = envelope(Channel.whatsapp, sample_bytes("whatsapp_statuses.json"))
    assert meta.parse(env, "fb") == whatsapp.parse(env, "fb")


def test_bsuid_only_sender_has_no_phone():
    data = _with_message(
        {"from_user_id": "US.13491208655302741918"},
        contacts=[{"profile": {"name": "Bob", "username": "@bob"}, "user_id": "US.13491208655302741918"}],
    )
    del data["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    [event] = _parse(data)
    assert event.identities == [
        IdentityClaim(kind=IdentityKind.whatsapp_user, value="US.13491208655302741918")
    ]
    assert event.display_name == "Bob"
    assert event.metadata["username"] == "@bob"


@pytest.mark.parametrize("kind", ["audio", "video", "document", "sticker"])
def test_media_types(kind):
    media = {"id": "42", "mime_type": "application/pdf", "sha256": "abc"}
    if kind == "document":
        media |= {"filename": "facture.pdf", "caption": "La facture"}
    [event] = _parse(_with_message({"type": kind, kind: media}))
    assert event.content_type == kind
    assert event.attachments[0].provider_media_id == "42"
    if kind == "document":
        assert (event.attachments[0].name, event.text) == ("facture.pdf", "La facture")


def test_location():
    location = {"latitude": 48.8566, "longitude": 2.3522, "name": "Entrepôt", "address": "1 rue de Paris"}
    [event] = _parse(_with_message({"type": "location", "location": location}))
    assert event.content_type == "location"
    assert event.text == "Entrepôt, 1 rue de Paris, (48.8566, 2.3522)"
    assert (event.metadata["latitude"], event.metadata["longitude"]) == ("48.8566", "2.3522")


@pytest.mark.parametrize(
    ("interactive", "text", "reply_id"),
    [
        ({"type": "button_reply", "button_reply": {"id": "yes", "title": "Oui"}}, "Oui", "yes"),
        (
            {"type": "list_reply", "list_reply": {"id": "r2", "title": "Retour", "description": "d"}},
            "Retour",
            "r2",
        ),
    ],
)
def test_interactive_replies(interactive, text, reply_id):
    [event] = _parse(_with_message({"type": "interactive", "interactive": interactive}))
    assert (event.content_type, event.text, event.metadata["reply_id"]) == ("interactive", text, reply_id)


def test_template_button_reply():
    [event] = _parse(
        _with_message({"type": "button", "button": {"payload": "STOP", "text": "Ne plus recevoir"}})
    )
    assert (event.content_type, event.raw_type, event.text) == ("interactive", "button", "Ne plus recevoir")
    assert event.metadata["reply_id"] == "STOP"


def test_reaction_points_at_the_message():
    [event] = _parse(
        _with_message({"type": "reaction", "reaction": {"message_id": OUR_WAMID, "emoji": "👍"}})
    )
    assert (event.content_type, event.text, event.reply_to_provider_id) == ("reaction", "👍", OUR_WAMID)


@pytest.mark.parametrize(
    "message",
    [
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "Ann"}}]},
        {"type": "order", "order": {"catalog_id": "1"}},
        {"type": "unsupported", "errors": [{"code": 131051, "title": "Message type unknown"}]},
        {"type": "system", "system": {"body": "User changed number", "wa_id": "33700000000"}},
        {"type": "brand_new_type", "brand_new_type": "???"},
        {"type": "text"},  # a text without its body object
        {},  # no type at all
    ],
)
def test_anything_else_is_unsupported_never_an_error(message):
    [event] = _parse(_with_message(message))
    assert event.content_type == "unsupported"
    assert event.raw_type == (message.get("type") or "unknown")
    assert event.dedup_key == "whatsapp:wamid.X"


def test_unsupported_keeps_what_an_agent_can_read():
    [system] = _parse(
        _with_message({"type": "system", "system": {"body": "Changed", "wa_id": "33700000000"}})
    )
    assert (system.text, system.metadata["new_wa_id"]) == ("Changed", "33700000000")
    [error] = _parse(_with_message({"type": "unsupported", "errors": [{"code": 1, "title": "Unknown"}]}))
    assert error.metadata["error"] == "Unknown"


def test_every_entry_change_message_and_status_is_handled():
    data = sample_json("whatsapp_message_text.json")
    first = data["entry"][0]
    second_change = copy.deepcopy(first["changes"][0])
    second_change["value"]["messages"][0]["id"] = "wamid.B"
    second_change["value"]["messages"].append({**second_change["value"]["messages"][0], "id": "wamid.C"})
    statuses = sample_json("whatsapp_statuses.json")["entry"][0]
    data["entry"] = [{**first, "changes": [first["changes"][0], second_change]}, statuses]
    data["entry"][0]["changes"].append(
        {"field": "message_template_status_update", "value": {"event": "APPROVED"}}
    )
    events = _parse(data)
    assert [e.dedup_key for e in events] == [
        f"whatsapp:{WAMID_TEXT}",
        "whatsapp:wamid.B",
        "whatsapp:wamid.C",
        f"whatsapp:{OUR_WAMID}:read",
        "whatsapp:wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJGRkZGRkZGRkZGRkZGRkZGAA==:failed",
    ]


def test_contact_is_matched_to_its_message_in_a_group_of_senders():
    data = _with_message({"from": "33612345678", "type": "text", "text": {"body": "hi"}})
    data["entry"][0]["changes"][0]["value"]["contacts"] = [
        {"profile": {"name": "Other"}, "wa_id": "16505551234"},
        {"profile": {"name": "Léa"}, "wa_id": "33612345678"},
    ]
    [event] = _parse(data)
    assert event.display_name == "Léa"
    assert event.identities[0] == IdentityClaim(kind=IdentityKind.whatsapp, value="33612345678")


def test_unknown_statuses_are_skipped_and_bsuid_recipients_recognised():
    data = sample_json("whatsapp_statuses.json")
    value = data["entry"][0]["changes"][0]["value"]
    value["statuses"][0]["status"] = "deleted"
    value["statuses"][1]["recipient_id"] = "US.13491208655302741918"
    [update] = _parse(data)
    assert update.recipient == IdentityClaim(kind=IdentityKind.whatsapp_user, value="US.13491208655302741918")


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d.pop("entry"), "entry"),
        (lambda d: d.update(object="page"), "object"),
        (lambda d: d["entry"][0]["changes"][0]["value"]["messages"][0].pop("id"), ".id is missing"),
        (lambda d: d["entry"][0]["changes"][0]["value"]["messages"][0].pop("timestamp"), "timestamp"),
        (lambda d: d["entry"][0]["changes"][0]["value"]["messages"][0].update(timestamp="soon"), "timestamp"),
        (lambda d: d["entry"][0]["changes"][0]["value"].update(messages={"id": 1}), "messages"),
        (lambda d: d["entry"].append("nope"), "entry[1]"),
    ],
)
def test_malformed_payloads_raise_a_clear_error(mutate, fragment):
    data = sample_json("whatsapp_message_text.json")
    mutate(data)
    with pytest.raises(ChannelPayloadError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        _parse(data)


def test_a_sender_with_no_usable_identity_is_an_error():
    data = _with_message({"from": "not-a-number", "type": "text", "text": {"body": "x"}}, contacts=[])
    with pytest.raises(ChannelPayloadError, match="no usable sender"):
        _parse(data)


@pytest.mark.parametrize("body", ["", "not json", "[1, 2]", '"text"'])
def test_bodies_that_are_not_a_json_object(body):
    with pytest.raises(ChannelPayloadError):
        whatsapp.parse(envelope(Channel.whatsapp, body), "fb")


def test_base64_envelope_bodies_are_decoded():
    import base64

    raw = sample_bytes("whatsapp_message_text.json")
    env = envelope(Channel.whatsapp, base64.b64encode(raw).decode(), body_encoding="base64")
    [event] = whatsapp.parse(env, "fb")
    assert event.dedup_key == f"whatsapp:{WAMID_TEXT}"
