"""No mass assignment: what a request may set is listed field by field, so nobody sets a lead's owner,
stage or score, a handoff's outcome or a user's role by adding a key to a form or a JSON body.

Structural checks over every form and serializer the apps define, then the write endpoints themselves.
"""

import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from leads.models import ContactAttempt, Feedback, Lead, Stage
from scoring.models import LeadScore
from sla.models import Handoff
from sla.services import handoff_create
from smarketing.roles import Role
from tests.factories import LeadFactory

APPS = ["smarketing", "leads", "scoring", "sla", "dashboards"]
# Fields that only their own service sets, each by its own rules (lifecycle, scoring, routing, roles).
PROTECTED = {"owner", "stage", "stage_entered_at", "score", "total", "fit", "engagement", "grade", "role",
             "is_staff", "is_superuser", "user_permissions", "groups", "status", "accepted_at",
             "rejected_at", "closed_at", "handed_off_by", "author", "created_by", "changed_by", "key_hash"}


def _import_every_module() -> None:
    for app in APPS:
        package = importlib.import_module(app)
        for module in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" not in module.name:
                importlib.import_module(module.name)


def _ours(cls: type) -> list[type]:
    _import_every_module()
    found, todo = set(), [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.split(".")[0] in APPS:
                found.add(sub)
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__name__}")


def _input_serializers() -> list[type]:
    """Every serializer a view validates request data with: `XSerializer(data=...)` in the apps' code."""
    used = set()
    for app in APPS:
        for path in (Path(settings.BASE_DIR) / app).rglob("*.py"):
            used.update(re.findall(r"\b(\w+Serializer)\(\s*data=", path.read_text()))
    return [cls for cls in _ours(serializers.Serializer) if cls.__name__ in used]


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_every_model_form_and_model_serializer_lists_its_fields():
    model_forms = _ours(forms.ModelForm)
    model_serializers = _ours(serializers.ModelSerializer)
    assert len(model_forms) >= 8 and len(model_serializers) >= 5

    for cls in [*model_forms, *model_serializers]:
        assert isinstance(cls.Meta.fields, list | tuple), cls
        assert not hasattr(cls.Meta, "exclude"), cls


def test_no_code_asks_for_all_fields():
    all_fields = re.compile(r"""fields\s*=\s*["']__all__["']""")
    offenders = [str(path) for app in APPS for path in (Path(settings.BASE_DIR) / app).rglob("*.py")
                 if all_fields.search(path.read_text())]

    assert offenders == []


def test_no_input_serializer_accepts_a_protected_field():
    inputs = _input_serializers()
    assert {"LeadCaptureSerializer", "LeadUpdateSerializer", "HandoffCreateSerializer", "AttemptInputSerializer",
            "FeedbackInputSerializer", "StageChangeInputSerializer"} <= {cls.__name__ for cls in inputs}

    for cls in inputs:
        writable = {name for name, field in cls().fields.items() if not field.read_only}
        assert writable & PROTECTED == set(), cls


def test_no_form_takes_a_protected_field_but_the_lead_owner_for_those_who_assign():
    for cls in _ours(forms.BaseForm):
        taken = set(cls.base_fields) & PROTECTED
        assert taken <= ({"owner"} if cls.__name__ in {"LeadForm", "ActionItemForm"} else set()), cls


REFUSED = ["This field is not accepted here."]


def _refused_fields(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"]


@pytest.mark.django_db
def test_capturing_a_lead_through_the_api_sets_no_owner_stage_or_score(marketer, sales_rep):
    body = {"email": "new@acme.com", "first_name": "New"}
    smuggled = {"stage": "won", "owner": sales_rep.email, "score": 100, "grade": "A", "role": Role.ADMIN}

    refused = api(marketer).post("/api/v1/leads/", {**body, **smuggled}, format="json")

    assert _refused_fields(refused) == {name: REFUSED for name in smuggled}
    assert not Lead.objects.filter(email="new@acme.com").exists()
    response = api(marketer).post("/api/v1/leads/", body, format="json")
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(email="new@acme.com")
    assert (lead.first_name, lead.stage, lead.owner) == ("New", Stage.NEW, None)
    assert not LeadScore.objects.filter(lead=lead).exists()
    marketer.refresh_from_db()
    assert marketer.role == Role.MARKETER


@pytest.mark.django_db
def test_editing_a_lead_through_the_api_leaves_its_owner_stage_and_score(sales_rep, other_rep):
    lead = LeadFactory(email="jane@acme.com", stage=Stage.SAL, owner=sales_rep, job_title="")
    smuggled = {"owner": other_rep.email, "stage": "won", "score": 99, "stage_entered_at": None}

    refused = api(sales_rep).patch(f"/api/v1/leads/{lead.pk}/", {"job_title": "CTO", **smuggled}, format="json")

    assert _refused_fields(refused) == {name: REFUSED for name in smuggled}
    lead.refresh_from_db()
    assert (lead.job_title, lead.owner, lead.stage) == ("", sales_rep, Stage.SAL)
    response = api(sales_rep).patch(f"/api/v1/leads/{lead.pk}/", {"job_title": "CTO"}, format="json")
    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert (lead.job_title, lead.owner, lead.stage) == ("CTO", sales_rep, Stage.SAL)
    assert not LeadScore.objects.filter(lead=lead).exists()


@pytest.mark.django_db
def test_a_handoff_made_through_the_api_is_pending_and_by_whoever_made_it(marketer, marketing_manager, sales_rep):
    lead = LeadFactory(stage=Stage.MQL)
    body = {"lead": lead.pk, "rep": sales_rep.email}
    smuggled = {"status": "accepted", "handed_off_by": marketing_manager.pk, "won_amount": "1000000",
                "accepted_at": "2026-01-01T00:00:00Z"}

    refused = api(marketer).post("/api/v1/handoffs/", {**body, **smuggled}, format="json")

    assert _refused_fields(refused) == {name: REFUSED for name in smuggled}
    assert not Handoff.objects.filter(lead=lead).exists()
    response = api(marketer).post("/api/v1/handoffs/", body, format="json")
    assert response.status_code == 201, response.content
    handoff = Handoff.objects.get(lead=lead)
    assert (handoff.status, handoff.handed_off_by, handoff.accepted_at, handoff.won_amount) == (
        "pending", marketer, None, None)


@pytest.mark.django_db
def test_attempts_and_feedback_are_the_caller_s_own(sales_rep, other_rep, marketer):
    lead = LeadFactory(stage=Stage.MQL)
    handoff_create(lead=lead, rep=sales_rep, actor=marketer, note="")
    client = api(sales_rep)
    attempt_body = {"channel": "call", "outcome": "voicemail", "occurred_at": timezone.now().isoformat(),
                    "idempotency_key": "k-1"}
    feedback_body = {"quality": 4, "text": "Good fit"}

    refused_attempt = client.post(f"/api/v1/leads/{lead.pk}/attempts/",
                                  {**attempt_body, "rep": other_rep.pk, "lead": LeadFactory().pk}, format="json")
    refused_feedback = client.post(f"/api/v1/leads/{lead.pk}/feedback/", {**feedback_body, "author": other_rep.pk},
                                   format="json")

    assert _refused_fields(refused_attempt) == {"rep": REFUSED, "lead": REFUSED}
    assert _refused_fields(refused_feedback) == {"author": REFUSED}
    assert not ContactAttempt.objects.exists() and not Feedback.objects.exists()
    assert client.post(f"/api/v1/leads/{lead.pk}/attempts/", attempt_body, format="json").status_code == 201
    assert client.post(f"/api/v1/leads/{lead.pk}/feedback/", feedback_body, format="json").status_code == 201
    assert list(ContactAttempt.objects.values_list("lead", "rep")) == [(lead.pk, sales_rep.pk)]
    assert list(Feedback.objects.values_list("lead", "author")) == [(lead.pk, sales_rep.pk)]


@pytest.mark.django_db
def test_the_lead_form_ignores_stage_and_score_and_an_owner_from_a_rep(sales_rep, other_rep, client_for):
    # A rep may not assign owners: the lead they capture is their own, whatever the form says.
    body = {"email": "form@acme.com", "first_name": "Form", "owner": other_rep.pk, "stage": "won", "score": "100"}

    response = client_for(sales_rep).post(reverse("leads:lead_create"), body)

    assert response.status_code == 302
    lead = Lead.objects.get(email="form@acme.com")
    assert (lead.first_name, lead.stage, lead.owner) == ("Form", Stage.NEW, sales_rep)
    assert not LeadScore.objects.filter(lead=lead).exists()


@pytest.mark.django_db
def test_only_the_admin_site_changes_a_role_and_only_staff_open_it(sales_manager, sales_rep, client_for):
    response = client_for(sales_manager).post(reverse("admin:smarketing_user_change", args=[sales_rep.pk]),
                                              {"email": sales_rep.email, "role": Role.ADMIN})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    sales_rep.refresh_from_db()
    assert sales_rep.role == Role.SALES_REP
