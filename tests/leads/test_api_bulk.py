"""Bulk lead upsert and activity ingest through the API: per-item results, replays, limits, permissions."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from leads.api import BULK_ACTIVITIES_MAX, BULK_LEADS_MAX
from leads.models import Activity, Lead
from smarketing.services import api_token_create
from tests.factories import LeadFactory

LEADS = "/api/v1/leads/bulk/"
ACTIVITIES = "/api/v1/activities/bulk/"


def post(client: Client, url: str, body, **headers):
    return client.post(url, body, content_type="application/json", **headers)


@pytest.fixture
def api(admin, marketer) -> Client:
    key = api_token_create(actor=admin, name="CRM sync", user=marketer, scope="write")[1]
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


@pytest.mark.django_db
def test_mixed_good_and_bad_items_each_get_their_own_result(api):
    LeadFactory(email="known@acme.com", stage="sql", first_name="Known")

    response = post(api, LEADS, {"leads": [
        {"email": "jane@acme.com", "first_name": "Jane", "company": "Acme GmbH", "country": "de"},
        {"email": "nope"},
        {"email": "known@acme.com", "job_title": "CTO"},
        {"email": "bob@acme.com", "country": "Germany"},
        {"first_name": "No e-mail"},
        {"email": "eve@acme.com", "stage": "won", "owner": 1},
        {"email": "JANE@acme.com", "last_name": "Doe"},
        "not an object",
    ]})

    assert response.status_code == 200, response.content
    body = response.json()
    results = body["results"]
    assert [r["status"] for r in results] == ["created", "error", "updated", "error", "error", "error", "created",
                                              "error"]
    assert [r["index"] for r in results] == list(range(8))
    assert list(results[1]["errors"]) == ["email"]
    assert list(results[3]["errors"]) == ["country"]
    assert list(results[4]["errors"]) == ["email"]
    assert sorted(results[5]["errors"]) == ["owner", "stage"]  # never mass-assigned
    assert results[2]["duplicate_attempt"] is True
    assert results[6]["duplicate_of"] == 0 and results[6]["id"] == results[0]["id"]
    assert (body["created"], body["updated"], body["unchanged"], body["errors"]) == (2, 1, 0, 5)
    jane = Lead.objects.get(email="jane@acme.com")
    assert (jane.first_name, jane.last_name, jane.country, jane.stage) == ("Jane", "Doe", "DE", "new")
    known = Lead.objects.get(email="known@acme.com")
    assert (known.stage, known.job_title, known.duplicate_attempts) == ("sql", "CTO", 1)
    assert not Lead.objects.filter(email="eve@acme.com").exists()


@pytest.mark.django_db
def test_replaying_the_same_request_changes_nothing(api):
    request = {"leads": [{"email": f"p{i}@acme.com", "first_name": f"P{i}", "properties": {"i": i}} for i in range(20)]}
    first = post(api, LEADS, request).json()
    snapshot = list(Lead.objects.order_by("pk").values())

    again = post(api, LEADS, request).json()

    assert first["created"] == 20
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 20)
    assert [r["id"] for r in again["results"]] == [r["id"] for r in first["results"]]
    assert list(Lead.objects.order_by("pk").values()) == snapshot


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{}, {"leads": []}, {"leads": "x"}, [{"email": "a@b.co"}],
                                  {"leads": [{"email": "a@b.co"}] * (BULK_LEADS_MAX + 1)}])
def test_a_bad_envelope_is_a_400_and_writes_nothing(api, body):
    response = post(api, LEADS, body)

    assert response.status_code == 400
    assert set(response.json()["error"]) == {"status", "code", "message", "fields"}
    assert not Lead.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "status"), [("marketer", 200), ("sales_rep", 200), ("marketing_manager", 200),
                                              ("sales_manager", 200), ("admin", 200)])
def test_every_role_that_creates_leads_may_bulk_capture(role, status, cast, client_for):
    response = post(client_for(cast[role]), LEADS, {"leads": [{"email": "jane@acme.com"}]})

    assert response.status_code == status


@pytest.mark.django_db
def test_anonymous_bulk_calls_are_refused(client):
    assert post(client, LEADS, {"leads": [{"email": "a@acme.com"}]}).status_code == 403
    assert post(client, ACTIVITIES, {"activities": []}).status_code == 403


@pytest.mark.django_db
def test_a_read_token_may_not_bulk_write(admin, marketer):
    key = api_token_create(actor=admin, name="BI", user=marketer, scope="read")[1]

    response = post(Client(), LEADS, {"leads": [{"email": "a@acme.com"}]}, HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 403
    assert not Lead.objects.exists()


# --- Activities ---------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_activities_by_id_or_email_with_duplicates_and_errors(api):
    lead = LeadFactory(email="jane@acme.com")
    at = (timezone.now() - timedelta(hours=1)).isoformat()

    response = post(api, ACTIVITIES, {"activities": [
        {"lead_id": lead.pk, "type": "page_view", "occurred_at": at, "url": "/pricing"},
        {"lead_email": "JANE@acme.com", "type": "page_view", "occurred_at": at, "url": "/pricing"},
        {"lead_email": "jane@acme.com", "type": "download", "occurred_at": at, "event_id": "e-1"},
        {"lead_email": "jane@acme.com", "type": "download", "occurred_at": at, "event_id": "e-1"},
        {"lead_email": "ghost@acme.com", "type": "click", "occurred_at": at},
        {"lead_id": lead.pk, "type": "teleport", "occurred_at": at},
        {"lead_id": lead.pk, "type": "click", "occurred_at": "yesterday"},
        {"type": "click", "occurred_at": at},
    ]})

    assert response.status_code == 200, response.content
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["created", "duplicate", "created", "duplicate", "error",
                                                      "error", "error", "error"]
    assert (body["created"], body["duplicates"], body["errors"]) == (2, 2, 4)
    assert body["results"][1]["id"] == body["results"][0]["id"]
    assert list(body["results"][4]["errors"]) == ["lead_email"]
    assert Activity.objects.count() == 2
    lead.refresh_from_db()
    assert lead.last_activity_at is not None


@pytest.mark.django_db
def test_unknown_leads_are_created_when_the_flag_says_so(api):
    at = (timezone.now() - timedelta(hours=1)).isoformat()

    body = post(api, ACTIVITIES, {"create_unknown_leads": True, "activities": [
        {"lead_email": "new@initech.io", "type": "webinar", "occurred_at": at}]}).json()

    assert body["results"][0]["lead_created"] is True
    assert Lead.objects.get(email="new@initech.io").stage == "new"


@pytest.mark.django_db
def test_replaying_an_activity_batch_adds_nothing(api):
    lead = LeadFactory()
    now = timezone.now()
    request = {"activities": [{"lead_id": lead.pk, "type": "email_open",
                               "occurred_at": (now - timedelta(minutes=i + 1)).isoformat()} for i in range(50)]}

    post(api, ACTIVITIES, request)
    again = post(api, ACTIVITIES, request).json()

    assert (again["created"], again["duplicates"]) == (0, 50)
    assert Activity.objects.count() == 50


@pytest.mark.django_db
def test_too_many_activities_is_a_400(api):
    item = {"lead_id": 1, "type": "click", "occurred_at": timezone.now().isoformat()}

    response = post(api, ACTIVITIES, {"activities": [item] * (BULK_ACTIVITIES_MAX + 1)})

    assert response.status_code == 400
    assert "activities" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_a_lead_can_be_patched_but_not_its_stage_or_owner(api, sales_rep):
    lead = LeadFactory(email="jane@acme.com", stage="mql", owner=sales_rep)

    refused = api.patch(f"/api/v1/leads/{lead.pk}/", {"job_title": "CTO", "stage": "won", "owner": None},
                        content_type="application/json")
    response = api.patch(f"/api/v1/leads/{lead.pk}/", {"job_title": "CTO", "country": "fr"},
                         content_type="application/json")

    # Stage and owner have their own paths: naming them here is a 400 that says so, and nothing is changed.
    assert refused.status_code == 400
    assert sorted(refused.json()["error"]["fields"]) == ["owner", "stage"]
    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert (lead.job_title, lead.country, lead.stage, lead.owner) == ("CTO", "FR", "mql", sales_rep)
