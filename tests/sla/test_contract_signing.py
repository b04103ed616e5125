"""Drafting and signing the SLA: both teams' managers sign, each for their own team; then it takes effect."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from scoring.models import VersionStatus
from sla.contract_services import (
    calendar_update,
    closed_day_add,
    sla_draft_create,
    sla_draft_discard,
    sla_draft_update,
    sla_sign,
)
from sla.models import SlaVersion
from smarketing.models import AuditEntry
from tests.factories import PersonaFactory
from tests.sla.conftest import berlin


def test_managers_of_both_teams_sign_and_the_draft_takes_effect(marketing_manager, sales_manager):
    draft = sla_draft_create(actor=marketing_manager)
    assert draft.number == 1 and draft.is_draft
    draft = sla_sign(version=draft, actor=marketing_manager)
    assert draft.marketing_signed_by == marketing_manager and draft.status == VersionStatus.DRAFT
    draft = sla_sign(version=draft, actor=sales_manager)
    assert draft.sales_signed_by == sales_manager
    assert draft.status == VersionStatus.ACTIVE and draft.activated_at is not None
    assert AuditEntry.objects.filter(action="sla.activate", target_id=str(draft.pk)).count() == 1


def test_a_signed_version_supersedes_the_previous_one_which_is_kept(marketing_manager, sales_manager):
    first = sla_draft_create(actor=sales_manager)
    sla_sign(version=first, actor=sales_manager)
    sla_sign(version=first, actor=marketing_manager)
    second = sla_draft_create(actor=marketing_manager)
    assert second.number == 2
    sla_draft_update(version=second, actor=marketing_manager, changes={"first_attempt_hours": 4})
    sla_sign(version=second, actor=marketing_manager)
    sla_sign(version=second, actor=sales_manager)
    first.refresh_from_db()
    assert first.status == VersionStatus.SUPERSEDED
    assert SlaVersion.objects.get(status=VersionStatus.ACTIVE).first_attempt_hours == 4


def test_a_draft_copies_the_version_in_force_with_its_calendar(marketing_manager, sales_manager):
    first = sla_draft_create(actor=marketing_manager)
    calendar_update(calendar=first.calendar, actor=marketing_manager,
                    changes={"time_zone": "America/New_York", "holiday_country": "US"})
    closed_day_add(calendar=first.calendar, actor=marketing_manager, day=berlin(2026, 12, 31, 0, 0).date(),
                   label="Year end")
    persona = PersonaFactory()
    sla_draft_update(version=first, actor=marketing_manager, changes={"mqls_per_month": 42}, personas=[persona])
    sla_sign(version=first, actor=marketing_manager)
    sla_sign(version=first, actor=sales_manager)
    second = sla_draft_create(actor=sales_manager)
    assert second.calendar_id != first.calendar_id
    assert second.calendar.time_zone == "America/New_York" and second.calendar.holiday_country == "US"
    assert [d.label for d in second.calendar.closed_days.all()] == ["Year end"]
    assert second.mqls_per_month == 42 and list(second.personas.all()) == [persona]
    # There is one draft at a time: opening again returns it.
    assert sla_draft_create(actor=marketing_manager) == second


@pytest.mark.parametrize("who", ["marketer", "sales_rep", "admin"])
def test_only_managers_sign(cast, who):
    draft = sla_draft_create(actor=cast["marketing_manager"])
    with pytest.raises(PermissionDenied):
        sla_sign(version=draft, actor=cast[who])
    draft.refresh_from_db()
    assert draft.marketing_signed_at is None and draft.sales_signed_at is None


@pytest.mark.parametrize("who", ["marketer", "sales_rep", "other_rep", "admin"])
def test_only_managers_draft_the_sla(cast, who):
    with pytest.raises(PermissionDenied):
        sla_draft_create(actor=cast[who])


def test_each_side_signs_for_its_own_team_only_once(marketing_manager, sales_manager, marketing_team):
    from tests.factories import UserFactory

    draft = sla_draft_create(actor=marketing_manager)
    sla_sign(version=draft, actor=marketing_manager)
    # A second marketing manager cannot sign the sales line: their signature is marketing's, already there.
    other = UserFactory(role="marketing_manager", team=marketing_team)
    with pytest.raises(ValidationError, match="Marketing has already signed"):
        sla_sign(version=draft, actor=other)
    draft.refresh_from_db()
    assert draft.sales_signed_at is None and draft.status == VersionStatus.DRAFT
    sla_sign(version=draft, actor=sales_manager)
    draft.refresh_from_db()
    assert draft.status == VersionStatus.ACTIVE


def test_a_change_to_the_draft_withdraws_the_signatures(marketing_manager, sales_manager):
    draft = sla_draft_create(actor=marketing_manager)
    sla_sign(version=draft, actor=marketing_manager)
    sla_draft_update(version=draft, actor=sales_manager, changes={"protocol_text": "Call twice a day."})
    draft.refresh_from_db()
    assert draft.marketing_signed_at is None
    sla_sign(version=draft, actor=marketing_manager)
    calendar_update(calendar=draft.calendar, actor=sales_manager, changes={"working_weekdays": [0, 1, 2, 3]})
    draft.refresh_from_db()
    assert draft.marketing_signed_at is None


def test_a_version_in_force_cannot_be_changed(marketing_manager, sales_manager):
    draft = sla_draft_create(actor=marketing_manager)
    sla_sign(version=draft, actor=marketing_manager)
    sla_sign(version=draft, actor=sales_manager)
    with pytest.raises(ValidationError):
        sla_draft_update(version=draft, actor=marketing_manager, changes={"mqls_per_month": 1})
    with pytest.raises(ValidationError):
        calendar_update(calendar=draft.calendar, actor=marketing_manager, changes={"time_zone": "UTC"})
    with pytest.raises(ValidationError):
        sla_draft_discard(version=draft, actor=marketing_manager)


@pytest.mark.parametrize(("changes", "field"), [
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"working_weekdays": []}, "working_weekdays"),
    ({"holiday_country": "XX"}, "holiday_country"),
    ({"holiday_country": "DE", "holiday_subdivision": "ZZ"}, "holiday_subdivision"),
])
def test_a_calendar_is_checked(marketing_manager, changes, field):
    draft = sla_draft_create(actor=marketing_manager)
    with pytest.raises(ValidationError) as error:
        calendar_update(calendar=draft.calendar, actor=marketing_manager, changes=changes)
    assert field in error.value.error_dict


def test_commitments_are_checked(marketing_manager):
    draft = sla_draft_create(actor=marketing_manager)
    with pytest.raises(ValidationError) as error:
        sla_draft_update(version=draft, actor=marketing_manager, changes={"min_acceptance_rate": 120})
    assert "min_acceptance_rate" in error.value.error_dict


# --- In the browser's terms: the pages and their permissions ----------------------------------------------

def test_managers_sign_through_the_pages(client_for, marketing_manager, sales_manager):
    client = client_for(marketing_manager)
    response = client.post(reverse("sla_contract:draft_open"))
    draft = SlaVersion.objects.get()
    assert response.status_code == 302 and response.url == reverse("sla_contract:version_detail", args=[draft.number])
    page = client.get(response.url)
    assert b"Sign for marketing" in page.content and b"Edit the draft" in page.content
    assert client.post(reverse("sla_contract:sign", args=[draft.number])).status_code == 302
    sales = client_for(sales_manager)
    assert b"Sign for sales" in sales.get(reverse("sla_contract:version_detail", args=[draft.number])).content
    sales.post(reverse("sla_contract:sign", args=[draft.number]))
    draft.refresh_from_db()
    assert draft.status == VersionStatus.ACTIVE
    overview = sales.get(reverse("sla_contract:overview"))
    assert b"In force" in overview.content and b"SLA v1" in overview.content


@pytest.mark.parametrize("who", ["marketer", "sales_rep", "admin"])
def test_others_read_the_sla_but_cannot_sign_or_edit(cast, client_for, who):
    draft = sla_draft_create(actor=cast["marketing_manager"])
    client = client_for(cast[who])
    page = client.get(reverse("sla_contract:version_detail", args=[draft.number]))
    assert page.status_code == 200
    assert b"Sign for" not in page.content and b"Edit the draft" not in page.content
    assert client.post(reverse("sla_contract:sign", args=[draft.number])).status_code == 403
    assert client.post(reverse("sla_contract:draft_edit", args=[draft.number]), {"sla-mqls_per_month": 1}).status_code == 403
    assert client.post(reverse("sla_contract:draft_open")).status_code == 403


def test_the_draft_form_saves_and_shows_errors(client_for, marketing_manager):
    draft = sla_draft_create(actor=marketing_manager)
    client = client_for(marketing_manager)
    data = {"sla-mqls_per_month": 30, "sla-mql_basis": "total", "sla-first_attempt_hours": 4, "sla-attempts_required": 5,
            "sla-attempts_within_days": 10, "sla-protocol_text": "Call first.", "sla-min_acceptance_rate": 70}
    assert client.post(reverse("sla_contract:draft_edit", args=[draft.number]), data).status_code == 302
    draft.refresh_from_db()
    assert (draft.mqls_per_month, draft.first_attempt_hours, draft.protocol_text) == (30, 4, "Call first.")
    bad = client.post(reverse("sla_contract:draft_edit", args=[draft.number]), {**data, "sla-first_attempt_hours": 0})
    assert bad.status_code == 400 and b"errorlist" in bad.content
    calendar = client.post(reverse("sla_contract:calendar_edit", args=[draft.number]), {
        "cal-time_zone": "Europe/Vienna", "cal-working_weekdays": [0, 1, 2, 3, 4], "cal-opens_at": "08:00",
        "cal-closes_at": "16:30", "cal-holiday_country": "AT"})
    assert calendar.status_code == 302
    draft.calendar.refresh_from_db()
    assert (draft.calendar.time_zone, draft.calendar.holiday_country) == ("Europe/Vienna", "AT")


def test_text_sent_back_unchanged_by_a_browser_keeps_the_signatures(client_for, marketing_manager, sales_manager):
    draft = sla_draft_create(actor=marketing_manager)
    sla_sign(version=draft, actor=sales_manager)
    # Browsers send text areas with CRLF line ends; the stored text has LF.
    same = {"sla-mqls_per_month": draft.mqls_per_month, "sla-mql_basis": draft.mql_basis,
            "sla-first_attempt_hours": draft.first_attempt_hours, "sla-attempts_required": draft.attempts_required,
            "sla-attempts_within_days": draft.attempts_within_days,
            "sla-responsibilities_text": draft.responsibilities_text.replace("\n", "\r\n"),
            "sla-protocol_text": draft.protocol_text.replace("\n", "\r\n")}
    assert client_for(marketing_manager).post(reverse("sla_contract:draft_edit", args=[draft.number]), same).status_code == 302
    draft.refresh_from_db()
    assert draft.sales_signed_by == sales_manager
