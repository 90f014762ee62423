"""Fire the registry's schedules locally (moto's EventBridge never fires rules or schedules).

Expressions use EventBridge syntax: ``rate(1 minute)``, ``rate(5 minutes)``, ``rate(2 hours)``,
``rate(1 day)`` and six-field ``cron(minutes hours day-of-month month day-of-week year)`` in UTC,
with ``*``, ``?``, lists, ranges, ``/`` steps, ``JAN``-``DEC`` and ``SUN``-``SAT`` (1 = Sunday, as
in EventBridge). ``L``, ``W`` and ``#`` are not supported: a schedule using them fails at startup
rather than silently never firing.

The target receives EventBridge's "Scheduled Event" payload. ``POST /local/schedules/<name>/fire``
runs one now (``make fire SCHEDULE=<name>``) without waiting for its time.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.local.log import log
from infra.registry import FunctionSpec, Schedule

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    )
}
_DAYS = {d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
_MAX_SEARCH_DAYS = 366 * 5


class ScheduleError(ValueError):
    pass


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int] | None:
    """One cron field -> the allowed values, or None for ``*``/``?`` (anything)."""
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for item in text.split(","):
        part, step = item, 1
        if "/" in item:
            part, step_text = item.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"bad step in {text!r}")
            step = int(step_text)
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(part, names)
            end = high if step > 1 else start
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise ScheduleError(f"{text!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int] | None) -> int:
    text = text.strip().upper()
    if names and text in names:
        return names[text]
    if not text.isdigit():
        raise ScheduleError(f"unsupported cron value {text!r} (L, W and # are not supported locally)")
    return int(text)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int] | None
    hours: frozenset[int] | None
    days: frozenset[int] | None
    months: frozenset[int] | None
    weekdays: frozenset[int] | None  # 1 = Sunday
    years: frozenset[int] | None

    @classmethod
    def parse(cls, body: str) -> Cron:
        fields = body.split()
        if len(fields) != 6:
            raise ScheduleError(f"cron needs 6 fields, got {len(fields)}: {body!r}")
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduleError("cron: exactly one of day-of-month and day-of-week must be '?'")
        return cls(
            minutes=_field(minute, 0, 59),
            hours=_field(hour, 0, 23),
            days=_field(dom, 1, 31),
            months=_field(month, 1, 12, _MONTHS),
            weekdays=_field(dow, 1, 7, _DAYS),
            years=_field(year, 1970, 2199),
        )

    def _day_matches(self, day: datetime) -> bool:
        weekday = (day.weekday() + 1) % 7 + 1  # Monday=0 -> 2, Sunday=6 -> 1
        return (
            (self.years is None or day.year in self.years)
            and (self.months is None or day.month in self.months)
            and (self.days is None or day.day in self.days)
            and (self.weekdays is None or weekday in self.weekdays)
        )

    def next_after(self, after: datetime) -> datetime:
        """The first matching minute strictly after ``after`` (UTC)."""
        start = (after.astimezone(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)
        hours = sorted(self.hours) if self.hours is not None else list(range(24))
        minutes = sorted(self.minutes) if self.minutes is not None else list(range(60))
        day = start.replace(hour=0, minute=0)
        for _ in range(_MAX_SEARCH_DAYS):
            if self._day_matches(day):
                for h in hours:
                    for m in minutes:
                        candidate = day.replace(hour=h, minute=m)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        raise ScheduleError("cron never fires in the next five years")


@dataclass(frozen=True)
class Rate:
    period: timedelta

    def next_after(self, after: datetime) -> datetime:
        return after + self.period


def parse_expression(expression: str) -> Rate | Cron:
    text = expression.strip()
    m = _RATE.match(text)
    if m:
        count, unit = int(m.group(1)), m.group(2)
        if count <= 0:
            raise ScheduleError(f"rate must be positive: {expression!r}")
        if (count == 1) != (not unit.endswith("s")):
            raise ScheduleError(f"EventBridge wants '1 {unit.rstrip('s')}' / 'N {unit.rstrip('s')}s'")
        seconds = {"minute": 60, "hour": 3600, "day": 86400}[unit.rstrip("s")]
        return Rate(timedelta(seconds=count * seconds))
    m = _CRON.match(text)
    if m:
        return Cron.parse(m.group(1))
    raise ScheduleError(f"unsupported schedule expression {expression!r}")


def scheduled_event(schedule: Schedule, *, region: str, account_id: str, now: datetime) -> dict[str, Any]:
    """EventBridge's "Scheduled Event" (what a rule target receives)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account_id}:rule/{schedule.name}"],
        "detail": {},
    }


Invoke = Callable[[str, dict[str, Any]], Any]


class Scheduler(threading.Thread):
    """One thread; sleeps until the next due schedule (or until stopped)."""

    def __init__(
        self,
        schedules: Sequence[tuple[Schedule, FunctionSpec]],
        *,
        invoke: Invoke,
        region: str,
        account_id: str,
        stop: threading.Event,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        super().__init__(name="scheduler", daemon=True)
        self._entries = [
            (schedule, spec, parse_expression(schedule.expression)) for schedule, spec in schedules
        ]
        self._invoke = invoke
        self._region = region
        self._account_id = account_id
        self._stopping = stop
        self._clock = clock

    def find(self, name: str) -> tuple[Schedule, FunctionSpec] | None:
        for schedule, spec, _ in self._entries:
            if schedule.name == name:
                return schedule, spec
        return None

    def fire(self, schedule: Schedule, spec: FunctionSpec) -> Any:
        event = scheduled_event(schedule, region=self._region, account_id=self._account_id, now=self._clock())
        invocation = self._invoke(spec.name, event)
        status = "ok" if invocation.ok else f"error {invocation.error['errorType']}"
        log(f"schedule {schedule.name} -> {spec.name}: {status} ({invocation.duration_ms:.0f} ms)")
        return invocation

    def run(self) -> None:
        if not self._entries:
            return
        now = self._clock()
        due = {i: expr.next_after(now) for i, (_, _, expr) in enumerate(self._entries)}
        while not self._stopping.is_set():
            index = min(due, key=lambda i: due[i])
            wait = (due[index] - self._clock()).total_seconds()
            if wait > 0:
                self._stopping.wait(
                    min(wait, 1.0)
                )  # re-read the clock each second (cheap; survives clock jumps)
                continue
            schedule, spec, expr = self._entries[index]
            try:
                self.fire(schedule, spec)
            except Exception as exc:
                log(f"schedule {schedule.name}: {type(exc).__name__}: {exc}")
            due[index] = expr.next_after(max(due[index], self._clock()))
