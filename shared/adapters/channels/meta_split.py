"""Split a Meta delivery into one body per event, each a valid delivery of its own.

Meta batches: one POST may carry many ``entry[]``, each many ``changes[]`` (WhatsApp: each with
``messages[]`` and ``statuses[]``) or ``messaging[]`` (Messenger, Instagram). Processed as one
queue record, one bad or slow message holds back (and finally dead-letters) all the others.
Split, each event is its own record: it succeeds, is retried or dead-lettered alone.

A piece keeps everything the parsers read around its event: the ``object``, the entry's ``id``
and ``time``, the change's ``field`` and ``value`` (metadata, and the contact who sent a
WhatsApp message). Parsing the pieces gives the events parsing the whole gives, in order (a
test checks it). Standard library only; never raises: a body whose shape is not understood
stays whole, and the parser says what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_WHATSAPP = "whatsapp_business_account"
_MESSAGING = ("page", "instagram")


def split(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One body per event; ``[body]`` when it holds one event or an unknown shape."""
    entries = body.get("entry")
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        return [dict(body)]
    kind = body.get("object")
    pieces: list[dict[str, Any]] = []
    for entry in entries:
        if kind == _WHATSAPP:
            parts = _whatsapp_entry(entry)
        elif kind in _MESSAGING:
            parts = _messaging_entry(entry)
        else:
            return [dict(body)]
        if parts is None:
            return [dict(body)]
        pieces.extend({**body, "entry": [part]} for part in parts)
    return pieces if len(pieces) > 1 else [dict(body)]


def join(pieces: list[dict[str, Any]]) -> dict[str, Any]:
    """The pieces (of one delivery) as one body again: what is left to split later."""
    return {**pieces[0], "entry": [entry for piece in pieces for entry in piece["entry"]]}


def _entry_head(entry: Mapping[str, Any], exclude: str) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key != exclude}


def _whatsapp_entry(entry: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    changes = entry.get("changes", [])
    if not isinstance(changes, list):
        return None
    head = _entry_head(entry, "changes")
    parts: list[dict[str, Any]] = []
    for change in changes:
        if not isinstance(change, Mapping):
            return None
        value = change.get("value")
        if change.get("field", "messages") != "messages" or not isinstance(value, Mapping):
            parts.append({**head, "changes": [change]})  # not customer traffic: kept as it was
            continue
        split_value = _whatsapp_value(value)
        if split_value is None:
            return None
        parts.extend({**head, "changes": [{**change, "value": v}]} for v in split_value)
    return parts


def _whatsapp_value(value: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    messages = value.get("messages", [])
    statuses = value.get("statuses", [])
    contacts = value.get("contacts", [])
    if not all(isinstance(x, list) for x in (messages, statuses, contacts)):
        return None
    if not all(isinstance(x, Mapping) for x in (*messages, *contacts)):
        return None
    rest = {k: v for k, v in value.items() if k not in ("messages", "statuses", "contacts")}
    if not messages and not statuses:
        return [dict(value)]
    values = [
        {**rest, "contacts": _sender_contacts(message, contacts), "messages": [message]}
        for message in messages
    ]
    values += [{**rest, "statuses": [status]} for status in statuses]
    return values


def _sender_contacts(message: Mapping[str, Any], contacts: list[Any]) -> list[Any]:
    """The contact the parser would pick for ``message`` (by wa_id or BSUID, or the only one)."""
    sender, sender_user = message.get("from"), message.get("from_user_id")
    for contact in contacts:
        if sender and contact.get("wa_id") == sender:
            return [contact]
        if sender_user and contact.get("user_id") == sender_user:
            return [contact]
    return list(contacts) if len(contacts) == 1 else []


def _messaging_entry(entry: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    messaging = entry.get("messaging", [])
    changes = entry.get("changes", [])
    if not isinstance(messaging, list) or not isinstance(changes, list):
        return None
    head = {key: value for key, value in entry.items() if key not in ("messaging", "changes")}
    parts = [{**head, "messaging": [item]} for item in messaging]
    parts += [{**head, "changes": [change]} for change in changes]
    return parts or [dict(entry)]
