"""Read-only figures for the home page and, later, the dashboards."""

from django.db.models import Count, Q

from leads.models import Lead, Stage
from smarketing.models import User

OPEN_FOR_SALES = (Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY)


def stage_counts() -> dict[str, int]:
    """How many leads stand in each stage right now, every stage present (zero when empty)."""
    counts = dict(Lead.objects.values_list("stage").annotate(n=Count("id")).order_by())
    return {stage: counts.get(stage, 0) for stage in Stage.values}


def rep_work_counts(*, rep: User) -> dict[str, int]:
    """A rep's open leads by stage, in one query."""
    return Lead.objects.filter(owner=rep).aggregate(
        **{stage: Count("id", filter=Q(stage=stage)) for stage in OPEN_FOR_SALES}
    )
