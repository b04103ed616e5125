"""Qualification: after scoring, exactly the leads in `new` (or `recycled` and active again) that meet
the MQL definition in force become `mql`, by the system, naming the definition version; no lead ever
moves back because its score fell."""

from datetime import timedelta

import pytest
from freezegun import freeze_time

from leads.models import Lead, Stage, StageChange
from leads.services import activity_record, lead_change_stage
from scoring.compiler import LeadScope
from scoring.models import VersionStatus
from scoring.services import definition_draft_create, leads_qualify, rescore_all, version_sign
from tests.factories import (
    CompanyFactory,
    CriteriaFactory,
    DefinitionVersionFactory,
    EngagementRuleFactory,
    FitRuleFactory,
    LeadFactory,
    PersonaFactory,
)
from tests.scoring.conftest import NOW, activity, score


@pytest.fixture
def agreement(scoring_version):
    """Fit: engineer +40 (grade B), analyst +20 (C), director +60 (A), else 0 (D).
    Engagement: +10 per form submission, +1 per page view, no decay, no cap.
    Persona "Engineers": job title contains "engineer"."""
    FitRuleFactory(version=scoring_version, field="job_title", operator="contains", value="engineer", points=40)
    FitRuleFactory(version=scoring_version, field="job_title", operator="contains", value="analyst", points=20)
    FitRuleFactory(version=scoring_version, field="job_title", operator="contains", value="director", points=60)
    EngagementRuleFactory(version=scoring_version, activity_type="form_submission", points=10)
    EngagementRuleFactory(version=scoring_version, activity_type="page_view", points=1)
    PersonaFactory(name="Engineers", title_keywords=["engineer"])
    return scoring_version


def mql_definition(number: int = 3, **criteria):
    """A definition in force whose MQL criteria are exactly the ones given (no exclusion by default)."""
    version = DefinitionVersionFactory(number=number, status=VersionStatus.ACTIVE)
    CriteriaFactory(version=version, **criteria)
    return version


def lead(job_title="Engineer", forms=0, views=0, **fields):
    created = LeadFactory(job_title=job_title, **fields)
    for _ in range(forms):
        activity(created, "form_submission", age_days=1)
    for _ in range(views):
        activity(created, "page_view", age_days=1)
    return created


def run_and_get_mqls() -> set[int]:
    with freeze_time(NOW):
        rescore_all(reason="test")
    return set(Lead.objects.filter(stage=Stage.MQL).values_list("pk", flat=True))


# --- each criterion -----------------------------------------------------------------------------------

def test_min_score(agreement):
    mql_definition(min_score=50)
    at = lead("Engineer", forms=1)                 # 40 + 10 = 50
    below = lead("Engineer", views=9)              # 40 + 9 = 49
    assert run_and_get_mqls() == {at.pk}
    assert below.score.total == 49


def test_min_fit(agreement):
    mql_definition(min_fit=40)
    at = lead("Engineer")                          # fit 40
    engaged = lead("Clerk", forms=10)              # fit 0, score 100
    assert run_and_get_mqls() == {at.pk}
    assert engaged.score.total == 100


def test_min_engagement(agreement):
    mql_definition(min_engagement=20)
    at = lead("Clerk", forms=2)                    # 20
    below = lead("Director", forms=1, views=9)     # 19, fit 60
    assert run_and_get_mqls() == {at.pk}
    assert below.score.engagement == 19


@pytest.mark.parametrize("min_grade, qualifying", [
    ("A", {"Director"}), ("B", {"Director", "Engineer"}), ("C", {"Director", "Engineer", "Analyst"}),
    ("D", {"Director", "Engineer", "Analyst", "Clerk"}), ("", {"Director", "Engineer", "Analyst", "Clerk"}),
])
def test_min_grade_means_that_grade_or_better(agreement, min_grade, qualifying):
    mql_definition(min_grade=min_grade)
    leads = {title: lead(title) for title in ("Director", "Engineer", "Analyst", "Clerk")}
    assert run_and_get_mqls() == {leads[title].pk for title in qualifying}


def test_persona_required(agreement):
    mql_definition(persona_required=True)
    engineer = lead("Engineer")
    lead("Director", forms=9)
    assert run_and_get_mqls() == {engineer.pk}


@pytest.mark.parametrize("required, complete, incomplete", [
    (["phone"], dict(phone="+49 30 1"), dict(phone="")),
    (["company"], dict(), dict(company=None)),
    (["phone", "company"], dict(phone="1"), dict(phone="1", company=None)),
    (["job_title"], dict(), dict(job_title="")),
    (["country"], dict(country="DE"), dict(country="")),
])
def test_required_fields(agreement, required, complete, incomplete):
    mql_definition(required_fields=required)
    filled = lead(**{"job_title": "Engineer", **complete})
    lead(**{"job_title": "Engineer", **incomplete})
    assert run_and_get_mqls() == {filled.pk}


def test_min_conversions(agreement):
    mql_definition(min_conversions=3)
    three = lead("Clerk", forms=3)
    lead("Director", forms=2, views=50)
    assert run_and_get_mqls() == {three.pk}


def test_a_first_definition_signed_as_drafted_asks_for_five_conversions(agreement, marketer, marketing_manager,
                                                                        sales_manager):
    draft = definition_draft_create(actor=marketer)
    version_sign(version=draft, actor=marketing_manager)
    version_sign(version=draft, actor=sales_manager)
    five = lead("Clerk", forms=5)
    lead("Director", forms=4)
    assert run_and_get_mqls() == {five.pk}
    change = StageChange.objects.get(lead=five, to_stage=Stage.MQL)
    assert change.reason == "meets MQL definition v1"


def test_exclude_free_mail(agreement):
    mql_definition(exclude_free_mail=True)
    work = lead(email="ann@acme.test")
    lead(email="bob@gmail.com")
    lead(email="cy@GMX.de".lower())
    assert run_and_get_mqls() == {work.pk}


def test_free_mail_is_allowed_when_not_excluded(agreement):
    mql_definition(exclude_free_mail=False)
    gmail = lead(email="bob@gmail.com")
    assert run_and_get_mqls() == {gmail.pk}


def test_excluded_domains_by_email_and_by_company(agreement):
    mql_definition(excluded_domains=["Rival.com", " partner.test "])
    rival_company = CompanyFactory(domain="rival.com")
    customer = lead(email="ann@acme.test")
    lead(email="spy@rival.com", company=rival_company)
    lead(email="spy2@partner.test", company=None)
    # Works at the rival, writes from a private address: the company's domain excludes them too.
    lead(email="spy3@gmail.com", company=rival_company)
    assert run_and_get_mqls() == {customer.pk}


def test_exclude_do_not_contact(agreement):
    mql_definition(exclude_do_not_contact=True)
    reachable = lead()
    lead(do_not_contact=True)
    assert run_and_get_mqls() == {reachable.pk}


def test_do_not_contact_qualifies_when_not_excluded(agreement):
    mql_definition(exclude_do_not_contact=False)
    opted_out = lead(do_not_contact=True)
    assert run_and_get_mqls() == {opted_out.pk}


def test_all_criteria_together(agreement):
    mql_definition(min_score=45, min_grade="B", persona_required=True, required_fields=["phone", "company"],
                   min_conversions=1, exclude_free_mail=True, exclude_do_not_contact=True,
                   excluded_domains=["rival.com"])
    good = lead("Engineer", forms=1, phone="1", email="good@acme.test")
    lead("Engineer", forms=0, views=9, phone="1", email="no-form@acme.test")     # no conversion
    lead("Director", forms=1, phone="1", email="no-persona@acme.test")           # no persona
    lead("Engineer", forms=1, phone="", email="no-phone@acme.test")              # no phone
    lead("Engineer", forms=1, phone="1", email="free@gmail.com")                 # free mail
    lead("Engineer", forms=1, phone="1", email="opted-out@acme.test", do_not_contact=True)
    lead("Engineer", forms=1, phone="1", email="spy@rival.com")
    assert run_and_get_mqls() == {good.pk}


# --- what a move records ---------------------------------------------------------------------------

def test_the_stage_change_names_the_definition_version_and_no_person(agreement):
    mql_definition(number=7, min_score=40)
    qualified = lead("Engineer")
    run_and_get_mqls()
    change = StageChange.objects.get(lead=qualified, to_stage=Stage.MQL)
    assert (change.from_stage, change.changed_by, change.reason) == (Stage.NEW, None, "meets MQL definition v7")


def test_the_run_counts_the_leads_it_qualified(agreement):
    mql_definition(min_score=40)
    lead("Engineer")
    lead("Director")
    lead("Clerk")
    with freeze_time(NOW):
        run = rescore_all(reason="test")
    assert (run.leads_scored, run.leads_qualified, run.chunks_done, run.chunks_total) == (3, 2, 1, 1)
    assert run.finished_at is not None


def test_a_second_run_moves_nobody_again(agreement):
    mql_definition(min_score=40)
    qualified = lead("Engineer")
    run_and_get_mqls()
    with freeze_time(NOW):
        second = rescore_all(reason="again")
    assert second.leads_qualified == 0
    assert StageChange.objects.filter(lead=qualified, to_stage=Stage.MQL).count() == 1


def test_no_definition_in_force_qualifies_nobody(agreement):
    lead("Director", forms=10)
    DefinitionVersionFactory(status=VersionStatus.DRAFT)
    assert run_and_get_mqls() == set()


def test_a_superseded_definition_no_longer_applies(agreement):
    old = mql_definition(number=1, min_score=0)
    old.status = VersionStatus.SUPERSEDED
    old.save()
    mql_definition(number=2, min_score=1000)
    lead("Director")
    assert run_and_get_mqls() == set()


# --- never backwards, recycled leads -------------------------------------------------------------

@pytest.mark.parametrize("stage", ["mql", "sal", "sql", "opportunity", "won", "lost", "disqualified"])
def test_leads_past_new_stay_where_they_are(agreement, stage):
    mql_definition(min_score=0)
    placed = lead("Director", forms=5, stage=stage)
    run_and_get_mqls()
    placed.refresh_from_db()
    assert placed.stage == stage
    assert not StageChange.objects.filter(lead=placed).exists()


def test_a_lead_never_moves_back_when_its_score_falls(agreement, sales_rep):
    mql_definition(min_score=50)
    hot = lead("Engineer", forms=1)
    assert run_and_get_mqls() == {hot.pk}
    Lead.objects.filter(pk=hot.pk).update(owner=sales_rep)
    lead_change_stage(lead=hot, to=Stage.SAL, actor=sales_rep)
    # Its only conversion is forgotten (activities are gone), so it scores 40 < 50 now.
    hot.activities.all().delete()
    run_and_get_mqls()
    hot.refresh_from_db()
    assert (hot.stage, hot.score.total) == (Stage.SAL, 40)


def test_a_recycled_lead_requalifies_only_after_new_activity(agreement, marketer):
    mql_definition(min_score=40)
    recycled_at = NOW - timedelta(days=10)
    quiet = lead("Engineer", stage=Stage.RECYCLED, stage_entered_at=recycled_at,
                 last_activity_at=recycled_at - timedelta(days=1))
    active_again = lead("Engineer", stage=Stage.RECYCLED, stage_entered_at=recycled_at,
                        last_activity_at=recycled_at - timedelta(days=1))
    never_active = lead("Engineer", stage=Stage.RECYCLED, stage_entered_at=recycled_at, last_activity_at=None)
    with freeze_time(NOW):
        activity_record(lead=active_again, type="page_view", occurred_at=NOW - timedelta(days=2), url="/pricing")
    assert run_and_get_mqls() == {active_again.pk}
    change = StageChange.objects.get(lead=active_again)
    assert (change.from_stage, change.to_stage) == (Stage.RECYCLED, Stage.MQL)
    quiet.refresh_from_db()
    never_active.refresh_from_db()
    assert (quiet.stage, never_active.stage) == (Stage.RECYCLED, Stage.RECYCLED)


def test_leads_qualify_only_looks_at_its_scope(agreement):
    mql_definition(min_score=40)
    first, second = lead("Engineer"), lead("Engineer")
    score(agreement, first, second)
    assert leads_qualify(scope=LeadScope(ids=[second.pk])) == 1
    assert set(Lead.objects.filter(stage=Stage.MQL).values_list("pk", flat=True)) == {second.pk}


def test_an_unscored_lead_is_not_qualified(agreement):
    mql_definition(min_score=None)
    unscored = lead("Director")
    assert leads_qualify(scope=LeadScope(ids=[unscored.pk])) == 0
