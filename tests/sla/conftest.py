"""What the SLA contract tests share: an SLA in force (Mon–Fri 9–17 Berlin, DE holidays) and handoffs under it."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from scoring.models import VersionStatus
from sla.deadlines import handoff_deadlines
from tests.factories import HandoffFactory, SlaVersionFactory

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def sla_in_force(db):
    """SLA v1 in force: a first attempt within 6 business hours, 4 attempts within 12 working days."""
    return SlaVersionFactory(number=1, status=VersionStatus.ACTIVE, activated_at=berlin(2026, 1, 1, 0, 0))


def handoff_under_sla(*, at: datetime, rep, **fields):
    """A handoff made at `at`, with the deadlines the SLA in force gives it (as the handoff service stores them)."""
    deadlines = handoff_deadlines(handed_off_at=at)
    return HandoffFactory(
        rep=rep, created_at=at, first_attempt_due_at=deadlines.first_attempt_due_at,
        attempts_due_at=deadlines.attempts_due_at, attempts_required=deadlines.attempts_required,
        sla_version_number=deadlines.sla_version_number, **fields,
    )
