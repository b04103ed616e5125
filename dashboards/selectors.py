"""Read-only figures for the home page and the dashboards.

The funnel reads the daily rollups (dashboards.models.FunnelDay) for past days and computes the days not
rolled up yet, today always among them, live from the stage history (cached for a minute). Each read is
a fixed handful of queries whatever the data size: the number of rows they return grows with the days
and dimension values asked for, never with the leads.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from dashboards.metrics import (
    EXITS,
    FORWARD,
    STAGE_LABELS,
    STEPS,
    CrossRow,
    Flow,
    Key,
    moves_between,
    percent_change,
    velocity_parse,
)
from dashboards.models import CalibrationSnapshot, FunnelDay, Grain, RollupDay
from dashboards.periods import Period, Span, day_bounds, local_today, org_zone, weeks_back
from leads.models import Lead, Stage
from scoring.models import Persona
from smarketing.models import Team, User
from smarketing.roles import Role

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


# --- Filters and dimensions -------------------------------------------------------------------------------

# A breakdown's name → the rollup column it groups by.
DIMENSIONS = {"source": "source", "campaign": "campaign", "persona": "persona_id", "rep": "rep_id",
              "team": "team_id"}
DIMENSION_LABELS = {"source": "Source", "campaign": "Campaign", "persona": "Persona", "rep": "Rep", "team": "Team"}
# Position of each dimension in a full-cross key (from, to, source, campaign, persona, rep, team).
_KEY_INDEX = {"source": 2, "campaign": 3, "persona": 4, "rep": 5, "team": 6}


@dataclass(frozen=True)
class Filters:
    source: str = ""
    campaign: str = ""
    persona: int | None = None
    rep: int | None = None
    team: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.source or self.campaign or self.persona or self.rep or self.team)

    def items(self) -> list[tuple[str, object]]:
        return [(name, value) for name, value in (("source", self.source), ("campaign", self.campaign),
                                                  ("persona", self.persona), ("rep", self.rep),
                                                  ("team", self.team)) if value]

    def rollup_q(self) -> Q:
        return Q(**{DIMENSIONS[name]: value for name, value in self.items()})

    def matches(self, key: Key) -> bool:
        return all(key[_KEY_INDEX[name]] == value for name, value in self.items())


# The dimensions each grain keeps (dashboards.services rolls every grain up), smallest first.
GRAIN_DIMENSIONS: list[tuple[str, frozenset[str]]] = [
    (Grain.TOTAL, frozenset()),
    (Grain.SOURCE, frozenset({"source"})),
    (Grain.PERSONA, frozenset({"persona"})),
    (Grain.REP, frozenset({"rep"})),
    (Grain.TEAM, frozenset({"team"})),
    (Grain.CAMPAIGN, frozenset({"source", "campaign"})),
    (Grain.ALL, frozenset({"source", "campaign", "persona", "rep", "team"})),
]


def grain_for(dimensions: set[str]) -> str:
    """The smallest rollup grain that keeps every dimension a view filters or splits by: a view filtered by
    one rep reads the rep grain (a few rows a day), only a cross of dimensions reads the full cross."""
    return next(grain for grain, kept in GRAIN_DIMENSIONS if dimensions <= kept)


def _positive_int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and 0 < int(value) < 2**63 else None


def filters_from(params) -> Filters:
    """The filters a query string names; values that cannot be an id are ignored, not an error."""
    return Filters(
        source=(params.get("source") or "").strip()[:100],
        campaign=(params.get("campaign") or "").strip()[:200],
        persona=_positive_int(params.get("persona")),
        rep=_positive_int(params.get("rep")),
        team=_positive_int(params.get("team")),
    )


@dataclass(frozen=True)
class FilterChoices:
    sources: list[str]
    campaigns: list[str]
    personas: list[tuple[int, str]]
    reps: list[tuple[int, str]]
    teams: list[tuple[int, str]]


def filter_choices() -> FilterChoices:
    """What the filter menus offer: the sources and campaigns the rollups have seen, and the people.

    Kept ten minutes: a new campaign, persona or rep shows in the menus a few minutes late.
    """
    choices = cache.get("dashboards:filter-choices")
    if choices is None:
        choices = _filter_choices()
        cache.set("dashboards:filter-choices", choices, 600 if choices.sources else 60)
    return choices


def _filter_choices() -> FilterChoices:
    def distinct(column: str) -> list[str]:
        return [value for value in FunnelDay.objects.filter(grain=Grain.CAMPAIGN).exclude(**{column: ""})
                .order_by(column).values_list(column, flat=True).distinct()]

    sources, campaigns = distinct("source"), distinct("campaign")
    if not sources:  # nothing rolled up yet: read the leads (small databases, the first day)
        sources = list(Lead.objects.exclude(source="").order_by("source").values_list("source", flat=True)
                       .distinct()[:200])
        campaigns = list(Lead.objects.exclude(campaign="").order_by("campaign").values_list("campaign", flat=True)
                         .distinct()[:200])
    return FilterChoices(
        sources=sources, campaigns=campaigns,
        personas=list(Persona.objects.order_by("name").values_list("id", "name")),
        reps=[(pk, f"{first} {last}".strip() or email) for pk, first, last, email in
              User.objects.filter(role__in=[Role.SALES_REP, Role.SALES_MANAGER])
              .order_by("first_name", "last_name").values_list("id", "first_name", "last_name", "email")],
        teams=list(Team.objects.order_by("name").values_list("id", "name")),
    )


def dimension_labels(by: str, values: set) -> dict:
    """Display names of the values of a breakdown: persona, rep and team ids become names (one query)."""
    ids = {value for value in values if value is not None}
    if by == "persona":
        names = dict(Persona.objects.filter(pk__in=ids).values_list("id", "name"))
        return {value: names.get(value, "Persona removed") if value else "No persona" for value in values}
    if by == "rep":
        names = {pk: f"{first} {last}".strip() or email for pk, first, last, email in
                 User.objects.filter(pk__in=ids).values_list("id", "first_name", "last_name", "email")}
        return {value: names.get(value, "Former user") if value else "Unassigned" for value in values}
    if by == "team":
        names = dict(Team.objects.filter(pk__in=ids).values_list("id", "name"))
        return {value: names.get(value, "Team removed") if value else "No team" for value in values}
    blank = "(no source)" if by == "source" else "(no campaign)"
    return {value: value or blank for value in values}


def filter_chips(filters: Filters) -> list[tuple[str, str]]:
    """The active filters as people read them: "Rep: Rita Rep", never the id the URL carries."""
    return [(name, dimension_labels(name, {value})[value]) for name, value in filters.items()]


# --- The flows of a span of days ------------------------------------------------------------------------


def _live_seconds() -> int:
    return getattr(settings, "DASHBOARD_LIVE_CACHE_SECONDS", 60)


def _live_cross(first: date, last: date, zone: ZoneInfo, today: date) -> dict[Key, CrossRow]:
    """The full cross of days that are not rolled up, computed from the stage history; kept in the cache for
    a minute when today is among them (so today's figures are at most a minute old), ten otherwise."""
    key = f"dashboards:live:{zone}:{first.isoformat()}:{last.isoformat()}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    start, end = day_bounds(first, last, zone)
    rows = moves_between(start, end)
    cache.set(key, rows, _live_seconds() if last >= today else 600)
    return rows


def _missing_runs(span: Span, stored: set[date]) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    day = span.first
    while day <= span.last:
        if day not in stored:
            if runs and runs[-1][1] == day - timedelta(days=1):
                runs[-1] = (runs[-1][0], day)
            else:
                runs.append((day, day))
        day += timedelta(days=1)
    return runs


def _stored_days(span: Span, today: date) -> set[date]:
    # Today is never read from the rollups, even if someone rolled part of it up: it is always live.
    return set(RollupDay.objects.filter(day__gte=span.first, day__lte=min(span.last, today - timedelta(days=1)))
               .values_list("day", flat=True))


def funnel_flows(*, span: Span, filters: Filters, by: str | None = None, velocity: bool = False,
                 zone: ZoneInfo | None = None, today: date | None = None) -> dict[object, Flow]:
    """The moves of a span of days under the filters, summed per value of the `by` dimension (or under the
    key None): stored days from the rollups, the others live."""
    zone = zone or org_zone()
    today = today or local_today(zone)
    flows: dict[object, Flow] = defaultdict(Flow)
    stored = _stored_days(span, today)
    column = DIMENSIONS[by] if by else None
    if stored:
        grain = grain_for({name for name, _ in filters.items()} | ({by} if by else set()))
        rows = FunnelDay.objects.filter(filters.rollup_q(), grain=grain, day__gte=span.first,
                                        day__lte=min(span.last, today - timedelta(days=1)))
        group = [column] if column else []
        if column == "campaign":
            group = ["source", "campaign"]
        for row in rows.values(*group, "from_stage", "to_stage").annotate(
                n=Sum("moves"), back=Sum("returning"), won=Sum("won_amount")).order_by():
            flows[_group_value(by, row)].add(row["from_stage"], row["to_stage"], row["n"], row["back"] or 0,
                                             row["won"] or 0)
        if velocity:
            steps = Q()
            for from_stage, to_stage in STEPS:
                steps |= Q(from_stage=from_stage, to_stage=to_stage)
            for row in rows.filter(steps).exclude(velocity="").values(*group, "from_stage", "to_stage", "velocity"):
                flows[_group_value(by, row)].velocity[(row["from_stage"], row["to_stage"])].update(
                    velocity_parse(row["velocity"]))
    for first, last in _missing_runs(span, stored):
        for key, row in _live_cross(first, last, zone, today).items():
            if not filters.matches(key):
                continue
            value = (key[2], key[3]) if by == "campaign" else key[_KEY_INDEX[by]] if by else None
            flows[value].add(key[0], key[1], row.moves, row.returning, row.won_amount,
                             row.velocity if velocity else None)
    return dict(flows)


def _group_value(by: str | None, row: dict):
    if by is None:
        return None
    if by == "campaign":
        return (row["source"], row["campaign"])
    return row[DIMENSIONS[by]]


def funnel_flow(*, span: Span, filters: Filters, velocity: bool = False, zone: ZoneInfo | None = None,
                today: date | None = None) -> Flow:
    return funnel_flows(span=span, filters=filters, velocity=velocity, zone=zone, today=today).get(None, Flow())


# --- The funnel panel -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageFigure:
    stage: str
    label: str
    entered: int
    returning: int
    previous: int
    change: float | None


@dataclass(frozen=True)
class StepFigure:
    from_stage: str
    to_stage: str
    label: str
    moves: int
    rate: float | None
    previous_rate: float | None
    median_seconds: float | None
    p80_seconds: float | None
    previous_median_seconds: float | None

    @property
    def rate_change(self) -> float | None:
        """In percentage points."""
        if self.rate is None or self.previous_rate is None:
            return None
        return self.rate - self.previous_rate

    @property
    def median_change(self) -> float | None:
        return percent_change(self.median_seconds, self.previous_median_seconds)


@dataclass(frozen=True)
class FunnelReport:
    period: Period
    filters: Filters
    current: Flow
    previous: Flow
    stages: list[StageFigure]
    steps: list[StepFigure]
    exits: list[StageFigure]

    @property
    def is_empty(self) -> bool:
        return self.current.is_empty and self.previous.is_empty


def _step_label(from_stage: str, to_stage: str) -> str:
    first = "Lead" if from_stage == Stage.NEW else STAGE_LABELS[from_stage]
    return f"{first} → {STAGE_LABELS[to_stage]}"


def _stage_figures(stages: list[str], current: Flow, previous: Flow) -> list[StageFigure]:
    return [StageFigure(stage=stage, label="Leads" if stage == Stage.NEW else STAGE_LABELS[stage],
                        entered=current.entered(stage), returning=current.returning[stage],
                        previous=previous.entered(stage),
                        change=percent_change(current.entered(stage), previous.entered(stage)))
            for stage in stages]


def funnel_report(*, period: Period, filters: Filters, zone: ZoneInfo | None = None) -> FunnelReport:
    """Leads entering each stage, stage-to-stage conversion and velocity, this period against the previous."""
    zone = zone or org_zone()
    today = local_today(zone)
    current = funnel_flow(span=period.current, filters=filters, velocity=True, zone=zone, today=today)
    previous = funnel_flow(span=period.previous, filters=filters, velocity=True, zone=zone, today=today)
    steps = [
        StepFigure(from_stage=a, to_stage=b, label=_step_label(a, b), moves=current.moves[(a, b)],
                   rate=current.conversion(a, b), previous_rate=previous.conversion(a, b),
                   median_seconds=current.velocity_percentile(a, b, 0.5),
                   p80_seconds=current.velocity_percentile(a, b, 0.8),
                   previous_median_seconds=previous.velocity_percentile(a, b, 0.5))
        for a, b in STEPS
    ]
    return FunnelReport(period=period, filters=filters, current=current, previous=previous,
                        stages=_stage_figures(FORWARD, current, previous), steps=steps,
                        exits=_stage_figures(EXITS, current, previous))


# --- Breakdowns and the closed loop -----------------------------------------------------------------------


@dataclass(frozen=True)
class BreakdownRow:
    value: object
    label: str
    flow: Flow
    source_label: str = ""

    @property
    def leads(self) -> int:
        return self.flow.entered(Stage.NEW)

    def entered(self, stage: str) -> int:
        return self.flow.entered(stage)

    @property
    def counts(self) -> list[int]:
        return [self.flow.entered(stage) for stage in FORWARD]

    @property
    def lead_to_mql(self) -> float | None:
        return self.flow.conversion(Stage.NEW, Stage.MQL)

    @property
    def mql_to_sql(self) -> float | None:
        """SQLs over MQLs of the period: a flow ratio, the closed loop's plain-language figure."""
        mqls = self.flow.entered(Stage.MQL)
        return 100.0 * self.flow.entered(Stage.SQL) / mqls if mqls else None

    @property
    def win_rate(self) -> float | None:
        return self.flow.conversion(Stage.OPPORTUNITY, Stage.WON)

    @property
    def revenue(self) -> Decimal:
        return self.flow.won_amount

    @property
    def revenue_per_lead(self) -> Decimal | None:
        return (self.flow.won_amount / self.leads).quantize(Decimal("0.01")) if self.leads else None


@dataclass(frozen=True)
class Breakdown:
    by: str
    label: str
    rows: list[BreakdownRow]
    total: BreakdownRow


def funnel_breakdown(*, span: Span, filters: Filters, by: str, zone: ZoneInfo | None = None) -> Breakdown:
    """The funnel per source, campaign, persona, rep or team, biggest first, with a total row."""
    flows = funnel_flows(span=span, filters=filters, by=by, zone=zone)
    if by == "campaign":
        labels = {value: value[1] or "(no campaign)" for value in flows}
        source_labels = {value: value[0] or "(no source)" for value in flows}
    else:
        labels = dimension_labels(by, set(flows))
        source_labels = {}
    rows = [BreakdownRow(value=value, label=labels[value], flow=flow, source_label=source_labels.get(value, ""))
            for value, flow in flows.items() if not flow.is_empty]
    rows.sort(key=lambda row: (-row.leads, -row.entered(Stage.MQL), row.label))
    total = Flow()
    for row in rows:
        total.merge(row.flow)
    return Breakdown(by=by, label=DIMENSION_LABELS[by], rows=rows, total=BreakdownRow(None, "Total", total))


@dataclass(frozen=True)
class ClosedLoopSource:
    row: BreakdownRow
    campaigns: list[BreakdownRow]


def closed_loop(*, span: Span, filters: Filters, zone: ZoneInfo | None = None) -> list[ClosedLoopSource]:
    """Leads → MQLs → SQLs → won and revenue won, per source with its campaigns under it."""
    campaigns = funnel_breakdown(span=span, filters=filters, by="campaign", zone=zone).rows
    by_source: dict[str, list[BreakdownRow]] = defaultdict(list)
    for row in campaigns:
        by_source[row.value[0]].append(row)
    result = []
    for source, rows in by_source.items():
        flow = Flow()
        for row in rows:
            flow.merge(row.flow)
        result.append(ClosedLoopSource(row=BreakdownRow(source, source or "(no source)", flow), campaigns=rows))
    result.sort(key=lambda item: (-item.row.revenue, -item.row.leads, item.row.label))
    return result


# --- The trend ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendSeries:
    stage: str
    label: str
    weeks: list[tuple[Span, int]] = field(default_factory=list)

    @property
    def values(self) -> list[int]:
        return [count for _, count in self.weeks]

    @property
    def total(self) -> int:
        return sum(self.values)

    @property
    def week_labels(self) -> list[str]:
        return [f"Week of {span.first:%-d %b}" for span, _ in self.weeks]


def funnel_trend(*, filters: Filters, weeks: int = 12, zone: ZoneInfo | None = None,
                 today: date | None = None) -> list[TrendSeries]:
    """Leads entering each forward stage per ISO week, the last `weeks` weeks (this one unfinished)."""
    zone = zone or org_zone()
    today = today or local_today(zone)
    spans = weeks_back(today, weeks)
    whole = Span(spans[0].first, today)
    stored = _stored_days(whole, today)
    per_day: dict[tuple[date, str], int] = defaultdict(int)
    if stored:
        grain = grain_for({name for name, _ in filters.items()})
        rows = FunnelDay.objects.filter(filters.rollup_q(), grain=grain, day__gte=whole.first,
                                        day__lt=today, to_stage__in=FORWARD)
        for row in rows.values("day", "to_stage").annotate(n=Sum("moves")).order_by():
            per_day[(row["day"], row["to_stage"])] += row["n"]
    # Days not rolled up are computed live, one computation per week at most (only today's, once the
    # daily job has run): each week's total is all the chart needs.
    for span in spans:
        for first, last in _missing_runs(Span(span.first, min(span.last, today)), stored):
            for key, row in _live_cross(first, last, zone, today).items():
                if key[1] in FORWARD and filters.matches(key):
                    per_day[(first, key[1])] += row.moves
    result = []
    for stage in FORWARD:
        series = TrendSeries(stage=stage, label="Leads" if stage == Stage.NEW else STAGE_LABELS[stage])
        for span in spans:
            series.weeks.append((span, sum(n for (day, to), n in per_day.items()
                                           if to == stage and span.first <= day <= span.last)))
        result.append(series)
    return result


# --- Calibration ---------------------------------------------------------------------------------------------

# A snapshot older than this is recomputed (nightly by the job, or on the next visit on a small database).
CALIBRATION_MAX_AGE = timedelta(hours=24)


def calibration_latest(*, outcome: str) -> CalibrationSnapshot | None:
    return CalibrationSnapshot.objects.filter(outcome=outcome).order_by("-computed_at", "-id").first()


def calibration_is_stale(snapshot: CalibrationSnapshot | None, *, version_number: int | None) -> bool:
    from django.utils import timezone

    return (snapshot is None or snapshot.scoring_version_number != version_number
            or timezone.now() - snapshot.computed_at > CALIBRATION_MAX_AGE)


# --- The feedback loop -------------------------------------------------------------------------------------


def lead_filter_q(filters: Filters, prefix: str = "lead__") -> Q:
    """The dashboard filters as a condition on a model with a lead (today's source, campaign, persona, owner)."""
    conditions = {
        "source": f"{prefix}source", "campaign": f"{prefix}campaign", "persona": f"{prefix}score__persona_id",
        "rep": f"{prefix}owner_id", "team": f"{prefix}owner__team_id",
    }
    return Q(**{conditions[name]: value for name, value in filters.items()})


@dataclass(frozen=True)
class ObjectionHeard:
    objection_id: int
    label: str
    heard: int
    previous: int
    answers: int

    @property
    def change(self) -> float | None:
        return percent_change(self.heard, self.previous)


def objections_heard(*, period: Period, filters: Filters, zone: ZoneInfo | None = None) -> list[ObjectionHeard]:
    """Objections by how often reps heard them (on contact attempts and in feedback), most heard first, with
    how many pieces of content answer each: the ones without are marketing's to-do list."""
    from leads.models import ContactAttempt, Feedback, Objection

    zone = zone or org_zone()
    counts: dict[str, dict[int, int]] = {"current": defaultdict(int), "previous": defaultdict(int)}
    for name, span in (("current", period.current), ("previous", period.previous)):
        start, end = day_bounds(span.first, span.last, zone)
        for model, moment in ((ContactAttempt, "occurred_at"), (Feedback, "created_at")):
            rows = (model.objects.filter(lead_filter_q(filters), objection__isnull=False,
                                         **{f"{moment}__gte": start, f"{moment}__lt": end})
                    .values("objection_id").annotate(n=Count("id")).order_by())
            for row in rows:
                counts[name][row["objection_id"]] += row["n"]
    ids = set(counts["current"]) | set(counts["previous"])
    objections = Objection.objects.filter(pk__in=ids).annotate(answer_count=Count("answers")).values_list(
        "id", "label", "answer_count")
    result = [ObjectionHeard(objection_id=pk, label=label, heard=counts["current"].get(pk, 0),
                             previous=counts["previous"].get(pk, 0), answers=answers)
              for pk, label, answers in objections]
    result.sort(key=lambda item: (-item.heard, -item.previous, item.label))
    return [item for item in result if item.heard or item.previous]


def objections_without_content() -> list[tuple[int, str, int]]:
    """Active objections no content answers yet, with how often they were heard in all: (id, label, heard)."""
    from leads.models import Objection

    return list(Objection.objects.filter(is_active=True, answers__isnull=True)
                .annotate(heard=Count("contact_attempts", distinct=True) + Count("feedback", distinct=True))
                .order_by("-heard", "label").values_list("id", "label", "heard"))


FEEDBACK_REASON_KINDS = ("rejection", "disqualification", "loss", "recycling")


@dataclass(frozen=True)
class ReasonCount:
    kind: str
    kind_label: str
    reason: str
    count: int
    previous: int
    by_value: dict = field(default_factory=dict)

    @property
    def change(self) -> float | None:
        return percent_change(self.count, self.previous)


@dataclass(frozen=True)
class ReasonsReport:
    by: str
    values: list[tuple[object, str]]  # the breakdown's columns, biggest first
    reasons: list[ReasonCount]
    weeks: list[Span]
    weekly: dict[str, list[int]]  # kind -> count per week

    @property
    def week_labels(self) -> list[str]:
        return [f"Week of {span.first:%-d %b}" for span in self.weeks]

    @property
    def has_weekly(self) -> bool:
        return any(any(counts) for counts in self.weekly.values())


_FEEDBACK_DIMENSION = {"source": "lead__source", "campaign": "lead__campaign", "persona": "lead__score__persona_id",
                       "rep": "lead__owner_id", "team": "lead__owner__team_id"}


def feedback_reasons(*, period: Period, filters: Filters, by: str, zone: ZoneInfo | None = None,
                     weeks: int = 12) -> ReasonsReport:
    """Why leads were rejected, disqualified, lost or sent back, per listed reason: this period, the previous
    one, split by a dimension; and each kind per week over the last `weeks` weeks."""
    from django.db.models.functions import TruncDate

    from leads.models import Feedback, FeedbackKind

    zone = zone or org_zone()
    column = _FEEDBACK_DIMENSION[by]
    base = Feedback.objects.filter(lead_filter_q(filters), kind__in=FEEDBACK_REASON_KINDS, reason__isnull=False)
    start, end = day_bounds(period.current.first, period.current.last, zone)
    current = (base.filter(created_at__gte=start, created_at__lt=end)
               .values("kind", "reason__label", column).annotate(n=Count("id")).order_by())
    previous_start, previous_end = day_bounds(period.previous.first, period.previous.last, zone)
    previous = dict(((row["kind"], row["reason__label"]), row["n"]) for row in
                    base.filter(created_at__gte=previous_start, created_at__lt=previous_end)
                    .values("kind", "reason__label").annotate(n=Count("id")).order_by())
    per_reason: dict[tuple[str, str], dict] = defaultdict(lambda: defaultdict(int))
    value_totals: dict = defaultdict(int)
    for row in current:
        per_reason[(row["kind"], row["reason__label"])][row[column]] += row["n"]
        value_totals[row[column]] += row["n"]
    labels = dict(FeedbackKind.choices)
    keys = set(per_reason) | set(previous)
    reasons = [ReasonCount(kind=kind, kind_label=labels.get(kind, kind), reason=reason,
                           count=sum(per_reason[(kind, reason)].values()), previous=previous.get((kind, reason), 0),
                           by_value=dict(per_reason[(kind, reason)]))
               for kind, reason in keys]
    reasons.sort(key=lambda item: (FEEDBACK_REASON_KINDS.index(item.kind), -item.count, -item.previous, item.reason))
    ordered_values = sorted(value_totals, key=lambda value: -value_totals[value])[:8]
    value_labels = dimension_labels(by, set(ordered_values))

    today = local_today(zone)
    spans = weeks_back(today, weeks)
    first, last = day_bounds(spans[0].first, today, zone)
    weekly = {kind: [0] * len(spans) for kind in FEEDBACK_REASON_KINDS}
    days = (Feedback.objects.filter(lead_filter_q(filters), kind__in=FEEDBACK_REASON_KINDS, created_at__gte=first,
                                    created_at__lt=last)
            .annotate(day=TruncDate("created_at", tzinfo=zone)).values("kind", "day").annotate(n=Count("id"))
            .order_by())
    for row in days:
        for index, span in enumerate(spans):
            if span.first <= row["day"] <= span.last:
                weekly[row["kind"]][index] += row["n"]
    return ReasonsReport(by=by, values=[(value, value_labels[value]) for value in ordered_values], reasons=reasons,
                         weeks=spans, weekly=weekly)


@dataclass(frozen=True)
class QualityRow:
    value: object
    label: str
    ratings: int
    average: float | None
    low: int  # rated 1 or 2


def feedback_quality(*, period: Period, filters: Filters, by: str, zone: ZoneInfo | None = None) -> list[QualityRow]:
    """Sales' lead-quality ratings (1–5) in the period per source, campaign, persona, rep or team."""
    from django.db.models import Avg

    from leads.models import Feedback

    zone = zone or org_zone()
    column = _FEEDBACK_DIMENSION[by]
    start, end = day_bounds(period.current.first, period.current.last, zone)
    rows = list(Feedback.objects.filter(lead_filter_q(filters), created_at__gte=start, created_at__lt=end)
                .values(column).annotate(n=Count("id"), average=Avg("quality"), low=Count("id", filter=Q(quality__lte=2)))
                .order_by("-n"))
    labels = dimension_labels(by, {row[column] for row in rows})
    return [QualityRow(value=row[column], label=labels[row[column]], ratings=row["n"],
                       average=float(row["average"]) if row["average"] is not None else None, low=row["low"])
            for row in rows]


FEEDBACK_TEXT_LIMIT = 60


def feedback_texts(*, filters: Filters, search: str = "", limit: int = FEEDBACK_TEXT_LIMIT) -> dict[str, list]:
    """The latest written feedback (newest first, at most `limit`), grouped by reason, optionally searched."""
    from leads.models import Feedback

    rows = (Feedback.objects.filter(lead_filter_q(filters)).exclude(text="")
            .select_related("reason", "lead", "author", "objection").order_by("-created_at", "-id"))
    if search.strip():
        rows = rows.filter(text__icontains=search.strip()[:100])
    grouped: dict[str, list] = {}
    for feedback in rows[:limit]:
        label = feedback.reason.label if feedback.reason else feedback.get_kind_display()
        grouped.setdefault(label, []).append(feedback)
    return grouped


# --- A minute of caching -----------------------------------------------------------------------------------------


def cached(name: str, parts: tuple, compute):
    """`compute()`, kept in the cache for DASHBOARD_CACHE_SECONDS (60) under `name` and the view's state.

    Today's figures are already live only to the minute (see _live_cross), so keeping a computed view for
    a minute changes no number anyone sees; it spares the database and the template engine the same
    work for every manager opening the same view on Monday morning. 0 switches it off (the query tests).
    """
    import hashlib

    seconds = getattr(settings, "DASHBOARD_CACHE_SECONDS", 60)
    if seconds <= 0:
        return compute()
    key = f"dashboards:{name}:" + hashlib.sha256(repr(parts).encode()).hexdigest()[:40]
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value


def cached_html(name: str, parts: tuple, template: str, context, *, request=None) -> SafeString:
    """`template` rendered with `context()` (called only when the cache misses), kept like cached(). Only for
    HTML that is the same for everyone sharing `parts`: no form, no CSRF token, nothing personal."""
    html = cached(name, parts, lambda: render_to_string(template, context(), request=request))
    return mark_safe(html)  # noqa: S308 - our own template, escaped as it rendered
