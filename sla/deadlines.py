"""The hook between handoffs and the SLA: the deadlines a new handoff gets.

Handoffs call handoff_deadlines() when they are made and store what it returns on the handoff, so a
later change of the SLA never rewrites history. Until an SLA is in force every value is None.
"""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class HandoffDeadlines:
    first_attempt_due_at: datetime | None = None
    attempts_due_at: datetime | None = None
    attempts_required: int | None = None
    sla_version_number: int | None = None


def handoff_deadlines(*, handed_off_at: datetime) -> HandoffDeadlines:
    """The deadlines the SLA in force sets for a handoff made at `handed_off_at`."""
    return HandoffDeadlines()
