"""The handoff API: the same services and rules as the pages, the common error shape, 409 on a conflict."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from leads.models import ContactAttempt, Stage
from sla.models import Handoff
from sla.services import handoff_accept, handoff_create
from tests.factories import LeadFactory, RoutingRuleFactory


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def handoff(sales_rep, marketer):
    return handoff_create(lead=LeadFactory(stage=Stage.MQL), rep=sales_rep, actor=marketer, note="Call")


@pytest.mark.django_db
def test_a_marketer_hands_off_and_the_second_attempt_is_a_409(marketer, marketing_manager, sales_rep, other_rep):
    lead = LeadFactory(stage=Stage.MQL)
    url = reverse("api_handoff_collection")

    first = api(marketer).post(url, {"lead": lead.pk, "rep": sales_rep.email, "note": "Hot"}, format="json")
    second = api(marketing_manager).post(url, {"lead": lead.pk, "rep": other_rep.email}, format="json")

    assert first.status_code == 201
    assert (first.json()["rep"], first.json()["status"], first.json()["note"]) == (sales_rep.email, "pending", "Hot")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "already_handed_off"
    assert "already handed to Rita Owner" in second.json()["error"]["message"]


@pytest.mark.django_db
def test_without_a_rep_the_routing_rules_choose_or_say_why_not(marketer, sales_rep, sales_team):
    url = reverse("api_handoff_collection")
    unroutable = api(marketer).post(url, {"lead": LeadFactory(stage=Stage.MQL).pk}, format="json")
    RoutingRuleFactory(team=sales_team, name="Team")

    routed = api(marketer).post(url, {"lead": LeadFactory(stage=Stage.MQL).pk}, format="json")

    assert unroutable.status_code == 422 and unroutable.json()["error"]["code"] == "unrouted"
    assert routed.status_code == 201 and routed.json()["routing_rule"] == "Team"


@pytest.mark.django_db
def test_the_rep_lists_their_queue_most_urgent_first(sales_rep, marketer):
    later = handoff_create(lead=LeadFactory(stage=Stage.MQL), rep=sales_rep, actor=marketer)
    sooner = handoff_create(lead=LeadFactory(stage=Stage.MQL), rep=sales_rep, actor=marketer)
    Handoff.objects.filter(pk=later.pk).update(first_attempt_due_at=timezone.now() + timedelta(hours=8))
    Handoff.objects.filter(pk=sooner.pk).update(first_attempt_due_at=timezone.now() + timedelta(hours=1))

    body = api(sales_rep).get(reverse("api_handoff_collection")).json()

    assert body["count"] == 2
    assert [h["id"] for h in body["results"]] == [sooner.pk, later.pk]


@pytest.mark.django_db
def test_an_attempt_sent_twice_with_the_same_key_is_logged_once(handoff, sales_rep):
    url = reverse("api_lead_attempts", args=[handoff.lead_id])
    body = {"channel": "call", "outcome": "voicemail", "occurred_at": timezone.now().isoformat(), "notes": "VM"}

    first = api(sales_rep).post(url, body, format="json", headers={"Idempotency-Key": "retry-me"})
    retry = api(sales_rep).post(url, body, format="json", headers={"Idempotency-Key": "retry-me"})
    listed = api(sales_rep).get(url).json()

    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.json()["id"] == retry.json()["id"]
    assert ContactAttempt.objects.count() == 1
    assert [a["notes"] for a in listed["results"]] == ["VM"]


@pytest.mark.django_db
def test_an_attempt_without_a_key_is_a_field_error(handoff, sales_rep):
    response = api(sales_rep).post(reverse("api_lead_attempts", args=[handoff.lead_id]), {
        "channel": "call", "outcome": "voicemail", "occurred_at": timezone.now().isoformat()}, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["idempotency_key"]


@pytest.mark.django_db
def test_rejecting_through_the_api_names_a_listed_reason(handoff, sales_rep):
    url = reverse("api_handoff_reject", args=[handoff.pk])

    wrong = api(sales_rep).post(url, {"reason": "Because", "comment": "x", "quality": 2}, format="json")
    right = api(sales_rep).post(url, {"reason": "no budget", "comment": "Frozen", "quality": 2}, format="json")

    assert wrong.status_code == 400 and list(wrong.json()["error"]["fields"]) == ["reason"]
    assert right.status_code == 200
    assert (right.json()["status"], right.json()["rejection_reason"], right.json()["lead_stage"]) == (
        "rejected", "No budget", "recycled")


@pytest.mark.django_db
def test_an_opportunity_without_an_amount_is_a_400_naming_the_fields(handoff, sales_rep):
    handoff_accept(handoff=handoff, actor=sales_rep)
    url = reverse("api_handoff_move", args=[handoff.pk])
    assert api(sales_rep).post(url, {"to": "sql"}, format="json").status_code == 200

    response = api(sales_rep).post(url, {"to": "opportunity"}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"amount", "expected_close_on"}


@pytest.mark.django_db
def test_a_manager_reassigns_through_the_api(handoff, sales_manager, other_rep):
    response = api(sales_manager).post(reverse("api_handoff_reassign", args=[handoff.pk]),
                                       {"rep": other_rep.email, "reason": "Holiday"}, format="json")

    assert response.status_code == 201
    assert (response.json()["rep"], response.json()["previous"]) == (other_rep.email, handoff.pk)
