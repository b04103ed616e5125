"""A worker killed in the middle of a full rescore, and a chunk delivered twice.

The kill is simulated by raising in the middle of the job (after chunk k, or between scoring and
qualifying a chunk): what the database committed stays, the rest rolls back, as when a worker dies.
Running the job again must give the same scores, stages and events as a run that was never interrupted
on the same data (built once, run uninterrupted inside a savepoint that is then rolled back).
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from freezegun import freeze_time

from leads.models import Lead, StageChange
from leads.services import activity_record
from scoring import services
from scoring.models import LeadScore, RescoreRun
from scoring.services import rescore_all, rescore_run_chunk, rescore_run_start, rescore_stale
from smarketing.celery import app
from smarketing.models import WebhookDelivery
from tests.factories import (
    CriteriaFactory,
    DefinitionVersionFactory,
    EngagementRuleFactory,
    LeadFactory,
    WebhookEndpointFactory,
)
from tests.scoring.conftest import NOW


class WorkerKilled(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in the job can catch it and carry on."""


@pytest.fixture
def clock():
    with freeze_time(NOW) as frozen:
        yield frozen


@pytest.fixture
def leads(scoring_version):
    """Seven leads in chunks of two (four chunks); +5 a page view; MQL from 15, so leads with 3+ views move."""
    EngagementRuleFactory(version=scoring_version, activity_type="page_view", points=5)
    CriteriaFactory(version=DefinitionVersionFactory(number=1, status="active"), min_engagement=15)
    WebhookEndpointFactory(events=["lead.mql"])
    made = [LeadFactory(email=f"lead{n}@acme.test") for n in range(7)]
    for n, lead in enumerate(made):
        for minute in range(n):  # lead n has n page views
            activity_record(lead=lead, type="page_view", occurred_at=NOW - timedelta(minutes=10 + minute),
                            url=f"/pricing/{minute}")
    return made


def outcome() -> dict:
    """What a full rescore decides, without its timestamps (a run again later has other ones)."""
    return {
        "scores": sorted(LeadScore.objects.values_list("lead__email", "version_id", "fit", "engagement", "total",
                                                       "grade", "conversions")),
        "stages": sorted(Lead.objects.values_list("email", "stage")),
        "moves": sorted(StageChange.objects.values_list("lead__email", "from_stage", "to_stage", "reason")),
        "webhooks": sorted((d.event, d.payload["data"]["lead"]["email"]) for d in WebhookDelivery.objects.all()),
    }


def uninterrupted_outcome() -> dict:
    with transaction.atomic():
        rescore_all(reason="uninterrupted")
        result = outcome()
        transaction.set_rollback(True)
    assert LeadScore.objects.count() == 0  # rolled back: the same data for the interrupted run
    return result


def kill_after_chunks(monkeypatch, k: int) -> None:
    done = []

    def chunk(**kwargs):
        if len(done) == k:
            raise WorkerKilled
        done.append(rescore_run_chunk(**kwargs))

    monkeypatch.setattr(services, "rescore_run_chunk", chunk)


def kill_between_scoring_and_qualifying(monkeypatch, k: int) -> None:
    calls = []
    qualify = services.leads_qualify

    def leads_qualify(**kwargs):
        calls.append(1)
        if len(calls) == k + 1:
            raise WorkerKilled
        return qualify(**kwargs)

    monkeypatch.setattr(services, "leads_qualify", leads_qualify)


@pytest.mark.parametrize("kill", [kill_after_chunks, kill_between_scoring_and_qualifying])
@pytest.mark.parametrize("k", [0, 1, 3])
@pytest.mark.parametrize("again", ["rescore again", "stale catch-up an hour later"])
def test_a_full_rescore_killed_midway_and_run_again_ends_as_an_uninterrupted_one(clock, leads, monkeypatch, kill,
                                                                                  k, again):
    monkeypatch.setattr(services, "RESCORE_CHUNK_LEADS", 2)
    expected = uninterrupted_outcome()
    assert [stage for _, stage in expected["stages"]].count("mql") == 4  # leads 3..6
    assert len(expected["webhooks"]) == 4

    with monkeypatch.context() as patch:
        kill(patch, k)
        with pytest.raises(WorkerKilled):
            rescore_all(reason="killed")
    assert RescoreRun.objects.get().finished_at is None

    if again == "rescore again":
        rescore_all(reason="run again")
    else:
        # Nobody restarts it by hand: the minutely stale job finds the full run never finished and redoes it.
        clock.tick(services.FULL_RUN_GIVEN_UP_AFTER + timedelta(minutes=1))
        rescore_stale()

    assert outcome() == expected
    assert RescoreRun.objects.filter(finished_at__isnull=False).count() == 1


def test_a_chunk_delivered_twice_counts_once_and_the_run_finishes_with_its_last_chunk(clock, leads, monkeypatch):
    monkeypatch.setattr(services, "RESCORE_CHUNK_LEADS", 2)
    run, chunks = rescore_run_start(kind=RescoreRun.Kind.FULL, reason="fan-out")
    assert run.chunks_total == len(chunks) == 4
    assert chunks == services.rescore_chunks(leads[0].pk, leads[-1].pk)

    # The first chunk's worker was killed after its work and before its acknowledgement: it comes back.
    rescore_run_chunk(run_id=run.pk, id_from=chunks[0][0], id_to=chunks[0][1])
    rescore_run_chunk(run_id=run.pk, id_from=chunks[0][0], id_to=chunks[0][1])
    for id_from, id_to in chunks[1:3]:
        rescore_run_chunk(run_id=run.pk, id_from=id_from, id_to=id_to)
    run.refresh_from_db()
    assert (run.chunks_done, run.finished_at) == (3, None)  # not finished: the last chunk has not run
    assert run.leads_scored == 6

    rescore_run_chunk(run_id=run.pk, id_from=chunks[3][0], id_to=chunks[3][1])
    run.refresh_from_db()
    assert (run.chunks_done, run.leads_scored, run.finished_at) == (4, 7, NOW)
    assert StageChange.objects.filter(to_stage="mql").count() == 4  # the second delivery moved nobody again


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("job", ["rescore_all", "rescore_stale"])
def test_two_schedulers_starting_the_same_rescore_at_once_move_each_lead_once(clock, leads, monkeypatch, job):
    """Two beats by mistake: the nightly full rescore (or the minutely stale one, which starts with a full run
    here) twice at the same moment. Each lead is scored once per run, becomes MQL once, one webhook each."""
    monkeypatch.setattr(services, "RESCORE_CHUNK_LEADS", 2)
    work = (lambda: rescore_all(reason="beat")) if job == "rescore_all" else rescore_stale
    start = threading.Barrier(2)
    errors = []

    def run() -> None:
        try:
            start.wait()
            work()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    result = outcome()
    assert [stage for _, stage in result["stages"]].count("mql") == 4
    assert len(result["moves"]) == 4 and len(result["webhooks"]) == 4
    assert [engagement for _, _, _, engagement, *_ in result["scores"]] == [0, 5, 10, 15, 20, 25, 30]


# --- A full rescore whose message was lost (broker down) -----------------------------------------------------

def broker_down(*args, **kwargs):
    raise ConnectionRefusedError("broker down")


def test_a_persona_changed_while_the_broker_was_down_is_applied_by_the_stale_job(
        clock, leads, marketing_manager, monkeypatch, django_capture_on_commit_callbacks):
    from scoring.services import persona_save
    from tests.factories import PersonaFactory

    rescore_all(reason="nightly")
    Lead.objects.filter(pk=leads[0].pk).update(job_title="Platform Engineer")
    monkeypatch.setattr(app, "send_task", broker_down)
    persona = PersonaFactory.build(name="Engineers", title_keywords=["engineer"])
    clock.tick(timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        persona_save(persona=persona, actor=marketing_manager)  # its full rescore could not be queued

    clock.tick(timedelta(minutes=1))
    rescore_stale()
    assert LeadScore.objects.get(lead=leads[0]).persona_id is None  # its message may still arrive

    clock.tick(services.LOST_MESSAGE_GRACE)
    rescore_stale()
    assert LeadScore.objects.get(lead=leads[0]).persona_id == persona.pk
    assert RescoreRun.objects.filter(kind="full", finished_at__isnull=False).count() == 2

    clock.tick(timedelta(minutes=1))
    rescore_stale()  # applied: no third full run
    assert RescoreRun.objects.filter(kind="full").count() == 2
