"""Engagement rules: points per activity, narrowed by URL or by a property, capped, and decaying with a
half-life, against a fixed `now` (conftest.NOW).

Decay arithmetic, written out: points × 0.5^(age / half-life), summed per rule, capped, then rounded to
whole points per rule. The cases avoid sums that end in exactly .5 except where a test is about that tie.
"""

import pytest

from tests.factories import EngagementRuleFactory, LeadFactory
from tests.scoring.conftest import activity, score


def engagement_of(scoring_version, rule_kwargs: dict, activities: list[dict]) -> int:
    rule = EngagementRuleFactory(version=scoring_version, **rule_kwargs)
    lead = LeadFactory()
    for kwargs in activities:
        activity(lead, **kwargs)
    (lead_score,) = score(scoring_version, lead)
    assert (lead_score.breakdown.get(rule.key) or 0) == lead_score.engagement
    return lead_score.engagement


# --- decay ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("ages, expected", [
    ([0], 10),        # 10 × 1
    ([30], 5),        # 10 × 0.5: an activity half-life days old counts half
    ([0, 30], 15),    # 10 + 5
    ([10], 8),        # 10 × 0.7937 = 7.94 → 8
    ([15], 7),        # 10 × 0.7071 = 7.07 → 7
    ([45], 4),        # 10 × 0.3536 = 3.54 → 4
    ([90], 1),        # 10 × 0.125 = 1.25 → 1
    ([30, 30], 10),   # 5 + 5
    ([60, 60], 5),    # 2.5 + 2.5: rounding comes after the sum, so no half point is lost
    ([60, 90], 4),    # 2.5 + 1.25 = 3.75 → 4
    ([365], 0),       # 10 × 0.5^12.2 ≈ 0.002 → 0
])
def test_decay_halves_the_points_every_half_life(scoring_version, ages, expected):
    rule = dict(points=10, half_life_days=30)
    assert engagement_of(scoring_version, rule, [dict(age_days=age) for age in ages]) == expected


@pytest.mark.parametrize("ages, expected", [([0], 10), ([365], 10), ([0, 1000], 20)])
def test_no_decay_without_a_half_life(scoring_version, ages, expected):
    rule = dict(points=10, half_life_days=None)
    assert engagement_of(scoring_version, rule, [dict(age_days=age) for age in ages]) == expected


def test_an_activity_after_now_counts_fully_not_more(scoring_version):
    # A clock skew must not give an activity from "tomorrow" double points (age is floored at 0).
    assert engagement_of(scoring_version, dict(points=10, half_life_days=30), [dict(age_days=-30)]) == 10


def test_each_rule_is_rounded_on_its_own(scoring_version):
    # Two rules of 3.54 points each: 4 + 4 = 8, not round(7.07) = 7. The breakdown then adds up to the score.
    first = EngagementRuleFactory(version=scoring_version, activity_type="page_view", points=10, half_life_days=30)
    second = EngagementRuleFactory(version=scoring_version, activity_type="download", points=10, half_life_days=30)
    lead = LeadFactory()
    activity(lead, "page_view", age_days=45)
    activity(lead, "download", age_days=45)
    (lead_score,) = score(scoring_version, lead)
    assert lead_score.breakdown == {first.key: 4, second.key: 4}
    assert lead_score.engagement == 8


# --- caps ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("count, expected", [(1, 10), (2, 20), (3, 25), (7, 25)])
def test_cap_limits_what_one_rule_gives(scoring_version, count, expected):
    rule = dict(points=10, cap=25)
    assert engagement_of(scoring_version, rule, [dict(age_days=0)] * count) == expected


def test_cap_applies_to_decayed_points(scoring_version):
    # 10 + 5 + 5 + 1.25 = 21.25 under a cap of 20 → 20; the same four without the cap → 21.
    ages = [dict(age_days=age) for age in (0, 30, 30, 90)]
    assert engagement_of(scoring_version, dict(points=10, half_life_days=30, cap=20), ages) == 20


def test_uncapped_decayed_sum(scoring_version):
    ages = [dict(age_days=age) for age in (0, 30, 30, 90)]
    assert engagement_of(scoring_version, dict(points=10, half_life_days=30), ages) == 21


def test_negative_points_per_activity(scoring_version):
    # e.g. an unsubscribe-like signal worth −4 each; a cap only limits from above.
    rule = dict(activity_type="email_open", points=-4, cap=5)
    assert engagement_of(scoring_version, rule, [dict(type="email_open")] * 3) == -12


# --- narrowing -------------------------------------------------------------------------------------

def test_only_activities_of_the_rules_type_count(scoring_version):
    rule = dict(activity_type="webinar", points=12)
    activities = [dict(type="webinar"), dict(type="page_view"), dict(type="download"), dict(type="webinar")]
    assert engagement_of(scoring_version, rule, activities) == 24


@pytest.mark.parametrize("url, counts", [
    ("/pricing", True), ("/en/PRICING?plan=team", True), ("/blog/pricing-tips", True), ("/blog/", False),
    ("", False),
])
def test_url_contains(scoring_version, url, counts):
    rule = dict(points=8, url_match="contains", url_value="/pricing")
    assert engagement_of(scoring_version, rule, [dict(url=url)]) == (8 if counts else 0)


@pytest.mark.parametrize("url, counts", [
    ("/blog", True), ("/Blog/launch", True), ("/en/blog/launch", False), ("/pricing", False),
])
def test_url_starts_with(scoring_version, url, counts):
    rule = dict(points=1, url_match="starts_with", url_value="/blog")
    assert engagement_of(scoring_version, rule, [dict(url=url)]) == (1 if counts else 0)


def test_url_underscore_is_literal(scoring_version):
    rule = dict(points=5, url_match="contains", url_value="/pricing_v2")
    activities = [dict(url="/pricing_v2"), dict(url="/pricingXv2")]
    assert engagement_of(scoring_version, rule, activities) == 5


def test_property_condition_seconds_on_site(scoring_version):
    rule = dict(points=3, property_key="seconds_on_site", property_min=120)
    activities = [
        dict(seconds_on_site=119),    # just short
        dict(seconds_on_site=120),    # at least 120: counts
        dict(seconds_on_site=300),    # counts
        dict(seconds_on_site="150"),  # a number sent as text: counts
        dict(seconds_on_site="n/a"),  # not a number: no points, no error
        dict(),                       # no such property
    ]
    assert engagement_of(scoring_version, rule, activities) == 9


def test_url_and_property_narrow_together(scoring_version):
    rule = dict(points=4, url_match="contains", url_value="/demo", property_key="seconds_on_site",
                property_min=60)
    activities = [
        dict(url="/demo", seconds_on_site=90),   # both: counts
        dict(url="/demo", seconds_on_site=10),   # too short
        dict(url="/blog", seconds_on_site=900),  # wrong page
    ]
    assert engagement_of(scoring_version, rule, activities) == 4


# --- conversions ---------------------------------------------------------------------------------

def test_conversions_count_form_submissions_whatever_the_rules(scoring_version):
    EngagementRuleFactory(version=scoring_version, activity_type="page_view", points=1)
    lead, idle = LeadFactory(), LeadFactory()
    for age in (0, 100, 400):
        activity(lead, "form_submission", age_days=age)
    activity(lead, "page_view")
    activity(lead, "page_view")
    assert [(s.conversions, s.engagement) for s in score(scoring_version, lead, idle)] == [(3, 2), (0, 0)]


# --- a sum that ends in exactly half a point ---------------------------------------------------------



@pytest.mark.parametrize("points, ages, expected", [
    pytest.param(10, [60], 3),   # 10 × 0.25 = 2.5
    pytest.param(5, [30], 3),    # 5 × 0.5 = 2.5
    pytest.param(7, [30], 4),                                    # 7 × 0.5 = 3.5: both agree on 4
    pytest.param(-5, [30], -3),  # −2.5
])
def test_half_a_point_rounds_away_from_zero_on_every_database(scoring_version, points, ages, expected):
    # The same lead must score the same on SQLite (the embedded default) and PostgreSQL (production).
    rule = dict(points=points, half_life_days=30)
    assert engagement_of(scoring_version, rule, [dict(age_days=age) for age in ages]) == expected
