"""What the qualification tests share: a fixed clock, a scoring version in force, and a way to score leads."""

from datetime import UTC, datetime, timedelta

import pytest

from leads.models import Lead
from scoring.compiler import CompiledVersion, LeadScope
from scoring.models import LeadScore, ScoringVersion, VersionStatus
from scoring.services import leads_rescore
from tests.factories import ActivityFactory, ScoringVersionFactory

# The fixed "now" of every scoring test: ages of activities are counted back from here.
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def score(version: ScoringVersion, *leads: Lead, now: datetime = NOW) -> list[LeadScore]:
    """Scores the leads under the version (in force or not) at `now`, and reads their score rows back."""
    leads_rescore(compiled=CompiledVersion.load(version), scope=LeadScope(ids=[lead.pk for lead in leads]), now=now)
    scores = {s.lead_id: s for s in LeadScore.objects.filter(lead__in=leads)}
    return [scores[lead.pk] for lead in leads]


def activity(lead: Lead, type: str = "page_view", *, age_days: float = 0, url: str = "/", **properties):
    return ActivityFactory(lead=lead, type=type, occurred_at=days_ago(age_days), url=url, properties=properties)


@pytest.fixture
def scoring_version(db) -> ScoringVersion:
    """A scoring version in force, with grades A ≥ 60, B ≥ 35, C ≥ 15 and no rules yet."""
    return ScoringVersionFactory(status=VersionStatus.ACTIVE, number=1)
