"""Properties of business-time arithmetic over random calendars, instants and durations (hypothesis)."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.business_time import WorkingCalendar, business_add, business_between, in_working_time

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC", "America/Sao_Paulo"]


@st.composite
def calendars(draw) -> WorkingCalendar:
    opens_minute = draw(st.integers(min_value=0, max_value=22 * 60))
    closes_minute = draw(st.integers(min_value=opens_minute + 15, max_value=23 * 60 + 59))
    return WorkingCalendar(
        zone=ZoneInfo(draw(st.sampled_from(ZONES))),
        weekdays=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
        opens=time(*divmod(opens_minute, 60)),
        closes=time(*divmod(closes_minute, 60)),
        holiday_country=draw(st.sampled_from(["", "DE", "US"])),
    )


instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC))
# Up to about two months of business time, in whole minutes (SLA figures are minutes at the finest).
durations = st.integers(min_value=0, max_value=60 * 24 * 60).map(lambda m: timedelta(minutes=m))
positive = st.integers(min_value=1, max_value=60 * 24 * 60).map(lambda m: timedelta(minutes=m))
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(calendar=calendars(), start=instants, amount=positive)
def test_the_result_lies_in_working_time(calendar, start, amount):
    assert in_working_time(calendar, business_add(calendar, start, amount))


@PROPERTY
@given(calendar=calendars(), start=instants, a=durations, b=durations)
def test_adding_a_then_b_is_adding_a_plus_b(calendar, start, a, b):
    assert business_add(calendar, business_add(calendar, start, a), b) == business_add(calendar, start, a + b)


@PROPERTY
@given(calendar=calendars(), start=instants, amount=durations)
def test_business_time_between_t_and_t_plus_n_is_n(calendar, start, amount):
    assert business_between(calendar, start, business_add(calendar, start, amount)) == amount


@PROPERTY
@given(calendar=calendars(), start=instants, later_by=durations, a=durations, b=durations)
def test_monotonic(calendar, start, later_by, a, b):
    later = start + later_by  # a later start (elapsed time, not business time)
    small, big = sorted((a, b))
    assert business_add(calendar, start, small) <= business_add(calendar, start, big)
    assert business_add(calendar, start, a) <= business_add(calendar, later, a)
    assert business_between(calendar, start, later) >= timedelta(0)
