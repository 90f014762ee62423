"""Identifiers: time-ordered ids for records, short references people can read aloud."""

from __future__ import annotations

import hashlib
import secrets
import time

# Crockford base32: no I, L, O, U, so a reference read over the phone is unambiguous.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _encode(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, rem = divmod(number, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str, now_ms: int | None = None) -> str:
    """A ULID-shaped id (48-bit milliseconds + 80 random bits), sortable by creation time."""
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    return f"{prefix}{_encode(millis, 10)}{_encode(secrets.randbits(80), 16)}"


def ticket_reference() -> str:
    """An 8-character ticket reference (40 random bits); uniqueness is enforced on write."""
    return _encode(secrets.randbits(40), 8)


def stable_id(prefix: str, *parts: str) -> str:
    """A deterministic id derived from provider ids, so a redelivery maps to the same record."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return f"{prefix}{_encode(int.from_bytes(digest[:15], 'big'), 24)}"


def is_ticket_reference(value: str) -> bool:
    return len(value) == 8 and all(c in _ALPHABET for c in value)
