"""Business-time arithmetic: the one place that knows what a "business hour" is.

A business calendar opens the same hours on each of its working weekdays, in one time zone, except on
the public holidays of its country and on its extra closed days. Business time is the real (elapsed)
time that falls inside those opening windows, so on a night when the clocks change a window is an hour
shorter or longer, and an instant is never counted twice.

All arithmetic is done on UTC instants; the calendar's zone only decides where each day's window lies.
Two rules keep the properties the SLA relies on (tests/sla/test_business_time_properties.py):

- adding N > 0 business hours lands inside a window, at its closing time at the latest (a deadline of
  "Friday 17:00" is not moved to "Monday 09:00");
- adding a then b lands where adding a + b lands, and business time between t and t + N is N.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

# A calendar with no opening window for ten years is broken (no working weekday, every day closed):
# stop instead of looping for ever.
_MAX_CLOSED_DAYS = 3660
_DAY = timedelta(days=1)


@lru_cache(maxsize=64)
def public_holidays(country: str, subdivision: str = "") -> holidays.HolidayBase:
    """The public holidays of a country (and region), from the `holidays` library; grows year by year."""
    return holidays.country_holidays(country, subdiv=subdivision or None)


@dataclass(frozen=True)
class WorkingCalendar:
    """What business-time arithmetic needs to know of a business calendar; free of the database."""

    zone: ZoneInfo
    weekdays: frozenset[int]  # Monday is 0, as date.weekday()
    opens: time
    closes: time
    holiday_country: str = ""
    holiday_subdivision: str = ""
    closed_dates: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError("A business calendar needs at least one working weekday (0 = Monday … 6 = Sunday).")
        if self.opens >= self.closes:
            raise ValueError("A business day must close after it opens.")

    @property
    def hours_per_day(self) -> timedelta:
        """The length of one working day on the clock (on a DST day the real window differs by an hour)."""
        return datetime.combine(date.min, self.closes) - datetime.combine(date.min, self.opens)

    def is_working_day(self, day: date) -> bool:
        if day.weekday() not in self.weekdays or day in self.closed_dates:
            return False
        return not (self.holiday_country and day in public_holidays(self.holiday_country, self.holiday_subdivision))

    def holiday_name(self, day: date) -> str:
        if day in self.closed_dates:
            return "closed"
        if self.holiday_country:
            return public_holidays(self.holiday_country, self.holiday_subdivision).get(day) or ""
        return ""

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's opening window as UTC instants, or None when the day is not worked."""
        if not self.is_working_day(day):
            return None
        start = datetime.combine(day, self.opens, tzinfo=self.zone).astimezone(UTC)
        end = datetime.combine(day, self.closes, tzinfo=self.zone).astimezone(UTC)
        # A window that a DST jump swallows whole (opening inside the skipped hour) is no window.
        return (start, end) if end > start else None

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()


def _aware(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone).")
    return at.astimezone(UTC)


def business_add(calendar: WorkingCalendar, start: datetime, duration: timedelta) -> datetime:
    """The instant `duration` of business time after `start`, in the calendar's zone."""
    if duration < timedelta(0):
        raise ValueError("Business time is added forwards only.")
    cursor = _aware(start, "start")
    if duration == timedelta(0):
        return cursor.astimezone(calendar.zone)
    remaining = duration
    # The window of the local day before can still be open at `start` only if a window crossed midnight,
    # which a calendar cannot express; so the walk starts on the local date of `start`.
    day = calendar.local_date(cursor)
    closed_run = 0
    while True:
        window = calendar.window(day)
        if window is None:
            closed_run += 1
            if closed_run > _MAX_CLOSED_DAYS:
                raise ValueError("The business calendar has no working time in ten years.")
        else:
            closed_run = 0
            begin, end = max(window[0], cursor), window[1]
            if end > begin:
                available = end - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(calendar.zone)
                remaining -= available
        day += _DAY


def business_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> timedelta:
    """The business time from `start` to `end`; negative when `end` comes first."""
    start, end = _aware(start, "start"), _aware(end, "end")
    if end < start:
        return -business_between(calendar, end, start)
    total = timedelta(0)
    day, last = calendar.local_date(start), calendar.local_date(end)
    while day <= last:
        window = calendar.window(day)
        if window is not None:
            begin, finish = max(window[0], start), min(window[1], end)
            if finish > begin:
                total += finish - begin
        day += _DAY
    return total


def in_working_time(calendar: WorkingCalendar, at: datetime) -> bool:
    """Whether `at` lies in an opening window, the opening instant excluded and the closing one included.

    That is where adding a positive amount of business time can land: work done up to closing time
    counts, and a deadline never falls on the very instant a window opens.
    """
    at = _aware(at, "at")
    window = calendar.window(calendar.local_date(at))
    return window is not None and window[0] < at <= window[1]


def business_days_add(calendar: WorkingCalendar, start: datetime, days: int) -> datetime:
    """`days` working days after `start`: the same business time as that many full working days."""
    return business_add(calendar, start, calendar.hours_per_day * days)


def format_business_time(amount: timedelta, calendar: WorkingCalendar | None = None) -> str:
    """A duration of business time for people: "45 min", "13 h 20 min", and from two working days of the
    calendar on, "4 working days 1 h" (a bare "4 d" would read as calendar days)."""
    minutes = int(abs(amount).total_seconds() // 60)
    day_minutes = int(calendar.hours_per_day.total_seconds() // 60) if calendar else 0
    if day_minutes and minutes >= 2 * day_minutes:
        days, rest = divmod(minutes, day_minutes)
        hours = rest // 60
        return f"{days} working days" + (f" {hours} h" if hours else "")
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes or not hours:
        parts.append(f"{minutes} min")
    return " ".join(parts)
