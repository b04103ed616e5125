"""Reporting periods: what "this week" or "last month" means, in the organisation's time zone, and the
period each is compared with."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

PERIOD_CHOICES = [
    ("this_week", "This week"),
    ("last_week", "Last week"),
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("this_quarter", "This quarter"),
    ("last_quarter", "Last quarter"),
    ("custom", "Custom range"),
]
DEFAULT_PERIOD = "this_month"
# A custom range longer than this is cut: the rollups hold days, and a multi-year range is a report, not a view.
MAX_CUSTOM_DAYS = 400


def org_zone() -> ZoneInfo:
    """The organisation's time zone: the SLA calendar's when an SLA is in force, else the server's.

    Read through the sla app when it is installed with its calendar; days, weeks and months of every
    dashboard figure are counted in this zone.
    """
    from django.core.cache import cache

    # Read on every dashboard request: a minute in the cache (an SLA's zone changes when both teams sign).
    zone = cache.get("dashboards:org-zone")
    if zone is None:
        try:
            from scoring.models import VersionStatus
            from sla.models import SlaVersion  # the layer below; optional while the SLA is being built

            zone = (SlaVersion.objects.filter(status=VersionStatus.ACTIVE)
                    .values_list("calendar__time_zone", flat=True).first())
        except (ImportError, AttributeError, LookupError):
            zone = None
        zone = zone or settings.TIME_ZONE
        cache.set("dashboards:org-zone", zone, getattr(settings, "DASHBOARD_CACHE_SECONDS", 60))
    return ZoneInfo(zone)


def local_today(zone: ZoneInfo | None = None) -> date:
    return timezone.now().astimezone(zone or org_zone()).date()


def day_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants whole local days run between: [first 00:00, the day after last 00:00)."""
    return (datetime.combine(first, time(0), tzinfo=zone),
            datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone))


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


@dataclass(frozen=True)
class Span:
    """Whole local days from `first` to `last`, both included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def label(self) -> str:
        if self.first == self.last:
            return f"{self.first:%-d %b %Y}"
        if self.first.year == self.last.year:
            if self.first.month == self.last.month:
                return f"{self.first:%-d}–{self.last:%-d %b %Y}"
            return f"{self.first:%-d %b} – {self.last:%-d %b %Y}"
        return f"{self.first:%-d %b %Y} – {self.last:%-d %b %Y}"


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    current: Span
    previous: Span
    # Whether the period runs up to today (the comparison then covers as many days of the previous one).
    to_date: bool


def _parse_day(value: str | None) -> date | None:
    if not value or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def period_resolve(key: str | None, *, start: str | None = None, end: str | None = None,
                   today: date | None = None) -> Period:
    """The period a picker value names. A period that has not ended runs to today and is compared with
    the same number of days of the period before (this month to the 25th against last month to the 25th);
    a custom range is compared with the range of equal length just before it. Unknown keys fall back to
    this month, a backwards custom range is put the right way round."""
    today = today or local_today()
    key = key if key in dict(PERIOD_CHOICES) else DEFAULT_PERIOD
    if key == "custom":
        first, last = _parse_day(start), _parse_day(end)
        if first is None or last is None:
            key = DEFAULT_PERIOD
        else:
            if last < first:
                first, last = last, first
            last = min(last, first + timedelta(days=MAX_CUSTOM_DAYS - 1))
            length = (last - first).days + 1
            previous = Span(first - timedelta(days=length), first - timedelta(days=1))
            return Period("custom", Span(first, last).label(), Span(first, last), previous, to_date=last >= today)
    label = dict(PERIOD_CHOICES)[key]
    if key in ("this_week", "last_week"):
        monday = today - timedelta(days=today.weekday())
        if key == "last_week":
            monday -= timedelta(days=7)
        full = Span(monday, monday + timedelta(days=6))
        previous_full = Span(monday - timedelta(days=7), monday - timedelta(days=1))
    elif key in ("this_month", "last_month"):
        first = month_start(today) if key == "this_month" else add_months(today, -1)
        full = Span(first, month_end(first))
        previous_first = add_months(first, -1)
        previous_full = Span(previous_first, month_end(previous_first))
    else:
        first = quarter_start(today) if key == "this_quarter" else add_months(quarter_start(today), -3)
        full = Span(first, add_months(first, 3) - timedelta(days=1))
        previous_first = add_months(first, -3)
        previous_full = Span(previous_first, first - timedelta(days=1))
    if full.last >= today:
        elapsed = (today - full.first).days
        current = Span(full.first, today)
        previous = Span(previous_full.first, min(previous_full.last, previous_full.first + timedelta(days=elapsed)))
        return Period(key, label, current, previous, to_date=True)
    return Period(key, label, full, previous_full, to_date=False)


def week_monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weeks_back(last_day: date, count: int) -> list[Span]:
    """The `count` ISO weeks up to and including the week of `last_day`, oldest first (the last one may be
    unfinished)."""
    monday = week_monday(last_day)
    return [Span(monday - timedelta(weeks=n), monday - timedelta(weeks=n) + timedelta(days=6))
            for n in range(count - 1, -1, -1)]
