"""Redis down or stalled: writes still answer within 5 s, succeed and lose nothing; the queued work happens
once Redis is back.

The end-to-end tests run a real gunicorn (production settings) whose REDIS_URL (broker and cache) points
at a closed port (refused) or at a listener that accepts and never answers (stalled), then do what users
and integrations do. Afterwards the level-triggered jobs run with a working queue and must find every
piece of work whose message could not be sent.
"""

import re
import time
from datetime import timedelta

import pytest
import requests
from django.core import mail
from django.utils import timezone

from bench.live import LiveServer
from leads.import_services import lead_imports_stalled
from leads.models import Activity, ContactAttempt, Lead, LeadImport, LeadImportPart, Stage
from sla.models import Handoff
from smarketing import tasks, webhooks
from smarketing.celery import app
from smarketing.models import Notification, WebhookDelivery
from smarketing.services import api_token_create
from smarketing.tasks import enqueue
from tests.factories import HandoffFactory, LeadFactory, WebhookEndpointFactory
from tests.live import (
    ClosedPort,
    SilentListener,
    live_server_env,
    needs_postgresql,
    session_cookie,
    test_database_url,
)

# The requirement: every write answers within this, whatever Redis does.
WRITE_DEADLINE_SECONDS = 5.0


# --- enqueue(): bounded, and not retried while the broker is known to be down ----------------------------

def test_a_refused_broker_is_not_tried_again_until_the_pause_is_over(monkeypatch):
    calls = []

    def refused(*args, **kwargs):
        calls.append(kwargs)
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(app, "send_task", refused)
    assert enqueue("smarketing.tasks.notification_email_task", notification_id=1) is False
    assert enqueue("smarketing.tasks.notification_email_task", notification_id=2) is False
    assert len(calls) == 1 and calls[0]["retry"] is False  # one attempt, then paused

    monkeypatch.setattr(tasks, "_broker_paused_until", time.monotonic() - 1)  # the pause is over
    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: calls.append(kwargs))
    assert enqueue("smarketing.tasks.notification_email_task", notification_id=3) is True
    assert len(calls) == 2


def _broker_at(url: str, options: dict) -> None:
    """Points the Celery app at another broker: its connection and producer pools are built anew."""
    app.conf.broker_url, app.conf.broker_transport_options = url, options
    app._pool = None
    app.amqp._producer_pool = None


def test_enqueue_against_a_silent_broker_gives_up_within_its_socket_timeout():
    """A real kombu connection to a listener that never answers: one bounded wait, then nothing."""
    listener = SilentListener()
    previous = (app.conf.broker_url, app.conf.broker_transport_options)
    _broker_at(f"redis://127.0.0.1:{listener.port}/0",
               {"socket_connect_timeout": 2, "socket_timeout": 2, "max_retries": 1})
    try:
        started = time.monotonic()
        assert enqueue("smarketing.tasks.notification_email_task", notification_id=1) is False
        first = time.monotonic() - started
        started = time.monotonic()
        assert enqueue("smarketing.tasks.notification_email_task", notification_id=2) is False
        second = time.monotonic() - started
    finally:
        app.pool.force_close_all()
        _broker_at(*previous)
        listener.close()
    assert listener.accepted, "the broker was never contacted"
    assert first < WRITE_DEADLINE_SECONDS
    assert second < 0.1  # paused: no second wait


# --- The cache falls back to memory -----------------------------------------------------------------------

@pytest.mark.parametrize("broken", [ClosedPort, SilentListener])
def test_the_cache_answers_from_memory_while_redis_is_unreachable(broken):
    from smarketing import cache as redis_cache

    target = broken()
    backend = redis_cache.RedisCacheWithFallback(
        f"redis://127.0.0.1:{target.port}/0", {"OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}})
    try:
        started = time.monotonic()
        backend.set("figures", {"mqls": 12}, 60)
        assert backend.get("figures") == {"mqls": 12}  # from memory
        assert backend.incr("figures-count", 1) if backend.add("figures-count", 1) else True
        assert time.monotonic() - started < 2.5  # one timeout at most, then paused
    finally:
        redis_cache._paused_until.clear()
        target.close()


# --- End to end: gunicorn with a broken Redis ------------------------------------------------------------

class FakeReceiver:
    def __init__(self):
        self.calls = []

    def __call__(self, url, body, headers):
        self.calls.append(headers["X-Smarketing-Delivery"])
        return 200


@pytest.fixture
def cast_with_work(admin, marketer, sales_rep):
    """A marketer's API token, a rep with a handed-off lead, a webhook endpoint for every event, an MQL."""
    WebhookEndpointFactory(events=["handoff.made", "lead.mql", "sla.breach"])
    key = api_token_create(actor=admin, name="CRM", user=marketer, scope="write")[1]
    attempt_lead = LeadFactory(email="attempt@acme.test", stage=Stage.MQL, owner=sales_rep)
    HandoffFactory(lead=attempt_lead, rep=sales_rep)
    to_hand_off = LeadFactory(email="handme@acme.test", stage=Stage.MQL)
    return {"key": key, "attempt_lead": attempt_lead, "to_hand_off": to_hand_off}


def _csrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10)
    assert page.status_code == 200, page.status_code
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


@needs_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broken", [ClosedPort, SilentListener], ids=["refused", "stalled"])
def test_writes_answer_in_time_and_the_work_is_done_once_redis_is_back(broken, cast_with_work, marketer, sales_rep,
                                                                      monkeypatch, tmp_path):
    redis = broken()
    timings: dict[str, float] = {}

    def timed(label: str, call):
        started = time.monotonic()
        response = call()
        timings[label] = time.monotonic() - started
        return response

    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {cast_with_work['key']}"
    marketer_browser, rep_browser = requests.Session(), requests.Session()
    marketer_browser.cookies.update(session_cookie(marketer))
    rep_browser.cookies.update(session_cookie(sales_rep))
    now = timezone.now()
    try:
        with LiveServer(database_url=test_database_url(), redis_url=f"redis://127.0.0.1:{redis.port}/0",
                        env=live_server_env(), log_path=tmp_path / "gunicorn.log") as server:
            url = server.url
            token = _csrf(marketer_browser, url + "/leads/new/")
            created = timed("lead form", lambda: marketer_browser.post(url + "/leads/new/", data={
                "csrfmiddlewaretoken": token, "email": "form@acme.test", "first_name": "Form", "seniority": "",
                "country": "DE"}, headers={"Referer": url + "/leads/new/"}, allow_redirects=False, timeout=30))
            single = timed("api lead", lambda: api.post(url + "/api/v1/leads/", json={
                "email": "api@acme.test", "first_name": "Api"}, timeout=30))
            bulk = timed("api bulk leads", lambda: api.post(url + "/api/v1/leads/bulk/", json={"leads": [
                {"email": f"bulk{n}@acme.test", "first_name": f"Bulk {n}"} for n in range(50)]}, timeout=30))
            activities = timed("api activities", lambda: api.post(url + "/api/v1/activities/bulk/", json={
                "activities": [{"lead_email": f"bulk{n}@acme.test", "type": "page_view", "url": "/pricing",
                                "occurred_at": (now - timedelta(minutes=n)).isoformat()} for n in range(50)]},
                timeout=30))
            handoff = timed("api handoff", lambda: api.post(url + "/api/v1/handoffs/", json={
                "lead": cast_with_work["to_hand_off"].pk, "rep": sales_rep.email}, timeout=30))
            token = _csrf(marketer_browser, url + "/leads/import/")
            upload = timed("csv upload", lambda: marketer_browser.post(
                url + "/leads/import/", data={"csrfmiddlewaretoken": token},
                files={"file": ("crm.csv", b"Email,First Name\ncsv1@acme.test,Csv\ncsv2@acme.test,Vsc\n")},
                headers={"Referer": url + "/leads/import/"}, allow_redirects=False, timeout=30))
            detail = url + upload.headers["Location"]
            token = _csrf(marketer_browser, detail)
            started_import = timed("csv start", lambda: marketer_browser.post(detail, data={
                "csrfmiddlewaretoken": token, "column_0": "email", "column_1": "first_name", "existing": "update"},
                headers={"Referer": detail}, allow_redirects=False, timeout=30))
            lead_page = url + f"/leads/{cast_with_work['attempt_lead'].pk}/"
            token = _csrf(rep_browser, lead_page)
            attempt = timed("attempt", lambda: rep_browser.post(lead_page + "attempts/", data={
                "channel": "call", "outcome": "no_answer", "occurred_at": (now - timedelta(hours=1)).strftime(
                    "%Y-%m-%dT%H:%M"), "idempotency_key": "attempt-under-outage"},
                headers={"X-CSRFToken": token, "HX-Request": "true", "Referer": lead_page}, timeout=30))
            dashboard = timed("dashboard", lambda: marketer_browser.get(url + "/dashboard/", timeout=30))
    finally:
        redis.close()

    assert created.status_code == 302 and "/login/" not in created.headers["Location"]
    assert single.status_code == 201 and bulk.status_code == 200 and activities.status_code == 200
    assert handoff.status_code == 201, handoff.text
    assert upload.status_code == 302 and started_import.status_code == 302
    assert "/login/" not in upload.headers["Location"]
    assert attempt.status_code == 200 and attempt.headers.get("HX-Trigger") == "handoff-changed"
    assert dashboard.status_code == 200
    slow = {label: round(seconds, 2) for label, seconds in timings.items() if seconds >= WRITE_DEADLINE_SECONDS}
    assert slow == {}
    # Nothing lost: every write is in the database.
    assert Lead.objects.filter(email__in=["form@acme.test", "api@acme.test"]).count() == 2
    assert Lead.objects.filter(email__startswith="bulk").count() == 50
    assert Activity.objects.count() == 50
    assert ContactAttempt.objects.get().idempotency_key == "attempt-under-outage"
    assert Handoff.objects.filter(lead=cast_with_work["to_hand_off"], rep=sales_rep).exists()
    assert LeadImport.objects.get().status == LeadImport.Status.QUEUED  # its message could not be sent

    # Redis is back: the periodic, level-triggered jobs find what was not queued. (Eager: the worker's work
    # runs here; the clock moves past each sweep's grace period.)
    monkeypatch.setattr(tasks, "_broker_paused_until", 0.0)
    receiver = FakeReceiver()
    monkeypatch.setattr(webhooks, "http_post", receiver)
    later = timezone.now() - timedelta(minutes=5)
    LeadImportPart.objects.update(heartbeat_at=later)
    Notification.objects.update(created_at=later)
    WebhookDelivery.objects.update(next_attempt_at=later)
    assert lead_imports_stalled() == [(LeadImport.objects.get().pk, 0), (LeadImport.objects.get().pk, 1)]

    from leads.tasks import resume_stalled_imports_task
    from smarketing.tasks import retry_overdue_webhooks_task, send_due_notification_emails_task

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        resume_stalled_imports_task()
        send_due_notification_emails_task()
        retry_overdue_webhooks_task()
    finally:
        app.conf.task_always_eager = eager

    assert LeadImport.objects.get().status == LeadImport.Status.DONE
    assert set(Lead.objects.filter(email__startswith="csv").values_list("email", flat=True)) == {
        "csv1@acme.test", "csv2@acme.test"}
    assert [message.to for message in mail.outbox] == [[sales_rep.email]]  # "a lead was handed to you"
    delivery = WebhookDelivery.objects.get(event="handoff.made")
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED and receiver.calls == [str(delivery.event_id)]
