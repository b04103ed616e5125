"""The lead API under /api/v1/: the same services and access rules as the pages, one error shape for every 4xx."""

import pytest
from django.test import Client
from django.urls import reverse

from leads.models import Lead, StageChange
from tests.factories import LeadFactory

COLLECTION = "/api/v1/leads/"


def item(lead_id: int) -> str:
    return f"/api/v1/leads/{lead_id}/"


def stage(lead_id: int) -> str:
    return f"/api/v1/leads/{lead_id}/stage/"


def post(client: Client, url: str, body) -> object:
    return client.post(url, body, content_type="application/json")


def assert_error_shape(response, status: int, code: str) -> dict:
    """Every 4xx is {"error": {"status", "code", "message", "fields"}}; returns the inner error."""
    assert response.status_code == status, response.content
    body = response.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert set(error) == {"status", "code", "message", "fields"}
    assert error["status"] == status
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    return error


@pytest.fixture
def owned_lead(sales_rep):
    return LeadFactory(email="jane.doe@acme.com", first_name="Jane", stage="mql", owner=sales_rep)


def test_the_api_urls_are_where_integrations_expect_them():
    assert reverse("api_lead_collection") == COLLECTION
    assert reverse("api_lead_item", args=[7]) == item(7)
    assert reverse("api_lead_stage", args=[7]) == stage(7)


# --- Anonymous callers: 403 in the error shape, never a redirect to the login page ------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url"), [("get", "collection"), ("post", "collection"), ("get", "item"),
                                             ("post", "stage")])
def test_anonymous_calls_are_refused_in_the_error_shape(method, url, client, owned_lead):
    target = {"collection": COLLECTION, "item": item(owned_lead.pk), "stage": stage(owned_lead.pk)}[url]

    response = getattr(client, method)(target, {"to": "sal"} if method == "post" else None,
                                       content_type="application/json")

    error = assert_error_shape(response, 403, "not_authenticated")
    assert error["fields"] == {}
    assert Lead.objects.count() == 1
    assert not StageChange.objects.exists()


# --- Capture: create, repeat, invalid ---------------------------------------------------------------------

@pytest.mark.django_db
def test_a_new_lead_is_created_with_201(marketer, client_for):
    response = post(client_for(marketer), COLLECTION, {
        "email": " Jane.Doe@ACME.com ", "first_name": "Jane", "country": "de", "company": "Acme GmbH",
        "source": "api", "properties": {"budget": "50k"},
    })

    assert response.status_code == 201
    body = response.json()
    lead = Lead.objects.get()
    assert body["id"] == lead.pk
    assert (body["email"], body["country"], body["company"], body["company_domain"]) == (
        "jane.doe@acme.com", "DE", "Acme GmbH", "acme.com")
    assert (body["stage"], body["properties"], body["duplicate_attempt"]) == ("new", {"budget": "50k"}, False)
    assert StageChange.objects.get(lead=lead).to_stage == "new"


@pytest.mark.django_db
def test_a_repeat_email_answers_200_and_adds_no_row(marketer, client_for):
    client = client_for(marketer)
    first = post(client, COLLECTION, {"email": "jane@acme.com", "first_name": "Jane"})

    again = post(client, COLLECTION, {"email": "  JANE@Acme.com", "job_title": "CTO", "first_name": ""})

    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Lead.objects.count() == 1
    assert (again.json()["first_name"], again.json()["job_title"]) == ("Jane", "CTO")


@pytest.mark.django_db
def test_a_repeat_of_a_lead_past_new_is_flagged_and_keeps_its_stage(marketer, client_for, owned_lead):
    response = post(client_for(marketer), COLLECTION, {"email": "Jane.Doe@acme.com"})

    assert response.status_code == 200
    assert response.json()["duplicate_attempt"] is True
    assert response.json()["duplicate_attempts"] == 1
    owned_lead.refresh_from_db()
    assert owned_lead.stage == "mql"


@pytest.mark.django_db
def test_a_rep_who_posts_a_lead_owns_it(sales_rep, client_for):
    response = post(client_for(sales_rep), COLLECTION, {"email": "jane@acme.com"})

    assert response.json()["owner"] == sales_rep.email


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "first_name": "Jane"}, "email"),
        ({"email": "jane doe@acme.com"}, "email"),
        ({"email": ""}, "email"),
        ({"first_name": "Jane"}, "email"),
        ({"email": "jane@acme.com", "country": "DEU"}, "country"),
        ({"email": "jane@acme.com", "seniority": "intern"}, "seniority"),
        ({"email": "jane@acme.com", "properties": ["not", "a", "dict"]}, "properties"),
        ({"email": "jane@acme.com", "do_not_contact": "perhaps"}, "do_not_contact"),
    ],
)
def test_an_invalid_lead_is_a_400_naming_the_field(body, field, marketer, client_for):
    response = post(client_for(marketer), COLLECTION, body)

    error = assert_error_shape(response, 400, "invalid")
    assert list(error["fields"]) == [field]
    assert all(isinstance(m, str) and m for m in error["fields"][field])
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_a_body_that_is_not_json_is_a_400_in_the_error_shape(marketer, client_for):
    response = client_for(marketer).post(COLLECTION, "{not json", content_type="application/json")

    assert_error_shape(response, 400, "parse_error")


# --- Reading ----------------------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("who", ["marketer", "sales_rep", "other_rep", "sales_manager", "admin"])
def test_every_role_reads_a_lead(who, cast, client_for, owned_lead):
    response = client_for(cast[who]).get(item(owned_lead.pk))

    assert response.status_code == 200
    assert response.json()["email"] == "jane.doe@acme.com"
    assert response.json()["owner"] == "rep@smarketing.test"


@pytest.mark.django_db
def test_an_unknown_lead_is_a_404_in_the_error_shape(marketer, client_for):
    assert_error_shape(client_for(marketer).get(item(999999)), 404, "not_found")


@pytest.mark.django_db
def test_a_method_the_endpoint_does_not_take_is_a_405_in_the_error_shape(marketer, client_for, owned_lead):
    response = client_for(marketer).delete(item(owned_lead.pk))

    assert_error_shape(response, 405, "method_not_allowed")
    assert Lead.objects.filter(pk=owned_lead.pk).exists()


@pytest.mark.django_db
def test_the_collection_lists_and_filters_leads(marketer, client_for, owned_lead):
    LeadFactory(email="john@globex.com", stage="sal")
    client = client_for(marketer)

    everything = client.get(COLLECTION).json()
    mqls = client.get(COLLECTION, {"stage": "mql"}).json()
    by_search = client.get(COLLECTION, {"q": "GLOBEX"}).json()

    assert everything["count"] == 2
    assert [lead["email"] for lead in mqls["results"]] == ["jane.doe@acme.com"]
    assert [lead["email"] for lead in by_search["results"]] == ["john@globex.com"]


@pytest.mark.django_db
def test_an_unreadable_filter_is_a_400_naming_the_filter(marketer, client_for):
    response = client_for(marketer).get(COLLECTION, {"created_after": "notadate"})

    error = assert_error_shape(response, 400, "invalid")
    assert list(error["fields"]) == ["created_after"]


@pytest.mark.django_db
def test_the_collection_runs_the_same_queries_for_5_or_40_leads(marketer, client_for, count_queries):
    client = client_for(marketer)
    LeadFactory.create_batch(5, owner=marketer)
    with_5 = count_queries(client, COLLECTION)
    LeadFactory.create_batch(35, owner=marketer)

    assert count_queries(client, COLLECTION) == with_5


# --- Stage changes ----------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_owner_moves_their_lead_with_201(sales_rep, client_for, owned_lead):
    response = post(client_for(sales_rep), stage(owned_lead.pk), {"to": "sal", "note": "demo booked"})

    assert response.status_code == 201
    body = response.json()
    assert (body["lead"], body["from_stage"], body["to_stage"], body["changed_by"], body["note"]) == (
        owned_lead.pk, "mql", "sal", "rep@smarketing.test", "demo booked")
    owned_lead.refresh_from_db()
    assert owned_lead.stage == "sal"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "to", "message"),
    [
        ("marketer", "sal", "Marketers cannot move a lead from MQL to SAL."),
        ("admin", "won", "A lead cannot move from MQL to Won."),
        ("sales_rep", "new", "A lead cannot move from MQL to New."),
    ],
)
def test_an_illegal_stage_change_is_a_400_with_the_reason(who, to, message, cast, client_for, owned_lead):
    response = post(client_for(cast[who]), stage(owned_lead.pk), {"to": to, "reason": "because"})

    error = assert_error_shape(response, 400, "invalid")
    assert error["message"] == message
    assert error["fields"] == {}
    owned_lead.refresh_from_db()
    assert owned_lead.stage == "mql"
    assert not StageChange.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "field"), [({"to": "disqualified"}, "reason"), ({"to": "closed"}, "to"),
                                             ({}, "to")])
def test_a_stage_change_missing_what_it_needs_names_the_field(body, field, sales_rep, client_for, owned_lead):
    response = post(client_for(sales_rep), stage(owned_lead.pk), body)

    error = assert_error_shape(response, 400, "invalid")
    assert list(error["fields"]) == [field]
    owned_lead.refresh_from_db()
    assert owned_lead.stage == "mql"


@pytest.mark.django_db
@pytest.mark.parametrize("to", ["sal", "recycled"])
def test_a_rep_changing_another_rep_s_lead_is_a_403(to, other_rep, client_for, owned_lead):
    response = post(client_for(other_rep), stage(owned_lead.pk), {"to": to, "reason": "taking over"})

    error = assert_error_shape(response, 403, "permission_denied")
    assert "leads handed to" in error["message"]
    owned_lead.refresh_from_db()
    assert owned_lead.stage == "mql"
    assert not StageChange.objects.exists()


@pytest.mark.django_db
def test_a_sales_manager_moves_a_rep_s_lead(sales_manager, client_for, owned_lead):
    response = post(client_for(sales_manager), stage(owned_lead.pk), {"to": "sal"})

    assert response.status_code == 201
    assert response.json()["changed_by"] == "sm@smarketing.test"


@pytest.mark.django_db
def test_a_stage_change_on_an_unknown_lead_is_a_404(sales_rep, client_for):
    assert_error_shape(post(client_for(sales_rep), stage(999999), {"to": "sal"}), 404, "not_found")


@pytest.mark.django_db
def test_any_stage_change_on_another_rep_s_lead_is_a_403(other_rep, sales_rep, client_for):
    lead = LeadFactory(stage="lost", owner=sales_rep)

    response = post(client_for(other_rep), stage(lead.pk), {"to": "recycled", "reason": "nurture"})

    assert_error_shape(response, 403, "permission_denied")
