"""The system clock, behind the Clock port so tests can fix time.

The local stack (and only it: ``POST /local/clock``) may move the clock of its in-process
handlers forward, so a tester can stand at the time of a visit booked for tomorrow and post its
commissioning report, or see an invoice fall due. Deployed, nothing sets the offset: it is 0.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.domain.common import utcnow

_offset = timedelta(0)


def travel(offset: timedelta) -> None:
    """Local stack and tests only: every ``SystemClock`` reads now + ``offset`` from here on."""
    global _offset  # noqa: PLW0603 (one clock per process, like the system's)
    _offset = offset


def offset() -> timedelta:
    return _offset


class SystemClock:
    def now(self) -> datetime:
        return utcnow() + _offset
