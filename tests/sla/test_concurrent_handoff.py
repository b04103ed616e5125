"""Two people handing off the same lead at the same moment: one wins, the other is told, never two open handoffs.

The race needs two real connections, so the threaded tests run on PostgreSQL (CI's database); on SQLite,
which lets one writer in at a time, the sequential case and the database constraint are covered in
test_handoff_lifecycle.py.
"""

import threading

import pytest
from django.db import connection

from leads.models import Stage
from sla.models import Handoff
from sla.services import HandoffConflict, handoff_create, lead_route
from smarketing.roles import Function, Role
from tests.factories import LeadFactory, RoutingRuleFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql",
                                reason="a race between two connections needs PostgreSQL")


def race(*calls) -> list[tuple[str, object]]:
    """Runs the calls in threads released at the same instant; each returns ("ok", result) or ("conflict", msg)."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, object]] = []

    def run(call) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(("ok", call()))
        except HandoffConflict as conflict:
            results.append(("conflict", conflict.messages[0]))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_marketers_handing_off_one_lead_at_once_one_wins():
    team = TeamFactory(function=Function.SALES)
    rita = UserFactory(first_name="Rita", last_name="Owner", role=Role.SALES_REP, team=team)
    tom = UserFactory(first_name="Tom", last_name="Teammate", role=Role.SALES_REP, team=team)
    mia = UserFactory(first_name="Mia", last_name="Marketer", role=Role.MARKETER)
    max_ = UserFactory(first_name="Max", last_name="Manager", role=Role.MARKETING_MANAGER)
    lead = LeadFactory(stage=Stage.MQL)

    for _ in range(5):  # a few rounds: the outcome must not depend on who the scheduler favours
        Handoff.objects.filter(lead=lead).delete()
        results = race(lambda: handoff_create(lead=lead, rep=rita, actor=mia),
                       lambda: handoff_create(lead=lead, rep=tom, actor=max_))

        assert sorted(kind for kind, _ in results) == ["conflict", "ok"]
        [message] = [value for kind, value in results if kind == "conflict"]
        assert "was already handed to" in message and "Nothing was changed." in message
        assert Handoff.objects.filter(lead=lead, status__in=["pending", "accepted"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_routing_and_a_marketer_at_once_make_one_handoff():
    team = TeamFactory(function=Function.SALES)
    UserFactory(role=Role.SALES_REP, team=team)
    rep = UserFactory(role=Role.SALES_REP, team=team)
    marketer = UserFactory(role=Role.MARKETER)
    RoutingRuleFactory(team=team)
    lead = LeadFactory(stage=Stage.MQL)

    results = race(lambda: lead_route(lead=lead, actor=None),
                   lambda: handoff_create(lead=lead, rep=rep, actor=marketer))

    assert sorted(kind for kind, _ in results) == ["conflict", "ok"]
    assert Handoff.objects.filter(lead=lead).count() == 1
