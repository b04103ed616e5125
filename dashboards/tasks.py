"""Celery jobs of the dashboards: thin adapters over dashboards.services."""

from celery import shared_task

from dashboards.services import calibration_snapshot_compute, digests_send_due, funnel_rollup_due


@shared_task(acks_late=True, time_limit=30 * 60)
def rollup_funnel_task(*, lookback_days: int = 3) -> int:
    """Nightly (and every quarter hour with lookback 0): the last days again, and any day never rolled up."""
    return funnel_rollup_due(lookback_days=lookback_days)


@shared_task(acks_late=True, time_limit=10 * 60)
def calibrate_scoring_task(*, outcome: str | None = None) -> int:
    """Nightly, or when someone asks: recomputes the scoring calibration (both outcomes unless one is named)."""
    outcomes = [outcome] if outcome else ["acceptance", "win"]
    return sum(1 for name in outcomes if calibration_snapshot_compute(outcome=name) is not None)


@shared_task(acks_late=True, time_limit=15 * 60)
def send_digests_task() -> dict:
    """Hourly: the weekly digest and the monthly report when due in the organisation's time zone, each person
    once (level-triggered: a missed hour sends at the next)."""
    return digests_send_due()
