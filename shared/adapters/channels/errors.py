"""The one error every channel parser raises, and the typed accessors that raise it.

Standard library only: the webhooks import the verifiers (which re-export this error) on a
cold start and must not pay for pydantic or phonenumbers.

Provider payloads are untrusted JSON or form data. A missing field must surface as a clear
``ChannelPayloadError`` naming the field (never a ``KeyError`` from deep inside a parser, and
never the payload's content: messages carry personal data and must not reach the logs).
The processor can then send the delivery to the dead-letter queue with a useful reason.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

JsonObject = Mapping[str, Any]


class ChannelPayloadError(ValueError):
    """A delivery that cannot be understood. Deterministic: retrying it will not help."""


def envelope_text(payload: Mapping[str, Any], channel: str) -> str:
    """The raw body the webhook verified, as text.

    The webhook enqueues ``{"body": <text>, "body_encoding": "utf-8"|"base64", ...}``: bodies
    that are not UTF-8 travel base64-encoded and are decoded back here.
    """
    body = payload.get("body")
    if isinstance(body, bytes | bytearray):
        body = bytes(body)
    elif not isinstance(body, str):
        raise ChannelPayloadError(f"{channel}: the envelope has no body")
    elif payload.get("body_encoding") == "base64":
        try:
            body = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ChannelPayloadError(f"{channel}: the body is not valid base64") from exc
    if isinstance(body, bytes):
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ChannelPayloadError(f"{channel}: the body is not UTF-8") from exc
    return body


def envelope_json(payload: Mapping[str, Any], channel: str) -> JsonObject:
    """The provider JSON from an envelope payload ``{"body": <raw text>, ...}``.

    The webhook verified the signature over the raw body and enqueued it unchanged; parsing
    happens here. A payload without ``body`` is taken as the provider JSON itself (events that
    reach the queue without an HTTP hop, e.g. EventBridge).
    """
    if "body" not in payload:
        return payload
    return load_json_object(envelope_text(payload, channel), channel)


def load_json_object(body: Any, channel: str) -> JsonObject:
    if isinstance(body, bytes | bytearray):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ChannelPayloadError(f"{channel}: the body is not UTF-8") from exc
    if not isinstance(body, str):
        raise ChannelPayloadError(f"{channel}: the body is not text")
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise ChannelPayloadError(f"{channel}: the body is not JSON") from exc
    if not isinstance(value, dict):
        raise ChannelPayloadError(f"{channel}: the body is not a JSON object")
    return value


def req_obj(obj: JsonObject, key: str, where: str) -> JsonObject:
    value = obj.get(key)
    if not isinstance(value, Mapping):
        raise ChannelPayloadError(f"{where}.{key} is missing or not an object")
    return value


def opt_obj(obj: JsonObject, key: str, where: str) -> JsonObject | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ChannelPayloadError(f"{where}.{key} is not an object")
    return value


def req_list(obj: JsonObject, key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        raise ChannelPayloadError(f"{where}.{key} is missing or not a list")
    return value


def opt_list(obj: JsonObject, key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ChannelPayloadError(f"{where}.{key} is not a list")
    return value


def as_obj(value: Any, where: str) -> JsonObject:
    if not isinstance(value, Mapping):
        raise ChannelPayloadError(f"{where} is not an object")
    return value


def opt_str(obj: JsonObject, key: str, where: str) -> str | None:
    """A string field; numbers are accepted as their text (Meta sends some ids as numbers)."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise ChannelPayloadError(f"{where}.{key} is not text")
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise ChannelPayloadError(f"{where}.{key} is not text")


def req_str(obj: JsonObject, key: str, where: str) -> str:
    value = opt_str(obj, key, where)
    if value is None or not value.strip():
        raise ChannelPayloadError(f"{where}.{key} is missing")
    return value


def from_unix_seconds(value: Any, where: str) -> datetime:
    """WhatsApp timestamps: Unix seconds, sent as strings."""
    return _from_epoch(value, 1, where)


def from_unix_millis(value: Any, where: str) -> datetime:
    """Messenger and Instagram timestamps and watermarks: epoch milliseconds."""
    return _from_epoch(value, 1000, where)


def _from_epoch(value: Any, divisor: int, where: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ChannelPayloadError(f"{where} is not a timestamp")
    try:
        number = float(value)
        return datetime.fromtimestamp(number / divisor, tz=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise ChannelPayloadError(f"{where} is not a timestamp") from exc


def from_iso(value: Any, where: str) -> datetime:
    """ISO 8601 (``2025-06-10T12:18:37.000Z``); a value without an offset is read as UTC."""
    if not isinstance(value, str):
        raise ChannelPayloadError(f"{where} is not a timestamp")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ChannelPayloadError(f"{where} is not an ISO 8601 timestamp") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
