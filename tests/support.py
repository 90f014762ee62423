"""Test helpers shared by every level: sample events, a Lambda context, a fixed clock."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"


def load_event(name: str) -> dict[str, Any]:
    """``load_event("form_webhook/json_submission")`` -> a fresh copy of events/<name>.json."""
    return copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text()))


@dataclass
class LambdaContext:
    function_name: str = "guichet-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-3:123456789012:function:guichet-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@dataclass
class FixedClock:
    moment: datetime = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment = self.moment + timedelta(**delta)
