"""Reads that assemble the meetings' agendas, the weekly digest and the monthly report from the selectors.

Every part is computed from the data when asked; only what people write (notes, action items) is stored.
Parts that read the SLA contract (compliance, breaches, goals) appear once the sla app provides them.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from dashboards.metrics import FORWARD
from dashboards.models import ActionItem, Meeting
from dashboards.periods import Period, Span, add_months, day_bounds, month_end, org_zone, week_monday
from dashboards.selectors import (
    Filters,
    FunnelReport,
    ObjectionHeard,
    ReasonCount,
    closed_loop,
    feedback_reasons,
    funnel_report,
    objections_heard,
)
from leads.csv_files import csv_safe


def week_period(monday: date) -> Period:
    """The week starting `monday`, compared with the week before."""
    return Period("week", f"Week of {monday:%-d %b %Y}", Span(monday, monday + timedelta(days=6)),
                  Span(monday - timedelta(days=7), monday - timedelta(days=1)), to_date=False)


def month_period(first: date) -> Period:
    previous = add_months(first, -1)
    return Period("month", f"{first:%B %Y}", Span(first, month_end(first)), Span(previous, month_end(previous)),
                  to_date=False)


# --- The SLA contract's parts, read through issue 5's selectors when they are there ------------------------


def _contract():
    """sla.contract_selectors, or None while the SLA contract is not part of the code base."""
    try:
        from sla import contract_selectors
    except ImportError:
        return None
    return contract_selectors


@dataclass
class ContractPart:
    available: bool = False
    marketing: Any = None  # contract_selectors.MarketingMonth
    sales: Any = None  # contract_selectors.SalesCompliance
    version: Any = None
    breaches: list = field(default_factory=list)
    breach_count: int = 0
    goals: list = field(default_factory=list)  # contract_selectors.GoalProgress

    @property
    def goals_at_risk(self) -> list:
        return [goal for goal in self.goals if goal.at_risk]


BREACHES_LISTED = 15


def contract_part(*, span: Span, now: datetime | None = None) -> ContractPart:
    """Both sides of the SLA for a span, the sales breaches detected in it and the goals that overlap it."""
    contract = _contract()
    if contract is None:
        return ContractPart()
    from django.utils import timezone

    from sla.models import Breach, Goal

    now = now or timezone.now()
    zone = org_zone()
    start, end = day_bounds(span.first, span.last, zone)
    version = contract.sla_version_active()
    part = ContractPart(available=True, version=version)
    if version is not None:
        part.marketing = contract.marketing_month(version=version, month=span.first.replace(day=1), now=min(now, end))
        part.sales = contract.sales_compliance(start=start, end=end, now=now)
    breaches = Breach.objects.filter(side="sales", detected_at__gte=start, detected_at__lt=end)
    part.breach_count = breaches.count()
    part.breaches = list(breaches.select_related("handoff__lead", "rep").order_by("detected_at", "id")[:BREACHES_LISTED])
    goals = list(Goal.objects.filter(period_start__lte=span.last, period_end__gte=span.first)
                 .prefetch_related("teams").order_by("period_end", "title"))
    part.goals = contract.goals_progress(goals=goals, now=now)
    return part


# --- The weekly meeting -----------------------------------------------------------------------------------

REJECTED_LISTED = 15


def rejected_handoffs(*, span: Span) -> QuerySet:
    """Handoffs sales rejected in the span, oldest first: the leads both teams talk through."""
    from sla.models import Handoff

    zone = org_zone()
    start, end = day_bounds(span.first, span.last, zone)
    return (Handoff.objects.filter(status=Handoff.Status.REJECTED, rejected_at__gte=start, rejected_at__lt=end)
            .select_related("lead", "rep", "rejection_reason").order_by("rejected_at", "id"))


def action_items_for(*, kind: str, period_start: date) -> list[ActionItem]:
    """The action items a meeting shows: those agreed at it and at every earlier meeting of its kind that were
    still open when it started (they carry over until done); done ones are shown done. The people are
    fetched apart: joining the user table twice costs PostgreSQL more to plan than the page to render."""
    zone = org_zone()
    start, _ = day_bounds(period_start, period_start, zone)
    return list(ActionItem.objects.filter(meeting__kind=kind, meeting__period_start__lte=period_start)
                .filter(Q(done_at__isnull=True) | Q(done_at__gte=start) | Q(meeting__period_start=period_start))
                .select_related("meeting").prefetch_related("owner", "done_by").order_by("done_at", "due_on", "id"))


@dataclass
class WeeklyAgenda:
    monday: date
    reviewed: Period  # the week the meeting looks back on
    funnel: FunnelReport
    contract: ContractPart
    rejected: list
    rejected_count: int
    reasons: list[ReasonCount]
    objections: list[ObjectionHeard]


def weekly_agenda(*, monday: date) -> WeeklyAgenda:
    """The weekly smarketing meeting on `monday`: last week against the SLA and goals, breaches, rejected leads
    to discuss, feedback themes, goals at risk."""
    reviewed = week_period(monday - timedelta(days=7))
    rejected = rejected_handoffs(span=reviewed.current)
    reasons = feedback_reasons(period=reviewed, filters=Filters(), by="source").reasons
    return WeeklyAgenda(
        monday=monday, reviewed=reviewed,
        funnel=funnel_report(period=reviewed, filters=Filters()),
        contract=contract_part(span=reviewed.current),
        rejected=list(rejected[:REJECTED_LISTED]), rejected_count=rejected.count(),
        reasons=reasons[:8],
        objections=objections_heard(period=reviewed, filters=Filters())[:6],
    )


# --- The monthly report -----------------------------------------------------------------------------------


@dataclass
class MonthlyReport:
    first: date
    period: Period
    funnel: FunnelReport
    sources: list
    contract: ContractPart
    reasons: list[ReasonCount]

    @property
    def revenue(self) -> Decimal:
        return self.funnel.current.won_amount


def monthly_report(*, first: date) -> MonthlyReport:
    """The month's report: the funnel against the month before, the closed loop per source, both sides of the
    SLA, the reasons sales gave, the goals."""
    period = month_period(first)
    return MonthlyReport(
        first=first, period=period,
        funnel=funnel_report(period=period, filters=Filters()),
        sources=closed_loop(span=period.current, filters=Filters()),
        contract=contract_part(span=period.current),
        reasons=feedback_reasons(period=period, filters=Filters(), by="source").reasons,
    )


def monthly_report_rows(report: MonthlyReport) -> list[list[str]]:
    """The monthly report as CSV rows: section, item, this month, the month before."""
    rows = [["section", "item", report.period.current.label(), report.period.previous.label()]]
    for figure in report.funnel.stages + report.funnel.exits:
        rows.append(["funnel: entered", figure.label, str(figure.entered), str(figure.previous)])
    for step in report.funnel.steps:
        rows.append(["funnel: conversion %", step.label, _fmt(step.rate), _fmt(step.previous_rate)])
        rows.append(["funnel: median hours", step.label, _fmt(_hours(step.median_seconds)),
                     _fmt(_hours(step.previous_median_seconds))])
    rows.append(["revenue won", "total", str(report.funnel.current.won_amount), str(report.funnel.previous.won_amount)])
    for item in report.sources:
        flow = item.row.flow
        rows.append(["closed loop", item.row.label,
                     f"leads {item.row.leads}, MQLs {flow.entered('mql')}, SQLs {flow.entered('sql')}, "
                     f"won {flow.entered('won')}, revenue {item.row.revenue}", ""])
    contract = report.contract
    if contract.marketing is not None:
        rows.append(["SLA marketing", "MQLs delivered / committed",
                     f"{contract.marketing.delivered} / {contract.marketing.committed}", ""])
        rows.append(["SLA marketing", "acceptance rate %", _fmt(contract.marketing.acceptance_rate), ""])
    if contract.sales is not None:
        rows.append(["SLA sales", "first attempt on time %", _fmt(contract.sales.first_rate), ""])
        rows.append(["SLA sales", "K attempts on time %", _fmt(contract.sales.attempts_rate), ""])
    if contract.available:
        rows.append(["SLA sales", "breaches", str(contract.breach_count), ""])
    for reason in report.reasons:
        rows.append([f"reasons: {reason.kind_label}", reason.reason, str(reason.count), str(reason.previous)])
    for goal in contract.goals:
        rows.append(["goal", goal.goal.title, _fmt(goal.actual), f"target {goal.goal.target}, {goal.status}"])
    return rows


def monthly_report_csv_text(report: MonthlyReport) -> str:
    """The monthly report as a CSV file; a cell a spreadsheet would run (a source named "=HYPERLINK(…)") is not."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows([csv_safe(cell) for cell in row] for row in monthly_report_rows(report))
    return buffer.getvalue()


def _fmt(value) -> str:
    return "" if value is None else f"{value:.1f}" if isinstance(value, float) else str(value)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


# --- Meetings -------------------------------------------------------------------------------------------------


def meeting_find(*, kind: str, period_start: date) -> Meeting | None:
    return Meeting.objects.filter(kind=kind, period_start=period_start).prefetch_related("notes__author").first()


def current_monday(today: date) -> date:
    return week_monday(today)


def stage_order() -> list[str]:
    return FORWARD
