"""Scoring calibration on hand-built outcomes: AUC, bands, lift, suggested points and the one-click draft."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboards.calibration import calibrate, outcome_rows, roc_auc, version_rules
from dashboards.services import calibration_draft_create, calibration_snapshot_compute
from scoring.models import LeadScore, ScoringVersion, VersionStatus
from tests.factories import FitRuleFactory, LeadFactory, ScoringVersionFactory, StageChangeFactory


def test_auc_is_the_chance_a_good_lead_outscores_a_bad_one_with_ties_half():
    # Good 80 beats all four bad; each good 60 beats three and ties one; good 20 beats one and ties one.
    scores = [80, 60, 60, 20, 60, 40, 20, 0]
    labels = [1, 1, 1, 1, 0, 0, 0, 0]

    assert roc_auc(scores, labels) == pytest.approx((4 + 3.5 + 3.5 + 1.5) / 16)
    assert roc_auc([10, 20], [1, 1]) is None


@pytest.fixture
def scored_outcomes(db):
    """120 leads scored by a version with rules A (fit:a) and B (fit:b), 20 points each.

    A fired on 60 leads, 44 of them accepted; it did not fire on 60, of which 16 were accepted.
    B fired on exactly half of each of those groups (22 and 8 accepted in each half): it says nothing.
    """
    version = ScoringVersionFactory(status=VersionStatus.ACTIVE, number=1)
    rule_a = FitRuleFactory(version=version, label="Director or above", points=20)
    rule_b = FitRuleFactory(version=version, label="Has a phone", field="phone", operator="is_not_empty", value="",
                            points=20)
    now = timezone.now()

    def lead(*, a: bool, b: bool, good: bool) -> None:
        created = LeadFactory(stage="sal" if good else "recycled")
        breakdown = {}
        if a:
            breakdown[rule_a.key] = 20
        if b:
            breakdown[rule_b.key] = 20
        LeadScore.objects.create(lead=created, version=version, fit=sum(breakdown.values()), engagement=0,
                                 total=sum(breakdown.values()), grade="C", breakdown_json=json.dumps(breakdown),
                                 computed_at=now)
        StageChangeFactory(lead=created, from_stage="new", to_stage="mql")
        StageChangeFactory(lead=created, from_stage="mql", to_stage="sal" if good else "recycled")

    for fired_a, good_per_half in ((True, 22), (False, 8)):
        for index in range(60):
            lead(a=fired_a, b=index % 2 == 0, good=index // 2 < good_per_half)
    return version, rule_a, rule_b


def test_lift_and_suggested_points_follow_the_outcomes(scored_outcomes):
    version, rule_a, rule_b = scored_outcomes
    rows = outcome_rows("acceptance")

    result = calibrate(rows=rows, rules=version_rules(version))

    assert (result["outcomes"], result["good"], result["bad"]) == (120, 60, 60)
    assert result["enough"] is True
    rules = {rule["label"]: rule for rule in result["rules"]}
    assert rules["Director or above"]["rate_fired"] == pytest.approx(100 * 44 / 60)
    assert rules["Director or above"]["rate_not"] == pytest.approx(100 * 16 / 60)
    assert rules["Director or above"]["lift"] == pytest.approx(2.75)
    assert rules["Has a phone"]["lift"] == pytest.approx(1.0)
    # B carries no information, so all of today's 40 points go to A.
    assert rules["Has a phone"]["suggested"] == 0
    assert rules["Director or above"]["suggested"] == 40
    # Scores 40 (A and B: 30 leads, 22 good), 20 (A or B alone: 60, 22 + 8 good) and 0 (30, 8 good).
    bands = {(band["low"], band["high"]): (band["leads"], band["good"]) for band in result["bands"]}
    assert bands == {(0, 20): (30, 8), (20, 40): (60, 30), (40, 60): (30, 22)}
    # Good at 40 beat the 52 bad below and tie 8; good at 20 beat 22, tie 30; good at 0 tie 22.
    assert result["auc"] == pytest.approx((22 * (52 + 4) + 30 * (22 + 15) + 8 * 11) / 3600)


def test_too_few_outcomes_are_said_with_their_number(db, marketer, client_for):
    version = ScoringVersionFactory(status=VersionStatus.ACTIVE, number=1)
    FitRuleFactory(version=version)
    lead = LeadFactory(stage="sal")
    LeadScore.objects.create(lead=lead, version=version, fit=10, engagement=0, total=10, grade="C",
                             breakdown_json="{}", computed_at=timezone.now())
    StageChangeFactory(lead=lead, from_stage="mql", to_stage="sal")

    html = client_for(marketer).get(reverse("dashboards:calibration")).content.decode()

    assert "Not enough outcomes yet: 1 lead with a known outcome (1 good, 0 bad)." in html
    assert "Make this a draft" not in html


def test_the_page_shows_the_figures_and_a_marketer_turns_them_into_a_draft(scored_outcomes, marketer, client_for):
    version, rule_a, rule_b = scored_outcomes
    client = client_for(marketer)

    html = client.get(reverse("dashboards:calibration")).content.decode()
    assert "based on 120 leads with a known outcome (60 good, 60 bad)" in html
    assert "2.75×" in html

    from dashboards.models import CalibrationSnapshot
    snapshot = CalibrationSnapshot.objects.get()
    response = client.post(reverse("dashboards:calibration_draft", args=[snapshot.pk]))

    draft = ScoringVersion.objects.get(status=VersionStatus.DRAFT)
    assert response.status_code == 302
    assert response["Location"] == reverse("scoring:version_detail", kwargs={"kind": "scoring", "number": draft.number})
    assert dict(draft.fit_rules.values_list("label", "points")) == {"Director or above": 40, "Has a phone": 0}
    # The version in force is untouched until both managers sign the draft.
    assert dict(version.fit_rules.values_list("label", "points")) == {"Director or above": 20, "Has a phone": 20}


def test_a_sales_rep_cannot_make_a_draft(scored_outcomes, sales_rep):
    snapshot = calibration_snapshot_compute(outcome="acceptance")

    with pytest.raises(Exception) as error:
        calibration_draft_create(snapshot=snapshot, actor=sales_rep)

    assert error.type.__name__ == "PermissionDenied"
    assert not ScoringVersion.objects.filter(status=VersionStatus.DRAFT).exists()
