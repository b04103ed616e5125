"""What-if: the counts a draft shows are the counts the rescore produces once the draft takes effect.

Each scenario is worked out by hand in its docstring; the test then signs the draft, runs the full
rescore and checks that exactly `becomes_mql[1]` leads moved to mql.
"""

from datetime import timedelta

import pytest
from freezegun import freeze_time

from leads.models import Stage, StageChange
from scoring.models import FitRule, VersionStatus
from scoring.selectors import what_if
from scoring.services import (
    definition_draft_create,
    fit_rule_save,
    rescore_all,
    scoring_draft_create,
    version_sign,
)
from tests.factories import (
    CriteriaFactory,
    DefinitionVersionFactory,
    EngagementRuleFactory,
    FitRuleFactory,
    LeadFactory,
)
from tests.scoring.conftest import NOW, activity, score


@pytest.fixture
def in_force(scoring_version):
    """Scoring v1: engineer +40, +10 per form submission. Definitions v1: MQL score ≥ 50, SQL score ≥ 45."""
    FitRuleFactory(version=scoring_version, label="Engineer", field="job_title", operator="contains",
                   value="engineer", points=40)
    EngagementRuleFactory(version=scoring_version, label="Form", activity_type="form_submission", points=10)
    definition = DefinitionVersionFactory(number=1, status=VersionStatus.ACTIVE)
    CriteriaFactory(version=definition, kind="mql", min_score=50)
    CriteriaFactory(version=definition, kind="sql", min_score=45)
    return scoring_version


def person(name, job_title="Engineer", forms=0, **fields):
    lead = LeadFactory(first_name=name, last_name="Test", email=f"{name.lower()}@acme.test", job_title=job_title,
                       **fields)
    for _ in range(forms):
        activity(lead, "form_submission", age_days=1)
    return lead


def sign_both(version, marketing_manager, sales_manager):
    version_sign(version=version, actor=marketing_manager)
    version_sign(version=version, actor=sales_manager)


def moved_to_mql_by_a_full_rescore() -> set[int]:
    with freeze_time(NOW):
        rescore_all(reason="draft took effect")
    return set(StageChange.objects.filter(to_stage=Stage.MQL).values_list("lead_id", flat=True))


def test_a_draft_definition(in_force, marketer, marketing_manager, sales_manager):
    """Draft v2 lowers the MQL bar to 40 and the SQL bar to 40. Scores (now = draft scoring, unchanged):

    ann    new, engineer, 1 form   50   meets v1 and v2
    bob    new, engineer           40   meets v2 only → gain, in the pool
    cy     new, clerk, 4 forms     40   gain, in the pool
    dee    new, clerk               0   neither
    eve    sal, engineer           40   gain, not in the pool; SQL-ready under v2 only
    fay    won, engineer           40   closed: not counted at all
    gus    recycled 10 d ago, active 2 d ago, engineer  40   gain, in the pool
    hal    recycled 10 d ago, quiet since, engineer     40   gain, not in the pool

    meets (now, draft) = (1, 6); becomes = (1, 4): ann | ann, bob, cy, gus; SQL-ready = (0, 1): eve.
    """
    recycled_at, quiet_at, active_at = NOW - timedelta(days=10), NOW - timedelta(days=20), NOW - timedelta(days=2)
    ann, bob, cy = person("Ann", forms=1), person("Bob"), person("Cy", job_title="Clerk", forms=4)
    person("Dee", job_title="Clerk")
    eve = person("Eve", stage=Stage.SAL)
    fay = person("Fay", stage=Stage.WON)
    gus = person("Gus", stage=Stage.RECYCLED, stage_entered_at=recycled_at, last_activity_at=active_at)
    hal = person("Hal", stage=Stage.RECYCLED, stage_entered_at=recycled_at, last_activity_at=quiet_at)
    score(in_force, *LeadFactory._meta.model.objects.all())
    assert fay.score.total == 40

    draft = definition_draft_create(actor=marketer)
    draft.criteria.filter(kind="mql").update(min_score=40, min_conversions=0)
    draft.criteria.filter(kind="sql").update(min_score=40)
    with freeze_time(NOW):
        result = what_if(draft_definition=draft)

    assert (result.meets_mql, result.becomes_mql, result.sql_ready) == ((1, 6), (1, 4), (0, 1))
    assert [row["id"] for row in result.gains] == [bob.pk, cy.pk, eve.pk, gus.pk, hal.pk]
    assert result.losses == []
    assert result.gains[0] == {"id": bob.pk, "email": "bob@acme.test", "first_name": "Bob", "last_name": "Test",
                               "stage": "new"}
    assert [row[1:] for row in result.rows] == [(1, 6, 5), (1, 4, 3), (0, 1, 1)]

    sign_both(draft, marketing_manager, sales_manager)
    moved = moved_to_mql_by_a_full_rescore()
    assert moved == {ann.pk, bob.pk, cy.pk, gus.pk}
    assert len(moved) == result.becomes_mql[1]


def test_a_draft_scoring_version(in_force, marketer, marketing_manager, sales_manager):
    """Draft v2 gives an engineer 30 (not 40) and a phone number 20; the MQL bar stays at 50.

    name  title     forms phone   v1          v2
    ann   engineer  1     no      50 meets    40        → loss
    bob   engineer  0     yes     40          50 meets  → gain
    cy    engineer  1     yes     50 meets    60 meets
    dee   clerk     3     yes     30          50 meets  → gain
    eve   clerk     0     no       0           0

    meets = becomes = (2, 3) (everyone is new); gains bob, dee; losses ann.
    """
    ann, bob = person("Ann", forms=1), person("Bob", phone="+1 555")
    cy, dee = person("Cy", forms=1, phone="+1 555"), person("Dee", job_title="Clerk", forms=3, phone="+1 555")
    person("Eve", job_title="Clerk")
    with freeze_time(NOW):
        rescore_all(reason="v1")
    # The v1 run qualified ann and cy already: put them back to new so the draft's effect is measurable.
    assert StageChange.objects.filter(to_stage=Stage.MQL).count() == 2
    StageChange.objects.filter(to_stage=Stage.MQL).delete()
    LeadFactory._meta.model.objects.update(stage=Stage.NEW)

    draft = scoring_draft_create(actor=marketer)
    engineer_rule = draft.fit_rules.get(label="Engineer")
    engineer_rule.points = 30
    fit_rule_save(rule=engineer_rule, actor=marketer)
    fit_rule_save(rule=FitRule(version=draft, label="Phone", field="phone", operator="is_not_empty", points=20),
                  actor=marketer)
    with freeze_time(NOW):
        result = what_if(draft_scoring=draft)

    assert (result.meets_mql, result.becomes_mql) == ((2, 3), (2, 3))
    assert [row["id"] for row in result.gains] == [bob.pk, dee.pk]
    assert [row["id"] for row in result.losses] == [ann.pk]

    sign_both(draft, marketing_manager, sales_manager)
    moved = moved_to_mql_by_a_full_rescore()
    assert moved == {bob.pk, cy.pk, dee.pk}
    assert len(moved) == result.becomes_mql[1]
    ann.refresh_from_db()
    assert (ann.stage, ann.score.total, ann.score.version) == (Stage.NEW, 40, draft)


def test_a_draft_with_decay_counts_like_the_rescore(in_force, marketer, marketing_manager, sales_manager):
    """Draft v2 adds +10 per page view halving every 30 days; views 30 and 90 days old give 5 + 1.25 → 6.

    ann   engineer, views 30 d and 90 d ago      40 + 6 = 46   still under 50
    bob   engineer, views 0 d and 30 d ago       40 + 15 = 55  gain
    """
    ann, bob = person("Ann"), person("Bob")
    for age in (30, 90):
        activity(ann, "page_view", age_days=age)
    for age in (0, 30):
        activity(bob, "page_view", age_days=age)
    draft = scoring_draft_create(actor=marketer)
    EngagementRuleFactory(version=draft, label="Views", activity_type="page_view", points=10, half_life_days=30)
    with freeze_time(NOW):
        result = what_if(draft_scoring=draft)
    assert result.becomes_mql == (0, 1)
    assert [row["id"] for row in result.gains] == [bob.pk]
    sign_both(draft, marketing_manager, sales_manager)
    assert moved_to_mql_by_a_full_rescore() == {bob.pk}
    ann.refresh_from_db()
    assert ann.score.total == 46


def test_without_drafts_both_sides_are_the_agreement_in_force(in_force):
    person("Ann", forms=1)
    person("Bob")
    score(in_force, *LeadFactory._meta.model.objects.all())
    result = what_if()
    assert (result.meets_mql, result.becomes_mql, result.sql_ready) == ((1, 1), (1, 1), (0, 0))
    assert (result.gains, result.losses) == ([], [])


def test_a_lead_not_scored_yet_does_not_meet_a_score_bar(in_force, marketer):
    person("Ann", forms=9)
    draft = definition_draft_create(actor=marketer)
    draft.criteria.filter(kind="mql").update(min_score=10)
    result = what_if(draft_definition=draft)
    assert (result.meets_mql, result.becomes_mql) == ((0, 0), (0, 0))


def test_losses_are_sampled_even_when_many_leads_gain(in_force, marketer):
    """41 engineers (40) gain under a bar of 40; a free-mail engineer with a form (50), created last,
    loses when the draft also excludes free mail."""
    gainers = [person(f"Gain{n}") for n in range(41)]
    loser = LeadFactory(first_name="Lou", email="lou@gmail.com", job_title="Engineer")
    activity(loser, "form_submission", age_days=1)
    score(in_force, *gainers, loser)
    draft = definition_draft_create(actor=marketer)
    draft.criteria.filter(kind="mql").update(min_score=40, min_conversions=0, exclude_free_mail=True)
    result = what_if(draft_definition=draft)
    assert result.meets_mql == (1, 41)
    assert len(result.gains) == 10
    assert [row["id"] for row in result.losses] == [loser.pk]
