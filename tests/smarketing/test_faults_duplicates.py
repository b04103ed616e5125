"""The same task delivered twice, or two beat schedulers by mistake: no duplicate e-mails, webhook deliveries
or digests; and the broker settings that make redelivery safe.

Two deliveries at once are two threads (two workers) doing the same work against PostgreSQL, with a slow
mail server or receiver so that both are inside the send at the same time. (Breaches and their
notifications under two checks at once: tests/sla/test_breaches_concurrent.py.)
"""

import threading
import time
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection, connections
from django.utils import timezone

from dashboards.models import DigestDelivery
from dashboards.services import weekly_digest_send
from smarketing import services as smarketing_services
from smarketing import webhooks
from smarketing.celery import app
from smarketing.models import Notification, WebhookDelivery
from smarketing.notifications import notification_email_send, notification_send
from smarketing.services import webhook_delivery_attempt, webhook_emit
from tests.factories import WebhookEndpointFactory

concurrent = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)")


class SlowMailServer(EmailBackend):
    """The locmem backend (mail.outbox), a little slow: two senders overlap inside send_messages."""

    def send_messages(self, messages):
        time.sleep(0.5)
        return super().send_messages(messages)


def at_once(work, times: int = 2) -> list:
    """Runs work() in `times` threads started together, each with its own connection; returns the results."""
    start = threading.Barrier(times)
    results, errors = [], []

    def run() -> None:
        try:
            start.wait()
            results.append(work())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


# --- Notification e-mails --------------------------------------------------------------------------------

@pytest.mark.django_db
def test_an_email_claimed_by_another_worker_is_left_to_it_until_the_claim_lapses(sales_rep):
    notification = notification_send(recipient=sales_rep, kind="other", title="Hello")
    Notification.objects.filter(pk=notification.pk).update(email_claimed_until=timezone.now() + timedelta(minutes=1))

    assert notification_email_send(notification_id=notification.pk) is False  # another worker is sending
    assert mail.outbox == []

    # That worker was killed while sending: once its claim lapses, the next try sends.
    Notification.objects.filter(pk=notification.pk).update(email_claimed_until=timezone.now() - timedelta(seconds=1))
    assert notification_email_send(notification_id=notification.pk) is True
    assert notification_email_send(notification_id=notification.pk) is False
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_failed_send_releases_its_claim_for_the_retry(sales_rep, settings):
    notification = notification_send(recipient=sales_rep, kind="other", title="Hello")
    settings.EMAIL_BACKEND = "tests.smarketing.test_faults_duplicates.BrokenMailServer"
    with pytest.raises(ConnectionRefusedError):
        notification_email_send(notification_id=notification.pk)
    notification.refresh_from_db()
    assert (notification.email_claimed_until, notification.email_attempts) == (None, 1)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notification_email_send(notification_id=notification.pk) is True
    assert len(mail.outbox) == 1


class BrokenMailServer(EmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


@concurrent
@pytest.mark.django_db(transaction=True)
def test_an_email_delivered_to_two_workers_at_once_is_sent_once(sales_rep, settings):
    settings.EMAIL_BACKEND = "tests.smarketing.test_faults_duplicates.SlowMailServer"
    notification = notification_send(recipient=sales_rep, kind="other", title="Hello")

    sent = at_once(lambda: notification_email_send(notification_id=notification.pk))

    assert sorted(sent) == [False, True]
    assert [message.to for message in mail.outbox] == [[sales_rep.email]]


@concurrent
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_sweeping_at_once_send_each_email_once(sales_rep, marketer, settings):
    """Two beats: both sweeps find the same unsent e-mails and both enqueue them (eager: run here)."""
    from smarketing.tasks import send_due_notification_emails_task

    settings.EMAIL_BACKEND = "tests.smarketing.test_faults_duplicates.SlowMailServer"
    for recipient in (sales_rep, marketer):
        notification_send(recipient=recipient, kind="other", title="Hello")
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=5))  # their messages were lost
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        at_once(send_due_notification_emails_task)
    finally:
        app.conf.task_always_eager = eager

    assert sorted(message.to[0] for message in mail.outbox) == sorted([sales_rep.email, marketer.email])


# --- Webhook deliveries ------------------------------------------------------------------------------------

@concurrent
@pytest.mark.django_db(transaction=True)
def test_a_delivery_held_by_two_workers_at_once_is_posted_once(monkeypatch):
    WebhookEndpointFactory(events=["lead.won"])
    [delivery] = webhook_emit(event="lead.won", payload={"lead": 1})
    posts = []

    def slow_receiver(url, body, headers):
        posts.append(headers["X-Smarketing-Delivery"])
        time.sleep(0.5)
        return 200

    monkeypatch.setattr(webhooks, "http_post", slow_receiver)
    attempts = at_once(lambda: webhook_delivery_attempt(delivery_id=delivery.pk))

    assert posts == [str(delivery.event_id)]
    assert sorted(str(attempt and attempt.status) for attempt in attempts) == ["None", "succeeded"]
    assert WebhookDelivery.objects.get().attempts == 1


# --- Digests -----------------------------------------------------------------------------------------------

@concurrent
@pytest.mark.django_db(transaction=True)
def test_two_digest_runs_at_once_send_each_person_one_digest(marketer, sales_rep, settings):
    settings.EMAIL_BACKEND = "tests.smarketing.test_faults_duplicates.SlowMailServer"
    monday = date(2026, 3, 16)

    sent = at_once(lambda: weekly_digest_send(monday=monday))

    assert sum(sent) == 3  # the marketer, the rep and the rep's manager, whoever sent which
    assert sorted(message.to[0] for message in mail.outbox) == sorted([marketer.email, sales_rep.email,
                                                                      sales_rep.manager.email])
    assert DigestDelivery.objects.count() == 3


# --- The broker settings that make redelivery safe ---------------------------------------------------------

def test_the_visibility_timeout_is_longer_than_any_countdown_and_any_task():
    """Redis redelivers a message not acknowledged within the visibility timeout: a countdown (retry) or a
    task running longer than it would run twice."""
    if "visibility_timeout" not in settings.CELERY_BROKER_TRANSPORT_OPTIONS:
        pytest.skip("the embedded file-system broker has no visibility timeout (no REDIS_URL)")
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    longest_webhook_wait = smarketing_services.webhook_backoff_seconds(smarketing_services.WEBHOOK_MAX_ATTEMPTS - 1)
    longest_email_wait = 3600  # notification_email_task: min(60 * 2 ** retries, 3600)
    assert longest_webhook_wait < visibility and longest_email_wait < visibility
    app.loader.import_default_modules()
    ours = [task for name, task in app.tasks.items() if not name.startswith("celery.")]
    assert ours
    for task in ours:
        assert (task.time_limit or app.conf.task_time_limit) < visibility, task.name


def test_every_job_is_acknowledged_late_and_requeued_when_its_worker_dies():
    app.loader.import_default_modules()
    assert app.conf.task_reject_on_worker_lost is True
    ours = [task for name, task in app.tasks.items() if not name.startswith("celery.")]
    for task in ours:
        assert task.acks_late is True, task.name
