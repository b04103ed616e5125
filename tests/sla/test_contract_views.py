"""The SLA pages for everyone who reads them, the navigation entry and the deadline badge."""

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from freezegun import freeze_time

from sla.contract_services import breaches_check, sla_draft_create, sla_draft_update
from sla.demo_contract import sla_seed
from sla.models import Goal, SlaVersion
from tests.sla.conftest import berlin, handoff_under_sla

PAGES = ["sla_contract:overview", "sla_contract:breach_list", "sla_contract:goal_list", "sla_contract:calculator"]


@pytest.mark.parametrize("who", ["marketer", "sales_rep", "marketing_manager", "sales_manager", "admin"])
def test_everyone_reads_the_sla_pages(cast, client_for, who):
    sla_seed()
    client = client_for(cast[who])
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 200, name
    version = SlaVersion.objects.get()
    assert client.get(reverse("sla_contract:version_detail", args=[version.number])).status_code == 200


def test_the_navigation_has_an_sla_entry(client_for, marketer):
    page = client_for(marketer).get(reverse("sla_contract:goal_list"))
    assert page.context["nav_active"] == "sla"
    assert ("sla", "SLA", reverse("sla_contract:overview")) in page.context["nav_items"]


def test_without_an_sla_the_overview_says_what_to_do(client_for, marketing_manager, sales_rep):
    assert b"Draft the first SLA" in client_for(marketing_manager).get(reverse("sla_contract:overview")).content
    assert b"Your managers draft and sign it" in client_for(sales_rep).get(reverse("sla_contract:overview")).content


def test_a_draft_is_shown_beside_the_version_in_force(client_for, marketing_manager, sales_manager):
    sla_seed()
    draft = sla_draft_create(actor=sales_manager)
    sla_draft_update(version=draft, actor=sales_manager, changes={"first_attempt_hours": 4})
    page = client_for(marketing_manager).get(reverse("sla_contract:version_detail", args=[draft.number]))
    changed = [row for row in page.context["rows"] if row["changed"]]
    # The review date is agreed anew with each version, so a draft starts without one.
    assert [(row["label"], row["before"], row["value"]) for row in changed] == [
        ("First attempt", "within 6 business hours", "within 4 business hours"),
        ("Review date", f"{SlaVersion.objects.get(number=1).review_on:%B %-d, %Y}", "—")]
    assert b"In force (v1)" in page.content and b"Draft (v2)" in page.content


def test_the_overview_shows_both_sides_this_month(client_for, marketer, marketing_manager, sales_manager, sales_rep):
    sla_seed()
    handoff_under_sla(at=berlin(2026, 11, 20, 16, 0), rep=sales_rep)
    breaches_check(now=berlin(2026, 11, 23, 15, 0))
    page = client_for(marketer).get(reverse("sla_contract:overview"))
    assert page.context["breaches"]["open"] == 1
    assert b"Marketing commits to" in page.content and b"Sales commits to" in page.content


def test_pages_do_not_query_per_row(client_for, count_queries, marketer, sales_rep):
    sla_seed()
    client = client_for(marketer)
    for n in range(3):
        handoff_under_sla(at=berlin(2026, 11, 20, 9, 0) + timedelta(minutes=n), rep=sales_rep)
    breaches_check(now=berlin(2026, 11, 23, 15, 0))
    few = count_queries(client, reverse("sla_contract:breach_list"))
    for n in range(12):
        handoff_under_sla(at=berlin(2026, 11, 20, 10, 0) + timedelta(minutes=n), rep=sales_rep)
    breaches_check(now=berlin(2026, 11, 23, 16, 0), full=True)
    assert count_queries(client, reverse("sla_contract:breach_list")) == few
    goals = count_queries(client, reverse("sla_contract:goal_list"))
    Goal.objects.create(title="More", metric="mqls_delivered", target=3, period_start=berlin(2026, 11, 1, 0, 0).date(),
                        period_end=berlin(2026, 11, 30, 0, 0).date())
    # One query per goal's figure is the cost of computing progress; the rows themselves are read once.
    assert count_queries(client, reverse("sla_contract:goal_list")) <= goals + 2


def _badge(due_at, met_at=None, sla_version=None) -> str:
    request = RequestFactory().get("/")
    template = Template("{% load sla_tags %}{% deadline due_at met_at sla_version=sla_version %}")
    return template.render(Context({"due_at": due_at, "met_at": met_at, "sla_version": sla_version,
                                    "request": request})).strip()


@freeze_time("2026-11-20 15:00:00")  # Friday 16:00 in Berlin
def test_the_deadline_badge_shows_business_time_left(sla_in_force):
    assert "5 h 30 min left" not in _badge(berlin(2026, 11, 23, 14, 0))
    assert "6 h left" in _badge(berlin(2026, 11, 23, 14, 0))  # 1 h Friday + 5 h Monday, not 70 h
    assert "6 h left" in _badge(berlin(2026, 11, 23, 14, 0), sla_version=1)
    assert "45 min left" in _badge(berlin(2026, 11, 20, 16, 45)) and "deadline-urgent" in _badge(berlin(2026, 11, 20, 16, 45))
    assert "overdue by 1 h" in _badge(berlin(2026, 11, 20, 15, 0))
    assert "met late" in _badge(berlin(2026, 11, 20, 15, 0), met_at=berlin(2026, 11, 20, 15, 30))
    assert ">met<" in _badge(berlin(2026, 11, 20, 15, 0), met_at=berlin(2026, 11, 20, 14, 0))
    assert "no SLA deadline" in _badge(None)


@pytest.mark.django_db
def test_sla_seed_signs_v1_with_goals_once(marketing_manager, sales_manager):
    version = sla_seed()
    assert version.number == 1 and version.fully_signed and version.calendar.holiday_country == "DE"
    assert version.calendar.time_zone == "Europe/Berlin" and Goal.objects.count() == 4
    assert sla_seed() == version and Goal.objects.count() == 4


@pytest.mark.django_db
def test_sla_seed_needs_both_managers(marketing_manager):
    assert sla_seed() is None and not SlaVersion.objects.exists()
