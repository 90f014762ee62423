"""Every sample, broken one field at a time: parsers either cope or raise ChannelPayloadError.

A KeyError, TypeError or pydantic error from deep inside a parser would send a delivery to
the dead-letter queue with no useful reason; this sweeps each key of each sample (deleted,
or replaced by a value of another type) to keep that from happening.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shared.adapters.channels import connect, meta, twilio
from shared.adapters.channels import email as mail
from shared.adapters.channels.errors import ChannelPayloadError
from shared.domain.common import Channel
from tests.unit.channels.fixtures import envelope, json_envelope, sample_bytes, sample_json

_DELETE = object()
REPLACEMENTS: list[Any] = [_DELETE, None, 1, "x", [], {}, True, "9" * 30]


def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


def _mutants(data: Any) -> Iterator[tuple[tuple, Any, Any]]:
    for path in _paths(data):
        for replacement in REPLACEMENTS:
            mutant = copy.deepcopy(data)
            parent = mutant
            for key in path[:-1]:
                parent = parent[key]
            if replacement is _DELETE:
                del parent[path[-1]]
            else:
                parent[path[-1]] = replacement
            yield path, replacement, mutant


def _email(data: Any) -> None:
    notification = mail.parse_sns_envelope(data)
    mail.to_inbound_message(notification, mail.parse_mime(notification.content or b""))


JSON_CASES: dict[str, Callable[[Any], Any]] = {
    "whatsapp_message_text.json": lambda d: meta.parse(json_envelope(Channel.whatsapp, d), "fb"),
    "whatsapp_message_image_reply.json": lambda d: meta.parse(json_envelope(Channel.whatsapp, d), "fb"),
    "whatsapp_statuses.json": lambda d: meta.parse(json_envelope(Channel.whatsapp, d), "fb"),
    "messenger_message.json": lambda d: meta.parse(json_envelope(Channel.messenger, d), "fb"),
    "messenger_echo_delivery_read.json": lambda d: meta.parse(json_envelope(Channel.messenger, d), "fb"),
    "instagram_message.json": lambda d: meta.parse(json_envelope(Channel.instagram, d), "fb"),
    "connect_contact_event_disconnected.json": connect.parse_contact_event,
    "ses_received_notification.json": _email,
    "ses_via_sns_http_notification.json": _email,
}


@pytest.mark.parametrize("name", list(JSON_CASES))
def test_json_samples_broken_field_by_field(name):
    parse = JSON_CASES[name]
    accepted = refused = 0
    for path, replacement, mutant in _mutants(sample_json(name)):
        try:
            parse(mutant)
            accepted += 1
        except ChannelPayloadError:
            refused += 1
        except Exception as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{name} {path} = {replacement!r}: {type(exc).__name__}: {exc}")
    assert accepted and refused  # the sweep exercised both outcomes


@pytest.mark.parametrize(
    "name",
    [
        "twilio_sms_inbound.form",
        "twilio_whatsapp_inbound_media.form",
        "twilio_message_status_callback.form",
        "twilio_voice_status_callback.form",
    ],
)
def test_twilio_samples_broken_param_by_param(name):
    params = {k: v[0] for k, v in twilio.parse_form(sample_bytes(name).decode().strip()).items()}
    for key in params:
        for replacement in (None, "", "x", "whatsapp:", "-1", "9" * 30, "é"):
            mutant = {k: v for k, v in params.items() if k != key}
            if replacement is not None:
                mutant[key] = replacement
            try:
                twilio.parse(
                    envelope(Channel.sms, "", "application/x-www-form-urlencoded", params=mutant), "fb"
                )
            except ChannelPayloadError:
                pass
            except Exception as exc:  # pragma: no cover
                pytest.fail(f"{name} {key} = {replacement!r}: {type(exc).__name__}: {exc}")
