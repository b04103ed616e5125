"""A data subject's requests: a copy of everything kept about a lead, and erasure with the history kept.

The lead is built by hand (Jane Roe, handed to Rita, one attempt, one feedback, a breach, a score), and
every expected value is written here.
"""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.core import serializers
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from dashboards.periods import Span
from dashboards.selectors import Filters, funnel_flows
from leads.models import Activity, ContactAttempt, Feedback, Lead, Stage, StageChange
from leads.services import lead_capture, lead_update
from scoring.compiler import LeadScope
from scoring.models import LeadScore, VersionStatus
from scoring.services import leads_qualify
from sla.models import Breach, Handoff
from sla.selectors import leads_awaiting_routing
from sla.services import handoff_create
from sla.services_privacy import lead_erase, lead_export_personal_data
from smarketing.models import AuditEntry, Notification, WebhookDelivery, WebhookEvent
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    ContactAttemptFactory,
    CriteriaFactory,
    DefinitionVersionFactory,
    EngagementRuleFactory,
    FeedbackFactory,
    FitRuleFactory,
    HandoffFactory,
    LeadFactory,
    NotificationFactory,
    PersonaFactory,
    ScoringVersionFactory,
    StageChangeFactory,
    WebhookEndpointFactory,
)

pytestmark = pytest.mark.django_db

# What identifies Jane in the data; none of it may remain anywhere after the erasure.
IDENTIFIERS = ["jane.roe@acme.example", "Jane Roe", "Jane", "+49 30 1234567", "Head of Platform", "janeroe",
               "evt-jane-1", "Call me"]


@pytest.fixture
def jane(marketer, sales_rep):
    now = timezone.now()
    company = CompanyFactory(name="Acme", domain="acme.example", employees=40, industry="Software", country="DE")
    lead = LeadFactory(
        email="jane.roe@acme.example", first_name="Jane", last_name="Roe", phone="+49 30 1234567",
        job_title="Head of Platform", seniority="director", country="DE", company=company, owner=sales_rep,
        source="webinar", campaign="Q1 launch", utm_source="linkedin", utm_term="jane roe platform",
        properties={"budget": "50k", "linkedin": "linkedin.com/in/janeroe"}, stage=Stage.SQL,
        created_at=now - timedelta(days=3), capture_fingerprint="f" * 64,
    )
    StageChangeFactory(lead=lead, from_stage="", to_stage=Stage.NEW, changed_at=now - timedelta(days=3),
                       changed_by=marketer, reason="created")
    StageChangeFactory(lead=lead, from_stage=Stage.NEW, to_stage=Stage.MQL, changed_at=now - timedelta(days=2),
                       reason="MQL definition v1")
    StageChangeFactory(lead=lead, from_stage=Stage.MQL, to_stage=Stage.SAL, changed_at=now - timedelta(days=1),
                       changed_by=sales_rep, reason="Accepted the handoff")
    StageChangeFactory(lead=lead, from_stage=Stage.SAL, to_stage=Stage.SQL, changed_at=now - timedelta(hours=1),
                       changed_by=sales_rep, reason="Jane wants a demo", note="Spoke to Jane Roe, call me back")
    ActivityFactory(lead=lead, type="page_view", occurred_at=now - timedelta(days=2),
                    url="https://acme.example/pricing?email=jane.roe@acme.example#plans", properties={})
    ActivityFactory(lead=lead, type="form_submission", occurred_at=now - timedelta(days=2, hours=1),
                    url="/demo", properties={"message": "Call me at +49 30 1234567"}, event_id="evt-jane-1")
    handoff = HandoffFactory(lead=lead, rep=sales_rep, handed_off_by=marketer, status="accepted",
                             created_at=now - timedelta(days=2), accepted_at=now - timedelta(days=1),
                             note="Jane Roe asked for pricing", first_attempt_due_at=now - timedelta(days=1, hours=12),
                             summary={"lead": {"name": "Jane Roe", "title": "Head of Platform"}, "persona": "Buyer"},
                             deal_amount=Decimal("12000.00"), attempt_count=1)
    Breach.objects.create(kind="first_attempt", side="sales", handoff=handoff, rep=sales_rep,
                          due_at=now - timedelta(days=1, hours=12))
    ContactAttemptFactory(lead=lead, rep=sales_rep, notes="Jane said: call after 3pm",
                          occurred_at=now - timedelta(hours=20))
    FeedbackFactory(lead=lead, author=sales_rep, quality=4, text="Jane Roe is the decision maker")
    version = ScoringVersionFactory(status=VersionStatus.ACTIVE)
    fit = FitRuleFactory(version=version, label="Platform titles", points=15)
    engagement = EngagementRuleFactory(version=version, label="Pricing page views", points=8)
    LeadScore.objects.create(lead=lead, version=version, fit=15, engagement=8, total=23, grade="B",
                             persona=PersonaFactory(name="Platform buyer"), conversions=1, computed_at=now,
                             breakdown_json=json.dumps({fit.key: 15, engagement.key: 8}))
    NotificationFactory(recipient=marketer, title="Feedback on Jane Roe: 4/5", body="Rita: “Jane Roe is the one”",
                        url=f"/leads/{lead.pk}/")
    endpoint = WebhookEndpointFactory()
    WebhookDelivery.objects.create(
        endpoint=endpoint, event=WebhookEvent.HANDOFF_MADE, event_id="00000000-0000-0000-0000-000000000007",
        next_attempt_at=now, payload={"id": "7", "event": "handoff.made", "data": {
            "handoff_id": handoff.pk, "lead_id": lead.pk, "lead_email": "jane.roe@acme.example", "rep_email": "rep"}})
    return lead


# --- Export -----------------------------------------------------------------------------------------------

def test_the_export_holds_everything_kept_about_the_lead(jane, sales_manager):
    document = lead_export_personal_data(lead=jane, actor=sales_manager)

    assert document["profile"]["email"] == "jane.roe@acme.example"
    assert (document["profile"]["first_name"], document["profile"]["phone"]) == ("Jane", "+49 30 1234567")
    assert document["profile"]["properties"] == {"budget": "50k", "linkedin": "linkedin.com/in/janeroe"}
    assert document["profile"]["owner"] == "Rita Owner"
    assert document["company"]["name"] == "Acme" and document["company"]["employees"] == 40
    assert [a["url"] for a in document["activities"]] == [
        "/demo", "https://acme.example/pricing?email=jane.roe@acme.example#plans"]
    assert [(c["from"], c["to"], c["note"]) for c in document["stage_history"]] == [
        ("", "new", ""), ("new", "mql", ""), ("mql", "sal", ""), ("sal", "sql", "Spoke to Jane Roe, call me back")]
    assert [a["notes"] for a in document["contact_attempts"]] == ["Jane said: call after 3pm"]
    assert [(f["quality"], f["text"]) for f in document["feedback"]] == [(4, "Jane Roe is the decision maker")]
    assert [(h["rep"], h["note"], h["deal_amount"]) for h in document["handoffs"]] == [
        ("Rita Owner", "Jane Roe asked for pricing", Decimal("12000.00"))]
    score = document["score"]
    assert (score["total"], score["grade"], score["persona"]) == (23, "B", "Platform buyer")
    assert score["fit_rules"] == [{"rule": "Platform titles", "points": 15}]
    assert score["engagement_rules"] == [{"rule": "Pricing page views", "points": 8}]
    entry = AuditEntry.objects.get(action="lead.export")
    assert (entry.actor, entry.target_id) == (sales_manager, str(jane.pk))


@pytest.mark.parametrize("who", ["marketer", "sales_rep", "other_rep"])
def test_only_managers_and_admins_take_a_copy(jane, cast, who):
    with pytest.raises(PermissionDenied):
        lead_export_personal_data(lead=jane, actor=cast[who])
    assert not AuditEntry.objects.exists()


def test_the_export_downloads_as_a_json_file(jane, marketing_manager, client_for):
    response = client_for(marketing_manager).get(f"/leads/{jane.pk}/personal-data.json")

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="lead-{jane.pk}-personal-data.json"'
    assert response.json()["profile"]["last_name"] == "Roe"


def test_the_api_export_answers_the_same_document(jane, admin, client_for):
    response = client_for(admin).get(f"/api/v1/leads/{jane.pk}/personal-data/")

    assert response.status_code == 200
    assert response.json()["handoffs"][0]["note"] == "Jane Roe asked for pricing"


# --- Erasure ----------------------------------------------------------------------------------------------

def _funnel_by_source(days: int = 7) -> dict:
    cache.clear()  # the funnel keeps today's figures a minute: read them afresh
    today = timezone.localdate()
    flows = funnel_flows(span=Span(first=today - timedelta(days=days), last=today), filters=Filters(), by="source")
    return {source: dict(flow.moves) for source, flow in flows.items()}


def test_erasure_removes_the_person_and_keeps_the_history(jane, sales_manager, sales_rep):
    lead_erase(lead=jane, actor=sales_manager, confirm_email="Jane.Roe@acme.example ")

    lead = Lead.objects.get(pk=jane.pk)
    assert lead.email == f"erased-{jane.pk}@erased.invalid"
    assert (lead.first_name, lead.last_name, lead.phone, lead.job_title, lead.seniority, lead.country) == \
        ("", "", "", "", "", "")
    assert (lead.company, lead.properties, lead.utm_term, lead.capture_fingerprint) == (None, {}, "", None)
    assert lead.do_not_contact is True
    assert str(lead) == f"Erased lead #{jane.pk}"
    # What the figures count stays: stage, source, campaign, owner, the rows and their times.
    assert (lead.stage, lead.source, lead.campaign, lead.utm_source, lead.owner) == \
        (Stage.SQL, "webinar", "Q1 launch", "linkedin", sales_rep)
    # Reasons the system and the lists write stay; the one a rep typed goes.
    assert list(StageChange.objects.filter(lead=lead).order_by("changed_at").values_list("to_stage", "reason", "note")) \
        == [("new", "created", ""), ("mql", "MQL definition v1", ""), ("sal", "Accepted the handoff", ""),
            ("sql", "(erased)", "")]
    assert sorted(Activity.objects.filter(lead=lead).values_list("type", "url", "event_id")) == [
        ("form_submission", "/demo", None), ("page_view", "https://acme.example/pricing", None)]
    assert list(Activity.objects.filter(lead=lead).values_list("properties", flat=True)) == [{}, {}]
    assert list(ContactAttempt.objects.filter(lead=lead).values_list("channel", "outcome", "notes")) == [
        ("call", "no_answer", "")]
    assert list(Feedback.objects.filter(lead=lead).values_list("quality", "text")) == [(4, "")]
    handoff = Handoff.objects.get(lead=lead)
    assert (handoff.note, handoff.summary, handoff.status, handoff.deal_amount, handoff.attempt_count) == \
        ("", {}, "accepted", Decimal("12000.00"), 1)
    assert Breach.objects.filter(handoff=handoff).count() == 1
    notification = Notification.objects.get(url=f"/leads/{jane.pk}/")
    assert (notification.title, notification.body) == (
        f"Feedback on Erased lead #{jane.pk}: 4/5", f"Rita: “Erased lead #{jane.pk} is the one”")
    assert WebhookDelivery.objects.get().payload["data"]["lead_email"] == f"Erased lead #{jane.pk}"
    entry = AuditEntry.objects.get(action="lead.erase")
    assert (entry.actor, entry.target_type, entry.target_id) == (sales_manager, "leads.lead", str(jane.pk))


def test_the_funnel_counts_the_same_before_and_after_erasure(jane, admin):
    expected = {"webinar": {("", "new"): 1, ("new", "mql"): 1, ("mql", "sal"): 1, ("sal", "sql"): 1}}
    assert _funnel_by_source() == expected

    lead_erase(lead=jane, actor=admin, confirm_email=jane.email)

    assert _funnel_by_source() == expected


def test_nothing_left_in_the_database_identifies_the_person(jane, marketing_manager):
    lead_erase(lead=jane, actor=marketing_manager, confirm_email=jane.email)

    # Every row of every model, as text: the lead, its history, notifications, webhooks, the audit log.
    dump = serializers.serialize("json", [row for model in apps.get_models() for row in model.objects.all()])
    found = [identifier for identifier in IDENTIFIERS if identifier.lower() in dump.lower()]
    assert found == []
    # And the company it worked for is no longer linked to it.
    assert Lead.objects.filter(company__domain="acme.example").count() == 0


def test_the_erased_address_cannot_be_captured_or_edited_back(jane, admin, marketer):
    lead = lead_erase(lead=jane, actor=admin, confirm_email=jane.email)

    with pytest.raises(ValidationError):
        lead_capture(email=lead.email, fields={"first_name": "Jane"}, actor=marketer)
    with pytest.raises(ValidationError):
        lead_update(lead=lead, actor=marketer, changes={"first_name": "Jane"})
    # The person's own address is free again: a new capture is a new lead, not the erased one.
    again = lead_capture(email="jane.roe@acme.example", fields={}, actor=marketer)
    assert again.created and again.lead.pk != jane.pk


def test_erasure_needs_the_address_typed_and_happens_once(jane, admin):
    with pytest.raises(ValidationError) as wrong:
        lead_erase(lead=jane, actor=admin, confirm_email="jane@acme.example")
    assert wrong.value.message_dict == {"confirm_email": ["Type the lead's e-mail address exactly to confirm."]}
    assert Lead.objects.get(pk=jane.pk).first_name == "Jane"

    erased = lead_erase(lead=jane, actor=admin, confirm_email=jane.email)
    with pytest.raises(ValidationError, match="already erased"):
        lead_erase(lead=erased, actor=admin, confirm_email=erased.email)


@pytest.mark.parametrize("who", ["marketer", "sales_rep", "other_rep"])
def test_only_managers_and_admins_erase(jane, cast, who):
    with pytest.raises(PermissionDenied):
        lead_erase(lead=jane, actor=cast[who], confirm_email=jane.email)
    assert Lead.objects.get(pk=jane.pk).email == "jane.roe@acme.example"


# --- The pages and the API --------------------------------------------------------------------------------

def test_the_lead_page_offers_the_buttons_to_managers_only(jane, sales_manager, marketer, client_for):
    manager_page = client_for(sales_manager).get(f"/leads/{jane.pk}/").content.decode()
    marketer_page = client_for(marketer).get(f"/leads/{jane.pk}/").content.decode()

    assert f"/leads/{jane.pk}/erase/" in manager_page and f"/leads/{jane.pk}/personal-data.json" in manager_page
    assert f"/leads/{jane.pk}/erase/" not in marketer_page


def test_the_erase_page_confirms_then_erases(jane, sales_manager, client_for):
    client = client_for(sales_manager)
    page = client.get(f"/leads/{jane.pk}/erase/")
    assert page.status_code == 200 and "Erase personal data" in page.content.decode()

    refused = client.post(f"/leads/{jane.pk}/erase/", {"confirm_email": "someone@else.example"})
    assert refused.status_code == 400
    assert "Type the lead&#x27;s e-mail address exactly to confirm." in refused.content.decode()
    assert Lead.objects.get(pk=jane.pk).first_name == "Jane"

    done = client.post(f"/leads/{jane.pk}/erase/", {"confirm_email": "jane.roe@acme.example"})
    assert done.status_code == 302 and done["Location"] == f"/leads/{jane.pk}/"
    page = client.get(f"/leads/{jane.pk}/").content.decode()
    assert f"Erased lead #{jane.pk}" in page and "Jane" not in page


def test_the_api_erases_with_the_confirmation(jane, admin, client_for):
    client = client_for(admin)
    missing = client.post(f"/api/v1/leads/{jane.pk}/erase/", {}, content_type="application/json")
    assert missing.status_code == 400
    assert missing.json()["error"]["fields"] == {"confirm_email": ["This field is required."]}

    done = client.post(f"/api/v1/leads/{jane.pk}/erase/", {"confirm_email": "jane.roe@acme.example"},
                       content_type="application/json")
    assert done.status_code == 200
    assert (done.json()["email"], done.json()["first_name"]) == (f"erased-{jane.pk}@erased.invalid", "")


def test_a_lead_without_an_owner_or_history_is_erased_too(admin):
    lead = LeadFactory(email="solo@example.org", first_name="Solo", owner=None)
    lead_erase(lead=lead, actor=admin, confirm_email="solo@example.org")
    assert (Lead.objects.get(pk=lead.pk).first_name, Lead.objects.get(pk=lead.pk).email) == \
        ("", f"erased-{lead.pk}@erased.invalid")
    assert AuditEntry.objects.filter(action="lead.erase", target_id=str(lead.pk)).count() == 1


# --- After the erasure: no one to qualify, route or hand off ----------------------------------------------

def test_an_erased_lead_is_never_qualified_routed_or_handed_off(admin, marketer, sales_rep):
    definition = DefinitionVersionFactory(status=VersionStatus.ACTIVE)
    CriteriaFactory(version=definition)  # every scored lead meets it
    version = ScoringVersionFactory(status=VersionStatus.ACTIVE)
    new_lead = LeadFactory(email="new.one@example.org", stage=Stage.NEW)
    kept_lead = LeadFactory(email="kept@example.org", stage=Stage.NEW)
    mql = LeadFactory(email="mql.one@example.org", stage=Stage.MQL)
    for lead in (new_lead, kept_lead, mql):
        LeadScore.objects.create(lead=lead, version=version, fit=0, engagement=0, total=0, grade="D",
                                 computed_at=timezone.now())
    lead_erase(lead=new_lead, actor=admin, confirm_email=new_lead.email)
    lead_erase(lead=mql, actor=admin, confirm_email=mql.email)

    assert leads_qualify(scope=LeadScope(ids=[new_lead.pk, kept_lead.pk])) == 1
    assert Lead.objects.get(pk=new_lead.pk).stage == Stage.NEW
    assert Lead.objects.get(pk=kept_lead.pk).stage == Stage.MQL
    assert [lead.pk for lead in leads_awaiting_routing(limit=10)] == [kept_lead.pk]
    with pytest.raises(ValidationError, match="no one to hand off"):
        handoff_create(lead=Lead.objects.get(pk=mql.pk), rep=sales_rep, actor=marketer)
