"""Outgoing webhooks: recorded with the action, sent after commit, signed, retried with backoff, never blocking."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from leads.models import Stage
from leads.services import lead_change_stage, leads_move_by_system
from smarketing import webhooks
from smarketing.models import WebhookDelivery
from smarketing.services import (
    WEBHOOK_MAX_ATTEMPTS,
    webhook_backoff_seconds,
    webhook_delivery_attempt,
    webhook_emit,
)
from smarketing.tasks import deliver_webhook_task
from tests.factories import LeadFactory, WebhookEndpointFactory


class FakeReceiver:
    """The HTTP boundary: records each POST and answers with the next status (or raises)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls: list[tuple[str, bytes, dict]] = []

    def __call__(self, url: str, body: bytes, headers: dict) -> int:
        self.calls.append((url, body, headers))
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def receiver(monkeypatch):
    def install(*answers) -> FakeReceiver:
        fake = FakeReceiver(*answers)
        monkeypatch.setattr(webhooks, "http_post", fake)
        return fake

    return install


@pytest.fixture
def no_broker(monkeypatch):
    """Records what would be enqueued instead of sending it."""
    sent = []
    monkeypatch.setattr("smarketing.services.enqueue", lambda name, **kwargs: sent.append((name, kwargs)) or True)
    return sent


def test_the_signature_is_hmac_sha256_of_timestamp_and_body():
    body = b'{"id":"1"}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()

    assert webhooks.webhook_signature(secret="s3cret", timestamp=1700000000, body=body) == f"t=1700000000,v1={expected}"


@pytest.mark.django_db(transaction=True)
def test_a_lead_becoming_mql_is_delivered_signed(receiver, marketer, monkeypatch):
    monkeypatch.setattr("smarketing.services.enqueue",
                        lambda name, **kwargs: [deliver_webhook_task.apply(kwargs={"delivery_id": i})
                                                for i in kwargs["delivery_ids"]])
    endpoint = WebhookEndpointFactory(events=["lead.mql"])
    WebhookEndpointFactory(events=["lead.won"])  # not subscribed to MQLs
    fake = receiver(200)
    lead = LeadFactory(email="jane@acme.com", stage=Stage.NEW)

    lead_change_stage(lead=lead, to=Stage.MQL, actor=marketer)

    [(url, body, headers)] = fake.calls
    assert url == endpoint.url
    payload = json.loads(body)
    assert payload["event"] == "lead.mql"
    assert payload["data"]["lead"]["email"] == "jane@acme.com"
    assert payload["data"]["stage_change"]["changed_by"] == marketer.email
    timestamp = headers["X-Smarketing-Timestamp"]
    digest = hmac.new(endpoint.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Smarketing-Signature"] == f"t={timestamp},v1={digest}"
    assert headers["X-Smarketing-Event"] == "lead.mql"
    assert headers["X-Smarketing-Delivery"] == payload["id"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)


@pytest.mark.django_db
def test_deliveries_are_enqueued_only_after_commit(no_broker, marketer, django_capture_on_commit_callbacks):
    WebhookEndpointFactory(events=["lead.mql"])
    lead = LeadFactory(stage=Stage.NEW)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        lead_change_stage(lead=lead, to=Stage.MQL, actor=marketer)
    assert no_broker == []  # nothing sent while the transaction could still roll back

    for callback in callbacks:
        callback()
    assert no_broker == [("smarketing.tasks.deliver_webhooks_task",
                          {"delivery_ids": [WebhookDelivery.objects.get().pk]})]


@pytest.mark.django_db
def test_a_system_move_to_mql_emits_one_delivery_per_lead(no_broker, django_capture_on_commit_callbacks):
    WebhookEndpointFactory(events=["lead.mql"])
    leads = [LeadFactory(stage=Stage.NEW) for _ in range(3)]

    with django_capture_on_commit_callbacks(execute=True):
        leads_move_by_system(lead_ids=[lead.pk for lead in leads], to=Stage.MQL, reason="definition v1")

    deliveries = WebhookDelivery.objects.all()
    assert sorted(d.payload["data"]["lead"]["id"] for d in deliveries) == sorted(lead.pk for lead in leads)
    assert {d.payload["data"]["stage_change"]["reason"] for d in deliveries} == {"definition v1"}
    assert len(no_broker) == 1


@pytest.mark.django_db
def test_a_won_lead_is_an_event_and_other_moves_are_not(no_broker, sales_rep):
    WebhookEndpointFactory(events=["lead.won"])
    lead = LeadFactory(stage=Stage.OPPORTUNITY, owner=sales_rep)
    other = LeadFactory(stage=Stage.SAL, owner=sales_rep)

    lead_change_stage(lead=lead, to=Stage.WON, actor=sales_rep)
    lead_change_stage(lead=other, to=Stage.SQL, actor=sales_rep)

    assert [d.event for d in WebhookDelivery.objects.all()] == ["lead.won"]


@pytest.mark.django_db
def test_no_endpoint_means_no_delivery(no_broker, marketer):
    lead = LeadFactory(stage=Stage.NEW)

    lead_change_stage(lead=lead, to=Stage.MQL, actor=marketer)

    assert not WebhookDelivery.objects.exists()
    assert no_broker == []


@pytest.mark.django_db
def test_a_paused_endpoint_receives_nothing(no_broker):
    WebhookEndpointFactory(events=["lead.mql"], is_active=False)

    assert webhook_emit(event="lead.mql", payload={"x": 1}) == []


@pytest.mark.django_db
def test_a_failing_receiver_is_retried_with_exponential_backoff_then_given_up(receiver, no_broker):
    WebhookEndpointFactory(events=["sla.breach"])
    [delivery] = webhook_emit(event="sla.breach", payload={"handoff": 7})
    fake = receiver(*([503] * WEBHOOK_MAX_ATTEMPTS))
    waits = []
    start = timezone.now()

    with freeze_time(start) as clock:
        for _ in range(WEBHOOK_MAX_ATTEMPTS):
            attempt = webhook_delivery_attempt(delivery_id=delivery.pk)
            assert webhook_delivery_attempt(delivery_id=delivery.pk) is None  # not due again yet
            if attempt.retry_in is None:
                break
            waits.append(attempt.retry_in)
            clock.tick(timedelta(seconds=attempt.retry_in))

    assert waits == [30, 60, 120, 240, 480, 960, 1920]
    assert waits == [webhook_backoff_seconds(n) for n in range(1, WEBHOOK_MAX_ATTEMPTS)]
    assert len(fake.calls) == WEBHOOK_MAX_ATTEMPTS
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 8, 503)
    assert "503" in delivery.last_error


@pytest.mark.django_db
def test_a_receiver_that_cannot_be_reached_is_retried_and_then_succeeds(receiver, no_broker):
    WebhookEndpointFactory(events=["handoff.made"])
    [delivery] = webhook_emit(event="handoff.made", payload={"handoff": 1})
    receiver(ConnectionRefusedError("Connection refused"), TimeoutError("timed out"), 204)

    with freeze_time(timezone.now()) as clock:
        first = webhook_delivery_attempt(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.last_error) == ("retrying", "ConnectionRefusedError: Connection refused")
        clock.tick(timedelta(seconds=first.retry_in))
        second = webhook_delivery_attempt(delivery_id=delivery.pk)
        clock.tick(timedelta(seconds=second.retry_in))
        third = webhook_delivery_attempt(delivery_id=delivery.pk)

    assert (first.retry_in, second.retry_in, third.status) == (30, 60, "succeeded")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("succeeded", 3, "")
    assert delivery.delivered_at is not None


@pytest.mark.django_db
def test_the_celery_task_retries_after_the_backoff(receiver, no_broker, monkeypatch):
    WebhookEndpointFactory(events=["lead.won"])
    [delivery] = webhook_emit(event="lead.won", payload={})
    receiver(500)
    retries = []
    monkeypatch.setattr(deliver_webhook_task, "retry",
                        lambda countdown, **kwargs: retries.append(countdown) or RuntimeError("retry"))

    with pytest.raises(RuntimeError):
        deliver_webhook_task.run(delivery_id=delivery.pk)

    assert retries == [30]


@pytest.mark.django_db
def test_a_broken_broker_never_breaks_the_stage_change(marketer, monkeypatch, django_capture_on_commit_callbacks):
    WebhookEndpointFactory(events=["lead.mql"])

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr("smarketing.tasks.app.send_task", broker_down)
    lead = LeadFactory(stage=Stage.NEW)

    with django_capture_on_commit_callbacks(execute=True):
        lead_change_stage(lead=lead, to=Stage.MQL, actor=marketer)

    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    assert WebhookDelivery.objects.get().status == "pending"  # the periodic sweep sends it later


@pytest.mark.django_db
def test_an_overdue_delivery_is_found_by_the_sweep(no_broker):
    from smarketing.services import webhook_deliveries_overdue

    WebhookEndpointFactory(events=["lead.won"])
    [delivery] = webhook_emit(event="lead.won", payload={})
    assert webhook_deliveries_overdue() == []

    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))

    assert webhook_deliveries_overdue() == [delivery.pk]


@pytest.mark.django_db
def test_unknown_events_are_refused():
    with pytest.raises(ValueError):
        webhook_emit(event="lead.teleported", payload={})
