"""Reads of the SLA contract: versions, compliance of both sides, the SLA calculator, goals and their pace.

Every figure here is computed from the data (handoffs, stage history, attempts); none is typed in.
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Avg, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from leads.models import Activity, ActivityType, ContactAttempt, Lead, Stage, StageChange
from scoring.models import VersionStatus
from sla.business_time import WorkingCalendar, business_between
from sla.models import Breach, BusinessCalendar, Goal, Handoff, SlaVersion
from smarketing.models import User
from smarketing.roles import Role

# --- Versions and calendars --------------------------------------------------------------------------


def _versions() -> QuerySet[SlaVersion]:
    return SlaVersion.objects.select_related(
        "calendar", "created_by", "marketing_signed_by", "sales_signed_by",
    ).prefetch_related("calendar__closed_days", "personas")


def sla_version_active() -> SlaVersion | None:
    return _versions().filter(status=VersionStatus.ACTIVE).first()


def sla_version_draft() -> SlaVersion | None:
    return _versions().filter(status=VersionStatus.DRAFT).first()


def sla_version_get(number: int) -> SlaVersion | None:
    return _versions().filter(number=number).first()


def sla_versions_signed() -> list[SlaVersion]:
    """The versions that took effect, newest first: the contract's history."""
    return list(SlaVersion.objects.exclude(status=VersionStatus.DRAFT).select_related(
        "marketing_signed_by", "sales_signed_by").order_by("-number"))


def sla_version_at(at: datetime) -> SlaVersion | None:
    """The version that was in force at `at` (the last one to take effect by then)."""
    return _versions().exclude(status=VersionStatus.DRAFT).filter(activated_at__lte=at).order_by("-activated_at").first()


def working_calendars_by_version(numbers: set[int]) -> dict[int, WorkingCalendar]:
    """The business calendars of these SLA versions, for counting the business time left on deadlines."""
    calendars = BusinessCalendar.objects.filter(sla_version__number__in=numbers).select_related(
        "sla_version").prefetch_related("closed_days")
    return {calendar.sla_version.number: calendar.working for calendar in calendars}


def org_zone() -> ZoneInfo:
    """The organisation's time zone: the SLA calendar's, else the server's. Months and goal periods use it."""
    zone = SlaVersion.objects.filter(status=VersionStatus.ACTIVE).values_list("calendar__time_zone", flat=True).first()
    return ZoneInfo(zone or settings.TIME_ZONE)


def local_bounds(start: date, end_inclusive: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a span of whole local days runs between: [start 00:00, day after end 00:00)."""
    return (datetime.combine(start, time(0), tzinfo=zone),
            datetime.combine(end_inclusive + timedelta(days=1), time(0), tzinfo=zone))


def month_last_day(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def quarter_of(day: date) -> tuple[date, date]:
    """The first and the last day of the calendar quarter `day` falls in (Q1: 1 Jan – 31 Mar)."""
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return first, month_last_day(first.replace(month=first.month + 2))


def _rate(part: float | int, whole: float | int) -> float | None:
    return 100.0 * part / whole if whole else None


# --- Marketing's side ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarketingMonth:
    month: date
    committed: int
    delivered: int
    expected_by_now: float
    active_reps: int
    accepted: int
    rejected: int
    pipeline_value: Decimal
    pipeline_committed: Decimal | None
    min_acceptance_rate: int | None

    @property
    def acceptance_rate(self) -> float | None:
        return _rate(self.accepted, self.accepted + self.rejected)

    @property
    def delivered_percent(self) -> float:
        return min(100.0, _rate(self.delivered, self.committed) or 0.0)

    @property
    def expected_percent(self) -> float:
        return min(100.0, _rate(self.expected_by_now, self.committed) or 0.0)

    @property
    def behind_pace(self) -> bool:
        return self.delivered < math.floor(self.expected_by_now)


def mqls_delivered(*, start: datetime, end: datetime) -> int:
    """The MQLs marketing delivered to sales in [start, end): the handoffs made, a reassignment not counted
    again (an MQL nobody handed off has not reached sales yet)."""
    return Handoff.objects.filter(previous__isnull=True, created_at__gte=start, created_at__lt=end).count()


def active_rep_count() -> int:
    return User.objects.filter(role=Role.SALES_REP, is_active=True).count()


def marketing_month(*, version: SlaVersion, month: date, now: datetime | None = None) -> MarketingMonth:
    """Marketing's month under `version`: MQLs delivered (handed off to sales) against the commitment, the
    pace expected by `now` (the share of the month's business time gone), sales' acceptance of them, and the
    pipeline value of the leads that became opportunities in the month."""
    now = now or timezone.now()
    calendar = version.calendar.working
    month = month.replace(day=1)
    start, end = local_bounds(month, month_last_day(month), calendar.zone)
    reps = active_rep_count()
    committed = version.mqls_committed(active_reps=reps)
    made = Handoff.objects.filter(created_at__gte=start, created_at__lt=end)
    counts = made.aggregate(
        accepted=Count("pk", filter=Q(accepted_at__isnull=False) & ~Q(status=Handoff.Status.REASSIGNED)),
        rejected=Count("pk", filter=Q(status=Handoff.Status.REJECTED)),
    )
    became_opportunity = StageChange.objects.filter(
        lead=OuterRef("lead_id"), to_stage=Stage.OPPORTUNITY, changed_at__gte=start, changed_at__lt=end,
    )
    pipeline = Handoff.objects.filter(deal_amount__isnull=False).filter(Exists(became_opportunity)).aggregate(
        total=Sum("deal_amount"))["total"] or Decimal(0)
    delivered = mqls_delivered(start=start, end=end)
    month_time = business_between(calendar, start, end)
    gone = business_between(calendar, start, min(max(now, start), end))
    share = gone / month_time if month_time else 1.0
    return MarketingMonth(
        month=month, committed=committed, delivered=delivered, expected_by_now=committed * share,
        active_reps=reps, accepted=counts["accepted"], rejected=counts["rejected"], pipeline_value=pipeline,
        pipeline_committed=version.pipeline_value_per_month, min_acceptance_rate=version.min_acceptance_rate,
    )


# --- Sales' side -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SalesCompliance:
    first_due: int
    first_on_time: int
    attempts_due: int
    attempts_on_time: int
    open_breaches: int
    met_late: int

    @property
    def first_rate(self) -> float | None:
        return _rate(self.first_on_time, self.first_due)

    @property
    def attempts_rate(self) -> float | None:
        return _rate(self.attempts_on_time, self.attempts_due)


def sales_compliance(*, start: datetime, end: datetime, now: datetime | None = None,
                     rep: User | None = None) -> SalesCompliance:
    """How many deadlines that fell in [start, end) sales met on time: a deadline counts once it has passed
    or been met. Open breaches and breaches met late are those detected in the span."""
    now = now or timezone.now()
    handoffs = Handoff.objects.all() if rep is None else Handoff.objects.filter(rep=rep)
    first = handoffs.filter(first_attempt_due_at__gte=start, first_attempt_due_at__lt=end).filter(
        Q(first_attempt_due_at__lte=now) | Q(first_attempt_at__isnull=False)
    ).aggregate(
        due=Count("pk"),
        on_time=Count("pk", filter=Q(first_attempt_at__lte=F("first_attempt_due_at"))),
    )
    attempts = handoffs.filter(attempts_due_at__gte=start, attempts_due_at__lt=end, attempts_due_at__lte=now).exclude(
        status=Handoff.Status.REASSIGNED).aggregate(
        due=Count("pk"),
        on_time=Count("pk", filter=Q(attempts_met_at__lte=F("attempts_due_at"))
                      | Q(lead__stage__in=(Stage.SQL, Stage.OPPORTUNITY, Stage.WON))),
    )
    breaches = Breach.objects.filter(side="sales", detected_at__gte=start, detected_at__lt=end)
    if rep is not None:
        breaches = breaches.filter(rep=rep)
    breach_counts = breaches.aggregate(
        open=Count("pk", filter=Q(met_at=None, closed_at=None)), met_late=Count("pk", filter=Q(met_at__isnull=False)),
    )
    return SalesCompliance(
        first_due=first["due"], first_on_time=first["on_time"], attempts_due=attempts["due"],
        attempts_on_time=attempts["on_time"], open_breaches=breach_counts["open"], met_late=breach_counts["met_late"],
    )


# --- Breaches ------------------------------------------------------------------------------------------


def breaches_for_list(*, side: str = "", kind: str = "", status: str = "", rep_id: int | None = None,
                      ) -> QuerySet[Breach]:
    breaches = Breach.objects.select_related("handoff__lead__company", "rep", "escalated_to")
    if side:
        breaches = breaches.filter(side=side)
    if kind:
        breaches = breaches.filter(kind=kind)
    if status == "open":
        breaches = breaches.filter(met_at=None, closed_at=None)
    elif status == "met_late":
        breaches = breaches.filter(met_at__isnull=False)
    elif status == "never_met":
        breaches = breaches.filter(met_at=None, closed_at__isnull=False)
    if rep_id:
        breaches = breaches.filter(rep_id=rep_id)
    return breaches.order_by("-detected_at", "-id")


def breach_counts() -> dict[str, int]:
    return Breach.objects.aggregate(
        open=Count("pk", filter=Q(met_at=None, closed_at=None)),
        met_late=Count("pk", filter=Q(met_at__isnull=False)),
        never_met=Count("pk", filter=Q(met_at=None, closed_at__isnull=False)),
        total=Count("pk"),
    )


# --- The SLA calculator -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelRates:
    """This organisation's own conversion rates over a window, from the stage history (percentages).

    A stage's rate to the next is the share of the leads that left the stage in the window that went on
    to the next one (the others were recycled, disqualified or lost); lead → MQL is the MQLs of the window
    over the leads created in it. None where the window holds no such move.
    """

    since: datetime
    until: datetime
    lead_to_mql: float | None
    mql_to_sal: float | None
    sal_to_sql: float | None
    sql_to_opportunity: float | None
    win_rate: float | None
    average_deal: Decimal | None
    marketing_share: float | None
    reps: int
    exits: dict[str, int] = field(default_factory=dict)

    @property
    def mql_to_sql(self) -> float | None:
        if self.mql_to_sal is None or self.sal_to_sql is None:
            return None
        return self.mql_to_sal * self.sal_to_sql / 100.0


def funnel_rates(*, since: datetime, until: datetime) -> FunnelRates:
    moves = StageChange.objects.filter(changed_at__gte=since, changed_at__lt=until).values(
        "from_stage", "to_stage").annotate(n=Count("pk")).order_by()
    by_move: dict[tuple[str, str], int] = {(m["from_stage"], m["to_stage"]): m["n"] for m in moves}

    def share(source: str, target: str) -> float | None:
        left = sum(n for (origin, _), n in by_move.items() if origin == source)
        return _rate(by_move.get((source, target), 0), left)

    created = Lead.objects.filter(created_at__gte=since, created_at__lt=until).count()
    mqls = sum(n for (_, target), n in by_move.items() if target == Stage.MQL)
    won = StageChange.objects.filter(lead=OuterRef("lead_id"), to_stage=Stage.WON,
                                     changed_at__gte=since, changed_at__lt=until)
    average = Handoff.objects.filter(won_amount__isnull=False).filter(Exists(won)).aggregate(a=Avg("won_amount"))["a"]
    opportunities = StageChange.objects.filter(to_stage=Stage.OPPORTUNITY, changed_at__gte=since, changed_at__lt=until)
    opportunity_count = opportunities.values("lead_id").distinct().count()
    sourced = opportunities.filter(Exists(Handoff.objects.filter(lead=OuterRef("lead_id")))).values(
        "lead_id").distinct().count()
    return FunnelRates(
        since=since, until=until,
        lead_to_mql=min(100.0, _rate(mqls, created)) if created else None,
        mql_to_sal=share(Stage.MQL, Stage.SAL),
        sal_to_sql=share(Stage.SAL, Stage.SQL),
        sql_to_opportunity=share(Stage.SQL, Stage.OPPORTUNITY),
        win_rate=share(Stage.OPPORTUNITY, Stage.WON),
        average_deal=Decimal(average).quantize(Decimal("1")) if average is not None else None,
        marketing_share=_rate(sourced, opportunity_count),
        reps=active_rep_count(),
        exits={f"{a}→{b}": n for (a, b), n in sorted(by_move.items())},
    )


@dataclass(frozen=True)
class CalculatorInputs:
    """What the calculator works backwards from (rates in percent)."""

    revenue_quota: Decimal
    average_deal: Decimal
    win_rate: float
    sql_to_opportunity: float
    mql_to_sql: float
    lead_to_mql: float
    marketing_share: float
    reps: int


@dataclass(frozen=True)
class CalculatorLine:
    label: str
    per_month: float
    per_rep: float | None


@dataclass(frozen=True)
class CalculatorPlan:
    inputs: CalculatorInputs
    deals: float
    opportunities: float
    sqls: float
    marketing_sqls: float
    mqls: float
    leads: float
    pipeline_value: Decimal

    @property
    def lines(self) -> list[CalculatorLine]:
        reps = self.inputs.reps or None

        def line(label: str, value: float) -> CalculatorLine:
            return CalculatorLine(label, value, value / reps if reps else None)

        return [
            line("Deals won", self.deals),
            line("Opportunities", self.opportunities),
            line("SQLs", self.sqls),
            line("SQLs sourced by marketing", self.marketing_sqls),
            line("MQLs", self.mqls),
            line("Leads", self.leads),
        ]

    @property
    def mqls_per_month(self) -> int:
        return math.ceil(self.mqls - 1e-9)

    @property
    def mqls_per_rep(self) -> int:
        return math.ceil(self.mqls / self.inputs.reps - 1e-9) if self.inputs.reps else self.mqls_per_month


def calculator_plan(inputs: CalculatorInputs) -> CalculatorPlan:
    """Works backwards from a monthly revenue quota: deals = quota ÷ deal size, opportunities = deals ÷ win
    rate, SQLs = opportunities ÷ SQL→opportunity, marketing's SQLs = SQLs × its share, MQLs = those ÷ MQL→SQL,
    leads = MQLs ÷ lead→MQL. Raises ValueError for a zero rate or deal size (nothing converts)."""
    for name in ("average_deal", "win_rate", "sql_to_opportunity", "mql_to_sql", "lead_to_mql"):
        if not getattr(inputs, name) or getattr(inputs, name) <= 0:
            raise ValueError(name)
    deals = float(inputs.revenue_quota) / float(inputs.average_deal)
    opportunities = deals / (inputs.win_rate / 100)
    sqls = opportunities / (inputs.sql_to_opportunity / 100)
    marketing_sqls = sqls * inputs.marketing_share / 100
    mqls = marketing_sqls / (inputs.mql_to_sql / 100)
    leads = mqls / (inputs.lead_to_mql / 100)
    pipeline = Decimal(opportunities * inputs.marketing_share / 100) * inputs.average_deal
    return CalculatorPlan(inputs=inputs, deals=deals, opportunities=opportunities, sqls=sqls,
                          marketing_sqls=marketing_sqls, mqls=mqls, leads=leads,
                          pipeline_value=pipeline.quantize(Decimal("1")))


# --- Goals ---------------------------------------------------------------------------------------------

# Behind pace means below this share of where the goal should be by now: a goal a tenth behind is at risk.
PACE_TOLERANCE = 0.9


@dataclass(frozen=True)
class GoalProgress:
    goal: Goal
    actual: float | None  # a count, an amount, or a percentage for the rates; None: no data yet
    expected: float | None  # where a count should be by now; the target itself for rates
    status: str  # "not started", "on track", "at risk", "achieved", "missed"
    elapsed_percent: float

    @property
    def percent(self) -> float:
        if self.actual is None:
            return 0.0
        return min(100.0, 100.0 * self.actual / float(self.goal.target))

    @property
    def expected_percent(self) -> float:
        if self.expected is None:
            return 0.0
        return min(100.0, 100.0 * self.expected / float(self.goal.target))

    @property
    def at_risk(self) -> bool:
        return self.status == "at risk"


def goal_actual(*, metric: str, start: datetime, end: datetime, now: datetime) -> float | None:
    """A metric's value over [start, end), counted up to `now`."""
    end = min(end, max(now, start))
    if metric == Goal.Metric.NEW_OPPORTUNITIES:
        return StageChange.objects.filter(to_stage=Stage.OPPORTUNITY, changed_at__gte=start, changed_at__lt=end).count()
    if metric == Goal.Metric.REVENUE_WON:
        won = StageChange.objects.filter(lead=OuterRef("lead_id"), to_stage=Stage.WON, changed_at__gte=start,
                                         changed_at__lt=end)
        total = Handoff.objects.filter(won_amount__isnull=False).filter(Exists(won)).aggregate(s=Sum("won_amount"))["s"]
        return float(total or 0)
    if metric == Goal.Metric.MEETINGS_BOOKED:
        # Meetings a rep booked on an attempt, and meetings a lead booked itself (a website calendar).
        by_reps = ContactAttempt.objects.filter(outcome=ContactAttempt.Outcome.MEETING_BOOKED, occurred_at__gte=start,
                                                occurred_at__lt=end).count()
        by_leads = Activity.objects.filter(type=ActivityType.MEETING_BOOKED, occurred_at__gte=start,
                                           occurred_at__lt=end).count()
        return by_reps + by_leads
    if metric == Goal.Metric.MQLS_DELIVERED:
        return mqls_delivered(start=start, end=end)
    if metric == Goal.Metric.MQL_TO_SQL_RATE:
        # The leads that became MQL in the period, and how many of them reached SQL since.
        reached_sql = StageChange.objects.filter(lead=OuterRef("lead_id"), to_stage=Stage.SQL,
                                                 changed_at__gte=OuterRef("changed_at"))
        cohort = StageChange.objects.filter(to_stage=Stage.MQL, changed_at__gte=start, changed_at__lt=end)
        counts = cohort.aggregate(
            mqls=Count("lead_id", distinct=True),
            sqls=Count("lead_id", distinct=True, filter=Q(Exists(reached_sql))),
        )
        return _rate(counts["sqls"], counts["mqls"])
    if metric == Goal.Metric.FIRST_ATTEMPT_COMPLIANCE:
        return sales_compliance(start=start, end=end, now=now).first_rate
    raise ValueError(metric)


def goals_progress(*, goals: list[Goal] | None = None, now: datetime | None = None) -> list[GoalProgress]:
    """Each goal's progress from the data, where it should be by now, and whether it is at risk."""
    now = now or timezone.now()
    zone = org_zone()
    if goals is None:
        goals = list(Goal.objects.prefetch_related(Prefetch("teams")).order_by("period_end", "title"))
    today = now.astimezone(zone).date()
    result = []
    for goal in goals:
        start, end = local_bounds(goal.period_start, goal.period_end, zone)
        actual = goal_actual(metric=goal.metric, start=start, end=end, now=now)
        elapsed = min(1.0, max(0.0, (now - start) / (end - start)))
        target = float(goal.target)
        if goal.is_rate:
            expected = target
            on_pace = actual is not None and actual >= target
        else:
            expected = target * elapsed
            on_pace = actual is not None and actual >= expected * PACE_TOLERANCE
        if today > goal.period_end:
            status = "achieved" if actual is not None and actual >= target else "missed"
        elif today < goal.period_start:
            status = "not started"
        elif actual is not None and actual >= target:
            status = "achieved"
        elif actual is None and goal.is_rate:
            status = "on track"  # nothing to judge yet
        else:
            status = "on track" if on_pace else "at risk"
        result.append(GoalProgress(goal=goal, actual=actual, expected=expected, status=status,
                                   elapsed_percent=100.0 * elapsed))
    return result
