"""The rescoring jobs: the incremental (stale) rescore, full runs in chunks with progress, the
`rescore` command and the Celery tasks. The clock is frozen and moved by hand."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from freezegun import freeze_time

from leads.models import Activity, Lead, Stage
from leads.services import activity_record, lead_capture, lead_update
from scoring import services
from scoring.models import LeadScore, RescoreRun, VersionStatus
from scoring.services import rescore_all, rescore_stale, version_sign
from scoring.tasks import rescore_full_task, rescore_stale_task
from smarketing.celery import app
from tests.factories import (
    CriteriaFactory,
    DefinitionVersionFactory,
    EngagementRuleFactory,
    FitRuleFactory,
    LeadFactory,
    ScoringVersionFactory,
)
from tests.scoring.conftest import NOW

LATER = NOW + timedelta(minutes=5)


@pytest.fixture
def clock():
    with freeze_time(NOW) as frozen:
        yield frozen


@pytest.fixture
def views_worth_five(scoring_version):
    """+5 per page view, no decay; MQL = engagement ≥ 15."""
    EngagementRuleFactory(version=scoring_version, activity_type="page_view", points=5)
    CriteriaFactory(version=DefinitionVersionFactory(number=1, status=VersionStatus.ACTIVE), min_engagement=15)
    return scoring_version


def view(lead, at):
    activity_record(lead=lead, type="page_view", occurred_at=at, url="/pricing")


def score_row(lead) -> tuple:
    return LeadScore.objects.filter(lead=lead).values_list("engagement", "computed_at").get()


# --- incremental ---------------------------------------------------------------------------------

def test_a_new_activity_is_picked_up_by_the_next_stale_run(clock, views_worth_five):
    busy, idle = LeadFactory(), LeadFactory()
    view(busy, NOW - timedelta(hours=2))
    view(busy, NOW - timedelta(hours=1))
    view(idle, NOW - timedelta(hours=1))
    rescore_all(reason="baseline")
    assert (score_row(busy), score_row(idle)) == ((10, NOW), (5, NOW))

    clock.move_to(LATER)
    view(busy, LATER - timedelta(minutes=1))
    assert rescore_stale() == 1
    assert score_row(busy) == (15, LATER)
    # The untouched lead was not rescored.
    assert score_row(idle) == (5, NOW)
    # And the new score qualified it, in the same run.
    busy.refresh_from_db()
    assert busy.stage == Stage.MQL
    run = RescoreRun.objects.get(kind=RescoreRun.Kind.INCREMENTAL)
    assert (run.leads_scored, run.leads_qualified, run.started_at) == (1, 1, LATER)


def test_runs_find_new_activities_after_their_watermark_and_only_once(clock, views_worth_five):
    lead = LeadFactory()
    view(lead, NOW - timedelta(hours=1))
    rescore_all(reason="baseline")
    full = RescoreRun.objects.get(kind=RescoreRun.Kind.FULL)
    assert full.activity_watermark == Activity.objects.get().pk

    clock.move_to(LATER)
    view(lead, LATER - timedelta(minutes=1))
    assert Lead.objects.get(pk=lead.pk).updated_at == lead.updated_at  # the activity left the profile alone
    assert rescore_stale() == 1
    incremental = RescoreRun.objects.get(kind=RescoreRun.Kind.INCREMENTAL)
    assert incremental.activity_watermark == Activity.objects.latest("pk").pk
    clock.tick(timedelta(minutes=1))
    assert rescore_stale() == 0  # the same activity is not looked at twice
    assert score_row(lead) == (10, LATER)


def test_a_run_from_before_activity_watermarks_is_followed_by_a_look_by_time(clock, views_worth_five):
    lead, other = LeadFactory(), LeadFactory()
    view(other, NOW - timedelta(hours=1))
    rescore_all(reason="baseline")
    RescoreRun.objects.update(activity_watermark=None)  # as a run of the previous release left it
    clock.move_to(LATER)
    view(lead, LATER - timedelta(minutes=1))
    assert rescore_stale() == 1  # only the lead whose activity arrived after the full run started
    assert (score_row(lead), score_row(other)) == ((5, LATER), (5, NOW))


def test_nothing_changed_nothing_rescored(clock, views_worth_five):
    lead = LeadFactory()
    rescore_all(reason="baseline")
    clock.move_to(LATER)
    assert rescore_stale() == 0
    assert score_row(lead) == (0, NOW)
    assert not RescoreRun.objects.filter(kind=RescoreRun.Kind.INCREMENTAL).exists()


def test_a_lead_created_after_the_full_run_gets_scored(clock, views_worth_five):
    LeadFactory()
    rescore_all(reason="baseline")
    clock.move_to(LATER)
    newcomer = lead_capture(email="new@acme.test", fields={"job_title": "CTO"}, actor=None).lead
    assert not LeadScore.objects.filter(lead=newcomer).exists()
    assert rescore_stale() == 1
    assert score_row(newcomer) == (0, LATER)


def test_a_profile_change_is_picked_up(clock, views_worth_five, marketer):
    FitRuleFactory(version=views_worth_five, field="job_title", operator="contains", value="cto", points=30)
    lead = LeadFactory(job_title="Clerk")
    rescore_all(reason="baseline")
    clock.move_to(LATER)
    lead_update(lead=lead, actor=marketer, changes={"job_title": "CTO"})
    assert rescore_stale() == 1
    assert LeadScore.objects.get(lead=lead).fit == 30


def test_without_a_finished_full_run_for_the_version_in_force_a_full_run_comes_first(clock, views_worth_five):
    leads = [LeadFactory(), LeadFactory(), LeadFactory()]
    view(leads[0], NOW - timedelta(hours=1))
    assert rescore_stale() == 3
    full = RescoreRun.objects.get()
    assert (full.kind, full.version, full.leads_scored, full.finished_at) == ("full", views_worth_five, 3, NOW)
    assert [score_row(lead) for lead in leads] == [(5, NOW), (0, NOW), (0, NOW)]


def test_a_new_version_in_force_is_applied_in_full(clock, views_worth_five, marketing_manager, sales_manager):
    lead = LeadFactory()
    view(lead, NOW - timedelta(hours=1))
    rescore_all(reason="v1")
    v2 = ScoringVersionFactory(number=2)
    EngagementRuleFactory(version=v2, activity_type="page_view", points=7)
    version_sign(version=v2, actor=marketing_manager)
    version_sign(version=v2, actor=sales_manager)
    clock.move_to(LATER)
    rescore_stale()
    assert LeadScore.objects.filter(lead=lead).values_list("version", "engagement").get() == (v2.pk, 7)
    assert RescoreRun.objects.filter(kind="full", version=v2, finished_at__isnull=False).count() == 1


def test_no_version_in_force_no_rescore(db):
    LeadFactory()
    assert rescore_stale() == 0
    assert rescore_all(reason="none") is None
    assert not LeadScore.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="batches on their own connections need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_batches_scored_at_once_on_their_own_connections_give_each_lead_its_own_score(clock, views_worth_five,
                                                                                       monkeypatch):
    leads = [LeadFactory() for _ in range(5)]
    rescore_all(reason="baseline")
    clock.move_to(LATER)
    for count, lead in enumerate(leads, start=1):  # lead n viewed n pages: 5 × n points
        for minute in range(count):
            view(lead, LATER - timedelta(minutes=minute + 1))
    monkeypatch.setattr(services, "ID_BATCH", 2)  # three batches for the two workers

    assert rescore_stale(workers=2) == 5

    assert [score_row(lead) for lead in leads] == [(5, LATER), (10, LATER), (15, LATER), (20, LATER), (25, LATER)]
    assert [Lead.objects.get(pk=lead.pk).stage for lead in leads] == [Stage.NEW, Stage.NEW, Stage.MQL, Stage.MQL,
                                                                       Stage.MQL]
    run = RescoreRun.objects.get(kind=RescoreRun.Kind.INCREMENTAL)
    assert (run.leads_scored, run.leads_qualified) == (5, 3)


def test_more_stale_leads_than_one_run_takes_are_all_rescored_over_several_runs(clock, views_worth_five):
    first, second = LeadFactory(), LeadFactory()
    rescore_all(reason="baseline")
    clock.move_to(LATER)
    view(first, LATER - timedelta(minutes=2))
    clock.tick(timedelta(seconds=1))
    view(second, LATER - timedelta(minutes=1))
    clock.tick(timedelta(seconds=1))
    for _ in range(3):
        rescore_stale(limit=1)
        clock.tick(timedelta(seconds=1))
    assert [LeadScore.objects.get(lead=lead).engagement for lead in (first, second)] == [5, 5]


# --- full runs in chunks, progress ------------------------------------------------------------------

def test_a_full_run_goes_chunk_by_chunk_and_reports_progress(clock, views_worth_five, monkeypatch):
    monkeypatch.setattr(services, "RESCORE_CHUNK_LEADS", 2)
    leads = [LeadFactory() for _ in range(5)]
    for lead in leads[:3]:
        for minutes in (10, 20, 30):
            view(lead, NOW - timedelta(minutes=minutes))
    steps = []
    run = rescore_all(reason="chunks", progress=lambda done, total: steps.append((done, total)))
    assert steps == [(1, 3), (2, 3), (3, 3)]
    assert (run.chunks_total, run.chunks_done, run.leads_scored, run.leads_qualified) == (3, 3, 5, 3)
    assert run.progress_percent == 100
    assert LeadScore.objects.count() == 5


def test_progress_of_a_run_under_way(views_worth_five):
    run = RescoreRun.objects.create(kind="full", version=views_worth_five, chunks_total=4, chunks_done=1)
    assert run.progress_percent == 25
    assert RescoreRun(kind="full", version=views_worth_five, chunks_total=0).progress_percent == 0


# --- the command and the tasks ------------------------------------------------------------------------

def test_rescore_all_command(clock, views_worth_five):
    lead = LeadFactory()
    for minutes in (1, 2, 3):
        view(lead, NOW - timedelta(minutes=minutes))
    LeadFactory()
    out = StringIO()
    call_command("rescore", "--all", stdout=out)
    assert "2 leads scored under scoring v1, 1 became MQL" in out.getvalue()
    assert "chunk 1/1" in out.getvalue()
    assert LeadScore.objects.get(lead=lead).engagement == 15


def test_rescore_stale_command(clock, views_worth_five):
    lead = LeadFactory()
    rescore_all(reason="baseline")
    clock.move_to(LATER)
    view(lead, LATER - timedelta(minutes=1))
    out = StringIO()
    call_command("rescore", "--stale", stdout=out)
    assert out.getvalue().startswith("1 stale leads rescored")


def test_rescore_command_without_a_version_in_force(db):
    with pytest.raises(CommandError, match="No scoring version is in force"):
        call_command("rescore", "--all", stdout=StringIO())


def test_rescore_command_needs_a_scope(db):
    with pytest.raises(CommandError):
        call_command("rescore", stdout=StringIO())


def test_rescore_stale_task(clock, views_worth_five):
    lead = LeadFactory()
    rescore_all(reason="baseline")
    clock.move_to(LATER)
    view(lead, LATER - timedelta(minutes=1))
    assert rescore_stale_task() == 1
    assert score_row(lead) == (5, LATER)


@pytest.fixture
def eager_celery():
    # The broker is the boundary: run what the task fans out in this process instead of sending it.
    was = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was


def test_rescore_full_task_fans_out_chunks_that_finish_the_run(clock, views_worth_five, monkeypatch, eager_celery):
    monkeypatch.setattr(services, "RESCORE_CHUNK_LEADS", 2)
    leads = [LeadFactory() for _ in range(3)]
    view(leads[0], NOW - timedelta(hours=1))
    run_id = rescore_full_task(reason="nightly decay")
    run = RescoreRun.objects.get(pk=run_id)
    assert (run.reason, run.chunks_total, run.chunks_done, run.leads_scored) == ("nightly decay", 2, 2, 3)
    assert run.finished_at == NOW
    assert LeadScore.objects.filter(lead__in=leads).count() == 3


def test_a_lead_created_while_the_run_is_planned_adds_no_chunk_the_run_does_not_count(clock, views_worth_five,
                                                                                      monkeypatch, eager_celery):
    from scoring import tasks

    monkeypatch.setattr(services, "RESCORE_CHUNK_LEADS", 2)
    leads = [LeadFactory() for _ in range(2)]

    def planned_then_a_capture(**kwargs):
        planned = services.rescore_run_start(**kwargs)
        LeadFactory()  # lands after the plan, in a chunk of its own
        return planned

    monkeypatch.setattr(tasks, "rescore_run_start", planned_then_a_capture)
    run = RescoreRun.objects.get(pk=rescore_full_task(reason="nightly decay"))
    assert (run.chunks_total, run.chunks_done, run.leads_scored) == (1, 1, 2)
    assert set(LeadScore.objects.values_list("lead_id", flat=True)) == {lead.pk for lead in leads}


def test_rescore_full_task_without_a_version(db):
    assert rescore_full_task(reason="x") is None
    assert not RescoreRun.objects.exists()


def test_rescore_full_task_with_no_leads_finishes_at_once(clock, views_worth_five):
    run = RescoreRun.objects.get(pk=rescore_full_task(reason="empty"))
    assert (run.chunks_total, run.finished_at, run.progress_percent) == (0, NOW, 100)
    assert Lead.objects.count() == 0
