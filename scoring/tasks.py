"""Celery adapters for rescoring: thin, idempotent, safe to run twice."""

from celery import group, shared_task
from django.conf import settings

from scoring.models import RescoreRun
from scoring.services import rescore_run_chunk, rescore_run_start, rescore_stale


@shared_task(acks_late=True, time_limit=600, soft_time_limit=570)
def rescore_chunk_task(*, run_id: int, id_from: int, id_to: int) -> int:
    return rescore_run_chunk(run_id=run_id, id_from=id_from, id_to=id_to)


@shared_task(acks_late=True, time_limit=120)
def rescore_full_task(*, reason: str = "") -> int | None:
    """Plans a full rescore and fans its chunks out, so more workers make it faster."""
    planned = rescore_run_start(kind=RescoreRun.Kind.FULL, reason=reason)
    if planned is None:
        return None
    run, chunks = planned
    group(rescore_chunk_task.s(run_id=run.pk, id_from=id_from, id_to=id_to) for id_from, id_to in chunks).apply_async()
    return run.pk


@shared_task(acks_late=True, time_limit=600, soft_time_limit=570)
def rescore_stale_task() -> int:
    """Every minute (beat): leads touched since the last run get their score and qualification."""
    return rescore_stale(workers=settings.RESCORE_WORKERS)
