"""Business-time arithmetic on known cases: weekends, holidays, off-hours, closed days and DST."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla.business_time import (
    WorkingCalendar,
    business_add,
    business_between,
    business_days_add,
    format_business_time,
    in_working_time,
)

BERLIN = ZoneInfo("Europe/Berlin")
MON_FRI = frozenset(range(5))


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def office() -> WorkingCalendar:
    """Mon–Fri 9–17 in Berlin, German public holidays."""
    return WorkingCalendar(zone=BERLIN, weekdays=MON_FRI, opens=time(9), closes=time(17), holiday_country="DE")


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def test_a_friday_afternoon_handoff_is_due_on_monday(office):
    # Friday 2026-11-20 16:00: one hour on Friday, five on Monday from 09:00.
    assert business_add(office, berlin(2026, 11, 20, 16, 0), hours(6)) == berlin(2026, 11, 23, 14, 0)
    assert business_add(office, berlin(2026, 11, 20, 15, 0), hours(6)) == berlin(2026, 11, 23, 13, 0)


def test_within_the_same_day(office):
    assert business_add(office, berlin(2026, 11, 18, 9, 30), hours(4)) == berlin(2026, 11, 18, 13, 30)


def test_ending_exactly_at_closing_time_stays_on_that_day(office):
    assert business_add(office, berlin(2026, 11, 20, 9, 0), hours(8)) == berlin(2026, 11, 20, 17, 0)


def test_before_opening_starts_at_opening(office):
    assert business_add(office, berlin(2026, 11, 18, 6, 12), hours(2)) == berlin(2026, 11, 18, 11, 0)


def test_after_closing_starts_next_working_morning(office):
    assert business_add(office, berlin(2026, 11, 18, 19, 45), hours(1)) == berlin(2026, 11, 19, 10, 0)


def test_on_a_weekend_starts_monday(office):
    assert business_add(office, berlin(2026, 11, 21, 11, 0), hours(3)) == berlin(2026, 11, 23, 12, 0)


def test_public_holidays_are_skipped(office):
    # Thursday 2026-12-24 is worked; Friday 25 and Saturday 26 are Christmas, then a weekend.
    assert business_add(office, berlin(2026, 12, 24, 15, 0), hours(6)) == berlin(2026, 12, 28, 13, 0)
    # Good Friday and Easter Monday 2026 (April 3 and 6).
    assert business_add(office, berlin(2026, 4, 2, 16, 0), hours(2)) == berlin(2026, 4, 7, 10, 0)


def test_without_a_country_holidays_are_working_days():
    plain = WorkingCalendar(zone=BERLIN, weekdays=MON_FRI, opens=time(9), closes=time(17))
    assert business_add(plain, berlin(2026, 12, 24, 15, 0), hours(6)) == berlin(2026, 12, 25, 13, 0)


def test_extra_closed_days_are_skipped():
    offsite = WorkingCalendar(zone=BERLIN, weekdays=MON_FRI, opens=time(9), closes=time(17),
                              closed_dates=frozenset({date(2026, 11, 19)}))
    assert business_add(offsite, berlin(2026, 11, 18, 16, 0), hours(2)) == berlin(2026, 11, 20, 10, 0)
    assert offsite.holiday_name(date(2026, 11, 19)) == "closed"


def test_regional_holidays_follow_the_subdivision():
    # Corpus Christi (2026-06-04) is a holiday in Bavaria, not in Berlin.
    bavaria = WorkingCalendar(zone=BERLIN, weekdays=MON_FRI, opens=time(9), closes=time(17),
                              holiday_country="DE", holiday_subdivision="BY")
    berlin_state = WorkingCalendar(zone=BERLIN, weekdays=MON_FRI, opens=time(9), closes=time(17),
                                   holiday_country="DE", holiday_subdivision="BE")
    start = berlin(2026, 6, 3, 16, 0)
    assert business_add(bavaria, start, hours(2)) == berlin(2026, 6, 5, 10, 0)
    assert business_add(berlin_state, start, hours(2)) == berlin(2026, 6, 4, 10, 0)


def test_across_the_spring_dst_weekend_deadlines_keep_wall_clock_times(office):
    # Clocks go forward on Sunday 2026-03-29; Friday 16:00 CET + 6 h is Monday 14:00 CEST.
    due = business_add(office, berlin(2026, 3, 27, 16, 0), hours(6))
    assert due == berlin(2026, 3, 30, 14, 0)
    assert due.utcoffset() == hours(2)
    assert business_between(office, berlin(2026, 3, 27, 16, 0), due) == hours(6)


def test_a_window_on_the_dst_night_is_an_hour_short():
    # A night shift 01:00–05:00 every day: on 2026-03-29 only three real hours pass (02:00 → 03:00).
    night = WorkingCalendar(zone=BERLIN, weekdays=frozenset(range(7)), opens=time(1), closes=time(5))
    assert business_between(night, berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 29, 6, 0)) == hours(3)
    assert business_between(night, berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 25, 6, 0)) == hours(5)
    # Four business hours from Sunday 01:00 run into Monday's window.
    assert business_add(night, berlin(2026, 3, 29, 1, 0), hours(4)) == berlin(2026, 3, 30, 2, 0)


def test_other_zones_are_respected():
    new_york = WorkingCalendar(zone=ZoneInfo("America/New_York"), weekdays=MON_FRI, opens=time(8, 30),
                               closes=time(17, 30), holiday_country="US")
    # Friday 2026-11-20 22:00 UTC is 17:00 in New York: half an hour left, then Monday (no holiday).
    due = business_add(new_york, datetime(2026, 11, 20, 22, 0, tzinfo=UTC), hours(2))
    assert due == datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    # Thanksgiving, Thursday 2026-11-26, is skipped.
    due = business_add(new_york, datetime(2026, 11, 25, 17, 0, tzinfo=ZoneInfo("America/New_York")), hours(1))
    assert due == datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo("America/New_York"))


def test_business_between(office):
    assert business_between(office, berlin(2026, 11, 20, 16, 0), berlin(2026, 11, 23, 14, 0)) == hours(6)
    assert business_between(office, berlin(2026, 11, 23, 14, 0), berlin(2026, 11, 20, 16, 0)) == -hours(6)
    assert business_between(office, berlin(2026, 11, 21, 8, 0), berlin(2026, 11, 22, 20, 0)) == timedelta(0)


def test_working_days(office):
    # 12 working days of 8 hours from Monday 2026-11-16 10:00: two weeks and two days later.
    assert business_days_add(office, berlin(2026, 11, 16, 10, 0), 12) == berlin(2026, 12, 2, 10, 0)


def test_zero_returns_the_start_and_negative_is_refused(office):
    saturday = berlin(2026, 11, 21, 11, 0)
    assert business_add(office, saturday, timedelta(0)) == saturday
    with pytest.raises(ValueError):
        business_add(office, saturday, -hours(1))


def test_naive_datetimes_are_refused(office):
    with pytest.raises(ValueError, match="aware"):
        business_add(office, datetime(2026, 11, 20, 16, 0), hours(1))


def test_a_calendar_needs_working_time():
    with pytest.raises(ValueError):
        WorkingCalendar(zone=BERLIN, weekdays=frozenset(), opens=time(9), closes=time(17))
    with pytest.raises(ValueError):
        WorkingCalendar(zone=BERLIN, weekdays=MON_FRI, opens=time(17), closes=time(9))


def test_in_working_time(office):
    assert in_working_time(office, berlin(2026, 11, 20, 17, 0))
    assert not in_working_time(office, berlin(2026, 11, 20, 9, 0))
    assert not in_working_time(office, berlin(2026, 11, 21, 12, 0))


def test_format_business_time(office):
    assert format_business_time(hours(5) + timedelta(minutes=20), office) == "5 h 20 min"
    assert format_business_time(timedelta(minutes=45), office) == "45 min"
    assert format_business_time(hours(8 * 12), office) == "12 working days"
    assert format_business_time(hours(8 * 4 + 1), office) == "4 working days 1 h"
    assert format_business_time(hours(11), office) == "11 h"
    assert format_business_time(timedelta(0), office) == "0 min"
