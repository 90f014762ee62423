"""Service levels: targets per priority counted in business time, and the ticket's SLA clock.

Targets are business durations: "first response within 4 hours" means four hours of the
support team's working time, so a message sent on Friday evening is due on Monday morning, not
on Saturday. The business calendar is local (``Europe/Paris``: 09:00 is 09:00 in winter and in
summer) while every computed instant is an absolute time, so DST changes neither lengthen nor
shorten a working day and a 24/7 calendar really has 23 hours on the spring-forward day.

The clock stops while the ticket waits on the customer or a third party (``pause``/``resume``):
the deadlines still running move by the business time spent waiting. A deadline missed stays
missed (``breached``) even when a later pause or reply moves or clears it, so compliance
figures count it once.

Everything is pure: instants are parameters, the caller stores the returned ``SlaClock``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, WithJsonSchema, field_validator, model_validator

from shared.domain.common import DomainModel
from shared.domain.ticket import Priority, SlaClock

FIRST_RESPONSE = "first_response"
NEXT_RESPONSE = "next_response"
RESOLUTION = "resolution"
DEADLINES = (FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION)

_SEARCH_LIMIT_DAYS = 3660  # a calendar that never opens within ten years is a broken calendar


class Weekday(StrEnum):
    monday = "monday"
    tuesday = "tuesday"
    wednesday = "wednesday"
    thursday = "thursday"
    friday = "friday"
    saturday = "saturday"
    sunday = "sunday"

    @classmethod
    def of(cls, day: date) -> Weekday:
        return list(cls)[day.weekday()]


# A wall-clock time without a zone. JSON Schema's "time" format is RFC 3339's, which requires an
# offset: documenting these as such would make every answer that holds them break the contract.
LocalTime = Annotated[
    time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
            "description": "local time HH:MM[:SS], without a time zone",
            "examples": ["09:00"],
        }
    ),
]


class TimeRange(DomainModel):
    """Working time within one local day; ``end`` 00:00 means midnight at the end of the day
    (JSON cannot say 24:00), so 00:00-00:00 is the whole day."""

    start: LocalTime
    end: LocalTime

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("working hours are local times, without a time zone")
        if self.end != time(0) and self.end <= self.start:
            raise ValueError(f"a working range ends after it starts ({self.start}-{self.end})")
        return self

    def bounds(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The range on ``day`` as UTC instants. A wall time skipped by DST (02:30 on the
        spring-forward night) reads as the instant after the gap, one that repeats as its first
        occurrence, so a range never counts time that did not exist or counts an hour twice."""
        end_day = day + timedelta(days=1) if self.end == time(0) else day
        start = datetime.combine(day, self.start, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(end_day, self.end, tzinfo=zone).astimezone(UTC)
        return start, max(start, end)


def _office_hours(start: time, end: time) -> list[TimeRange]:
    return [TimeRange(start=start, end=end)]


class BusinessCalendar(DomainModel):
    timezone: str = "Europe/Paris"
    hours: dict[Weekday, list[TimeRange]] = Field(
        default_factory=lambda: {
            day: _office_hours(time(9), time(18))
            for day in (Weekday.monday, Weekday.tuesday, Weekday.wednesday, Weekday.thursday, Weekday.friday)
        }
    )
    holidays: list[date] = Field(default_factory=list)  # closed all day (local dates)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r} (an IANA name like Europe/Paris)") from exc
        return name

    @field_validator("hours")
    @classmethod
    def _ranges_do_not_overlap(cls, hours: dict[Weekday, list[TimeRange]]) -> dict[Weekday, list[TimeRange]]:
        ordered: dict[Weekday, list[TimeRange]] = {}
        for day, ranges in hours.items():
            by_start = sorted(ranges, key=lambda r: r.start)
            for before, after in pairwise(by_start):
                if before.end == time(0) or after.start < before.end:
                    raise ValueError(f"{day.value}: working ranges overlap")
            ordered[day] = by_start
        if not any(ordered.values()):
            raise ValueError("a business calendar needs working hours on at least one day")
        return ordered

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # ZoneInfo caches instances per key

    def intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """Working intervals of the local ``day`` as UTC instants; none on holidays."""
        if day in self.holidays:
            return []
        zone = self.zone
        return [r.bounds(day, zone) for r in self.hours.get(Weekday.of(day), [])]

    def is_open(self, at: datetime) -> bool:
        moment = _aware(at, "at")
        local_day = moment.astimezone(self.zone).date()
        days = (local_day - timedelta(days=1), local_day)
        return any(start <= moment < end for day in days for start, end in self.intervals(day))


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


def _days_from(moment: datetime, calendar: BusinessCalendar) -> Iterator[date]:
    # From the day before: a range ending at midnight belongs to the previous local day.
    day = moment.astimezone(calendar.zone).date() - timedelta(days=1)
    for _ in range(_SEARCH_LIMIT_DAYS):
        yield day
        day += timedelta(days=1)
    raise ValueError("no working time within ten years: check the calendar's hours and holidays")


def add_business_time(start: datetime, duration: timedelta, calendar: BusinessCalendar) -> datetime:
    """The instant when ``duration`` of working time has elapsed after ``start``.

    A duration that runs out exactly at closing time ends at closing time (18:00), not at the next
    opening. A zero duration returns ``start`` itself, open or not. The result is in ``start``'s
    time zone.
    """
    origin = _aware(start, "start")
    if duration < timedelta(0):
        raise ValueError("a business duration cannot be negative")
    if duration == timedelta(0):
        return start
    remaining = duration
    for day in _days_from(origin, calendar):
        for interval_start, interval_end in calendar.intervals(day):
            if interval_end <= origin:
                continue
            begin = max(interval_start, origin)
            available = interval_end - begin
            if remaining <= available:
                return (begin + remaining).astimezone(start.tzinfo)
            remaining -= available
    raise AssertionError("unreachable: _days_from raises first")  # pragma: no cover


def business_time_between(a: datetime, b: datetime, calendar: BusinessCalendar) -> timedelta:
    """Working time from ``a`` to ``b``; negative when ``b`` is before ``a`` (time overdue)."""
    first, last = _aware(a, "a"), _aware(b, "b")
    if last < first:
        return -business_time_between(b, a, calendar)
    total = timedelta(0)
    last_day = last.astimezone(calendar.zone).date()
    for day in _days_from(first, calendar):
        if day > last_day:
            break
        for interval_start, interval_end in calendar.intervals(day):
            overlap = min(interval_end, last) - max(interval_start, first)
            if overlap > timedelta(0):
                total += overlap
    return total


# --- holidays -----------------------------------------------------------------------------


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


def french_public_holidays(year: int) -> list[date]:
    """The eleven public holidays of metropolitan France (without Alsace-Moselle's two extra
    days; add them to a calendar that needs them)."""
    easter = easter_sunday(year)
    return sorted(
        [
            date(year, 1, 1),  # Jour de l'an
            easter + timedelta(days=1),  # Lundi de Pâques
            date(year, 5, 1),  # Fête du travail
            date(year, 5, 8),  # Victoire 1945
            easter + timedelta(days=39),  # Ascension
            easter + timedelta(days=50),  # Lundi de Pentecôte
            date(year, 7, 14),  # Fête nationale
            date(year, 8, 15),  # Assomption
            date(year, 11, 1),  # Toussaint
            date(year, 11, 11),  # Armistice
            date(year, 12, 25),  # Noël
        ]
    )


# --- policies -----------------------------------------------------------------------------

BUSINESS_DAY = timedelta(hours=9)  # one day of the default calendar (09:00-18:00)


class SlaTargets(DomainModel):
    """Business durations for one priority."""

    first_response: timedelta
    next_response: timedelta  # after each customer message once the first response was given
    resolution: timedelta

    @model_validator(mode="after")
    def _positive(self) -> SlaTargets:
        if min(self.first_response, self.next_response, self.resolution) <= timedelta(0):
            raise ValueError("SLA targets are positive durations")
        return self


class SlaPolicy(DomainModel):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: str = ""
    targets: dict[Priority, SlaTargets]

    @field_validator("targets")
    @classmethod
    def _every_priority(cls, targets: dict[Priority, SlaTargets]) -> dict[Priority, SlaTargets]:
        missing = [p.value for p in Priority if p not in targets]
        if missing:
            raise ValueError(f"targets are missing for {', '.join(missing)}")
        return targets

    def clock_name(self, priority: Priority) -> str:
        """What ``SlaClock.policy`` records: the policy and the priority whose targets apply."""
        return f"{self.id}-{priority.value}"


DEFAULT_CALENDAR = BusinessCalendar(
    timezone="Europe/Paris",
    holidays=[day for year in range(2025, 2036) for day in french_public_holidays(year)],
)

ALWAYS_OPEN = BusinessCalendar(
    timezone="UTC", hours={day: _office_hours(time(0), time(0)) for day in Weekday}, holidays=[]
)

DEFAULT_SLA_POLICY = SlaPolicy(
    id="standard",
    name="Standard (business hours)",
    targets={
        Priority.urgent: SlaTargets(
            first_response=timedelta(hours=1), next_response=timedelta(hours=2), resolution=BUSINESS_DAY
        ),
        Priority.high: SlaTargets(
            first_response=timedelta(hours=2), next_response=timedelta(hours=4), resolution=2 * BUSINESS_DAY
        ),
        Priority.normal: SlaTargets(
            first_response=timedelta(hours=4), next_response=BUSINESS_DAY, resolution=3 * BUSINESS_DAY
        ),
        Priority.low: SlaTargets(
            first_response=BUSINESS_DAY, next_response=2 * BUSINESS_DAY, resolution=5 * BUSINESS_DAY
        ),
    },
)


# --- the clock ----------------------------------------------------------------------------


def start_clock(
    priority: Priority,
    opened_at: datetime,
    policy: SlaPolicy = DEFAULT_SLA_POLICY,
    calendar: BusinessCalendar = DEFAULT_CALENDAR,
) -> SlaClock:
    """The clock of a ticket opened at ``opened_at``: first response and resolution run."""
    targets = policy.targets[priority]
    return SlaClock(
        policy=policy.clock_name(priority),
        first_response_due_at=add_business_time(opened_at, targets.first_response, calendar),
        resolution_due_at=add_business_time(opened_at, targets.resolution, calendar),
    )


def running_deadlines(clock: SlaClock) -> dict[str, datetime]:
    """Deadlines not met yet; nothing runs once resolved."""
    if clock.resolved_at is not None:
        return {}
    running: dict[str, datetime] = {}
    if clock.first_response_due_at is not None and clock.first_responded_at is None:
        running[FIRST_RESPONSE] = clock.first_response_due_at
    if clock.next_response_due_at is not None:
        running[NEXT_RESPONSE] = clock.next_response_due_at
    if clock.resolution_due_at is not None:
        running[RESOLUTION] = clock.resolution_due_at
    return running


def _ordered(names: set[str]) -> list[str]:
    return [name for name in DEADLINES if name in names]


def breaches(clock: SlaClock, now: datetime) -> list[str]:
    """Deadlines missed as of ``now`` (``first_response``, ``next_response``, ``resolution``):
    those recorded as missed, met late, or still running past their time. A paused clock does not
    breach during the pause: it is judged at the moment it stopped."""
    effective = now if clock.paused_since is None else min(now, clock.paused_since)
    missed = set(clock.breached)
    missed.update(name for name, due in running_deadlines(clock).items() if due < effective)
    if (
        clock.first_responded_at is not None
        and clock.first_response_due_at is not None
        and clock.first_responded_at > clock.first_response_due_at
    ):
        missed.add(FIRST_RESPONSE)
    if (
        clock.resolved_at is not None
        and clock.resolution_due_at is not None
        and clock.resolved_at > clock.resolution_due_at
    ):
        missed.add(RESOLUTION)
    return _ordered(missed)


def next_deadline(clock: SlaClock) -> tuple[str, datetime] | None:
    """The earliest running deadline and its name; None while paused or when none runs."""
    if clock.paused_since is not None:
        return None
    running = running_deadlines(clock)
    if not running:
        return None
    name = min(running, key=lambda n: (running[n], DEADLINES.index(n)))
    return name, running[name]


def due_soon(
    clock: SlaClock, now: datetime, window: timedelta, calendar: BusinessCalendar | None = None
) -> bool:
    """Whether the earliest running deadline falls within ``window`` from ``now`` and has not
    passed (a passed one is a breach, see :func:`breaches`).

    The window is wall-clock time by default, like the due-date index the scheduled check
    queries; with ``calendar`` it is business time, so on Friday at 17:30 a deadline on Monday
    at 09:30 is one business hour away.
    """
    upcoming = next_deadline(clock)
    if upcoming is None:
        return False
    due = upcoming[1]
    if due < now:
        return False
    if calendar is None:
        return due - now <= window
    return business_time_between(now, due, calendar) <= window


def time_left(clock: SlaClock, now: datetime, calendar: BusinessCalendar) -> timedelta | None:
    """Business time until the earliest running deadline (negative once passed), for display."""
    upcoming = next_deadline(clock)
    return None if upcoming is None else business_time_between(now, upcoming[1], calendar)


def pause(clock: SlaClock, at: datetime) -> SlaClock:
    """Stop the clock: the ticket now waits on the customer or a third party.

    Deadlines already missed at ``at`` are recorded as breached first, so moving them later
    cannot erase the miss. Pausing a paused or resolved clock changes nothing.
    """
    if clock.paused_since is not None or clock.resolved_at is not None:
        return clock
    return clock.model_copy(update={"paused_since": at, "breached": breaches(clock, at)})


def resume(clock: SlaClock, at: datetime, calendar: BusinessCalendar = DEFAULT_CALENDAR) -> SlaClock:
    """Restart the clock: every deadline still ahead when it stopped moves by the business time
    spent waiting, and that time is added to ``paused_seconds``. The warning flag is cleared since
    the deadline it warned about moved. Resuming a running clock changes nothing."""
    if clock.paused_since is None:
        return clock
    stopped = clock.paused_since
    waited = max(business_time_between(stopped, at, calendar), timedelta(0))
    update: dict[str, object] = {
        "paused_since": None,
        "paused_seconds": clock.paused_seconds + int(waited.total_seconds()),
    }
    if waited > timedelta(0):
        fields = {
            FIRST_RESPONSE: "first_response_due_at",
            NEXT_RESPONSE: "next_response_due_at",
            RESOLUTION: "resolution_due_at",
        }
        for name, due in running_deadlines(clock).items():
            if due >= stopped:  # a deadline missed before the pause stays where it was missed
                update[fields[name]] = add_business_time(due, waited, calendar)
        update["warned"] = False
    return clock.model_copy(update=update)


def record_first_response(clock: SlaClock, at: datetime) -> SlaClock:
    """The first agent reply (idempotent: the earliest one counts). A late one is recorded as a
    ``first_response`` breach."""
    if clock.first_responded_at is not None:
        return clock
    update: dict[str, object] = {"first_responded_at": at, "warned": False}
    if clock.first_response_due_at is not None and at > clock.first_response_due_at:
        update["breached"] = _ordered({*clock.breached, FIRST_RESPONSE})
    return clock.model_copy(update=update)


def record_reply(clock: SlaClock, at: datetime) -> SlaClock:
    """An agent reply to the customer: the first response, or the answer that ends the
    next-response wait (late: a ``next_response`` breach)."""
    if clock.first_responded_at is None:
        return record_first_response(clock, at)
    if clock.next_response_due_at is None:
        return clock
    breached = set(clock.breached)
    if at > clock.next_response_due_at:
        breached.add(NEXT_RESPONSE)
    return clock.model_copy(
        update={"next_response_due_at": None, "breached": _ordered(breached), "warned": False}
    )


def await_next_response(
    clock: SlaClock,
    at: datetime,
    priority: Priority,
    policy: SlaPolicy = DEFAULT_SLA_POLICY,
    calendar: BusinessCalendar = DEFAULT_CALENDAR,
) -> SlaClock:
    """A customer message at ``at`` that needs an answer starts the next-response deadline.

    Only after the first response (before it, the first-response deadline already runs), and
    only if no earlier message is waiting (the oldest unanswered message sets the pace). Resume a
    paused clock first: a deadline set during a pause would move again at resume.
    """
    if clock.first_responded_at is None or clock.next_response_due_at is not None or clock.resolved_at:
        return clock
    due = add_business_time(at, policy.targets[priority].next_response, calendar)
    return clock.model_copy(update={"next_response_due_at": due})


def record_resolution(
    clock: SlaClock, at: datetime, calendar: BusinessCalendar = DEFAULT_CALENDAR
) -> SlaClock:
    """The ticket is solved: every deadline stops. Solved after the resolution deadline, or with
    a next response overdue, records the breach. A paused clock (solved while waiting on the
    customer) is resumed first, so the wait counts in ``paused_seconds`` and moves the
    resolution deadline as it would have on any other resumption."""
    if clock.resolved_at is not None:
        return clock
    clock = resume(clock, at, calendar)
    breached = set(breaches(clock, at))
    if clock.resolution_due_at is not None and at > clock.resolution_due_at:
        breached.add(RESOLUTION)
    return clock.model_copy(
        update={"resolved_at": at, "next_response_due_at": None, "breached": _ordered(breached)}
    )


def reprioritize(
    clock: SlaClock,
    priority: Priority,
    opened_at: datetime,
    policy: SlaPolicy = DEFAULT_SLA_POLICY,
    calendar: BusinessCalendar = DEFAULT_CALENDAR,
) -> SlaClock:
    """The clock under the targets of a new ``priority`` (an escalation, a requalification):
    deadlines not yet met are recomputed from ``opened_at`` plus the business time already spent
    paused; met ones and recorded breaches stay. A pending next response keeps its deadline, as
    the message it waits on is not known here."""
    targets = policy.targets[priority]
    paused = timedelta(seconds=clock.paused_seconds)
    update: dict[str, object] = {"policy": policy.clock_name(priority), "warned": False}
    if clock.first_responded_at is None:
        update["first_response_due_at"] = add_business_time(
            opened_at, targets.first_response + paused, calendar
        )
    if clock.resolved_at is None:
        update["resolution_due_at"] = add_business_time(opened_at, targets.resolution + paused, calendar)
    return clock.model_copy(update=update)
