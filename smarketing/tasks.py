"""Enqueueing work for Celery without letting the broker hold up, or break, a user's request."""

import logging
import time

from celery import group, shared_task

from smarketing.celery import app

logger = logging.getLogger(__name__)

# After the broker failed once (refused, or stalled past its socket timeout), this process stops trying
# for this long: a request never waits on a broker we already know is down. Every job we enqueue is also
# found by a periodic, level-triggered scan, which catches up once the broker is back.
BROKER_PAUSE_SECONDS = 30.0
# time.monotonic() until which enqueue() does not try the broker (per process: each gunicorn worker pays
# at most one socket timeout per pause).
_broker_paused_until = 0.0


def enqueue(task_name: str, **kwargs) -> bool:
    """Sends a task by name (so a lower layer never imports a higher one); False if it was not sent.

    Every job we enqueue is also found by a periodic, level-triggered scan (stale scores, due
    deadlines), so a message lost here delays that work but never loses it. Bounded in time: one
    attempt, no retry (`retry=False`), within the broker's socket timeouts (settings), and none at all
    while the broker is known to be down.
    """
    global _broker_paused_until
    if app.conf.task_always_eager:
        # CELERY_TASK_ALWAYS_EAGER: the work runs here and now (send_task alone ignores the setting).
        try:
            app.tasks[task_name].apply(kwargs=kwargs)
        except Exception:  # noqa: BLE001 - the periodic job catches up, as for a lost message
            logger.warning("Could not run %s; the periodic job will pick the work up.", task_name, exc_info=True)
            return False
        return True
    if time.monotonic() < _broker_paused_until:
        logger.info("Broker paused after a failure; %s is left to its periodic job.", task_name)
        return False
    try:
        app.send_task(task_name, kwargs=kwargs, retry=False)
    except Exception:  # noqa: BLE001 - any broker failure: log it, the periodic job catches up
        _broker_paused_until = time.monotonic() + BROKER_PAUSE_SECONDS
        logger.warning("Could not enqueue %s; the periodic job will pick the work up.", task_name, exc_info=True)
        return False
    return True


# --- Webhook deliveries. Services are imported inside the tasks: smarketing.services enqueues through
# this module, so a module-level import would be circular.

@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def deliver_webhooks_task(*, delivery_ids: list[int]) -> int:
    """Fans a batch of deliveries out, one message each, so a slow receiver holds up only its own."""
    group(deliver_webhook_task.s(delivery_id=delivery_id) for delivery_id in delivery_ids).apply_async()
    return len(delivery_ids)


@shared_task(bind=True, acks_late=True, max_retries=None, time_limit=60, soft_time_limit=50)
def deliver_webhook_task(self, *, delivery_id: int) -> str | None:
    """One attempt; on failure Celery retries it after the delivery's exponential backoff."""
    from smarketing.services import webhook_delivery_attempt

    attempt = webhook_delivery_attempt(delivery_id=delivery_id)
    if attempt is None:
        return None
    if attempt.retry_in is not None:
        raise self.retry(countdown=attempt.retry_in)
    return attempt.status


@shared_task(acks_late=True, time_limit=120, soft_time_limit=110)
def retry_overdue_webhooks_task() -> int:
    """Every minute (beat): deliveries whose message was lost are sent again. Level-triggered."""
    from smarketing.services import webhook_deliveries_overdue

    delivery_ids = webhook_deliveries_overdue()
    if delivery_ids:
        deliver_webhooks_task.delay(delivery_ids=delivery_ids)
    return len(delivery_ids)


# --- Notification e-mails ---------------------------------------------------------------------------

@shared_task(bind=True, acks_late=True, max_retries=5, time_limit=60)
def notification_email_task(self, *, notification_id: int) -> bool:
    """Sends one notification's e-mail; a failing mail server is retried with a growing pause."""
    from smarketing.notifications import notification_email_send

    try:
        return notification_email_send(notification_id=notification_id)
    except Exception as exc:  # noqa: BLE001 - SMTP, DNS, a refused connection: all worth another try
        raise self.retry(exc=exc, countdown=min(60 * 2 ** self.request.retries, 3600)) from exc


@shared_task(acks_late=True, time_limit=120)
def send_due_notification_emails_task() -> int:
    """Every two minutes (beat): e-mails whose message was lost go out again. Level-triggered."""
    from smarketing.notifications import notifications_email_due

    notification_ids = notifications_email_due()
    for notification_id in notification_ids:
        enqueue("smarketing.tasks.notification_email_task", notification_id=notification_id)
    return len(notification_ids)
