"""Score = fit + engagement, its breakdown, the grade from fit, and rescoring that is idempotent."""

import pytest
from freezegun import freeze_time

from scoring.models import LeadScore, RescoreRun
from scoring.selectors import lead_score_explained
from scoring.services import rescore_all
from tests.factories import (
    CompanyFactory,
    EngagementRuleFactory,
    FitRuleFactory,
    LeadFactory,
    PersonaFactory,
    ScoringVersionFactory,
)
from tests.scoring.conftest import NOW, activity, score


def breakdown_sum(breakdown: dict) -> int:
    # A rule that gave nothing is absent (PostgreSQL) or null (SQLite): both count 0.
    return sum(points or 0 for points in breakdown.values())


@pytest.fixture
def rules(scoring_version):
    """Two fit rules and two engagement rules, with labels the score card shows."""
    return {
        "cto": FitRuleFactory(version=scoring_version, label="Is a CTO", field="job_title", operator="contains",
                              value="cto", points=30),
        "student": FitRuleFactory(version=scoring_version, label="Student", field="job_title",
                                  operator="contains", value="student", points=-25),
        "pricing": EngagementRuleFactory(version=scoring_version, label="Visited pricing", url_match="contains",
                                         url_value="/pricing", points=8, cap=20),
        "form": EngagementRuleFactory(version=scoring_version, label="Submitted a form",
                                      activity_type="form_submission", points=10),
    }


def test_score_is_fit_plus_engagement_and_the_breakdown_adds_up(scoring_version, rules):
    lead = LeadFactory(job_title="CTO")
    for _ in range(3):
        activity(lead, url="/pricing")       # 3 × 8 = 24, capped at 20
    activity(lead, "form_submission")        # 10
    (lead_score,) = score(scoring_version, lead)
    assert (lead_score.fit, lead_score.engagement, lead_score.total) == (30, 30, 60)
    assert {k: v for k, v in lead_score.breakdown.items() if v} == {
        rules["cto"].key: 30, rules["pricing"].key: 20, rules["form"].key: 10,
    }
    assert breakdown_sum(lead_score.breakdown) == 60
    assert lead_score.version == scoring_version
    assert lead_score.computed_at == NOW


def test_negative_fit_and_positive_engagement(scoring_version, rules):
    lead = LeadFactory(job_title="Student assistant")
    activity(lead, url="/pricing")
    (lead_score,) = score(scoring_version, lead)
    assert (lead_score.fit, lead_score.engagement, lead_score.total, lead_score.grade) == (-25, 8, -17, "D")
    assert breakdown_sum(lead_score.breakdown) == -17


def test_a_lead_that_meets_no_rule_scores_zero_with_an_empty_breakdown(scoring_version, rules):
    (lead_score,) = score(scoring_version, LeadFactory(job_title="Clerk"))
    assert (lead_score.fit, lead_score.engagement, lead_score.total, lead_score.grade) == (0, 0, 0, "D")
    assert breakdown_sum(lead_score.breakdown) == 0


def test_a_version_without_rules_scores_every_lead_zero(scoring_version):
    (lead_score,) = score(scoring_version, LeadFactory())
    assert (lead_score.total, lead_score.grade, lead_score.breakdown) == (0, "D", {})


@pytest.mark.parametrize("fit, grade", [
    (100, "A"), (60, "A"), (59, "B"), (35, "B"), (34, "C"), (15, "C"), (14, "D"), (0, "D"), (-10, "D"),
])
def test_grade_from_fit_at_the_default_thresholds(scoring_version, fit, grade):
    FitRuleFactory(version=scoring_version, field="job_title", operator="equals", value="x", points=fit)
    (lead_score,) = score(scoring_version, LeadFactory(job_title="x"))
    assert (lead_score.fit, lead_score.grade) == (fit, grade)


@pytest.mark.parametrize("fit, grade", [(50, "A"), (49, "B"), (30, "B"), (29, "C"), (10, "C"), (9, "D")])
def test_grade_from_fit_at_configured_thresholds(db, fit, grade):
    version = ScoringVersionFactory(status="active", grade_a_min_fit=50, grade_b_min_fit=30, grade_c_min_fit=10)
    FitRuleFactory(version=version, field="job_title", operator="equals", value="x", points=fit)
    # Engagement never changes the grade.
    EngagementRuleFactory(version=version, points=100)
    lead = LeadFactory(job_title="x")
    activity(lead)
    (lead_score,) = score(version, lead)
    assert (lead_score.total, lead_score.grade) == (fit + 100, grade)


def test_explained_score_labels_each_rule_biggest_first(scoring_version, rules):
    lead = LeadFactory(job_title="CTO")
    activity(lead, url="/pricing")
    activity(lead, "form_submission")
    score(scoring_version, lead)
    explained = lead_score_explained(lead=lead)
    assert explained.fit_lines == [("Is a CTO", 30)]
    assert explained.engagement_lines == [("Submitted a form", 10), ("Visited pricing", 8)]
    assert explained.score.total == 48


def test_explained_score_is_none_before_the_first_rescore(db):
    assert lead_score_explained(lead=LeadFactory()) is None


# --- idempotent full rescoring --------------------------------------------------------------------

def score_rows() -> list[tuple]:
    """Every column of every score row, in lead order."""
    return [(s.lead_id, s.version_id, s.fit, s.engagement, s.total, s.grade, s.persona_id, s.conversions,
             s.breakdown, s.computed_at) for s in LeadScore.objects.order_by("lead_id")]


def test_two_full_rescores_give_identical_scores(scoring_version, rules):
    PersonaFactory(name="Technical buyer", title_keywords=["cto"])
    leads = [
        LeadFactory(job_title="CTO", company=CompanyFactory(employees=80)),
        LeadFactory(job_title="Student", company=None),
        LeadFactory(job_title="Clerk"),
    ]
    for age in (0, 10, 45):
        activity(leads[0], url="/pricing", age_days=age)
    activity(leads[1], "form_submission", age_days=3)
    with freeze_time(NOW):
        first_run = rescore_all(reason="test")
        first = score_rows()
        second_run = rescore_all(reason="test again")
        second = score_rows()
    assert first == second
    assert len(first) == 3
    assert (first_run.leads_scored, second_run.leads_scored) == (3, 3)
    assert RescoreRun.objects.filter(finished_at__isnull=False).count() == 2


def test_rescoring_the_same_lead_twice_at_the_same_now_gives_the_same_row(scoring_version, rules):
    lead = LeadFactory(job_title="CTO")
    activity(lead, url="/pricing", age_days=12)
    score(scoring_version, lead)
    first = score_rows()
    score(scoring_version, lead)
    assert score_rows() == first
    assert LeadScore.objects.count() == 1
