"""The SLA's pieces of other pages: a deadline with the business time left."""

from datetime import datetime

from django import template
from django.utils import timezone

from sla.business_time import WorkingCalendar, business_between, format_business_time
from sla.contract_selectors import sla_version_active, working_calendars_by_version

register = template.Library()

_CACHE_ATTR = "_sla_working_calendars"


def _calendar(context: template.Context, sla_version: int | None) -> WorkingCalendar | None:
    """The business calendar to count in, read once per request (a queue page shows hundreds of badges)."""
    request = context.get("request")
    if request is not None:
        cache = request.__dict__.setdefault(_CACHE_ATTR, {})
    else:
        cache = context.render_context.setdefault(_CACHE_ATTR, {})
    key = sla_version or 0
    if key not in cache:
        if sla_version:
            cache[key] = working_calendars_by_version({sla_version}).get(sla_version)
        else:
            active = sla_version_active()
            cache[key] = active.calendar.working if active else None
    return cache[key]


@register.inclusion_tag("sla/includes/deadline.html", takes_context=True)
def deadline(context: template.Context, due_at: datetime | None, met_at: datetime | None = None,
             sla_version: int | None = None) -> dict:
    """A deadline as a badge: met, overdue, or the business time left in the SLA's calendar.

    `sla_version` (the handoff's) counts in the calendar its deadline was set in; without it, the
    calendar of the SLA in force.
    """
    now = timezone.now()
    result = {"due_at": due_at, "met": False, "met_late": False, "overdue": False, "left": "", "late_by": "",
              "urgent": False}
    if due_at is None:
        return result
    if met_at is not None:
        result["met"] = met_at <= due_at
        result["met_late"] = met_at > due_at
        return result
    calendar = _calendar(context, sla_version)
    if due_at <= now:
        result["overdue"] = True
        if calendar is not None:
            result["late_by"] = format_business_time(business_between(calendar, due_at, now), calendar)
        return result
    if calendar is None:
        left = due_at - now
        result["left"] = format_business_time(left)
    else:
        left = business_between(calendar, now, due_at)
        result["left"] = format_business_time(left, calendar)
    # Less than an hour of business time left: the badge turns amber.
    result["urgent"] = left.total_seconds() < 3600
    return result
