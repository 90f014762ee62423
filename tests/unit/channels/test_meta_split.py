"""A Meta delivery split into one body per event parses into the same events, in order."""

from __future__ import annotations

import copy
import json
import random

import pytest

from shared.adapters.channels import messenger, meta_split, whatsapp
from tests.unit.channels.fixtures import RECEIVED_AT, sample_bytes


def _parse(body: dict) -> list:
    if body["object"] == "whatsapp_business_account":
        return whatsapp.parse_body(body, received_at=RECEIVED_AT)
    return messenger.parse_body(body, received_at=RECEIVED_AT)


def _sample(name: str) -> dict:
    return json.loads(sample_bytes(name))


def _whatsapp_batch(count: int, seed: int = 7) -> dict:
    """A WhatsApp delivery of ``count`` events from several senders and numbers: messages,
    statuses, a template-status change, two entries (two business accounts)."""
    rng = random.Random(seed)
    text = _sample("whatsapp_message_text.json")
    statuses = _sample("whatsapp_statuses.json")
    message = text["entry"][0]["changes"][0]["value"]["messages"][0]
    status = statuses["entry"][0]["changes"][0]["value"]["statuses"][0]
    entries = []
    for account in range(2):
        value = copy.deepcopy(text["entry"][0]["changes"][0]["value"])
        value["contacts"], value["messages"], value["statuses"] = [], [], []
        for n in range(count // 2):
            sender = f"3361234{rng.randrange(10_000):04d}"
            if rng.random() < 0.8:
                value["messages"].append({**message, "from": sender, "id": f"wamid.A{account}N{n}"})
                value["contacts"].append({"profile": {"name": f"Client {n}"}, "wa_id": sender})
            else:
                value["statuses"].append({**status, "id": f"wamid.S{account}N{n}"})
        changes = [{"field": "messages", "value": value}]
        if account == 1:
            changes.insert(0, {"field": "message_template_status_update", "value": {"event": "APPROVED"}})
        entries.append({"id": f"WABA{account}", "changes": changes})
    return {"object": "whatsapp_business_account", "entry": entries}


@pytest.mark.parametrize(
    "name",
    [
        "whatsapp_message_text.json",
        "whatsapp_message_image_reply.json",
        "whatsapp_statuses.json",
        "messenger_message.json",
        "messenger_echo_delivery_read.json",
        "instagram_message.json",
    ],
)
def test_the_samples_split_into_pieces_that_parse_to_the_same_events(name):
    body = _sample(name)
    pieces = meta_split.split(body)

    assert [e for piece in pieces for e in _parse(piece)] == _parse(body)
    assert all(len(_parse(piece)) == 1 for piece in pieces) or pieces == [body]


def test_a_batch_of_a_thousand_events_is_a_thousand_pieces_with_the_same_events():
    body = _whatsapp_batch(1000)
    whole = _parse(body)

    pieces = meta_split.split(body)

    assert len(whole) == 1000
    assert len(pieces) == 1001  # and the template-status change, kept whole (no event)
    assert [e for piece in pieces for e in _parse(piece)] == whole
    assert max(len(json.dumps(p)) for p in pieces) < 2_000  # each piece carries its sender only


def test_messenger_entries_and_instagram_changes_are_split_per_item():
    body = _sample("messenger_echo_delivery_read.json")
    body["entry"].append(copy.deepcopy(body["entry"][0]))
    body["entry"][1]["id"] = "another-page"
    instagram = _sample("instagram_message.json")
    item = instagram["entry"][0]["messaging"][0]
    instagram["entry"][0]["changes"] = [{"field": "messages", "value": item}]

    for delivery in (body, instagram):
        pieces = meta_split.split(delivery)
        assert len(pieces) == len(_parse(delivery)) > 1
        assert [e for p in pieces for e in _parse(p)] == _parse(delivery)


def test_join_gives_back_a_delivery_of_the_remaining_events():
    body = _whatsapp_batch(40)
    pieces = meta_split.split(body)

    rest = meta_split.join(pieces[15:])

    assert _parse(rest) == [e for p in pieces[15:] for e in _parse(p)]


@pytest.mark.parametrize(
    "body",
    [
        {"object": "whatsapp_business_account", "entry": "not a list"},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {"messages": "x"}}]}]},
        {"object": "page", "entry": [{"messaging": {"not": "a list"}}]},
        {"object": "something_else", "entry": [{"id": 1}, {"id": 2}]},
        {"entry": [1, 2]},
    ],
)
def test_a_body_of_unknown_shape_stays_whole(body):
    assert meta_split.split(body) == [body]
