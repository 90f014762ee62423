"""What the supplier sells and who installs it: products, stock levels, technicians and slots.

Planning is pure: given the technicians, the slots already booked and "now", it lists the
installation slots that could be offered. The store then books one with a conditional write
(``TECH#<id>`` / ``SLOT#<start>``), so two orders racing for the same slot cannot both win: the
loser takes the next candidate.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from shared.domain.common import DomainModel
from shared.domain.errors import Conflict

SLOT_MINUTES = 120  # one installation visit; slots start at the beginning of a working window
LEAD_DAYS = 1  # never offer a slot today: the hardware has to be prepared first
HORIZON_DAYS = 28  # how far ahead planning looks


class SlotTaken(Conflict):
    """Someone booked this technician's slot first: take the next candidate."""


class Product(DomainModel):
    sku: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    unit_price: Decimal = Field(ge=0)
    vat_rate: Decimal = Field(default=Decimal("0.20"), ge=0, le=1)
    orderable: bool = True
    is_service: bool = False  # installed by a technician (needs ``skill``)
    skill: str | None = None  # the technician skill a service line needs ("fiber", "alarm", ...)
    stock_tracked: bool = False  # hardware reserved from stock during preparation


class StockLevel(DomainModel):
    sku: str
    available: int = Field(ge=0)
    reserved: int = Field(default=0, ge=0)


class WorkingWindow(DomainModel):
    """One span of a working day, in the technician's time zone (0 = Monday)."""

    weekday: int = Field(ge=0, le=6)
    start: time
    end: time

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: time, info: object) -> time:
        start = getattr(info, "data", {}).get("start")
        if start is not None and end <= start:
            raise ValueError("a working window ends after it starts")
        return end


class Technician(DomainModel):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)  # their staff account: reports as them
    skills: list[str] = Field(default_factory=list)
    windows: list[WorkingWindow] = Field(default_factory=list)
    timezone: str = "Europe/Paris"
    active: bool = True

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def can_do(self, skills: Iterable[str]) -> bool:
        return self.active and set(skills) <= set(self.skills)


class Slot(DomainModel):
    technician_id: str
    start: datetime  # UTC
    end: datetime


def _starts_on(technician: Technician, day: date) -> list[tuple[datetime, datetime]]:
    zone = ZoneInfo(technician.timezone)
    spans = []
    for window in technician.windows:
        if window.weekday != day.weekday():
            continue
        begin = datetime.combine(day, window.start, tzinfo=zone)
        finish = datetime.combine(day, window.end, tzinfo=zone)
        step = timedelta(minutes=SLOT_MINUTES)
        cursor = begin
        while cursor + step <= finish:
            spans.append((cursor.astimezone(UTC), (cursor + step).astimezone(UTC)))
            cursor += step
    return spans


def available_slots(
    technicians: Iterable[Technician],
    skills: Iterable[str],
    booked: set[tuple[str, datetime]],
    now: datetime,
    *,
    not_before: datetime | None = None,
    limit: int = 5,
    horizon_days: int = HORIZON_DAYS,
) -> list[Slot]:
    """The earliest free slots of technicians who have every required skill, soonest first.

    ``booked`` holds (technician id, slot start in UTC). Slots start no earlier than the day
    after ``now`` (``LEAD_DAYS``) and never before ``not_before`` (a new visit after a failed one).
    """
    required = set(skills)
    earliest = datetime.combine((now + timedelta(days=LEAD_DAYS)).date(), time(0), tzinfo=UTC)
    if not_before is not None:
        earliest = max(earliest, not_before)
    able = sorted((t for t in technicians if t.can_do(required)), key=lambda t: t.id)
    found: list[Slot] = []
    first_day = earliest.date() - timedelta(days=1)  # time zones ahead of UTC start "yesterday"
    for offset in range(horizon_days + 1):
        day = first_day + timedelta(days=offset)
        candidates = [
            Slot(technician_id=tech.id, start=start, end=end)
            for tech in able
            for start, end in _starts_on(tech, day)
            if start >= earliest and (tech.id, start) not in booked
        ]
        found += sorted(candidates, key=lambda s: (s.start, s.technician_id))
        if len(found) >= limit:
            break
    return sorted(found, key=lambda s: (s.start, s.technician_id))[:limit]


def required_skills(products: Iterable[Product]) -> set[str]:
    return {p.skill for p in products if p.is_service and p.skill}
