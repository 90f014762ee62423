"""Published vectors and sample payloads for the channel adapter tests.

The reference folder sits beside the repository (``../shared/channels``); copies of what the
tests use live in ``tests/unit/channels/{samples,vectors}`` so the tests do not depend on it.
The copies are preferred; ``test_copies_match_the_reference`` keeps them honest.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.domain.common import Channel
from shared.domain.inbound import InboundEnvelope

HERE = Path(__file__).parent
REFERENCE = Path(__file__).parents[3].parent / "shared" / "channels"
RECEIVED_AT = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


def _path(folder: str, name: str) -> Path:
    local = HERE / folder / name
    return local if local.exists() else REFERENCE / folder / name


def sample_bytes(name: str) -> bytes:
    return _path("samples", name).read_bytes()


def sample_json(name: str) -> Any:
    return json.loads(sample_bytes(name))


def headers(name: str) -> dict[str, Any]:
    return json.loads(sample_bytes(f"{name}.headers.json"))


def vector(name: str) -> Any:
    return json.loads(_path("vectors", name).read_bytes())


def envelope(channel: Channel, body: str | bytes, content_type: str = "application/json", **extra: Any):
    """What the webhook enqueues: the raw body as text, plus whatever else it passes along."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    payload = {"body": text, "body_encoding": "utf-8", "content_type": content_type, **extra}
    return InboundEnvelope(channel=channel, received_at=RECEIVED_AT, reference="D1", payload=payload)


def json_envelope(channel: Channel, data: Any) -> InboundEnvelope:
    return envelope(channel, json.dumps(data))
