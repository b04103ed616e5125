"""Enqueueing work for Celery without letting the broker hold up, or break, a user's request."""

import logging

from smarketing.celery import app

logger = logging.getLogger(__name__)


def enqueue(task_name: str, **kwargs) -> bool:
    """Sends a task by name (so a lower layer never imports a higher one); False if the broker refused.

    Every job we enqueue is also found by a periodic, level-triggered scan (stale scores, due
    deadlines), so a message lost here delays that work but never loses it.
    """
    try:
        app.send_task(task_name, kwargs=kwargs)
    except Exception:  # noqa: BLE001 - any broker failure: log it, the periodic job catches up
        logger.warning("Could not enqueue %s; the periodic job will pick the work up.", task_name, exc_info=True)
        return False
    return True
