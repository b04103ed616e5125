"""Decay, as properties over many generated cases (hypothesis), against the arithmetic of the issue:
each activity counts points × 0.5^(age / half-life); a rule's sum is capped, then rounded to whole points.

The oracle below is that formula in plain Python, independent of the SQL compiler. Sums within a hair of
a half point are skipped: how a tie rounds is pinned by test_engagement.py, not here.
"""

import math

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.factories import EngagementRuleFactory, LeadFactory
from tests.scoring.conftest import activity, score

CASES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def expected_points(points: int, half_life: int, ages: list[int], cap: int | None) -> int:
    total = sum(points * 0.5 ** (age / half_life) for age in ages)
    if cap is not None:
        total = min(cap, total)
    fraction = abs(total) - math.floor(abs(total))
    assume(abs(fraction - 0.5) > 1e-6)
    return int(math.copysign(math.floor(abs(total) + 0.5), total))


@CASES
@given(points=st.integers(1, 50), half_life=st.integers(1, 90), cap=st.none() | st.integers(1, 200),
       ages=st.lists(st.integers(0, 400), min_size=0, max_size=5))
def test_engagement_is_the_capped_rounded_sum_of_halved_points(scoring_version, points, half_life, cap, ages):
    expected = expected_points(points, half_life, ages, cap)
    rule = EngagementRuleFactory(version=scoring_version, points=points, half_life_days=half_life, cap=cap)
    lead = LeadFactory(company=None)
    for age in ages:
        activity(lead, age_days=age)
    (lead_score,) = score(scoring_version, lead)
    key = rule.key
    rule.delete()  # the next example starts from a version without rules again
    assert lead_score.engagement == expected
    assert (lead_score.breakdown.get(key) or 0) == expected


@CASES
@given(points=st.integers(1, 50), half_life=st.integers(1, 90), younger=st.integers(0, 300),
       extra=st.integers(1, 300))
def test_an_older_activity_never_counts_more(scoring_version, points, half_life, younger, extra):
    rule = EngagementRuleFactory(version=scoring_version, points=points, half_life_days=half_life)
    recent, older = LeadFactory(company=None), LeadFactory(company=None)
    activity(recent, age_days=younger)
    activity(older, age_days=younger + extra)
    recent_score, older_score = score(scoring_version, recent, older)
    rule.delete()
    assert 0 <= older_score.engagement <= recent_score.engagement <= points
