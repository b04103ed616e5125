"""The SLA's pieces of other pages: a deadline with the business time left."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timeuntil

register = template.Library()


@register.inclusion_tag("sla/includes/deadline.html")
def deadline(due_at: datetime | None, met_at: datetime | None = None) -> dict:
    """A deadline as a badge: met, overdue, or the time left."""
    now = timezone.now()
    return {
        "due_at": due_at,
        "met": met_at is not None and due_at is not None and met_at <= due_at,
        "overdue": due_at is not None and met_at is None and due_at < now,
        "left": timeuntil(due_at, now) if due_at is not None and due_at > now else "",
    }
