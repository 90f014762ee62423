"""The system clock, behind the Clock port so tests can fix time."""

from __future__ import annotations

from datetime import datetime

from shared.domain.common import utcnow


class SystemClock:
    def now(self) -> datetime:
        return utcnow()
