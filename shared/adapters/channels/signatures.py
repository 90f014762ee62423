"""HMAC helpers shared by the webhook verifiers (Meta, Twilio, Shopify, WooCommerce).

Every verifier works on the raw bytes exactly as received: re-serialising JSON changes the
bytes (Meta escapes unicode, Shopify keeps its own spacing) and breaks the signature.
Comparisons are constant-time so the answer time leaks nothing about the expected value.
Standard library only, so webhook functions can import it on a cold start cheaply.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs, urlsplit, urlunsplit

from shared.adapters.channels.errors import ChannelPayloadError

__all__ = [
    "ChannelPayloadError",
    "TwilioParams",
    "compute_twilio_signature",
    "constant_time_equals",
    "hmac_sha1_base64",
    "hmac_sha256_base64",
    "hmac_sha256_hex",
    "parse_form",
    "verify_hmac_sha256_base64",
    "verify_twilio_signature",
]

TwilioParams = Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]]


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


# --- Twilio ----------------------------------------------------------------------------------
# twilio-python RequestValidator's algorithm: Twilio signs what it requested, not what we
# received: the full URL (query string included) plus every POST parameter name+value, names
# sorted and a repeated name's values sorted. Twilio is inconsistent about the default port,
# so the URL is tried as given, with ``:443``/``:80`` and without any port.


def parse_form(body: str) -> dict[str, list[str]]:
    """A form body as Twilio signed it: blank values kept (``ToState=`` is part of the signature)."""
    return parse_qs(body, keep_blank_values=True)


def _as_lists(params: TwilioParams) -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {}
    if isinstance(params, Mapping):
        for name, value in params.items():
            lists.setdefault(name, []).extend([value] if isinstance(value, str) else list(value))
    else:
        for name, value in params:
            lists.setdefault(name, []).append(value)
    return lists


def compute_twilio_signature(url: str, params: TwilioParams, auth_token: str) -> str:
    """base64(HMAC-SHA1(auth token, url + name+value for each param, names then values sorted))."""
    lists = _as_lists(params)
    signed = url + "".join(name + value for name in sorted(lists) for value in sorted(lists[name]))
    return hmac_sha1_base64(auth_token, signed.encode("utf-8"))


def _url_variants(url: str) -> list[str]:
    """The URL as given, with the default port, and without any port (twilio-python's set)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return [url]
    userinfo, _, hostport = parts.netloc.rpartition("@")
    prefix = f"{userinfo}@" if userinfo else ""
    host = hostport[: hostport.index("]") + 1] if hostport.startswith("[") else hostport.split(":")[0]
    if port is None:
        default = 443 if parts.scheme == "https" else 80
        with_port = urlunsplit(parts._replace(netloc=f"{prefix}{hostport}:{default}"))
        without_port = urlunsplit(parts)
    else:
        with_port = urlunsplit(parts)
        without_port = urlunsplit(parts._replace(netloc=f"{prefix}{host}"))
    return list(dict.fromkeys([url, without_port, with_port]))


def verify_twilio_signature(
    url: str,
    params: TwilioParams,
    header: str | None,
    auth_token: str,
    *,
    raw_body: bytes | str | None = None,
) -> bool:
    """``X-Twilio-Signature`` as twilio-python's ``RequestValidator.validate`` checks it.

    ``url`` is the public URL exactly as configured in Twilio (behind API Gateway: rebuild it
    with the stage path and the raw query string). ``params`` are the decoded POST parameters
    (a dict of str or of lists, or parse_qsl pairs); for GET callbacks pass ``{}``.
    JSON-body callbacks carry ``bodySHA256=<hex sha256(body)>`` in the URL and sign no
    parameters: pass the body as ``raw_body`` and it is checked against that hash.
    """
    if not auth_token or not header:
        return False
    signature = header.strip()
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    if "bodySHA256" in query:
        if raw_body is None:
            return False
        body = raw_body.encode("utf-8") if isinstance(raw_body, str) else raw_body
        if not constant_time_equals(hashlib.sha256(body).hexdigest(), query["bodySHA256"][0].lower()):
            return False
        params = {}
    matches = [
        constant_time_equals(compute_twilio_signature(candidate, params, auth_token), signature)
        for candidate in _url_variants(url)
    ]
    return any(matches)
