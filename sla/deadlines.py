"""The hook between handoffs and the SLA: the deadlines a new handoff gets.

Handoffs call handoff_deadlines() when they are made and store what it returns on the handoff, so a
later change of the SLA never rewrites history. Until an SLA is in force every value is None.

The first-attempt deadline is H business hours after the handoff, the K-attempts deadline D working
days after it (D full working days of business time), both in the business calendar of the SLA version
in force when the handoff is made.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from scoring.models import VersionStatus
from sla.business_time import business_add, business_days_add
from sla.models import SlaVersion


@dataclass(frozen=True)
class HandoffDeadlines:
    first_attempt_due_at: datetime | None = None
    attempts_due_at: datetime | None = None
    attempts_required: int | None = None
    sla_version_number: int | None = None


def handoff_deadlines(*, handed_off_at: datetime) -> HandoffDeadlines:
    """The deadlines the SLA in force sets for a handoff made at `handed_off_at`."""
    version = (
        SlaVersion.objects.filter(status=VersionStatus.ACTIVE).select_related("calendar")
        .prefetch_related("calendar__closed_days").first()
    )
    if version is None:
        return HandoffDeadlines()
    calendar = version.calendar.working
    return HandoffDeadlines(
        first_attempt_due_at=business_add(calendar, handed_off_at, timedelta(hours=version.first_attempt_hours)),
        attempts_due_at=business_days_add(calendar, handed_off_at, version.attempts_within_days),
        attempts_required=version.attempts_required,
        sla_version_number=version.number,
    )
