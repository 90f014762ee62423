"""Opaque pagination cursors: base64url JSON of DynamoDB keys, validated on the way back."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from shared.domain.errors import InvalidCursor


def encode(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, allowed_keys: frozenset[str]) -> dict[str, Any]:
    """Decode a cursor whose values are key dicts (or None) made only of ``allowed_keys``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("the cursor is not one this API issued") from exc
    if not isinstance(state, dict):
        raise InvalidCursor("the cursor is not one this API issued")
    for position in state.values():
        if position is None:
            continue
        if (
            not isinstance(position, dict)
            or not set(position) <= allowed_keys
            or not all(isinstance(v, str) for v in position.values())
        ):
            raise InvalidCursor("the cursor is not one this API issued")
    return state
