"""Celery adapters for handoffs: thin, idempotent, level-triggered."""

from celery import shared_task

from sla.services import handoffs_close_finished, mqls_route_new


@shared_task(acks_late=True, time_limit=300, soft_time_limit=280)
def route_new_mqls_task() -> dict:
    """Every minute (beat): when auto-routing is on, MQLs without an open handoff go to a rep by the rules."""
    run = mqls_route_new()
    return {"routed": run.routed, "unrouted": run.unrouted, "conflicts": run.conflicts}


@shared_task(acks_late=True, time_limit=120)
def close_finished_handoffs_task() -> int:
    """Every five minutes (beat): handoffs whose lead left sales by another path get its outcome."""
    return handoffs_close_finished()
