"""Meta webhooks (WhatsApp Cloud API, Messenger, Instagram): signature and subscription handshake.

One Meta app serves the three products with one App Secret and one verify token. Standard
library only at import time: the webhook imports this on a cold start. The parsers live in
``whatsapp`` and ``messenger``; ``parse`` routes a body to them on its ``object``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from shared.adapters.channels.errors import ChannelPayloadError, envelope_json, opt_str
from shared.adapters.channels.signatures import constant_time_equals, hmac_sha256_hex

if TYPE_CHECKING:
    from shared.domain.inbound import InboundEnvelope, InboundEvent

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="
# Meta sends an integer; anything else is refused rather than echoed back to the caller.
_CHALLENGE = re.compile(r"^[A-Za-z0-9._~-]{1,256}$")


def verify_meta_signature(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(App Secret, raw body)>``.

    ``raw_body`` must be the bytes as received (base64-decoded when API Gateway says
    ``isBase64Encoded``), never JSON re-serialised: Meta signs its escaped-unicode encoding.
    An empty secret verifies nothing.
    """
    if not app_secret or not header:
        return False
    value = header.strip()
    if value[: len(_PREFIX)].lower() != _PREFIX:
        return False
    return constant_time_equals(hmac_sha256_hex(app_secret, raw_body), value[len(_PREFIX) :].lower())


class HandshakeOutcome(StrEnum):
    accepted = "accepted"  # 200, body = the challenge
    forbidden = "forbidden"  # 403: wrong verify token
    bad_request = "bad_request"  # 400: not a subscription handshake


_REASONS = {
    HandshakeOutcome.accepted: "subscribed",
    HandshakeOutcome.forbidden: "the verify token does not match",
    HandshakeOutcome.bad_request: "expected hub.mode=subscribe, hub.verify_token and hub.challenge",
}
_STATUS = {HandshakeOutcome.accepted: 200, HandshakeOutcome.forbidden: 403, HandshakeOutcome.bad_request: 400}


@dataclass(frozen=True, slots=True)
class HandshakeResult:
    """What the GET handler answers; ``body`` goes back as ``text/plain``, byte for byte."""

    outcome: HandshakeOutcome
    challenge: str | None = None

    @property
    def status_code(self) -> int:
        return _STATUS[self.outcome]

    @property
    def body(self) -> str:
        """The challenge on success, else an empty body."""
        return self.challenge or ""

    @property
    def reason(self) -> str:
        """A short explanation for the error response (never echoes what the caller sent)."""
        return _REASONS[self.outcome]


def verify_handshake(params: Mapping[str, str], verify_token: str) -> HandshakeResult:
    """The subscription GET: ``hub.mode=subscribe&hub.challenge=<n>&hub.verify_token=<ours>``.

    Matching token: echo the raw challenge. Wrong token (or none configured): forbidden.
    Missing parameters, another mode or a challenge that is not a plain token: bad request.
    """
    mode = params.get("hub.mode")
    token = params.get("hub.verify_token")
    challenge = params.get("hub.challenge")
    if mode != "subscribe" or token is None or challenge is None or not _CHALLENGE.match(challenge):
        return HandshakeResult(HandshakeOutcome.bad_request)
    if not verify_token or not constant_time_equals(verify_token, token):
        return HandshakeResult(HandshakeOutcome.forbidden)
    return HandshakeResult(HandshakeOutcome.accepted, challenge)


def parse(envelope: InboundEnvelope, fallback_dedup: str) -> list[InboundEvent]:
    """Any Meta body: ``whatsapp_business_account`` -> WhatsApp, ``page``/``instagram`` -> Messenger.

    Routing on the body's ``object`` (not the webhook path) means one queue and one parser
    entry serve the three products. ``fallback_dedup`` is unused: every Meta event has an id.
    """
    # Imported here, not at the top: the parsers need pydantic and phonenumbers, which the
    # webhook (that imports this module for the signature check) must not load on a cold start.
    from shared.adapters.channels import messenger, whatsapp  # noqa: PLC0415

    body = envelope_json(envelope.payload, "meta")
    kind = opt_str(body, "object", "meta")
    if kind == whatsapp.OBJECT:
        return whatsapp.parse_body(body, received_at=envelope.received_at)
    if kind in messenger.OBJECTS:
        return messenger.parse_body(body, received_at=envelope.received_at)
    raise ChannelPayloadError("meta: object is not whatsapp_business_account, page or instagram")
