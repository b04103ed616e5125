"""SLA compliance for both sides of the contract, read from the sla app's handoffs, breaches and selectors.

Marketing: MQLs delivered against the commitment with the pace expected by today (sla.contract_selectors
.marketing_month), and sales' acceptance of them per source. Sales: the share of first attempts made within
the SLA and of handoffs that reached the K attempts in D days (sla.contract_selectors.sales_compliance, the
same definitions as the SLA pages), the median business time to a first attempt, open breaches oldest first,
a per-rep table, and the breaches per week.

The contract's own modules are imported when they exist: until then the page says the SLA is not set up.
"""

import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from dashboards.periods import Period, Span, day_bounds, org_zone, weeks_back
from dashboards.selectors import dimension_labels

# The median business time to a first attempt is measured on the latest this-many first attempts of the
# period: business time is calendar arithmetic in Python (~20 µs a handoff), so a bounded sample keeps the
# page fast on any volume while a few thousand values pin a median to the minute.
FIRST_ATTEMPT_SAMPLE = 2_000
OPEN_BREACHES_LISTED = 20


def contract_modules():
    try:
        from sla import contract_selectors
        from sla.models import Breach, Handoff
    except ImportError:
        return None
    return contract_selectors, Breach, Handoff


@dataclass
class SourceAcceptance:
    source: str
    delivered: int
    accepted: int
    rejected: int

    @property
    def acceptance_rate(self) -> float | None:
        decided = self.accepted + self.rejected
        return 100.0 * self.accepted / decided if decided else None


@dataclass
class RepCompliance:
    rep_id: int
    name: str
    handoffs: int
    first_due: int
    first_on_time: int
    attempts_due: int
    attempts_on_time: int
    open_breaches: int

    @property
    def first_rate(self) -> float | None:
        return 100.0 * self.first_on_time / self.first_due if self.first_due else None

    @property
    def attempts_rate(self) -> float | None:
        return 100.0 * self.attempts_on_time / self.attempts_due if self.attempts_due else None


@dataclass
class Compliance:
    available: bool
    version: Any = None
    month: date | None = None
    marketing: Any = None
    sources: list[SourceAcceptance] = field(default_factory=list)
    sales: Any = None
    median_first_attempt: timedelta | None = None
    median_sample: int = 0
    open_breaches: list = field(default_factory=list)
    open_breach_count: int = 0
    reps: list[RepCompliance] = field(default_factory=list)
    breach_weeks: list[Span] = field(default_factory=list)
    breach_trend: dict[str, list[int]] = field(default_factory=dict)

    @property
    def breach_week_labels(self) -> list[str]:
        return [f"Week of {span.first:%-d %b}" for span in self.breach_weeks]


def sla_compliance(*, period: Period, now=None) -> Compliance:
    modules = contract_modules()
    if modules is None:
        return Compliance(available=False)
    contract, Breach, Handoff = modules
    now = now or timezone.now()
    zone = org_zone()
    start, end = day_bounds(period.current.first, period.current.last, zone)
    version = contract.sla_version_active()
    result = Compliance(available=True, version=version, month=period.current.last.replace(day=1))
    if version is not None:
        result.marketing = contract.marketing_month(version=version, month=result.month, now=now)
    month_start, month_end = day_bounds(result.month, _month_last(result.month), zone)
    by_source = (Handoff.objects.filter(created_at__gte=month_start, created_at__lt=month_end)
                 .values("lead__source").annotate(
                     delivered=Count("pk", filter=Q(previous__isnull=True)),
                     accepted=Count("pk", filter=Q(accepted_at__isnull=False) & ~Q(status=Handoff.Status.REASSIGNED)),
                     rejected=Count("pk", filter=Q(status=Handoff.Status.REJECTED)))
                 .order_by("-delivered"))
    result.sources = [SourceAcceptance(row["lead__source"] or "(no source)", row["delivered"], row["accepted"],
                                       row["rejected"]) for row in by_source]
    result.sales = contract.sales_compliance(start=start, end=end, now=now)
    result.median_first_attempt, result.median_sample = _median_first_attempt(Handoff, start, end, version)
    open_breaches = Breach.objects.filter(side="sales", met_at__isnull=True, closed_at__isnull=True)
    result.open_breach_count = open_breaches.count()
    result.open_breaches = list(open_breaches.select_related("handoff__lead", "rep")
                                .order_by("due_at", "id")[:OPEN_BREACHES_LISTED])
    result.reps = _reps(Handoff, Breach, start, end, now)
    spans = weeks_back(period.current.last, 12)
    first, last = day_bounds(spans[0].first, spans[-1].last, zone)
    trend = {"sales": [0] * len(spans), "marketing": [0] * len(spans)}
    rows = (Breach.objects.filter(detected_at__gte=first, detected_at__lt=last)
            .annotate(day=TruncDate("detected_at", tzinfo=zone)).values("side", "day").annotate(n=Count("pk"))
            .order_by())
    for row in rows:
        for index, span in enumerate(spans):
            if span.first <= row["day"] <= span.last:
                trend.setdefault(row["side"], [0] * len(spans))[index] += row["n"]
    result.breach_weeks, result.breach_trend = spans, trend
    return result


def _month_last(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _median_first_attempt(Handoff, start, end, version) -> tuple[timedelta | None, int]:
    """The median business time from handoff to first attempt, for first attempts made in [start, end)."""
    from sla.business_time import business_between

    if version is None:
        return None, 0
    calendar = version.calendar.working
    pairs = list(Handoff.objects.filter(first_attempt_at__gte=start, first_attempt_at__lt=end)
                 .order_by("-first_attempt_at").values_list("created_at", "first_attempt_at")[:FIRST_ATTEMPT_SAMPLE])
    if not pairs:
        return None, 0
    seconds = [business_between(calendar, made, first).total_seconds() for made, first in pairs]
    return timedelta(seconds=statistics.median(seconds)), len(pairs)


def _reps(Handoff, Breach, start, end, now) -> list[RepCompliance]:
    """Per rep, the same counts as sales_compliance, in two grouped queries."""
    from leads.models import Stage

    first = (Handoff.objects.filter(first_attempt_due_at__gte=start, first_attempt_due_at__lt=end)
             .filter(Q(first_attempt_due_at__lte=now) | Q(first_attempt_at__isnull=False))
             .values("rep_id").annotate(due=Count("pk"), on_time=Count(
                 "pk", filter=Q(first_attempt_at__lte=F("first_attempt_due_at")))).order_by())
    attempts = (Handoff.objects.filter(attempts_due_at__gte=start, attempts_due_at__lt=end, attempts_due_at__lte=now)
                .exclude(status=Handoff.Status.REASSIGNED)
                .values("rep_id").annotate(due=Count("pk"), on_time=Count(
                    "pk", filter=Q(attempt_count__gte=F("attempts_required"))
                    | Q(lead__stage__in=(Stage.SQL, Stage.OPPORTUNITY, Stage.WON)))).order_by())
    made = (Handoff.objects.filter(created_at__gte=start, created_at__lt=end).values("rep_id")
            .annotate(n=Count("pk")).order_by())
    open_breaches = (Breach.objects.filter(side="sales", met_at__isnull=True, closed_at__isnull=True)
                     .values("rep_id").annotate(n=Count("pk")).order_by())
    table: dict[int, dict[str, int]] = {}
    for rows, keys in ((first, ("first_due", "first_on_time")), (attempts, ("attempts_due", "attempts_on_time"))):
        for row in rows:
            entry = table.setdefault(row["rep_id"], {})
            entry[keys[0]], entry[keys[1]] = row["due"], row["on_time"]
    for row in made:
        table.setdefault(row["rep_id"], {})["handoffs"] = row["n"]
    for row in open_breaches:
        if row["rep_id"] is not None:
            table.setdefault(row["rep_id"], {})["open_breaches"] = row["n"]
    names = dimension_labels("rep", set(table))
    reps = [RepCompliance(rep_id=rep, name=names[rep], handoffs=entry.get("handoffs", 0),
                          first_due=entry.get("first_due", 0), first_on_time=entry.get("first_on_time", 0),
                          attempts_due=entry.get("attempts_due", 0), attempts_on_time=entry.get("attempts_on_time", 0),
                          open_breaches=entry.get("open_breaches", 0)) for rep, entry in table.items()]
    reps.sort(key=lambda rep: (rep.first_rate is None, rep.first_rate if rep.first_rate is not None else 0, rep.name))
    return reps


# --- Goals -----------------------------------------------------------------------------------------------------


@dataclass
class GoalView:
    progress: Any  # sla.contract_selectors.GoalProgress
    forecast: float | None  # where the goal ends at the pace so far (counts); the current value for rates

    @property
    def forecast_percent(self) -> float:
        target = float(self.progress.goal.target)
        return min(100.0, 100.0 * (self.forecast or 0) / target) if target else 0.0

    @property
    def forecast_reaches(self) -> bool:
        return self.forecast is not None and self.forecast >= float(self.progress.goal.target)


def goals_with_forecast(*, now=None) -> list[GoalView] | None:
    """Every goal whose period has not ended more than 90 days ago, with progress and pace (issue 5 computes
    them) and a forecast: a count goal straight-line from its pace so far, a rate goal its current value."""
    modules = contract_modules()
    if modules is None:
        return None
    contract = modules[0]
    from sla.models import Goal

    now = now or timezone.now()
    zone = org_zone()
    today = now.astimezone(zone).date()
    goals = list(Goal.objects.filter(period_end__gte=today - timedelta(days=90)).prefetch_related("teams")
                 .order_by("period_end", "title"))
    views = []
    for progress in contract.goals_progress(goals=goals, now=now):
        forecast = progress.actual
        if not progress.goal.is_rate and progress.actual is not None and 0 < progress.elapsed_percent < 100:
            forecast = progress.actual * 100.0 / progress.elapsed_percent
        views.append(GoalView(progress=progress, forecast=forecast))
    return views
