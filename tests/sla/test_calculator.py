"""The SLA calculator: this organisation's rates from a hand-built stage history, and the plan worked backwards."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from freezegun import freeze_time

from leads.models import Stage, StageChange
from scoring.models import VersionStatus
from sla.contract_selectors import CalculatorInputs, calculator_plan, funnel_rates
from sla.models import Handoff, SlaVersion
from tests.factories import HandoffFactory, LeadFactory, UserFactory
from tests.sla.conftest import berlin

SINCE, UNTIL = berlin(2026, 8, 1, 0, 0), berlin(2026, 11, 1, 0, 0)
INSIDE = berlin(2026, 9, 15, 10, 0)


def moves(count: int, source: str, target: str, *, at=INSIDE, leads=None):
    made = []
    for n in range(count):
        lead = leads[n] if leads else LeadFactory(created_at=SINCE - timedelta(days=30))
        made.append(StageChange.objects.create(lead=lead, from_stage=source, to_stage=target, changed_at=at))
    return made


@pytest.fixture
def history(db, sales_rep):
    """In the window: 20 leads created; 10 new → mql; of 10 MQLs leaving, 8 accepted (sal) and 2 recycled;
    of 8 SALs leaving, 4 → sql, 4 disqualified; of 4 SQLs leaving, 3 → opportunity, 1 lost; of 3
    opportunities closing, 1 won (for 30,000) and 2 lost. Outside the window: moves that must not count."""
    for _ in range(20):
        LeadFactory(created_at=INSIDE)
    moves(10, Stage.NEW, Stage.MQL)
    moves(8, Stage.MQL, Stage.SAL)
    moves(2, Stage.MQL, Stage.RECYCLED)
    moves(4, Stage.SAL, Stage.SQL)
    moves(4, Stage.SAL, Stage.DISQUALIFIED)
    opportunity_leads = [change.lead for change in moves(3, Stage.SQL, Stage.OPPORTUNITY)]
    moves(1, Stage.SQL, Stage.LOST)
    won = moves(1, Stage.OPPORTUNITY, Stage.WON, leads=opportunity_leads[:1])[0]
    moves(2, Stage.OPPORTUNITY, Stage.LOST, leads=opportunity_leads[1:])
    # Two of the three opportunities came through a handoff from marketing.
    HandoffFactory(lead=won.lead, rep=sales_rep, won_amount=Decimal(30_000), status="closed")
    HandoffFactory(lead=opportunity_leads[1], rep=sales_rep, status="closed")
    # Outside the window.
    moves(5, Stage.MQL, Stage.SAL, at=SINCE - timedelta(days=1))
    moves(5, Stage.OPPORTUNITY, Stage.WON, at=UNTIL)
    UserFactory(role="sales_rep", is_active=False)


def test_funnel_rates_from_the_stage_history(history, sales_rep):
    rates = funnel_rates(since=SINCE, until=UNTIL)
    assert rates.lead_to_mql == pytest.approx(50.0)  # 10 MQLs of 20 leads created
    assert rates.mql_to_sal == pytest.approx(80.0)
    assert rates.sal_to_sql == pytest.approx(50.0)
    assert rates.mql_to_sql == pytest.approx(40.0)
    assert rates.sql_to_opportunity == pytest.approx(75.0)
    assert rates.win_rate == pytest.approx(100 / 3)
    assert rates.average_deal == Decimal(30_000)
    assert rates.marketing_share == pytest.approx(200 / 3)
    assert rates.reps == 1  # the inactive rep does not count


def test_an_empty_window_has_no_rates(db):
    rates = funnel_rates(since=SINCE, until=UNTIL)
    assert (rates.lead_to_mql, rates.mql_to_sql, rates.win_rate, rates.average_deal) == (None, None, None, None)


def test_the_plan_works_backwards_from_the_quota():
    plan = calculator_plan(CalculatorInputs(
        revenue_quota=Decimal(120_000), average_deal=Decimal(20_000), win_rate=25, sql_to_opportunity=50,
        mql_to_sql=20, lead_to_mql=10, marketing_share=80, reps=4,
    ))
    # 6 deals → 24 opportunities → 48 SQLs, 38.4 from marketing → 192 MQLs → 1,920 leads.
    assert plan.deals == pytest.approx(6)
    assert plan.opportunities == pytest.approx(24)
    assert plan.sqls == pytest.approx(48)
    assert plan.marketing_sqls == pytest.approx(38.4)
    assert plan.mqls == pytest.approx(192)
    assert plan.leads == pytest.approx(1920)
    assert plan.mqls_per_month == 192 and plan.mqls_per_rep == 48
    assert plan.pipeline_value == Decimal(384_000)  # 24 opportunities × 80% × 20,000
    assert [line.per_rep for line in plan.lines][:2] == [pytest.approx(1.5), pytest.approx(6)]


def test_a_zero_rate_cannot_be_worked_backwards():
    with pytest.raises(ValueError):
        calculator_plan(CalculatorInputs(revenue_quota=Decimal(1), average_deal=Decimal(1), win_rate=0,
                                         sql_to_opportunity=1, mql_to_sql=1, lead_to_mql=1, marketing_share=1, reps=1))


@freeze_time("2026-11-01 00:00:00")  # the last 90 days hold the whole hand-built history
def test_the_page_is_prefilled_with_our_rates(history, client_for, marketer):
    page = client_for(marketer).get(reverse("sla_contract:calculator") + "?window=90")
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["mql_to_sql"] == 40.0 and form.initial["average_deal"] == Decimal(30_000)
    assert b"Propose as a new SLA version" not in page.content  # marketers read, managers propose


def test_propose_as_a_new_sla_version_in_one_click(client_for, marketing_manager, sales_manager):
    data = {"window": 90, "revenue_quota": 120_000, "average_deal": 20_000, "win_rate": 25, "sql_to_opportunity": 50,
            "mql_to_sql": 20, "lead_to_mql": 10, "marketing_share": 80, "reps": 4}
    client = client_for(marketing_manager)
    page = client.get(reverse("sla_contract:calculator"), data)
    assert b"Propose as a new SLA version" in page.content and b"192 MQLs a month" in page.content
    response = client.post(reverse("sla_contract:calculator_propose"), data)
    draft = SlaVersion.objects.get(status=VersionStatus.DRAFT)
    assert response.url == reverse("sla_contract:version_detail", args=[draft.number])
    assert (draft.mqls_per_month, draft.mql_basis, draft.pipeline_value_per_month) == (192, "total", Decimal(384_000))
    assert "calculator" in draft.note
    assert not Handoff.objects.exists()


def test_only_managers_propose(client_for, marketer):
    assert client_for(marketer).post(reverse("sla_contract:calculator_propose"), {
        "window": 90, "revenue_quota": 1, "average_deal": 1, "win_rate": 1, "sql_to_opportunity": 1,
        "mql_to_sql": 1, "lead_to_mql": 1, "marketing_share": 1, "reps": 1}).status_code == 403
