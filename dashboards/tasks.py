"""Celery jobs of the dashboards: thin adapters over dashboards.services."""

from celery import shared_task

from dashboards.services import funnel_rollup_due


@shared_task(acks_late=True, time_limit=30 * 60)
def rollup_funnel_task(*, lookback_days: int = 3) -> int:
    """Nightly (and every quarter hour with lookback 0): the last days again, and any day never rolled up."""
    return funnel_rollup_due(lookback_days=lookback_days)
