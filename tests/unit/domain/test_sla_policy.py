"""SLA policies: business time across nights, weekends, holidays and DST; the SLA clock."""

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from shared.domain.sla_policy import (
    ALWAYS_OPEN,
    BUSINESS_DAY,
    DEFAULT_CALENDAR,
    DEFAULT_SLA_POLICY,
    BusinessCalendar,
    SlaPolicy,
    SlaTargets,
    TimeRange,
    Weekday,
    add_business_time,
    await_next_response,
    breaches,
    business_time_between,
    due_soon,
    easter_sunday,
    french_public_holidays,
    next_deadline,
    pause,
    record_first_response,
    record_reply,
    record_resolution,
    reprioritize,
    resume,
    start_clock,
    time_left,
)
from shared.domain.ticket import Priority, SlaClock

PARIS = ZoneInfo("Europe/Paris")
H = timedelta(hours=1)


def paris(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def local(moment):
    return moment.astimezone(PARIS).replace(tzinfo=None)


# 2026: Monday 2 March; DST starts Sunday 29 March, ends Sunday 25 October; Easter is 5 April.
MON = paris(2026, 3, 2, 9)
PARIS_24_7 = BusinessCalendar(
    timezone="Europe/Paris", hours={d: [TimeRange(start=time(0), end=time(0))] for d in Weekday}
)


# --- business time ------------------------------------------------------------------------


def test_business_time_is_added_within_opening_hours():
    assert add_business_time(paris(2026, 3, 2, 10), 2 * H, DEFAULT_CALENDAR) == paris(2026, 3, 2, 12)
    # Before opening: counting starts at 09:00.
    assert add_business_time(paris(2026, 3, 2, 7), 2 * H, DEFAULT_CALENDAR) == paris(2026, 3, 2, 11)
    # After closing: the next morning.
    assert add_business_time(paris(2026, 3, 2, 20), 2 * H, DEFAULT_CALENDAR) == paris(2026, 3, 3, 11)


def test_a_duration_that_ends_at_closing_time_ends_at_closing_time():
    assert add_business_time(paris(2026, 3, 2, 16), 2 * H, DEFAULT_CALENDAR) == paris(2026, 3, 2, 18)
    assert add_business_time(paris(2026, 3, 2, 16), 2 * H + timedelta(seconds=1), DEFAULT_CALENDAR) == (
        paris(2026, 3, 3, 9) + timedelta(seconds=1)
    )


def test_friday_evening_carries_over_to_monday():
    friday = paris(2026, 3, 6, 17)
    assert add_business_time(friday, 2 * H, DEFAULT_CALENDAR) == paris(2026, 3, 9, 10)
    assert add_business_time(paris(2026, 3, 7, 11), H, DEFAULT_CALENDAR) == paris(2026, 3, 9, 10)  # Saturday


def test_holidays_are_closed_all_day():
    # Friday 1 May 2026 (Fête du travail): Thursday 17:00 + 2 h is Monday 4 May, 10:00.
    assert add_business_time(paris(2026, 4, 30, 17), 2 * H, DEFAULT_CALENDAR) == paris(2026, 5, 4, 10)
    # Ascension (Thursday 14 May) then an ordinary Friday.
    assert add_business_time(paris(2026, 5, 13, 17), 2 * H, DEFAULT_CALENDAR) == paris(2026, 5, 15, 10)
    # Thursday 24 December only: Friday 25 is Christmas, then the weekend.
    assert (
        business_time_between(paris(2026, 12, 24, 9), paris(2026, 12, 28, 9), DEFAULT_CALENDAR)
        == BUSINESS_DAY
    )


def test_a_zero_duration_is_the_start_itself_even_when_closed():
    saturday = paris(2026, 3, 7, 11)
    assert add_business_time(saturday, timedelta(0), DEFAULT_CALENDAR) is saturday


def test_negative_durations_and_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="negative"):
        add_business_time(MON, -H, DEFAULT_CALENDAR)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(datetime(2026, 3, 2, 9), H, DEFAULT_CALENDAR)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_time_between(MON, datetime(2026, 3, 2, 9), DEFAULT_CALENDAR)


def test_the_result_keeps_the_start_time_zone_and_utc_input_works():
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)  # 09:00 in Paris
    due = add_business_time(start, 8 * H, DEFAULT_CALENDAR)
    assert due.tzinfo is UTC
    assert due == datetime(2026, 3, 2, 16, tzinfo=UTC)  # 17:00 in Paris


def test_business_time_between_counts_working_time_only_and_is_signed():
    assert business_time_between(MON, paris(2026, 3, 2, 18), DEFAULT_CALENDAR) == 9 * H
    assert business_time_between(paris(2026, 3, 6, 17), paris(2026, 3, 9, 10), DEFAULT_CALENDAR) == 2 * H
    assert business_time_between(paris(2026, 3, 7, 0), paris(2026, 3, 8, 23), DEFAULT_CALENDAR) == timedelta(
        0
    )
    assert business_time_between(paris(2026, 3, 9, 10), paris(2026, 3, 6, 17), DEFAULT_CALENDAR) == -2 * H
    assert business_time_between(MON, MON, DEFAULT_CALENDAR) == timedelta(0)


def test_a_whole_year_of_working_time():
    total = business_time_between(paris(2026, 1, 1), paris(2027, 1, 1), DEFAULT_CALENDAR)
    weekdays = sum(1 for n in range(365) if (date(2026, 1, 1) + timedelta(days=n)).weekday() < 5)
    weekday_holidays = sum(1 for d in french_public_holidays(2026) if d.weekday() < 5)
    assert total == BUSINESS_DAY * (weekdays - weekday_holidays)


@pytest.mark.parametrize(
    ("start", "hours"),
    [(paris(2026, 3, 2, 9, 30), 1), (paris(2026, 3, 6, 17, 15), 5), (paris(2026, 4, 30, 12), 30)],
)
def test_adding_then_measuring_gives_back_the_duration(start, hours):
    due = add_business_time(start, hours * H, DEFAULT_CALENDAR)
    assert business_time_between(start, due, DEFAULT_CALENDAR) == hours * H


# --- DST ----------------------------------------------------------------------------------


def test_office_hours_stay_local_across_the_spring_change():
    # Friday 27 March (UTC+1) 17:00 + 2 h: Monday 30 March (UTC+2) 10:00 local, 08:00 UTC.
    due = add_business_time(paris(2026, 3, 27, 17), 2 * H, DEFAULT_CALENDAR)
    assert local(due) == datetime(2026, 3, 30, 10)
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 8, tzinfo=UTC)


def test_office_hours_stay_local_across_the_autumn_change():
    due = add_business_time(paris(2026, 10, 23, 17), 2 * H, DEFAULT_CALENDAR)
    assert local(due) == datetime(2026, 10, 26, 10)
    assert due.astimezone(UTC) == datetime(2026, 10, 26, 9, tzinfo=UTC)


def test_a_round_the_clock_calendar_has_a_23_hour_day_in_spring_and_a_25_hour_day_in_autumn():
    assert business_time_between(paris(2026, 3, 29), paris(2026, 3, 30), PARIS_24_7) == 23 * H
    assert business_time_between(paris(2026, 10, 25), paris(2026, 10, 26), PARIS_24_7) == 25 * H
    # One real hour after 01:30 on the spring night is 03:30: 02:30 never happened.
    assert local(add_business_time(paris(2026, 3, 29, 1, 30), H, PARIS_24_7)) == datetime(2026, 3, 29, 3, 30)
    # Two real hours after 01:30 (UTC+2) on the autumn night is 02:30 the second time (UTC+1),
    # not 03:30: absolute arithmetic, not wall-clock arithmetic.
    first = datetime(2026, 10, 25, 1, 30, tzinfo=PARIS)
    assert add_business_time(first, 2 * H, PARIS_24_7).astimezone(UTC) == datetime(
        2026, 10, 25, 1, 30, tzinfo=UTC
    )


def test_working_hours_inside_the_dst_gap_or_overlap_count_real_time_only():
    night = BusinessCalendar(
        timezone="Europe/Paris", hours={Weekday.sunday: [TimeRange(start=time(1), end=time(4))]}
    )
    spring = business_time_between(paris(2026, 3, 29), paris(2026, 3, 30), night)
    autumn = business_time_between(paris(2026, 10, 25), paris(2026, 10, 26), night)
    ordinary = business_time_between(paris(2026, 3, 22), paris(2026, 3, 23), night)
    assert (spring, ordinary, autumn) == (2 * H, 3 * H, 4 * H)


def test_utc_calendar_ignores_dst():
    assert business_time_between(paris(2026, 3, 29), paris(2026, 3, 30), ALWAYS_OPEN) == 23 * H
    assert add_business_time(paris(2026, 3, 28, 12), 48 * H, ALWAYS_OPEN) == paris(2026, 3, 30, 13)


# --- calendars ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2038, date(2038, 4, 25)),
    ],
)
def test_easter_sunday(year, easter):
    assert easter_sunday(year) == easter


def test_french_public_holidays_2026():
    holidays = french_public_holidays(2026)
    assert len(holidays) == 11
    assert {date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25), date(2026, 7, 14)} <= set(holidays)
    assert holidays == sorted(holidays)
    assert set(holidays) <= set(DEFAULT_CALENDAR.holidays)


def test_is_open():
    assert DEFAULT_CALENDAR.is_open(MON)
    assert not DEFAULT_CALENDAR.is_open(paris(2026, 3, 2, 18))  # closing time is closed
    assert not DEFAULT_CALENDAR.is_open(paris(2026, 5, 1, 10))  # holiday
    assert ALWAYS_OPEN.is_open(paris(2026, 5, 1, 3))
    assert PARIS_24_7.is_open(paris(2026, 3, 3, 23, 59))


def test_split_days_and_json_round_trip():
    calendar = BusinessCalendar.model_validate(
        {
            "timezone": "Europe/Paris",
            "hours": {
                "monday": [{"start": "13:30", "end": "18:00"}, {"start": "09:00", "end": "12:30"}],
                "saturday": [{"start": "10:00", "end": "12:00"}],
            },
            "holidays": ["2026-03-09"],
        }
    )
    assert [r.start for r in calendar.hours[Weekday.monday]] == [time(9), time(13, 30)]  # sorted
    # Monday 2 March 12:00 + 2 h: 12:00-12:30, then 13:30-15:00.
    assert add_business_time(paris(2026, 3, 2, 12), 2 * H, calendar) == paris(2026, 3, 2, 15)
    # Saturday 7 March 11:00-12:00, Monday 9 March is a holiday, then Saturday 14 March 10:00-11:00.
    assert add_business_time(paris(2026, 3, 7, 11), 2 * H, calendar) == paris(2026, 3, 14, 11)
    assert BusinessCalendar.model_validate_json(calendar.model_dump_json()) == calendar


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Europe/Pariss"}, "unknown time zone"),
        ({"timezone": "../etc/passwd"}, "unknown time zone"),
        ({"hours": {}}, "at least one day"),
        ({"hours": {"monday": []}}, "at least one day"),
        ({"hours": {"monday": [{"start": "18:00", "end": "09:00"}]}}, "ends after it starts"),
        (
            {"hours": {"monday": [{"start": "09:00", "end": "13:00"}, {"start": "12:00", "end": "18:00"}]}},
            "overlap",
        ),
        ({"hours": {"funday": [{"start": "09:00", "end": "13:00"}]}}, "funday"),
    ],
)
def test_broken_calendars_are_refused(changes, message):
    with pytest.raises(ValidationError, match=message):
        BusinessCalendar.model_validate(changes)


def test_a_calendar_that_never_opens_in_ten_years_is_reported_not_looped_on():
    mondays = [date(2026, 3, 2) + timedelta(weeks=n) for n in range(600)]
    calendar = BusinessCalendar(
        hours={Weekday.monday: [TimeRange(start=time(9), end=time(10))]}, holidays=mondays
    )
    with pytest.raises(ValueError, match="no working time"):
        add_business_time(MON, H, calendar)


# --- policies -----------------------------------------------------------------------------


def test_a_policy_covers_every_priority_with_positive_targets():
    targets = SlaTargets(first_response=H, next_response=H, resolution=H)
    with pytest.raises(ValidationError, match="missing for low"):
        SlaPolicy(id="p", targets={p: targets for p in Priority if p is not Priority.low})
    with pytest.raises(ValidationError, match="positive"):
        SlaTargets(first_response=timedelta(0), next_response=H, resolution=H)
    policy = SlaPolicy.model_validate_json(DEFAULT_SLA_POLICY.model_dump_json())
    assert policy == DEFAULT_SLA_POLICY


def test_default_targets_tighten_with_priority():
    t = DEFAULT_SLA_POLICY.targets
    order = [Priority.urgent, Priority.high, Priority.normal, Priority.low]
    for faster, slower in pairwise(order):
        assert t[faster].first_response < t[slower].first_response
        assert t[faster].resolution < t[slower].resolution


# --- the clock ----------------------------------------------------------------------------


def test_start_clock_sets_business_deadlines():
    clock = start_clock(Priority.normal, paris(2026, 3, 6, 16), DEFAULT_SLA_POLICY, DEFAULT_CALENDAR)
    assert clock.policy == "standard-normal"
    assert clock.first_response_due_at == paris(2026, 3, 9, 11)  # 4 h: Fri 16-18, Mon 9-11
    assert clock.resolution_due_at == paris(2026, 3, 11, 16)  # 27 h: Fri 2 + Mon 9 + Tue 9 + Wed 7
    assert clock.next_response_due_at is None
    assert next_deadline(clock) == ("first_response", paris(2026, 3, 9, 11))


def test_pause_and_resume_move_running_deadlines_by_the_paused_business_time():
    clock = record_first_response(start_clock(Priority.normal, MON), paris(2026, 3, 2, 10))
    resolution = clock.resolution_due_at
    paused = pause(clock, paris(2026, 3, 2, 11))
    assert paused.paused_since == paris(2026, 3, 2, 11)
    assert paused.next_due() is None and next_deadline(paused) is None
    # Waiting from Monday 11:00 until Wednesday 11:00 is 18 business hours.
    resumed = resume(paused, paris(2026, 3, 4, 11), DEFAULT_CALENDAR)
    assert resumed.paused_since is None
    assert resumed.paused_seconds == 18 * 3600
    assert resumed.resolution_due_at == add_business_time(resolution, 18 * H, DEFAULT_CALENDAR)
    # The same as restarting the business time that was left when the clock stopped.
    left = business_time_between(paris(2026, 3, 2, 11), resolution, DEFAULT_CALENDAR)
    assert resumed.resolution_due_at == add_business_time(paris(2026, 3, 4, 11), left, DEFAULT_CALENDAR)
    assert resumed.first_responded_at == paris(2026, 3, 2, 10)


def test_a_wait_over_a_weekend_costs_only_the_business_hours_in_it():
    clock = start_clock(Priority.high, paris(2026, 3, 6, 17))  # first response due Monday 10:00
    assert clock.first_response_due_at == paris(2026, 3, 9, 10)
    resumed = resume(pause(clock, paris(2026, 3, 6, 17, 30)), paris(2026, 3, 9, 9, 15))
    # Waited Friday 17:30-18:00 and Monday 09:00-09:15: 45 minutes.
    assert resumed.paused_seconds == 45 * 60
    assert resumed.first_response_due_at == paris(2026, 3, 9, 10, 45)


def test_a_pause_spent_entirely_outside_business_hours_moves_nothing():
    clock = start_clock(Priority.normal, MON).model_copy(update={"warned": True})
    resumed = resume(pause(clock, paris(2026, 3, 7, 10)), paris(2026, 3, 8, 20))
    assert resumed.first_response_due_at == clock.first_response_due_at
    assert resumed.paused_seconds == 0
    assert resumed.warned  # nothing moved, the warning still holds


def test_pausing_twice_or_resuming_a_running_clock_changes_nothing():
    clock = start_clock(Priority.normal, MON)
    assert resume(clock, paris(2026, 3, 2, 12)) == clock
    once = pause(clock, paris(2026, 3, 2, 10))
    assert pause(once, paris(2026, 3, 2, 11)) == once
    assert pause(record_resolution(clock, paris(2026, 3, 2, 10)), paris(2026, 3, 2, 11)).paused_since is None


def test_no_breach_accrues_while_paused_and_a_miss_before_the_pause_stays():
    clock = start_clock(Priority.urgent, MON)  # first response due 10:00
    paused = pause(clock, paris(2026, 3, 2, 9, 30))
    assert breaches(paused, paris(2026, 3, 9, 9)) == []
    late = pause(clock, paris(2026, 3, 2, 10, 30))
    assert late.breached == ["first_response"]
    resumed = resume(late, paris(2026, 3, 2, 15), DEFAULT_CALENDAR)
    # The missed deadline is not moved (nor un-missed); the resolution deadline is.
    assert resumed.first_response_due_at == clock.first_response_due_at
    assert resumed.resolution_due_at == add_business_time(clock.resolution_due_at, 4.5 * H, DEFAULT_CALENDAR)
    assert breaches(resumed, paris(2026, 3, 2, 15)) == ["first_response"]


def test_first_response_on_time_late_and_idempotent():
    clock = start_clock(Priority.urgent, MON)  # due 10:00
    on_time = record_first_response(clock, paris(2026, 3, 2, 9, 40))
    assert on_time.first_responded_at == paris(2026, 3, 2, 9, 40)
    assert breaches(on_time, paris(2026, 3, 2, 12)) == []
    assert record_first_response(on_time, paris(2026, 3, 2, 9, 50)) == on_time
    late = record_first_response(clock, paris(2026, 3, 2, 10, 1))
    assert late.breached == ["first_response"]
    assert breaches(late, paris(2026, 3, 2, 10, 2)) == ["first_response"]


def test_the_deadline_itself_is_still_on_time():
    clock = start_clock(Priority.urgent, MON)
    assert breaches(clock, paris(2026, 3, 2, 10)) == []
    assert breaches(clock, paris(2026, 3, 2, 10) + timedelta(seconds=1)) == ["first_response"]
    assert record_first_response(clock, paris(2026, 3, 2, 10)).breached == []


def test_next_response_runs_after_the_first_response_from_the_oldest_unanswered_message():
    clock = start_clock(Priority.normal, MON)
    # Before the first response, a customer follow-up starts nothing new.
    assert await_next_response(clock, paris(2026, 3, 2, 9, 30), Priority.normal) == clock
    answered = record_reply(clock, paris(2026, 3, 2, 10))
    assert answered.first_responded_at == paris(2026, 3, 2, 10)
    waiting = await_next_response(answered, paris(2026, 3, 2, 11), Priority.normal)
    assert waiting.next_response_due_at == paris(2026, 3, 3, 11)  # one business day
    # A second message does not push the deadline back.
    assert await_next_response(waiting, paris(2026, 3, 2, 15), Priority.normal) == waiting
    assert next_deadline(waiting) == ("next_response", paris(2026, 3, 3, 11))
    replied = record_reply(waiting, paris(2026, 3, 3, 10))
    assert replied.next_response_due_at is None
    assert replied.breached == []
    assert record_reply(replied, paris(2026, 3, 3, 11)) == replied  # nothing awaited


def test_a_late_next_response_is_recorded():
    clock = record_reply(start_clock(Priority.urgent, MON), paris(2026, 3, 2, 9, 30))
    waiting = await_next_response(clock, paris(2026, 3, 2, 10), Priority.urgent)
    assert waiting.next_response_due_at == paris(2026, 3, 2, 12)
    assert breaches(waiting, paris(2026, 3, 2, 12, 30)) == ["next_response"]
    late = record_reply(waiting, paris(2026, 3, 2, 13))
    assert late.next_response_due_at is None
    assert late.breached == ["next_response"]


def test_resolution_stops_every_deadline_and_records_a_late_one():
    clock = start_clock(Priority.urgent, MON)  # resolution due Monday 18:00
    on_time = record_resolution(record_reply(clock, paris(2026, 3, 2, 9, 30)), paris(2026, 3, 2, 17))
    assert on_time.resolved_at == paris(2026, 3, 2, 17)
    assert next_deadline(on_time) is None
    assert breaches(on_time, paris(2026, 3, 20)) == []
    assert record_resolution(on_time, paris(2026, 3, 2, 17, 30)) == on_time
    late = record_resolution(record_reply(clock, paris(2026, 3, 2, 9, 30)), paris(2026, 3, 3, 10))
    assert late.breached == ["resolution"]
    never_answered = record_resolution(clock, paris(2026, 3, 3, 10))
    assert never_answered.breached == ["first_response", "resolution"]


def test_resolution_clears_a_pending_next_response_and_reports_it_if_overdue():
    clock = record_reply(start_clock(Priority.urgent, MON), paris(2026, 3, 2, 9, 30))
    waiting = await_next_response(clock, paris(2026, 3, 2, 10), Priority.urgent)  # due 12:00
    solved = record_resolution(waiting, paris(2026, 3, 2, 13))
    assert solved.next_response_due_at is None
    assert solved.breached == ["next_response"]


def test_resolution_while_paused_counts_the_wait_and_does_not_breach_for_it():
    clock = record_reply(start_clock(Priority.urgent, MON), paris(2026, 3, 2, 9, 30))  # resolution 18:00
    paused = pause(clock, paris(2026, 3, 2, 10))
    solved = record_resolution(paused, paris(2026, 3, 4, 10), DEFAULT_CALENDAR)
    assert solved.paused_since is None
    assert solved.paused_seconds == 18 * 3600
    assert solved.breached == []
    assert solved.resolved_at == paris(2026, 3, 4, 10)


def test_due_soon_in_wall_clock_or_business_time():
    clock = start_clock(Priority.urgent, paris(2026, 3, 6, 17, 15))  # 1 h: due Monday 09:15
    assert clock.first_response_due_at == paris(2026, 3, 9, 9, 15)
    friday_evening = paris(2026, 3, 6, 17, 45)
    assert not due_soon(clock, friday_evening, H)
    assert due_soon(clock, friday_evening, H, DEFAULT_CALENDAR)  # 30 business minutes left
    assert due_soon(clock, paris(2026, 3, 9, 8, 30), H)
    assert due_soon(clock, paris(2026, 3, 9, 9, 15), H)  # at the deadline: still due, not breached
    assert not due_soon(clock, paris(2026, 3, 9, 9, 16), H)  # passed: a breach, not a warning
    assert not due_soon(pause(clock, friday_evening), paris(2026, 3, 9, 8, 30), H)
    resolved = record_resolution(clock, friday_evening)
    assert not due_soon(resolved, paris(2026, 3, 9, 8, 30), H)


def test_time_left_is_business_time_and_negative_once_passed():
    clock = start_clock(Priority.urgent, paris(2026, 3, 6, 17, 15))
    assert time_left(clock, paris(2026, 3, 6, 17, 45), DEFAULT_CALENDAR) == timedelta(minutes=30)
    assert time_left(clock, paris(2026, 3, 9, 10, 15), DEFAULT_CALENDAR) == -H
    assert time_left(pause(clock, paris(2026, 3, 6, 17, 45)), MON, DEFAULT_CALENDAR) is None


def test_reprioritize_recomputes_running_deadlines_with_the_paused_time():
    clock = start_clock(Priority.low, MON)
    paused = resume(pause(clock, paris(2026, 3, 2, 10)), paris(2026, 3, 2, 12))  # 2 h paused
    urgent = reprioritize(paused, Priority.urgent, MON)
    assert urgent.policy == "standard-urgent"
    assert urgent.first_response_due_at == paris(2026, 3, 2, 12)  # 1 h + 2 h paused
    assert urgent.resolution_due_at == paris(2026, 3, 3, 11)  # 9 h + 2 h paused
    answered = record_first_response(clock, paris(2026, 3, 2, 10))
    assert reprioritize(answered, Priority.urgent, MON).first_response_due_at == clock.first_response_due_at


def test_the_clock_stays_a_valid_ticket_sla_clock():
    clock = start_clock(Priority.normal, MON)
    for step in (
        lambda c: pause(c, paris(2026, 3, 2, 10)),
        lambda c: resume(c, paris(2026, 3, 3, 10)),
        lambda c: record_reply(c, paris(2026, 3, 3, 11)),
        lambda c: await_next_response(c, paris(2026, 3, 3, 12), Priority.normal),
        lambda c: record_resolution(c, paris(2026, 3, 4, 12)),
    ):
        clock = step(clock)
        assert SlaClock.model_validate(clock.model_dump()) == clock
