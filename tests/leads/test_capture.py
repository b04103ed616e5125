"""lead_capture: one row per person whatever the spelling of the e-mail, and a repeat never loses or resets."""

import pytest
from django.core.exceptions import ValidationError

from leads.models import Lead, StageChange
from leads.services import lead_capture
from tests.factories import LeadFactory


@pytest.mark.django_db
def test_a_new_lead_starts_in_new_with_its_first_stage_change(marketer):
    result = lead_capture(email="  Jane.Doe@Acme.com ", fields={"first_name": "Jane", "last_name": "Doe",
                                                                 "country": "DE", "source": "webinar"},
                          actor=marketer)

    assert result.created
    assert not result.duplicate_attempt
    lead = Lead.objects.get()
    assert lead.email == "jane.doe@acme.com"
    assert (lead.first_name, lead.last_name, lead.country, lead.source) == ("Jane", "Doe", "DE", "webinar")
    assert lead.stage == "new"
    change = StageChange.objects.get(lead=lead)
    assert (change.from_stage, change.to_stage, change.changed_by) == ("", "new", marketer)
    assert change.changed_at == lead.stage_entered_at == lead.created_at


@pytest.mark.django_db
def test_a_lead_captured_by_the_system_has_no_author(db):
    lead_capture(email="jane@acme.com", fields={}, actor=None)

    assert StageChange.objects.get().changed_by is None


@pytest.mark.django_db
@pytest.mark.parametrize("repeat", ["jane.doe@acme.com", "JANE.DOE@ACME.COM", "  Jane.Doe@Acme.com  ",
                                    "\tjane.doe@acme.COM\n"])
def test_a_repeat_email_in_any_case_or_with_spaces_is_the_same_lead(repeat, marketer):
    first = lead_capture(email="jane.doe@acme.com", fields={"first_name": "Jane"}, actor=marketer)

    again = lead_capture(email=repeat, fields={"job_title": "CTO"}, actor=marketer)

    assert not again.created
    assert again.lead.pk == first.lead.pk
    assert Lead.objects.count() == 1
    assert StageChange.objects.count() == 1  # the repeat does not "create" the lead a second time


@pytest.mark.django_db
def test_a_repeat_updates_what_it_brings_and_keeps_what_it_leaves_blank(marketer):
    lead_capture(email="jane@acme.com", fields={"first_name": "Jane", "last_name": "Doe", "phone": "+49 30 1234",
                                                "job_title": "Head of IT", "source": "webinar"},
                 properties={"budget": "50k", "team_size": 12}, actor=marketer)

    lead_capture(email="JANE@acme.com", fields={"first_name": "", "last_name": None, "phone": "",
                                                "job_title": "CTO", "campaign": "spring-launch"},
                 properties={"team_size": 15, "timeline": "Q3"}, actor=marketer)

    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.phone) == ("Jane", "Doe", "+49 30 1234")
    assert (lead.job_title, lead.source, lead.campaign) == ("CTO", "webinar", "spring-launch")
    assert lead.properties == {"budget": "50k", "team_size": 15, "timeline": "Q3"}


@pytest.mark.django_db
def test_a_whitespace_only_value_is_blank_and_keeps_the_existing_one(marketer):
    lead_capture(email="jane@acme.com", fields={"first_name": "Jane"}, actor=marketer)

    lead_capture(email="jane@acme.com", fields={"first_name": "   ", "last_name": "  Doe "}, actor=marketer)

    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name) == ("Jane", "Doe")


@pytest.mark.django_db
def test_a_repeat_without_a_company_keeps_the_lead_s_company(marketer):
    lead = LeadFactory(email="jane@gmail.com", company__name="Acme GmbH")

    lead_capture(email="jane@gmail.com", fields={"first_name": "Jane"}, actor=marketer)

    lead.refresh_from_db()
    assert lead.company.name == "Acme GmbH"


@pytest.mark.django_db
def test_a_repeat_while_the_lead_is_still_new_is_not_a_duplicate(marketer):
    lead_capture(email="jane@acme.com", fields={}, actor=marketer)

    again = lead_capture(email="jane@acme.com", fields={}, actor=marketer)

    assert not again.duplicate_attempt
    lead = Lead.objects.get()
    assert lead.duplicate_attempts == 0
    assert lead.last_duplicate_attempt_at is None


@pytest.mark.django_db
@pytest.mark.parametrize("stage", ["mql", "sal", "sql", "opportunity", "won", "lost", "disqualified", "recycled"])
def test_a_repeat_of_a_lead_past_new_is_flagged_and_keeps_its_stage(stage, marketer, sales_rep):
    lead = LeadFactory(email="jane@acme.com", stage=stage, owner=sales_rep, first_name="Jane")

    first = lead_capture(email="Jane@Acme.com", fields={"job_title": "CTO"}, actor=marketer)
    second = lead_capture(email="jane@acme.com", fields={}, actor=marketer)

    assert first.duplicate_attempt and second.duplicate_attempt
    lead.refresh_from_db()
    assert lead.stage == stage
    assert lead.owner == sales_rep
    assert lead.duplicate_attempts == 2
    assert lead.last_duplicate_attempt_at is not None
    assert lead.job_title == "CTO"
    assert not StageChange.objects.filter(lead=lead).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["not-an-email", "jane@", "", "   ", "jane doe@acme.com"])
def test_an_invalid_email_is_an_error_on_the_email_field(email, marketer):
    with pytest.raises(ValidationError) as error:
        lead_capture(email=email, fields={"first_name": "Jane"}, actor=marketer)

    assert list(error.value.message_dict) == ["email"]
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_capture_refuses_fields_it_does_not_own(marketer):
    # Stage and owner change only through their own services.
    with pytest.raises(ValueError, match="stage"):
        lead_capture(email="jane@acme.com", fields={"stage": "won"}, actor=marketer)


@pytest.mark.django_db
def test_a_rep_who_captures_a_lead_owns_it(sales_rep, other_rep):
    result = lead_capture(email="jane@acme.com", fields={}, actor=sales_rep, owner=other_rep)

    assert result.lead.owner == sales_rep


@pytest.mark.django_db
def test_a_marketer_may_name_the_owner(marketer, sales_rep):
    result = lead_capture(email="jane@acme.com", fields={}, actor=marketer, owner=sales_rep)

    assert result.lead.owner == sales_rep


@pytest.mark.django_db
def test_a_repeat_does_not_change_the_owner(marketer, marketing_manager, sales_rep, other_rep):
    lead_capture(email="jane@acme.com", fields={}, actor=marketer, owner=sales_rep)

    # (A rep's repeat capture of another rep's lead is refused outright: tests/leads/test_capture_ownership.py.)
    lead_capture(email="jane@acme.com", fields={"first_name": "Jane"}, actor=marketing_manager, owner=other_rep)

    assert Lead.objects.get().owner == sales_rep
