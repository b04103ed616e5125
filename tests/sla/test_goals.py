"""Shared goals: progress computed from hand-built data, pace, at-risk marking, and who may set them."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from leads.models import ActivityType, ContactAttempt, Stage, StageChange
from sla.contract_forms import GoalForm
from sla.contract_selectors import goals_progress, quarter_of
from sla.contract_services import goal_save
from sla.models import Goal
from tests.factories import ActivityFactory, GoalFactory, HandoffFactory, LeadFactory
from tests.sla.conftest import berlin

# November 2026 in Berlin; "now" is the 16th at noon: 15.5 of 30 days gone.
NOW = berlin(2026, 11, 16, 12, 0)
IN_NOVEMBER = berlin(2026, 11, 10, 10, 0)
OCTOBER = berlin(2026, 10, 20, 10, 0)


def november(metric: str, target, **fields) -> Goal:
    return GoalFactory(metric=metric, target=Decimal(target), period_start=date(2026, 11, 1),
                       period_end=date(2026, 11, 30), **fields)


def progress_of(goal: Goal):
    return next(p for p in goals_progress(now=NOW) if p.goal == goal)


def change(lead, source, target, at):
    return StageChange.objects.create(lead=lead, from_stage=source, to_stage=target, changed_at=at)


def test_new_opportunities_and_pace(sla_in_force):
    goal = november(Goal.Metric.NEW_OPPORTUNITIES, 10)
    for _ in range(6):
        change(LeadFactory(), Stage.SQL, Stage.OPPORTUNITY, IN_NOVEMBER)
    change(LeadFactory(), Stage.SQL, Stage.OPPORTUNITY, OCTOBER)
    change(LeadFactory(), Stage.SQL, Stage.OPPORTUNITY, NOW + timedelta(hours=1))  # later than now
    p = progress_of(goal)
    assert p.actual == 6
    assert p.expected == pytest.approx(10 * 15.5 / 30)  # 5.17 by now
    assert p.status == "on track" and not p.at_risk


def test_behind_pace_is_at_risk(sla_in_force):
    goal = november(Goal.Metric.NEW_OPPORTUNITIES, 10)
    for _ in range(4):  # 4 < 90% of 5.17
        change(LeadFactory(), Stage.SQL, Stage.OPPORTUNITY, IN_NOVEMBER)
    assert progress_of(goal).at_risk


def test_revenue_won(sla_in_force, sales_rep):
    goal = november(Goal.Metric.REVENUE_WON, 50_000)
    for amount, at in ((Decimal(20_000), IN_NOVEMBER), (Decimal(15_000), IN_NOVEMBER), (Decimal(99_000), OCTOBER)):
        handoff = HandoffFactory(rep=sales_rep, won_amount=amount, status="closed")
        change(handoff.lead, Stage.OPPORTUNITY, Stage.WON, at)
    p = progress_of(goal)
    assert p.actual == 35_000 and p.percent == pytest.approx(70)


def test_meetings_booked_by_reps_and_by_leads(sla_in_force, sales_rep):
    goal = november(Goal.Metric.MEETINGS_BOOKED, 5)
    lead = LeadFactory()
    for n, (outcome, at) in enumerate([("meeting_booked", IN_NOVEMBER), ("connected", IN_NOVEMBER),
                                       ("meeting_booked", OCTOBER)]):
        ContactAttempt.objects.create(lead=lead, rep=sales_rep, channel="call", outcome=outcome, occurred_at=at,
                                      idempotency_key=f"goal-{n}")
    ActivityFactory(type=ActivityType.MEETING_BOOKED, occurred_at=IN_NOVEMBER)
    assert progress_of(goal).actual == 2


def test_mqls_delivered_count_first_handoffs(sla_in_force, sales_rep, other_rep):
    goal = november(Goal.Metric.MQLS_DELIVERED, 4)
    first = HandoffFactory(rep=sales_rep, created_at=IN_NOVEMBER, status="reassigned")
    HandoffFactory(rep=other_rep, lead=first.lead, created_at=IN_NOVEMBER, previous=first)  # the same MQL
    HandoffFactory(rep=sales_rep, created_at=IN_NOVEMBER)
    HandoffFactory(rep=sales_rep, created_at=OCTOBER)
    assert progress_of(goal).actual == 2


def test_mql_to_sql_rate_follows_the_novembers_mqls(sla_in_force):
    goal = november(Goal.Metric.MQL_TO_SQL_RATE, 30)
    for n in range(4):
        lead = LeadFactory()
        change(lead, Stage.NEW, Stage.MQL, IN_NOVEMBER)
        if n == 0:
            change(lead, Stage.SAL, Stage.SQL, IN_NOVEMBER + timedelta(days=2))
    old = LeadFactory()
    change(old, Stage.NEW, Stage.MQL, OCTOBER)
    change(old, Stage.SAL, Stage.SQL, IN_NOVEMBER)  # October's MQL: not in the rate
    p = progress_of(goal)
    assert p.actual == pytest.approx(25.0) and p.status == "at risk"


def test_first_attempt_compliance(sla_in_force, sales_rep):
    goal = november(Goal.Metric.FIRST_ATTEMPT_COMPLIANCE, 90)
    due = IN_NOVEMBER
    HandoffFactory(rep=sales_rep, first_attempt_due_at=due, first_attempt_at=due - timedelta(hours=1))
    HandoffFactory(rep=sales_rep, first_attempt_due_at=due, first_attempt_at=due - timedelta(hours=2))
    HandoffFactory(rep=sales_rep, first_attempt_due_at=due, first_attempt_at=due + timedelta(hours=1))  # late
    HandoffFactory(rep=sales_rep, first_attempt_due_at=due)  # missed
    HandoffFactory(rep=sales_rep, first_attempt_due_at=NOW + timedelta(hours=3))  # not due yet: not counted
    p = progress_of(goal)
    assert p.actual == pytest.approx(50.0) and p.at_risk


def test_a_rate_without_data_is_not_judged(sla_in_force):
    assert progress_of(november(Goal.Metric.MQL_TO_SQL_RATE, 30)).status == "on track"


def test_finished_and_future_periods(sla_in_force):
    done = GoalFactory(metric=Goal.Metric.NEW_OPPORTUNITIES, target=1, period_start=date(2026, 10, 1),
                       period_end=date(2026, 10, 31))
    change(LeadFactory(), Stage.SQL, Stage.OPPORTUNITY, OCTOBER)
    missed = GoalFactory(metric=Goal.Metric.NEW_OPPORTUNITIES, target=2, period_start=date(2026, 10, 1),
                         period_end=date(2026, 10, 31))
    later = GoalFactory(metric=Goal.Metric.NEW_OPPORTUNITIES, target=2, period_start=date(2026, 12, 1),
                        period_end=date(2026, 12, 31))
    assert progress_of(done).status == "achieved"
    assert progress_of(missed).status == "missed"
    assert progress_of(later).status == "not started"


def test_managers_set_goals_for_teams(marketing_manager, marketer, sales_team, marketing_team):
    goal = Goal(title="Pipeline", metric=Goal.Metric.NEW_OPPORTUNITIES, target=Decimal(5),
                period_start=date(2026, 11, 1), period_end=date(2026, 11, 30))
    with pytest.raises(PermissionDenied):
        goal_save(goal=goal, actor=marketer, teams=[sales_team])
    with pytest.raises(ValidationError) as error:
        goal_save(goal=goal, actor=marketing_manager, teams=[])
    assert "teams" in error.value.error_dict
    rate = Goal(title="Rate", metric=Goal.Metric.MQL_TO_SQL_RATE, target=Decimal(120),
                period_start=date(2026, 11, 1), period_end=date(2026, 11, 30))
    with pytest.raises(ValidationError):
        goal_save(goal=rate, actor=marketing_manager, teams=[sales_team])
    saved = goal_save(goal=goal, actor=marketing_manager, teams=[sales_team, marketing_team])
    assert set(saved.teams.all()) == {sales_team, marketing_team} and saved.created_by == marketing_manager


@pytest.mark.parametrize(("day", "first", "last"), [
    (date(2027, 1, 1), date(2027, 1, 1), date(2027, 3, 31)),
    (date(2027, 3, 31), date(2027, 1, 1), date(2027, 3, 31)),
    (date(2028, 2, 29), date(2028, 1, 1), date(2028, 3, 31)),
    (date(2027, 4, 30), date(2027, 4, 1), date(2027, 6, 30)),
    (date(2027, 8, 15), date(2027, 7, 1), date(2027, 9, 30)),
    (date(2026, 12, 31), date(2026, 10, 1), date(2026, 12, 31)),
])
def test_the_quarter_of_a_day(day, first, last):
    assert quarter_of(day) == (first, last)


def test_the_goals_pages(client_for, sales_manager, sales_rep, sales_team):
    client = client_for(sales_manager)
    assert b"No shared goals yet" in client.get(reverse("sla_contract:goal_list")).content
    form = client.get(reverse("sla_contract:goal_create")).context["form"]
    assert (form["period_start"].value(), form["period_end"].value()) == quarter_of(timezone.localdate())
    with freeze_time("2027-01-20 10:00:00"):
        form = GoalForm()  # in January, as the page builds it
    assert (form["period_start"].value(), form["period_end"].value()) == (date(2027, 1, 1), date(2027, 3, 31))
    response = client.post(reverse("sla_contract:goal_create"), {
        "title": "Opportunities in Q4", "metric": "new_opportunities", "target": "12", "period_start": "2026-10-01",
        "period_end": "2026-12-31", "teams": [sales_team.pk]})
    assert response.status_code == 302
    page = client.get(reverse("sla_contract:goal_list"))
    assert b"Opportunities in Q4" in page.content
    rep = client_for(sales_rep)
    assert b"Opportunities in Q4" in rep.get(reverse("sla_contract:goal_list")).content
    goal = Goal.objects.get()
    assert rep.get(reverse("sla_contract:goal_edit", args=[goal.pk])).status_code == 403
    assert rep.post(reverse("sla_contract:goal_delete", args=[goal.pk])).status_code == 403
    bad = client.post(reverse("sla_contract:goal_create"), {
        "title": "Backwards", "metric": "new_opportunities", "target": "1", "period_start": "2026-12-01",
        "period_end": "2026-11-01", "teams": [sales_team.pk]})
    assert bad.status_code == 400 and b"The period must end on or after its start" in bad.content
