"""Contact attempts: logged once per key (double click, resubmit, retried API call), never in the future, and
counted toward the open handoff's SLA."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from leads.models import ContactAttempt, Objection, Stage
from leads.services_followup import contact_attempt_create
from sla.services import contact_attempt_log, handoff_create
from tests.factories import HandoffFactory, LeadFactory

HTMX = {"HX-Request": "true"}


@pytest.fixture
def handoff(sales_rep, marketer):
    return handoff_create(lead=LeadFactory(stage=Stage.MQL), rep=sales_rep, actor=marketer)


def log(handoff, actor, key: str, *, minutes_ago: int = 0, **fields):
    values = {"channel": "call", "outcome": "no_answer", "notes": "", "objection": "", **fields}
    return contact_attempt_log(lead=handoff.lead, actor=actor, idempotency_key=key,
                               occurred_at=timezone.now() - timedelta(minutes=minutes_ago), **values)


@pytest.mark.django_db
def test_the_same_key_twice_logs_one_attempt(handoff, sales_rep):
    first, created_first = log(handoff, sales_rep, "key-1", notes="Called the switchboard")
    second, created_second = log(handoff, sales_rep, "key-1", notes="Called the switchboard")

    assert (created_first, created_second) == (True, False)
    assert first.pk == second.pk
    assert ContactAttempt.objects.count() == 1
    handoff.refresh_from_db()
    assert handoff.attempt_count == 1


@pytest.mark.django_db
def test_a_key_used_on_another_lead_is_refused(handoff, sales_rep, marketer):
    log(handoff, sales_rep, "key-1")
    other = handoff_create(lead=LeadFactory(stage=Stage.MQL), rep=sales_rep, actor=marketer)

    with pytest.raises(ValidationError, match="already used"):
        log(other, sales_rep, "key-1")


@pytest.mark.django_db
def test_a_double_click_on_the_form_logs_one_attempt(handoff, sales_rep, client_for):
    client = client_for(sales_rep)
    form = {"channel": "email", "outcome": "connected", "notes": "Replied, wants a demo", "objection": "",
            "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "idempotency_key": "form-key-7"}
    url = reverse("sla:attempt_log", args=[handoff.lead_id])

    first = client.post(url, form, headers=HTMX)
    second = client.post(url, form, headers=HTMX)
    resubmitted = client.post(url, form)  # the browser's "resend the form" after the HTMX ones

    assert first.status_code == second.status_code == 200
    assert resubmitted.status_code == 302
    assert ContactAttempt.objects.count() == 1
    assert second.content.decode().count("Replied, wants a demo") == 1


@pytest.mark.django_db
def test_each_rendered_form_carries_a_fresh_key(handoff, sales_rep, client_for):
    client = client_for(sales_rep)
    url = reverse("leads:lead_detail", args=[handoff.lead_id])

    def key() -> str:
        html = client.get(url).content.decode()
        return html.split('name="idempotency_key" value="')[1].split('"')[0]

    assert key() != key()


@pytest.mark.django_db
def test_an_attempt_cannot_be_in_the_future(handoff, sales_rep):
    with pytest.raises(ValidationError) as error:
        log(handoff, sales_rep, "key-f", minutes_ago=-30)

    assert list(error.value.message_dict) == ["occurred_at"]
    assert not ContactAttempt.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value"), [("channel", "pigeon"), ("outcome", "maybe")])
def test_channel_and_outcome_come_from_their_lists(field, value, handoff, sales_rep):
    with pytest.raises(ValidationError) as error:
        log(handoff, sales_rep, "key-x", **{field: value})

    assert list(error.value.message_dict) == [field]


@pytest.mark.django_db
def test_attempts_fill_the_handoffs_sla_counters(handoff, sales_rep):
    handoff.attempts_required = 2
    handoff.save()

    log(handoff, sales_rep, "a", minutes_ago=0)
    log(handoff, sales_rep, "b", minutes_ago=0)
    log(handoff, sales_rep, "c", minutes_ago=0)

    handoff.refresh_from_db()
    attempts = list(ContactAttempt.objects.order_by("occurred_at", "id"))
    assert handoff.attempt_count == 3
    assert handoff.first_attempt_at == attempts[0].occurred_at
    assert handoff.attempts_met_at == attempts[1].occurred_at
    assert handoff.last_attempt_at == attempts[2].occurred_at


@pytest.mark.django_db
def test_attempts_before_the_handoff_do_not_count_toward_it(sales_rep):
    handoff = HandoffFactory(rep=sales_rep, created_at=timezone.now() - timedelta(minutes=30))
    handoff.lead.owner = sales_rep
    handoff.lead.save()

    log(handoff, sales_rep, "early", minutes_ago=90)
    log(handoff, sales_rep, "late", minutes_ago=10)

    handoff.refresh_from_db()
    assert handoff.attempt_count == 1


@pytest.mark.django_db
def test_a_new_objection_is_added_once_whatever_its_spelling(handoff, sales_rep):
    log(handoff, sales_rep, "o1", objection="Too  expensive")
    log(handoff, sales_rep, "o2", objection="too expensive")

    assert list(Objection.objects.values_list("label", flat=True)) == ["Too expensive"]
    assert ContactAttempt.objects.filter(objection__label="Too expensive").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["other_rep", "outside_rep", "marketer", "marketing_manager", "admin"])
def test_only_the_owner_or_a_sales_manager_logs_attempts(who, cast, handoff):
    with pytest.raises(PermissionDenied):
        log(handoff, cast[who], "nope")


@pytest.mark.django_db
def test_a_sales_manager_may_log_an_attempt_for_the_rep(handoff, sales_manager):
    attempt, created = log(handoff, sales_manager, "boss")

    assert created and attempt.rep == sales_manager


@pytest.mark.django_db
def test_the_row_insert_itself_is_idempotent_under_a_lost_race(sales_rep):
    lead = LeadFactory(owner=sales_rep)
    ContactAttempt.objects.create(lead=lead, rep=sales_rep, channel="call", outcome="connected",
                                  occurred_at=timezone.now(), idempotency_key="raced")

    attempt, created = contact_attempt_create(lead=lead, rep=sales_rep, channel="call", outcome="connected",
                                              occurred_at=timezone.now(), idempotency_key="raced")

    assert created is False and attempt.idempotency_key == "raced"
