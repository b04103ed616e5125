"""SLA compliance and goals on a hand-built week (runs once the SLA contract of issue 5 is in the code base).

Calendar: UTC, Monday to Friday 9–17, no holidays. Period: Mon 2 – Sun 8 March 2026; now: 18 March.
  h1 webinar, rep 1: made Mon 09:00, due 15:00, first attempt 10:00 (on time, 1 business hour); accepted
  h2 webinar, rep 1: made Tue 09:00, due 15:00, first attempt Wed 10:00 (late, 9 business hours); rejected
  h3 event,   rep 2: made Wed 09:00, due 15:00, first attempt 12:00 (on time, 3 business hours); accepted
  h4 event,   rep 1: made Thu 09:00, due 15:00, no attempt yet: an open breach
"""

from datetime import UTC, date, datetime, time

import pytest
from django.urls import reverse
from freezegun import freeze_time

from dashboards.periods import period_resolve
from sla import models as sla_models
from tests.factories import LeadFactory, StageChangeFactory, UserFactory

pytestmark = pytest.mark.skipif(not hasattr(sla_models, "Breach"),
                                reason="the SLA contract (issue 5) is not in the code base yet")
NOW = "2026-03-18 12:00:00"


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def contract_week(db):
    from leads.models import Reason
    from scoring.models import VersionStatus
    from sla.models import Breach, BusinessCalendar, Handoff, SlaVersion

    calendar = BusinessCalendar.objects.create(time_zone="UTC", working_weekdays=[0, 1, 2, 3, 4], opens_at=time(9),
                                               closes_at=time(17))
    SlaVersion.objects.create(number=1, status=VersionStatus.ACTIVE, calendar=calendar, mqls_per_month=10,
                              activated_at=datetime(2026, 1, 1, tzinfo=UTC))
    rep1 = UserFactory(role="sales_rep", first_name="Rita", last_name="One")
    rep2 = UserFactory(role="sales_rep", first_name="Rob", last_name="Two")
    rejection = Reason.objects.filter(kind=Reason.Kind.REJECTION).first()

    def handoff(rep, source, day, first_attempt=None, **extra):
        return Handoff.objects.create(
            lead=LeadFactory(source=source, stage="mql"), rep=rep, created_at=at(day, 9),
            first_attempt_due_at=at(day, 15), first_attempt_at=first_attempt, attempt_count=1 if first_attempt else 0,
            **extra)

    handoff(rep1, "webinar", 2, at(2, 10), status="accepted", accepted_at=at(2, 10))
    h2 = handoff(rep1, "webinar", 3, at(4, 10), status="rejected", rejected_at=at(4, 11), rejection_reason=rejection)
    handoff(rep2, "event", 4, at(4, 12), status="accepted", accepted_at=at(4, 12))
    h4 = handoff(rep1, "event", 5)
    Breach.objects.create(kind="first_attempt", side="sales", handoff=h2, rep=rep1, due_at=at(3, 15),
                          detected_at=at(3, 15), met_at=at(4, 10))
    Breach.objects.create(kind="first_attempt", side="sales", handoff=h4, rep=rep1, due_at=at(5, 15),
                          detected_at=at(5, 15))
    return {"rep1": rep1, "rep2": rep2, "h4": h4}


@freeze_time(NOW)
def test_both_sides_of_the_contract(contract_week):
    from dashboards.compliance import sla_compliance

    result = sla_compliance(period=period_resolve("custom", start="2026-03-02", end="2026-03-08",
                                                  today=date(2026, 3, 18)))

    # Marketing: four MQLs handed off in March against ten committed; sales accepted 2 of the 3 it decided.
    assert (result.marketing.delivered, result.marketing.committed) == (4, 10)
    assert {(s.source, s.delivered, s.accepted, s.rejected, s.acceptance_rate) for s in result.sources} == {
        ("webinar", 2, 1, 1, 50.0), ("event", 2, 1, 0, 100.0)}
    # Sales: four first-attempt deadlines passed, two met on time.
    assert (result.sales.first_due, result.sales.first_on_time) == (4, 2)
    assert result.sales.first_rate == pytest.approx(50.0)
    # Median business time to a first attempt of 1 h, 9 h and 3 h.
    assert result.median_first_attempt.total_seconds() == 3 * 3600
    assert result.open_breach_count == 1
    assert [breach.handoff_id for breach in result.open_breaches] == [contract_week["h4"].pk]
    reps = {rep.name: (rep.handoffs, rep.first_due, rep.first_on_time, rep.open_breaches) for rep in result.reps}
    assert reps == {"Rita One": (3, 3, 1, 1), "Rob Two": (1, 1, 1, 0)}
    assert result.breach_trend["sales"][-1] == 2  # both detected in the week of 2 March


@freeze_time(NOW)
def test_the_page_lists_the_open_breach_with_a_link_to_its_lead(contract_week, sales_manager, client_for):
    url = reverse("dashboards:compliance") + "?period=custom&start=2026-03-02&end=2026-03-08"

    html = client_for(sales_manager).get(url).content.decode()

    assert "Open breaches, oldest first" in html
    assert reverse("leads:lead_detail", args=[contract_week["h4"].lead_id]) in html
    assert "50.0 %" in html


@freeze_time("2026-03-16 12:00:00")
def test_a_goal_is_forecast_from_its_pace(db, marketing_manager):
    from dashboards.compliance import goals_with_forecast
    from sla.models import Goal

    goal = Goal.objects.create(title="Ten new opportunities", metric="new_opportunities", target=10,
                               period_start=date(2026, 3, 1), period_end=date(2026, 3, 31))
    for day in (2, 5, 9):
        StageChangeFactory(from_stage="sql", to_stage="opportunity", changed_at=at(day, 10))

    [view] = goals_with_forecast()

    assert view.progress.goal == goal and view.progress.actual == 3
    # 15.5 of 31 days gone: three opportunities so far is six by the end at this pace.
    assert view.forecast == pytest.approx(6.0)
    assert view.forecast_reaches is False
