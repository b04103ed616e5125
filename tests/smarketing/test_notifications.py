"""Notifications: a row under the bell and an e-mail sent through Celery after commit, for a new handoff, a
rejected or won lead, and feedback; a failing mail server is retried and never breaks the action."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone

from leads.models import Reason, Stage
from sla.services import (
    Verdict,
    feedback_give,
    handoff_accept,
    handoff_create,
    handoff_move_on,
    handoff_reject,
)
from smarketing.celery import app
from smarketing.models import Notification
from smarketing.notifications import notification_send, notifications_email_due
from smarketing.tasks import send_due_notification_emails_task
from tests.factories import LeadFactory, NotificationFactory


class RefusingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server refused the connection")


@pytest.fixture
def eager_celery():
    # Tasks run where they are enqueued, as CELERY_TASK_ALWAYS_EAGER does in the embedded setup.
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def lead(db):
    return LeadFactory(email="jane@acme.test", first_name="Jane", last_name="Doe", stage=Stage.MQL)


@pytest.mark.django_db
def test_a_new_handoff_tells_the_rep_in_the_app_and_by_email_after_commit(lead, sales_rep, marketer, eager_celery,
                                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        handoff_create(lead=lead, rep=sales_rep, actor=marketer, note="Call today")

    notification = Notification.objects.get(recipient=sales_rep)
    assert (notification.kind, notification.title) == ("handoff_new", "New lead for you: Jane Doe")
    assert notification.url == reverse("leads:lead_detail", args=[lead.pk])
    assert "Note: Call today" in notification.body
    assert mail.outbox == []  # nothing leaves before the transaction commits

    for callback in callbacks:
        callback()

    [email] = mail.outbox
    assert email.to == ["rep@smarketing.test"]
    assert email.subject == "New lead for you: Jane Doe"
    assert f"/leads/{lead.pk}/" in email.body
    notification.refresh_from_db()
    assert notification.email_sent_at is not None


@pytest.mark.django_db
def test_a_rejection_tells_the_marketer_who_handed_the_lead_off(lead, sales_rep, marketer, eager_celery,
                                                                django_capture_on_commit_callbacks):
    handoff = handoff_create(lead=lead, rep=sales_rep, actor=marketer)

    with django_capture_on_commit_callbacks(execute=True):
        handoff_reject(handoff=handoff, actor=sales_rep, reason=Reason.objects.get(kind="rejection", label="No budget"),
                       verdict=Verdict(quality=2, text="Frozen budget."))

    notification = Notification.objects.get(recipient=marketer)
    assert (notification.kind, notification.title) == ("handoff_rejected", "Rita Owner rejected Jane Doe")
    assert "Reason: No budget" in notification.body and "Frozen budget." in notification.body
    assert [m.to for m in mail.outbox] == [["marketer@smarketing.test"]]


@pytest.mark.django_db
def test_a_routed_lead_rejected_tells_marketings_managers(lead, sales_rep, marketing_manager, marketer,
                                                          django_capture_on_commit_callbacks):
    handoff = handoff_create(lead=lead, rep=sales_rep, actor=None)

    handoff_reject(handoff=handoff, actor=sales_rep, reason=Reason.objects.get(kind="rejection", label="No budget"),
                   verdict=Verdict(quality=2, text="Frozen budget."))

    assert list(Notification.objects.filter(kind="handoff_rejected").values_list("recipient", flat=True)) == [
        marketing_manager.pk]


@pytest.mark.django_db
def test_a_won_lead_tells_the_marketer(lead, sales_rep, marketer):
    handoff = handoff_accept(handoff=handoff_create(lead=lead, rep=sales_rep, actor=marketer), actor=sales_rep)
    handoff_move_on(handoff=handoff, actor=sales_rep, to=Stage.SQL)
    handoff_move_on(handoff=handoff, actor=sales_rep, to=Stage.OPPORTUNITY, amount=Decimal("5000"),
                    expected_close_on=timezone.localdate())

    handoff_move_on(handoff=handoff, actor=sales_rep, to=Stage.WON, amount=Decimal("5200"))

    notification = Notification.objects.get(recipient=marketer)
    assert (notification.kind, notification.title) == ("handoff_won", "Won: Jane Doe")
    assert "5,200.00" in notification.body


@pytest.mark.django_db
def test_feedback_tells_the_marketer_who_handed_the_lead_off(lead, sales_rep, marketer):
    handoff_create(lead=lead, rep=sales_rep, actor=marketer)
    lead.refresh_from_db()

    feedback_give(lead=lead, actor=sales_rep, quality=5, text="Best lead this month")

    notification = Notification.objects.get(recipient=marketer)
    assert (notification.kind, notification.title) == ("feedback", "Feedback on Jane Doe: 5/5")
    assert "Best lead this month" in notification.body


@pytest.mark.django_db
def test_a_mail_server_that_is_down_never_breaks_the_handoff(lead, sales_rep, marketer, eager_celery, settings,
                                                              django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "tests.smarketing.test_notifications.RefusingBackend"

    with django_capture_on_commit_callbacks(execute=True):
        handoff = handoff_create(lead=lead, rep=sales_rep, actor=marketer)

    assert handoff.pk is not None
    notification = Notification.objects.get(recipient=sales_rep)
    assert notification.email_sent_at is None
    # The task retried (5 retries after the first try), and the error is kept for the admin.
    assert notification.email_attempts == 6
    assert "refused" in notification.email_error


@pytest.mark.django_db
def test_a_broker_that_is_down_never_breaks_the_action_and_the_sweep_sends_later(lead, sales_rep, marketer,
                                                                                eager_celery, monkeypatch,
                                                                                django_capture_on_commit_callbacks):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    app.conf.task_always_eager = False
    with monkeypatch.context() as patch:
        patch.setattr(app, "send_task", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            handoff_create(lead=lead, rep=sales_rep, actor=marketer)
    app.conf.task_always_eager = True
    assert mail.outbox == []
    notification = Notification.objects.get(recipient=sales_rep)
    Notification.objects.filter(pk=notification.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    assert notifications_email_due() == [notification.pk]
    assert send_due_notification_emails_task() == 1

    assert len(mail.outbox) == 1
    assert notifications_email_due() == []


@pytest.mark.django_db
def test_an_email_is_sent_once_even_if_its_task_runs_twice(lead, sales_rep, eager_celery,
                                                            django_capture_on_commit_callbacks):
    from smarketing.tasks import notification_email_task

    with django_capture_on_commit_callbacks(execute=True):
        notification = notification_send(recipient=sales_rep, kind="other", title="Hello")
    notification_email_task.apply(kwargs={"notification_id": notification.pk})

    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_no_email_for_an_inactive_person(lead, django_capture_on_commit_callbacks, sales_rep):
    sales_rep.is_active = False
    sales_rep.save()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification = notification_send(recipient=sales_rep, kind="other", title="Hello")

    assert notification.email_wanted is False and callbacks == []


# --- The bell and the notifications page ------------------------------------------------------------------

@pytest.mark.django_db
def test_the_bell_shows_the_unread_count_and_polls(sales_rep, client_for):
    NotificationFactory.create_batch(3, recipient=sales_rep)
    NotificationFactory(recipient=sales_rep, read_at=timezone.now())
    client = client_for(sales_rep)

    page = client.get(reverse("home")).content.decode()
    bell = client.get(reverse("notification_bell"), headers={"HX-Request": "true"}).content.decode()

    assert '<span class="bell-count">3</span>' in page
    assert bell.startswith('<a id="bell"') and 'hx-trigger="every 30s"' in bell
    assert '<span class="bell-count">3</span>' in bell


@pytest.mark.django_db
def test_a_signed_out_bell_stops_polling(client):
    assert client.get(reverse("notification_bell")).status_code == 286


@pytest.mark.django_db
def test_opening_a_notification_marks_it_read_and_follows_its_link(sales_rep, client_for):
    notification = NotificationFactory(recipient=sales_rep, url="/queue/")

    response = client_for(sales_rep).get(reverse("notification_open", args=[notification.pk]))

    assert response["Location"] == "/queue/"
    notification.refresh_from_db()
    assert notification.read_at is not None


@pytest.mark.django_db
def test_a_notification_never_sends_anyone_off_the_site(sales_rep, client_for):
    notification = NotificationFactory(recipient=sales_rep, url="https://evil.example/phish")

    response = client_for(sales_rep).get(reverse("notification_open", args=[notification.pk]))

    assert response["Location"] == reverse("notifications")


@pytest.mark.django_db
def test_nobody_opens_someone_elses_notification(sales_rep, other_rep, client_for):
    notification = NotificationFactory(recipient=sales_rep)

    assert client_for(other_rep).get(reverse("notification_open", args=[notification.pk])).status_code == 404


@pytest.mark.django_db
def test_the_notifications_page_lists_mine_and_marks_all_read(sales_rep, other_rep, client_for):
    NotificationFactory(recipient=sales_rep, title="For Rita")
    NotificationFactory(recipient=other_rep, title="For Tom")
    client = client_for(sales_rep)

    html = client.get(reverse("notifications")).content.decode()
    client.post(reverse("notifications_read"))

    assert "For Rita" in html and "For Tom" not in html
    assert not Notification.objects.filter(recipient=sales_rep, read_at=None).exists()
    assert Notification.objects.filter(recipient=other_rep, read_at=None).exists()
