"""The shared funnel on a hand-built history: entries, conversion, velocity, the previous period, a lead that
moves back a stage, periods that cut through a lead's history, filters and breakdowns; rollups equal live.

Clock: Wednesday 18 March 2026, UTC (the organisation's zone when no SLA is in force). The period under
test is the custom range Mon 2 – Sun 8 March; the previous period is 23 February – 1 March.

  lead A (webinar / spring)  created 2 Mar 09:00, MQL 13:00 (4 h), SAL 3 Mar 13:00 (1 day), recycled 4 Mar,
                             MQL again 5 Mar 13:00 (returning), SAL again 6 Mar 13:00 (1 day, returning)
  lead B (webinar / spring)  created 25 Feb 10:00 (previous period), MQL 3 Mar 10:00 (6 days), SAL 12:00 (2 h),
                             SQL 10 Mar (after the period)
  lead C (event / —)         created 4 Mar 08:00, disqualified 09:00
  lead D (event / —)         created 7 Mar 08:00
  lead E (paid / brand)      created 24 Feb, MQL 26 Feb, SAL 27 Feb (all previous period), SQL 2 Mar,
                             opportunity 5 Mar, won 8 Mar 23:00
"""

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse
from freezegun import freeze_time

from dashboards.models import FunnelDay, RollupDay
from dashboards.periods import period_resolve
from dashboards.selectors import Filters, funnel_breakdown, funnel_report, funnel_trend
from dashboards.services import funnel_day_rollup, funnel_rollup_range
from tests.factories import LeadFactory, StageChangeFactory

HOUR = 3600
DAY = 86400
NOW = "2026-03-18 12:00:00"


def at(day: int, hour: int = 12, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def history(lead, *moves) -> None:
    """moves: (from, to, when) in order; the first is the creation (from "")."""
    for from_stage, to_stage, when in moves:
        StageChangeFactory(lead=lead, from_stage=from_stage, to_stage=to_stage, changed_at=when)


@pytest.fixture
def funnel_history(db):
    a = LeadFactory(source="webinar", campaign="spring", stage="sal")
    history(a, ("", "new", at(2, 9)), ("new", "mql", at(2, 13)), ("mql", "sal", at(3, 13)),
            ("sal", "recycled", at(4, 13)), ("recycled", "mql", at(5, 13)), ("mql", "sal", at(6, 13)))
    b = LeadFactory(source="webinar", campaign="spring", stage="sql")
    history(b, ("", "new", at(25, 10, month=2)), ("new", "mql", at(3, 10)), ("mql", "sal", at(3, 12)),
            ("sal", "sql", at(10, 12)))
    c = LeadFactory(source="event", campaign="", stage="disqualified")
    history(c, ("", "new", at(4, 8)), ("new", "disqualified", at(4, 9)))
    d = LeadFactory(source="event", campaign="", stage="new")
    history(d, ("", "new", at(7, 8)))
    e = LeadFactory(source="paid_search", campaign="brand", stage="won")
    history(e, ("", "new", at(24, 9, month=2)), ("new", "mql", at(26, 9, month=2)), ("mql", "sal", at(27, 9, month=2)),
            ("sal", "sql", at(2, 9)), ("sql", "opportunity", at(5, 9)), ("opportunity", "won", at(8, 23)))
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


def first_week():
    return period_resolve("custom", start="2026-03-02", end="2026-03-08", today=date(2026, 3, 18))


def report(filters: Filters | None = None):
    return funnel_report(period=first_week(), filters=filters or Filters())


@freeze_time(NOW)
def test_entries_count_each_move_into_a_stage_and_a_lead_coming_back_is_returning(funnel_history):
    figures = {figure.stage: figure for figure in report().stages}

    assert {stage: figure.entered for stage, figure in figures.items()} == {
        "new": 3, "mql": 3, "sal": 3, "sql": 1, "opportunity": 1, "won": 1}
    # A qualified and was accepted twice: its second pass is returning.
    assert figures["mql"].returning == 1
    assert figures["sal"].returning == 1
    assert figures["new"].returning == 0
    # The previous period: B and E created, E qualified and accepted.
    assert {stage: figure.previous for stage, figure in figures.items()} == {
        "new": 2, "mql": 1, "sal": 1, "sql": 0, "opportunity": 0, "won": 0}
    assert figures["new"].change == pytest.approx(50.0)
    assert figures["mql"].change == pytest.approx(200.0)
    assert figures["sql"].change is None  # nothing to compare with
    exits = {figure.stage: figure.entered for figure in report().exits}
    assert exits == {"lost": 0, "disqualified": 1, "recycled": 1}


@freeze_time(NOW)
def test_conversion_is_the_share_of_exits_that_moved_on_and_a_lead_sent_back_is_an_exit(funnel_history):
    steps = {(step.from_stage, step.to_stage): step for step in report().steps}

    # Lead → MQL: A and B qualified, over the three leads created (A, C, D).
    assert steps[("new", "mql")].rate == pytest.approx(200 / 3)
    # Every move out of MQL (A twice, B once) went to SAL.
    assert steps[("mql", "sal")].rate == pytest.approx(100.0)
    # Out of SAL: A was recycled, E became SQL; B's SQL falls after the period.
    assert steps[("sal", "sql")].rate == pytest.approx(50.0)
    assert steps[("sql", "opportunity")].rate == pytest.approx(100.0)
    assert steps[("opportunity", "won")].rate == pytest.approx(100.0)
    # The previous period: E qualified out of B and E created; E's MQL → SAL.
    assert steps[("new", "mql")].previous_rate == pytest.approx(50.0)
    assert steps[("new", "mql")].rate_change == pytest.approx(200 / 3 - 50)
    assert steps[("sal", "sql")].previous_rate is None  # nothing left SAL then


@freeze_time(NOW)
def test_velocity_runs_from_the_latest_entry_into_the_stage(funnel_history):
    steps = {(step.from_stage, step.to_stage): step for step in report().steps}

    # MQL → SAL took 1 day (A), 2 hours (B) and 1 day (A again, from its second MQL, not its first).
    assert steps[("mql", "sal")].median_seconds == pytest.approx(DAY, rel=0.045)
    assert steps[("mql", "sal")].p80_seconds == pytest.approx(DAY, rel=0.045)
    # Lead → MQL: 4 hours (A) and 6 days (B, created in the previous period): the lower middle is 4 h.
    assert steps[("new", "mql")].median_seconds == pytest.approx(4 * HOUR, rel=0.045)
    assert steps[("new", "mql")].p80_seconds == pytest.approx(6 * DAY, rel=0.045)
    # E spent 3 days from SQL (2 Mar 09:00) to opportunity (5 Mar 09:00) and 3 days 14 hours to won.
    assert steps[("sql", "opportunity")].median_seconds == pytest.approx(3 * DAY, rel=0.045)
    assert steps[("opportunity", "won")].median_seconds == pytest.approx(3 * DAY + 14 * HOUR, rel=0.045)
    # Previous period: E's MQL → SAL took 1 day.
    assert steps[("mql", "sal")].previous_median_seconds == pytest.approx(DAY, rel=0.045)
    assert steps[("sal", "sql")].median_seconds == pytest.approx(3 * DAY + 0 * HOUR, rel=0.045)


@freeze_time(NOW)
def test_a_period_that_cuts_through_a_lead_counts_only_its_moves_inside(funnel_history):
    # Only 3 – 4 March: A's SAL and recycling, B's MQL and SAL, C's creation and disqualification.
    period = period_resolve("custom", start="2026-03-03", end="2026-03-04", today=date(2026, 3, 18))
    result = funnel_report(period=period, filters=Filters())
    entered = {figure.stage: figure.entered for figure in result.stages}

    assert entered == {"new": 1, "mql": 1, "sal": 2, "sql": 0, "opportunity": 0, "won": 0}
    steps = {(step.from_stage, step.to_stage): step for step in result.steps}
    assert steps[("sal", "sql")].rate == 0.0  # A left SAL for nurture
    assert steps[("new", "mql")].rate == pytest.approx(100.0)  # B qualified; C was created


@freeze_time(NOW)
def test_filters_narrow_every_figure_and_breakdowns_split_them(funnel_history):
    spring = report(Filters(campaign="spring"))
    assert {f.stage: f.entered for f in spring.stages} == {"new": 1, "mql": 3, "sal": 3, "sql": 0,
                                                           "opportunity": 0, "won": 0}

    by_source = funnel_breakdown(span=first_week().current, filters=Filters(), by="source")
    rows = {row.label: row.counts for row in by_source.rows}
    assert rows == {"webinar": [1, 3, 3, 0, 0, 0], "event": [2, 0, 0, 0, 0, 0], "paid_search": [0, 0, 0, 1, 1, 1]}
    assert by_source.total.counts == [3, 3, 3, 1, 1, 1]
    assert [row.label for row in by_source.rows] == ["event", "webinar", "paid_search"]  # most leads first


@freeze_time(NOW)
def test_the_trend_counts_entries_per_iso_week(funnel_history):
    trend = {series.stage: series for series in funnel_trend(filters=Filters(), weeks=4)}

    # Weeks of 23 Feb, 2 Mar, 9 Mar and 16 Mar (this one, unfinished).
    assert trend["new"].values == [2, 3, 0, 0]
    assert trend["mql"].values == [1, 3, 0, 0]
    assert trend["sql"].values == [0, 1, 1, 0]


@freeze_time(NOW)
def test_rollups_give_the_same_figures_as_the_live_computation(funnel_history):
    live_report, live_trend = report(), funnel_trend(filters=Filters(), weeks=4)
    live_filtered = {name: report(Filters(**{name: value})) for name, value in
                     (("campaign", "spring"), ("source", "event"), ("rep", 10**6))}
    live_breakdown = funnel_breakdown(span=first_week().current, filters=Filters(campaign="spring"), by="rep")

    days = funnel_rollup_range(first=date(2026, 2, 20), last=date(2026, 3, 17))

    assert days == 26
    from django.core.cache import cache
    cache.clear()
    assert report() == live_report
    # A filtered view reads the smallest grain that keeps its dimension: the same figures.
    assert {name: report(Filters(**{name: value})) for name, value in
            (("campaign", "spring"), ("source", "event"), ("rep", 10**6))} == live_filtered
    assert funnel_trend(filters=Filters(), weeks=4) == live_trend
    rolled = funnel_breakdown(span=first_week().current, filters=Filters(campaign="spring"), by="rep")
    assert [(r.label, r.counts) for r in rolled.rows] == [(r.label, r.counts) for r in live_breakdown.rows]


@freeze_time(NOW)
def test_rolling_a_day_up_again_replaces_its_rows(funnel_history):
    funnel_day_rollup(day=date(2026, 3, 3))
    first = sorted(FunnelDay.objects.values_list("grain", "from_stage", "to_stage", "source", "moves"))

    funnel_day_rollup(day=date(2026, 3, 3))

    assert sorted(FunnelDay.objects.values_list("grain", "from_stage", "to_stage", "source", "moves")) == first
    assert RollupDay.objects.get(day=date(2026, 3, 3)).moves == 3  # A accepted, B qualified and accepted


@freeze_time(NOW)
def test_today_is_never_rolled_up(db):
    with pytest.raises(ValueError):
        funnel_day_rollup(day=date(2026, 3, 18))


# --- The page ----------------------------------------------------------------------------------------------


@freeze_time(NOW)
def test_the_page_shows_the_figures_and_keeps_its_state_in_the_url(funnel_history, marketer, client_for):
    url = reverse("dashboards:funnel") + "?period=custom&start=2026-03-02&end=2026-03-08&campaign=spring"

    response = client_for(marketer).get(url)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert "Conversion and velocity" in html
    assert "100.0 %" in html
    assert 'value="spring" selected' in html


@freeze_time(NOW)
def test_an_htmx_request_gets_only_the_panels(funnel_history, sales_rep, client_for):
    url = reverse("dashboards:funnel") + "?period=custom&start=2026-03-02&end=2026-03-08"

    response = client_for(sales_rep).get(url, headers={"HX-Request": "true", "HX-Target": "dashboard-panels"})

    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="dashboard-panels"')
    assert "66.7 %" in html

    breakdown = client_for(sales_rep).get(url + "&by=campaign", headers={"HX-Request": "true",
                                                                         "HX-Target": "breakdown"})
    assert breakdown.content.decode().lstrip().startswith('<section id="breakdown"')
    assert "spring" in breakdown.content.decode()


@freeze_time(NOW)
def test_a_filter_chip_names_the_rep_not_the_id(funnel_history, sales_rep, client_for):
    funnel_history["a"].owner = sales_rep
    funnel_history["a"].save()
    url = reverse("dashboards:funnel") + f"?period=custom&start=2026-03-02&end=2026-03-08&rep={sales_rep.pk}"

    panels = client_for(sales_rep).get(url, headers={"HX-Request": "true", "HX-Target": "dashboard-panels"})

    html = panels.content.decode()
    assert '<span class="chip">Rep: Rita Owner</span>' in html
    assert f"#{sales_rep.pk}<" not in html


@freeze_time(NOW)
def test_an_empty_dashboard_says_what_to_do(marketer, client_for):
    html = client_for(marketer).get(reverse("dashboards:funnel")).content.decode()

    assert "No stage changes in" in html
    assert "Add a lead" in html


@freeze_time(NOW)
def test_the_page_runs_the_same_queries_for_few_or_many_leads(funnel_history, marketer, client_for, count_queries):
    client = client_for(marketer)
    url = reverse("dashboards:funnel") + "?period=this_month&by=rep"
    funnel_rollup_range(first=date(2026, 2, 1), last=date(2026, 3, 17))
    few = count_queries(client, url)
    for n in range(15):
        lead = LeadFactory(source=f"source-{n}", campaign=f"campaign-{n}")
        history(lead, ("", "new", at(10, 9)), ("new", "mql", at(11, 9)))
    funnel_rollup_range(first=date(2026, 3, 10), last=date(2026, 3, 17))
    from django.core.cache import cache
    cache.clear()

    assert count_queries(client, url) == few


@freeze_time(NOW)
def test_a_view_is_computed_once_a_minute_and_htmx_keeps_the_share_button_current(funnel_history, marketing_manager,
                                                                                  client_for, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.DASHBOARD_CACHE_SECONDS = 60
    client = client_for(marketing_manager)
    url = reverse("dashboards:funnel") + "?period=custom&start=2026-03-02&end=2026-03-08"
    with CaptureQueriesContext(connection) as first:
        client.get(url)
    with CaptureQueriesContext(connection) as second:
        response = client.get(url)

    assert len(second) < len(first)
    assert "66.7 %" in response.content.decode()
    panels = client.get(url + "&campaign=spring", headers={"HX-Request": "true", "HX-Target": "dashboard-panels"})
    html = panels.content.decode()
    assert 'id="share-button" hx-swap-oob="true"' in html
    assert 'name="query" value="period=custom&amp;start=2026-03-02&amp;end=2026-03-08&amp;campaign=spring"' in html
