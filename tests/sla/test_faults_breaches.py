"""A worker killed in the middle of the SLA deadline check: the next run gives exactly the breaches,
notifications and webhook deliveries of a run that was never interrupted.

The kill is simulated by raising at a point of the job (while recording, between recording and
notifying, while notifying); what was committed stays, the rest rolls back, as when a worker dies. The
uninterrupted run is made on the same data inside a savepoint that is then rolled back.
"""

from datetime import timedelta

import pytest
from django.db import transaction

from sla import contract_services
from sla.contract_services import breaches_check
from sla.models import Breach, Handoff
from smarketing.models import Notification, WebhookDelivery
from tests.factories import WebhookEndpointFactory
from tests.sla.conftest import berlin, handoff_under_sla

NOW = berlin(2026, 11, 24, 12, 0)  # a Tuesday
NEXT_RUN = NOW + timedelta(minutes=1)


class WorkerKilled(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in the job can catch it and carry on."""


@pytest.fixture
def overdue(sla_in_force, sales_rep, other_rep, sales_manager):
    """Handoffs of two reps whose first-attempt deadline passed unmet, one met late, and older ones whose
    K-attempts deadline passed too."""
    WebhookEndpointFactory(events=["sla.breach"])
    made = [handoff_under_sla(at=berlin(2026, 11, 20, 16, 0) + timedelta(minutes=n), rep=rep)
            for n, rep in enumerate([sales_rep, other_rep] * 3)]
    made += [handoff_under_sla(at=berlin(2026, 11, 2, 10, 0) + timedelta(hours=n), rep=sales_rep) for n in range(2)]
    Handoff.objects.filter(pk=made[0].pk).update(first_attempt_at=berlin(2026, 11, 23, 16, 0), attempt_count=1)
    return made


def outcome() -> dict:
    """What the check decided, without the instants of the run that decided it."""
    return {
        "breaches": sorted(Breach.objects.values_list("handoff_id", "kind", "rep_id", "escalated_to_id", "due_at",
                                                      "met_at", "closed_at", "sla_version_number")),
        "unnotified": Breach.objects.filter(notified_at=None).count(),
        "notifications": sorted(Notification.objects.values_list("recipient_id", "kind", "title", "body", "url",
                                                                 "email_wanted")),
        "webhooks": sorted((d.event, d.payload["data"]["handoff_id"], d.payload["data"]["kind"])
                           for d in WebhookDelivery.objects.all()),
    }


def kill_while_recording(patch) -> None:
    insert = contract_services._insert_breaches
    calls = []

    def second_insert_dies(**kwargs):
        calls.append(kwargs["kind"])
        if len(calls) == 2:  # the first-attempt breaches are inserted; the K-attempts ones never are
            raise WorkerKilled
        return insert(**kwargs)

    patch.setattr(contract_services, "_insert_breaches", second_insert_dies)


def kill_between_recording_and_notifying(patch) -> None:
    def dies(**kwargs):
        raise WorkerKilled

    patch.setattr(contract_services, "breaches_notify", dies)


def kill_while_notifying(patch) -> None:
    def dies(breaches):
        raise WorkerKilled  # the notifications are inserted; the webhooks never are

    patch.setattr(contract_services, "_breach_webhooks", dies)


@pytest.mark.parametrize("kill", [kill_while_recording, kill_between_recording_and_notifying, kill_while_notifying])
@pytest.mark.parametrize("full", [False, True])
def test_a_check_killed_midway_then_run_again_ends_as_an_uninterrupted_one(overdue, monkeypatch, kill, full):
    with transaction.atomic():
        breaches_check(now=NOW, full=full)
        expected = outcome()
        transaction.set_rollback(True)
    assert Breach.objects.count() == 0  # rolled back: the same data for the interrupted run
    kinds = [kind for _, kind, *_ in expected["breaches"]]
    assert (kinds.count("first_attempt"), kinds.count("attempts")) == (8, 2)
    assert expected["unnotified"] == 0
    # Each breach: the rep told, their manager escalated to (two people), one webhook.
    assert len(expected["notifications"]) == 2 * 10 and len(expected["webhooks"]) == 10

    with monkeypatch.context() as patch:
        kill(patch)
        with pytest.raises(WorkerKilled):
            breaches_check(now=NOW, full=full)

    breaches_check(now=NEXT_RUN, full=full)  # the next run of the schedule
    assert outcome() == expected
    breaches_check(now=NEXT_RUN + timedelta(minutes=1), full=full)  # and the one after: nothing new
    assert outcome() == expected
