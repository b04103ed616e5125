"""The deadlines a handoff gets from the SLA in force, in its business calendar."""

from datetime import time

from freezegun import freeze_time

from scoring.models import VersionStatus
from sla.deadlines import HandoffDeadlines, handoff_deadlines
from sla.models import ClosedDay
from tests.factories import SlaVersionFactory
from tests.sla.conftest import berlin, handoff_under_sla


def test_without_an_sla_in_force_there_are_no_deadlines(db):
    SlaVersionFactory(status=VersionStatus.DRAFT)
    assert handoff_deadlines(handed_off_at=berlin(2026, 11, 20, 16, 0)) == HandoffDeadlines()


def test_a_friday_afternoon_handoff_gets_a_monday_deadline(sla_in_force, sales_rep):
    # Friday 2026-11-20 16:00 Berlin: one business hour on Friday, five on Monday from 09:00.
    with freeze_time("2026-11-20 15:00:00"):  # UTC: 16:00 in Berlin
        deadlines = handoff_deadlines(handed_off_at=berlin(2026, 11, 20, 16, 0))
    assert deadlines.first_attempt_due_at == berlin(2026, 11, 23, 14, 0)
    # 12 working days of 8 hours: Friday's last hour, then 11 full days and 7 hours → Tue Dec 8, 16:00.
    assert deadlines.attempts_due_at == berlin(2026, 12, 8, 16, 0)
    assert deadlines.attempts_required == 4
    assert deadlines.sla_version_number == 1


def test_deadlines_skip_the_calendars_closed_days_and_holidays(sla_in_force):
    ClosedDay.objects.create(calendar=sla_in_force.calendar, day=berlin(2026, 12, 28, 0, 0).date(), label="Year end")
    # Wednesday Dec 23, 15:00: 2 h that day, Thursday 24th 4 h; 25/26 holidays, 28th closed → 29th.
    deadlines = handoff_deadlines(handed_off_at=berlin(2026, 12, 23, 15, 0))
    assert deadlines.first_attempt_due_at == berlin(2026, 12, 24, 13, 0)
    deadlines = handoff_deadlines(handed_off_at=berlin(2026, 12, 24, 14, 0))
    assert deadlines.first_attempt_due_at == berlin(2026, 12, 29, 12, 0)


def test_the_calendar_of_the_version_in_force_counts(sla_in_force):
    sla_in_force.calendar.opens_at, sla_in_force.calendar.closes_at = time(8), time(18)
    sla_in_force.calendar.save()
    deadlines = handoff_deadlines(handed_off_at=berlin(2026, 11, 20, 16, 0))
    assert deadlines.first_attempt_due_at == berlin(2026, 11, 23, 12, 0)


def test_a_new_version_never_rewrites_the_deadlines_handoffs_have(sla_in_force, sales_rep):
    handoff = handoff_under_sla(at=berlin(2026, 11, 20, 16, 0), rep=sales_rep)
    sla_in_force.status = VersionStatus.SUPERSEDED
    sla_in_force.save()
    SlaVersionFactory(number=2, status=VersionStatus.ACTIVE, first_attempt_hours=2)
    handoff.refresh_from_db()
    assert handoff.first_attempt_due_at == berlin(2026, 11, 23, 14, 0)
    assert handoff.sla_version_number == 1
    assert handoff_deadlines(handed_off_at=berlin(2026, 11, 20, 16, 0)).first_attempt_due_at == berlin(2026, 11, 23, 10, 0)
