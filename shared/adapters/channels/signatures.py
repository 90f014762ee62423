"""HMAC helpers shared by the webhook verifiers (Meta, Twilio, Shopify, WooCommerce).

Every verifier works on the raw bytes exactly as received: re-serialising JSON changes the
bytes (Meta escapes unicode, Shopify keeps its own spacing) and breaks the signature.
Comparisons are constant-time so the answer time leaks nothing about the expected value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from shared.adapters.channels.errors import ChannelPayloadError

__all__ = [
    "ChannelPayloadError",
    "constant_time_equals",
    "hmac_sha1_base64",
    "hmac_sha256_base64",
    "hmac_sha256_hex",
    "verify_hmac_sha256_base64",
]


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def hmac_sha256_hex(secret: str | bytes, message: bytes) -> str:
    """Lowercase hex HMAC-SHA256 (Meta's ``X-Hub-Signature-256`` after ``sha256=``)."""
    return hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def hmac_sha256_base64(secret: str | bytes, message: bytes) -> str:
    """Base64 HMAC-SHA256 (Shopify ``X-Shopify-Hmac-Sha256``, WooCommerce ``X-WC-Webhook-Signature``)."""
    return base64.b64encode(hmac.new(_key(secret), message, hashlib.sha256).digest()).decode("ascii")


def hmac_sha1_base64(secret: str | bytes, message: bytes) -> str:
    """Base64 HMAC-SHA1 (Twilio ``X-Twilio-Signature``)."""
    return base64.b64encode(hmac.new(_key(secret), message, hashlib.sha1).digest()).decode("ascii")


def constant_time_equals(expected: str, received: str) -> bool:
    """``hmac.compare_digest`` on UTF-8 bytes (it refuses non-ASCII ``str``, a header may hold any)."""
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))


def verify_hmac_sha256_base64(raw_body: bytes, header: str | None, secret: str) -> bool:
    """Shopify and WooCommerce: ``header == base64(HMAC-SHA256(secret, raw_body))``.

    An empty secret is refused: anyone can compute an HMAC with an empty key, so accepting it
    would accept forgeries (a new WooCommerce webhook has an empty secret until one is set).
    """
    if not secret or not header:
        return False
    return constant_time_equals(hmac_sha256_base64(secret, raw_body), header.strip())
