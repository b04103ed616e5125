"""Two breach checks at the same moment record each breach once and notify once (PostgreSQL).

SQLite serialises writers with a database lock, so only PostgreSQL, where the second INSERT waits on
the unique index for the first transaction, shows whether the claim holds.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from sla.contract_services import NOTIFY_BREACH, NOTIFY_ESCALATION, breaches_check
from sla.models import Breach
from smarketing.models import Notification
from tests.sla.conftest import berlin, handoff_under_sla

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("full", [False, True])
def test_two_checks_at_once_make_one_breach_one_notification_one_escalation(sla_in_force, sales_rep, sales_manager,
                                                                            full):
    handoffs = [handoff_under_sla(at=berlin(2026, 11, 20, 16, 0) + timedelta(minutes=n), rep=sales_rep)
                for n in range(20)]
    now = berlin(2026, 11, 24, 12, 0)
    start = threading.Barrier(4)
    results, errors = [], []

    def run() -> None:
        try:
            start.wait()
            results.append(breaches_check(now=now, full=full))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r.first_attempt for r in results) == len(handoffs)
    assert Breach.objects.count() == len(handoffs)
    for handoff in handoffs:
        assert Breach.objects.filter(handoff=handoff, kind="first_attempt").count() == 1
    assert Notification.objects.filter(recipient=sales_rep, kind=NOTIFY_BREACH).count() == len(handoffs)
    assert Notification.objects.filter(recipient=sales_manager, kind=NOTIFY_ESCALATION).count() == len(handoffs)
