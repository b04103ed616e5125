"""The SLA pages: the contract in force and its history, drafts to sign, breaches, goals, the calculator.

Everyone reads them; managers draft, sign (each for their own team) and set goals. The services check
the permissions; these views only hide the buttons a user cannot use.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from scoring.models import VersionStatus
from sla.contract_forms import (
    WINDOW_CHOICES,
    CalculatorForm,
    CalendarForm,
    ClosedDayForm,
    GoalForm,
    SlaDraftForm,
)
from sla.contract_selectors import (
    CalculatorInputs,
    breach_counts,
    breaches_for_list,
    calculator_plan,
    funnel_rates,
    goals_progress,
    local_bounds,
    marketing_month,
    month_last_day,
    sales_compliance,
    sla_version_active,
    sla_version_draft,
    sla_version_get,
    sla_versions_signed,
)
from sla.contract_services import (
    calendar_update,
    closed_day_add,
    closed_day_remove,
    goal_delete,
    goal_save,
    sla_draft_create,
    sla_draft_discard,
    sla_draft_update,
    sla_propose_from_plan,
    sla_sign,
)
from sla.models import Breach, ClosedDay, Goal, SlaVersion
from smarketing.forms import add_service_errors
from smarketing.models import User
from smarketing.roles import Action, Function, Role


def _ensure_can_view(request: HttpRequest) -> None:
    if not request.user.can(Action.LEAD_VIEW):
        raise PermissionDenied


def _can_change(user: User) -> bool:
    return user.can(Action.AGREEMENT_SIGN)


def _upcoming_closed_days(version: SlaVersion, *, today: date, count: int = 6) -> list[tuple[date, str]]:
    """The next days the calendar does not work although they are working weekdays (holidays, closures)."""
    calendar = version.calendar.working
    found: list[tuple[date, str]] = []
    day = today
    for _ in range(400):
        if day.weekday() in calendar.weekdays and not calendar.is_working_day(day):
            found.append((day, calendar.holiday_name(day) or "closed"))
            if len(found) == count:
                break
        day += timedelta(days=1)
    return found


def overview(request: HttpRequest) -> HttpResponse:
    """The contract in force with both sides' compliance this month, the draft under discussion, history."""
    _ensure_can_view(request)
    active, draft = sla_version_active(), sla_version_draft()
    now = timezone.now()
    context: dict = {"active": active, "draft": draft, "history": sla_versions_signed(),
                     "can_change": _can_change(request.user), "tab": "contract"}
    if active:
        zone = active.calendar.working.zone
        today = now.astimezone(zone).date()
        month = today.replace(day=1)
        start, end = local_bounds(month, month_last_day(month), zone)
        context.update(
            marketing=marketing_month(version=active, month=month, now=now),
            sales=sales_compliance(start=start, end=end, now=now),
            month=month,
            closed_days=_upcoming_closed_days(active, today=today),
            breaches=breach_counts(),
        )
    return render(request, "sla/contract/overview.html", context)


@require_POST
def draft_open(request: HttpRequest) -> HttpResponse:
    draft = sla_draft_create(actor=request.user)
    return redirect("sla_contract:version_detail", number=draft.number)


def _version_or_404(number: int) -> SlaVersion:
    version = sla_version_get(number)
    if version is None:
        raise Http404
    return version


# The rows of the side-by-side comparison: (section, label, attribute or callable).
def _terms(version: SlaVersion | None) -> list[tuple[str, str, str]]:
    if version is None:
        return []
    return [
        ("marketing", "MQLs per month", f"{version.mqls_per_month} {version.get_mql_basis_display()}"),
        ("marketing", "Pipeline value per month",
         f"{version.pipeline_value_per_month:,.0f}" if version.pipeline_value_per_month is not None else "—"),
        ("marketing", "Minimum acceptance rate",
         f"{version.min_acceptance_rate}%" if version.min_acceptance_rate is not None else "—"),
        ("sales", "First attempt", f"within {version.first_attempt_hours} business hours"),
        ("sales", "Contact attempts", f"{version.attempts_required} within {version.attempts_within_days} working days"),
        ("sales", "Unanswered leads", "recycled automatically" if version.auto_recycle else "stay with the rep"),
        ("sales", "Idle accepted leads",
         f"flagged after {version.stale_after_days} days" if version.stale_after_days else "not flagged"),
        ("calendar", "Time zone", version.calendar.time_zone),
        ("calendar", "Working days", version.calendar.weekdays_label),
        ("calendar", "Hours", f"{version.calendar.opens_at:%H:%M}–{version.calendar.closes_at:%H:%M}"),
        ("calendar", "Public holidays",
         (version.calendar.holiday_country_name
          + (f" ({version.calendar.holiday_subdivision})" if version.calendar.holiday_subdivision else ""))
         if version.calendar.holiday_country else "none"),
        ("calendar", "Closed days", ", ".join(f"{d.day:%b %-d, %Y}" for d in version.calendar.closed_days.all()) or "—"),
        ("text", "Personas covered",
         "\n".join(filter(None, [", ".join(p.name for p in version.personas.all()), version.personas_text])) or "—"),
        ("text", "Roles and responsibilities", version.responsibilities_text or "—"),
        ("text", "Lead-handling protocol", version.protocol_text or "—"),
        ("text", "Review date", f"{version.review_on:%B %-d, %Y}" if version.review_on else "—"),
    ]


def _comparison(version: SlaVersion, base: SlaVersion | None) -> list[dict]:
    base_terms = {label: value for _, label, value in _terms(base)}
    return [
        {"section": section, "label": label, "value": value, "before": base_terms.get(label),
         "changed": base is not None and base_terms.get(label) != value}
        for section, label, value in _terms(version)
    ]


def version_detail(request: HttpRequest, number: int, forms: dict | None = None) -> HttpResponse:
    """One version: a draft side by side with the version in force, its forms and signatures; or a signed one."""
    _ensure_can_view(request)
    version = _version_or_404(number)
    user = request.user
    active = sla_version_active()
    base = active if version.is_draft and active and active.pk != version.pk else None
    editable = version.is_draft and _can_change(user)
    forms = forms or {}
    context = {
        "version": version,
        "base": base,
        "rows": _comparison(version, base),
        "editable": editable,
        "can_sign": version.is_draft and user.can(Action.AGREEMENT_SIGN) and (
            (user.function == Function.MARKETING and not version.marketing_signed_at)
            or (user.function == Function.SALES and not version.sales_signed_at)
        ),
        "sign_side": Function(user.function).label.lower() if user.function else "",
        "tab": "contract",
    }
    if editable:
        context.update(
            draft_form=forms.get("draft") or SlaDraftForm(instance=version, prefix="sla"),
            calendar_form=forms.get("calendar") or CalendarForm(instance=version.calendar, prefix="cal"),
            closed_day_form=forms.get("closed_day") or ClosedDayForm(prefix="closed"),
            closed_days=list(version.calendar.closed_days.all()),
        )
    return render(request, "sla/contract/version.html", context, status=400 if forms else 200)


def _draft(request: HttpRequest, number: int) -> SlaVersion:
    """The draft a manager changes: 403 for anyone else (they may read it, not change it)."""
    if not _can_change(request.user):
        raise PermissionDenied
    version = get_object_or_404(SlaVersion, number=number)
    if not version.is_draft:
        raise Http404
    return version


@require_POST
def draft_edit(request: HttpRequest, number: int) -> HttpResponse:
    version = _draft(request, number)
    form = SlaDraftForm(request.POST, instance=SlaVersion.objects.get(pk=version.pk), prefix="sla")
    if form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.Meta.fields if name != "personas"}
        try:
            sla_draft_update(version=version, actor=request.user, changes=changes,
                             personas=form.cleaned_data["personas"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Draft v{version.number} saved. Both managers sign it again.")
            return redirect("sla_contract:version_detail", number=number)
    return version_detail(request, number, forms={"draft": form})


@require_POST
def calendar_edit(request: HttpRequest, number: int) -> HttpResponse:
    version = _draft(request, number)
    form = CalendarForm(request.POST, instance=version.calendar, prefix="cal")
    if form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            calendar_update(calendar=version.calendar, actor=request.user, changes=changes)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Business calendar saved.")
            return redirect(reverse("sla_contract:version_detail", args=[number]) + "#calendar")
    return version_detail(request, number, forms={"calendar": form})


@require_POST
def closed_day_create(request: HttpRequest, number: int) -> HttpResponse:
    version = _draft(request, number)
    form = ClosedDayForm(request.POST, prefix="closed")
    if form.is_valid():
        try:
            closed_day_add(calendar=version.calendar, actor=request.user, day=form.cleaned_data["day"],
                           label=form.cleaned_data["label"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect(reverse("sla_contract:version_detail", args=[number]) + "#calendar")
    return version_detail(request, number, forms={"closed_day": form})


@require_POST
def closed_day_delete(request: HttpRequest, number: int, closed_day_id: int) -> HttpResponse:
    version = _draft(request, number)
    closed = get_object_or_404(ClosedDay, pk=closed_day_id, calendar=version.calendar)
    closed_day_remove(closed_day=closed, actor=request.user)
    return redirect(reverse("sla_contract:version_detail", args=[number]) + "#calendar")


@require_POST
def sign(request: HttpRequest, number: int) -> HttpResponse:
    version = _draft(request, number)
    try:
        version = sla_sign(version=version, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if version.status == VersionStatus.ACTIVE:
            messages.success(request, f"SLA v{version.number} is signed by both teams and in force from now. "
                                      f"New handoffs get its deadlines.")
        else:
            other = "sales" if request.user.function == Function.MARKETING else "marketing"
            messages.success(request, f"Signed for {Function(request.user.function).label.lower()}. "
                                      f"It takes effect when {other} signs too.")
    return redirect("sla_contract:version_detail", number=number)


@require_POST
def discard(request: HttpRequest, number: int) -> HttpResponse:
    version = _draft(request, number)
    sla_draft_discard(version=version, actor=request.user)
    messages.success(request, f"Draft v{number} withdrawn.")
    return redirect("sla_contract:overview")


# --- Breaches ------------------------------------------------------------------------------------------

def breach_list(request: HttpRequest) -> HttpResponse:
    _ensure_can_view(request)
    side, kind, status = request.GET.get("side", ""), request.GET.get("kind", ""), request.GET.get("status", "")
    side = side if side in Function.values else ""
    kind = kind if kind in Breach.Kind.values else ""
    status = status if status in ("open", "met_late", "never_met") else ""
    try:
        rep_id = int(request.GET.get("rep", "")) or None
    except ValueError:
        rep_id = None
    page = Paginator(breaches_for_list(side=side, kind=kind, status=status, rep_id=rep_id), 50).get_page(
        request.GET.get("page"))
    context = {
        "page": page, "side": side, "kind": kind, "status": status, "rep_id": rep_id,
        "kinds": Breach.Kind.choices, "sides": Function.choices,
        "reps": User.objects.filter(role=Role.SALES_REP).order_by("first_name", "last_name"),
        "counts": breach_counts(), "tab": "breaches",
    }
    template = "sla/contract/breaches.html#breach-table" if request.htmx else "sla/contract/breaches.html"
    return render(request, template, context)


# --- Goals -----------------------------------------------------------------------------------------------

def goal_list(request: HttpRequest) -> HttpResponse:
    _ensure_can_view(request)
    progress = goals_progress()
    return render(request, "sla/contract/goals.html", {
        "progress": progress, "at_risk": sum(p.at_risk for p in progress), "can_change": _can_change(request.user),
        "tab": "goals",
    })


def goal_edit(request: HttpRequest, goal_id: int | None = None) -> HttpResponse:
    _ensure_can_view(request)
    goal = get_object_or_404(Goal, pk=goal_id) if goal_id else Goal()
    if not _can_change(request.user):
        raise PermissionDenied
    form = GoalForm(request.POST or None, instance=goal)
    if request.method == "POST" and form.is_valid():
        try:
            goal_save(goal=form.save(commit=False), actor=request.user, teams=form.cleaned_data["teams"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Goal “{goal.title}” saved.")
            return redirect("sla_contract:goal_list")
    return render(request, "sla/contract/goal_form.html", {"form": form, "goal": goal, "tab": "goals"},
                  status=400 if form.errors else 200)


@require_POST
def goal_remove(request: HttpRequest, goal_id: int) -> HttpResponse:
    if not _can_change(request.user):
        raise PermissionDenied
    goal = get_object_or_404(Goal, pk=goal_id)
    goal_delete(goal=goal, actor=request.user)
    messages.success(request, f"Goal “{goal.title}” removed.")
    return redirect("sla_contract:goal_list")


# --- The SLA calculator ---------------------------------------------------------------------------------

def _rates_initial(window_days: int) -> tuple[dict, object]:
    now = timezone.now()
    rates = funnel_rates(since=now - timedelta(days=window_days), until=now)
    active = sla_version_active()

    def rounded(value: float | None, default: float) -> float:
        return round(value, 1) if value else default

    initial = {
        "window": window_days,
        "revenue_quota": Decimal(100_000),
        "average_deal": rates.average_deal or Decimal(10_000),
        "win_rate": rounded(rates.win_rate, 25.0),
        "sql_to_opportunity": rounded(rates.sql_to_opportunity, 50.0),
        "mql_to_sql": rounded(rates.mql_to_sql, 20.0),
        "lead_to_mql": rounded(rates.lead_to_mql, 10.0),
        "marketing_share": rounded(rates.marketing_share, 100.0),
        "reps": rates.reps or 1,
    }
    if active and active.pipeline_value_per_month and rates.win_rate:
        initial["revenue_quota"] = Decimal(round(float(active.pipeline_value_per_month) * rates.win_rate / 100, -3) or 100_000)
    return initial, rates


def calculator(request: HttpRequest) -> HttpResponse:
    """Works backwards from a revenue quota, prefilled with this organisation's own rates over a window."""
    _ensure_can_view(request)
    try:
        window = int(request.GET.get("window", 90))
    except ValueError:
        window = 90
    window = window if window in dict(WINDOW_CHOICES) else 90
    initial, rates = _rates_initial(window)
    # The window's own little form refreshes the prefilled rates; "Calculate" sends every field.
    if "revenue_quota" in request.GET:
        form = CalculatorForm(request.GET, initial=initial)
        values = form.cleaned_data if form.is_valid() else None
    else:
        form, values = CalculatorForm(initial=initial), initial
    plan = calculator_plan(_inputs(values)) if values else None
    context = {"form": form, "rates": rates, "plan": plan, "window": window, "window_choices": WINDOW_CHOICES,
               "window_label": dict(WINDOW_CHOICES)[window], "active": sla_version_active(),
               "can_change": _can_change(request.user), "tab": "calculator"}
    return render(request, "sla/contract/calculator.html", context)


def _inputs(values: dict) -> CalculatorInputs:
    return CalculatorInputs(
        revenue_quota=Decimal(values["revenue_quota"]), average_deal=Decimal(values["average_deal"]),
        win_rate=float(values["win_rate"]), sql_to_opportunity=float(values["sql_to_opportunity"]),
        mql_to_sql=float(values["mql_to_sql"]), lead_to_mql=float(values["lead_to_mql"]),
        marketing_share=float(values["marketing_share"]), reps=int(values["reps"]),
    )


@require_POST
def calculator_propose(request: HttpRequest) -> HttpResponse:
    """"Propose as a new SLA version": the calculator's MQLs and pipeline go into the draft, in one click."""
    # Who may, before what was sent: a role that may not propose gets a 403, not a form error.
    if not _can_change(request.user):
        raise PermissionDenied("Only the managers propose SLA versions.")
    form = CalculatorForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The calculator's figures are incomplete; check them and try again.")
        return redirect("sla_contract:calculator")
    values = form.cleaned_data
    plan = calculator_plan(_inputs(values))
    active = sla_version_active()
    per_rep = active is not None and active.mql_basis == SlaVersion.MqlBasis.PER_REP
    note = (
        f"From the SLA calculator: a revenue quota of {values['revenue_quota']:,.0f} a month with deals of "
        f"{values['average_deal']:,.0f}, a {values['win_rate']:g}% win rate, {values['sql_to_opportunity']:g}% SQL → "
        f"opportunity, {values['mql_to_sql']:g}% MQL → SQL, {values['marketing_share']:g}% of pipeline from marketing "
        f"and {values['reps']} reps needs {plan.mqls_per_month} MQLs a month ({plan.mqls_per_rep} per rep)."
    )
    draft = sla_propose_from_plan(
        actor=request.user,
        mqls_per_month=plan.mqls_per_rep if per_rep else plan.mqls_per_month,
        mql_basis=SlaVersion.MqlBasis.PER_REP if per_rep else SlaVersion.MqlBasis.TOTAL,
        pipeline_value_per_month=plan.pipeline_value, note=note,
    )
    messages.success(request, f"Draft v{draft.number} proposes {plan.mqls_per_month} MQLs a month. "
                              f"Review it with the other team and sign.")
    return redirect("sla_contract:version_detail", number=draft.number)
