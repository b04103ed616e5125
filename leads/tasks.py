"""Celery adapters for leads: thin, idempotent, taking ids."""

from celery import shared_task

from leads.import_services import lead_import_run, lead_imports_stalled


@shared_task(acks_late=True, time_limit=60 * 60, soft_time_limit=59 * 60)
def import_leads_task(*, import_id: int, part: int = 0) -> int | None:
    """Runs one part of a CSV import; a second delivery of the message finds it claimed and does nothing."""
    lead_import = lead_import_run(import_id=import_id, part=part)
    return lead_import.rows_done if lead_import else None


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def resume_stalled_imports_task() -> int:
    """Every minute (beat): import parts whose message was lost or whose worker died start (again).
    Level-triggered."""
    stalled = lead_imports_stalled()
    for import_id, part in stalled:
        import_leads_task.delay(import_id=import_id, part=part)
    return len(stalled)
