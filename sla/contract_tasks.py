"""Celery adapters for watching the SLA contract: thin, idempotent, safe to run twice or at once.

Registered through CELERY_INCLUDE in settings (Celery's autodiscovery looks only for `tasks` modules,
and sla/tasks.py holds the handoff jobs). Scheduled by CELERY_BEAT_SCHEDULE.
"""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from sla.contract_selectors import org_zone
from sla.contract_services import (
    breaches_check,
    marketing_month_close,
    review_reminders_send,
    stale_leads_flag,
)


@shared_task(acks_late=True, time_limit=120, soft_time_limit=110)
def check_breaches_task(*, full: bool = False) -> dict:
    """Every minute: deadlines that passed unmet become breaches (nightly with full=True: every deadline)."""
    result = breaches_check(full=full)
    return {"first_attempt": result.first_attempt, "attempts": result.attempts, "met_late": result.met_late,
            "closed": result.closed, "recycled": result.recycled}


@shared_task(acks_late=True, time_limit=600, soft_time_limit=570)
def flag_stale_leads_task() -> int:
    """Hourly: accepted leads left without sales activity for the SLA's days are flagged once."""
    return stale_leads_flag()


@shared_task(acks_late=True, time_limit=300, soft_time_limit=290)
def close_marketing_month_task() -> int:
    """Daily: closes the month that just ended (in the SLA calendar's zone), once; a rerun records nothing new."""
    today = timezone.now().astimezone(org_zone()).date()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return len(marketing_month_close(month=last_month))


@shared_task(acks_late=True, time_limit=120)
def send_review_reminders_task() -> int:
    """Daily: reminds both managers when the SLA in force reaches its review date."""
    return review_reminders_send()
