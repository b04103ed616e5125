from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_POST

from dashboards.calibration import MAX_LEADS, MIN_EACH_CLASS, MIN_OUTCOMES
from dashboards.models import CalibrationSnapshot
from dashboards.periods import PERIOD_CHOICES, period_resolve
from dashboards.selectors import (
    DIMENSION_LABELS,
    DIMENSIONS,
    OPEN_FOR_SALES,
    cached_html,
    calibration_is_stale,
    calibration_latest,
    closed_loop,
    feedback_quality,
    feedback_reasons,
    feedback_texts,
    filter_choices,
    filters_from,
    funnel_breakdown,
    funnel_report,
    funnel_trend,
    objections_heard,
    objections_without_content,
    rep_work_counts,
    stage_counts,
)
from dashboards.services import (
    SHARED_LINK_DAYS,
    calibration_draft_create,
    calibration_snapshot_compute,
    can_share,
    digest_preference_save,
    shared_link_create,
    shared_link_from_token,
    shared_link_opened,
    shared_link_revoke,
    shared_link_token,
)
from leads.models import Lead, Stage
from leads.selectors import leads_for_list
from scoring.models import LeadScore
from scoring.services import scoring_version_active
from smarketing.roles import Action, Role
from smarketing.tasks import enqueue

HOME_LIST_SIZE = 8


def home(request: HttpRequest) -> HttpResponse:
    """What needs me today: a rep's open leads, marketing's MQLs to review, the funnel for managers."""
    user = request.user
    context: dict = {"stage_counts": stage_counts(), "stages": Stage}
    if user.role == Role.SALES_REP:
        context["my_counts"] = rep_work_counts(rep=user)
        context["my_leads"] = (
            leads_for_list().filter(owner=user, stage__in=OPEN_FOR_SALES)
            .order_by("stage_entered_at", "id")[:HOME_LIST_SIZE]
        )
    else:
        context["mqls_to_review"] = (
            leads_for_list().filter(stage=Stage.MQL, owner__isnull=True).order_by("stage_entered_at", "id")[:HOME_LIST_SIZE]
        )
        context["recent_leads"] = leads_for_list().order_by("-created_at", "-id")[:HOME_LIST_SIZE]
        context["lead_total"] = sum(context["stage_counts"].values())
        context["duplicates_flagged"] = Lead.objects.filter(duplicate_attempts__gt=0).count()
    if user.role in (Role.MARKETING_MANAGER, Role.SALES_MANAGER, Role.ADMIN):
        context["manager"] = _manager_home()
    return render(request, "dashboards/home.html", context)


HOME_BREACHES = 5


def _manager_home() -> dict:
    """What a manager looks at first: open breaches, goals at risk, this week's meeting and its open items."""
    from dashboards.compliance import contract_modules, goals_with_forecast
    from dashboards.models import ActionItem
    from dashboards.periods import local_today, week_monday

    monday = week_monday(local_today())
    panel: dict = {"monday": monday,
                   "open_items": ActionItem.objects.filter(meeting__kind="weekly", done_at__isnull=True).count()}
    modules = contract_modules()
    if modules is not None:
        breach = modules[1]
        panel["sla_in_force"] = modules[0].sla_version_active() is not None
        open_breaches = breach.objects.filter(side="sales", met_at__isnull=True, closed_at__isnull=True)
        panel["breach_count"] = open_breaches.count()
        panel["breaches"] = list(open_breaches.select_related("handoff__lead", "rep").order_by("due_at", "id")[:HOME_BREACHES])
        panel["goals_at_risk"] = [view for view in goals_with_forecast() or [] if view.progress.at_risk]
    return panel


def _dashboard_state(request: HttpRequest) -> dict:
    """The period, filters and breakdown a dashboard URL names: the whole state lives in the query string."""
    params = request.GET
    period = period_resolve(params.get("period"), start=params.get("start"), end=params.get("end"))
    by = params.get("by") if params.get("by") in DIMENSIONS else "source"
    return {"period": period, "filters": filters_from(params), "by": by}


def funnel_context(*, period, filters, by) -> dict:
    """Everything the funnel page shows: shared by the signed-in page and the shared read-only link."""
    return {
        "report": funnel_report(period=period, filters=filters),
        "trend": funnel_trend(filters=filters),
        "breakdown": funnel_breakdown(span=period.current, filters=filters, by=by),
        "closed_loop": closed_loop(span=period.current, filters=filters),
    }


def _state_parts(state: dict, public: bool) -> tuple:
    period = state["period"]
    return (public, period.key, period.current, period.previous, state["filters"], state["by"])


def _funnel_panels(request: HttpRequest, state: dict, *, public: bool) -> str:
    """The funnel's panels as HTML, computed and rendered at most once a minute per view (see cached())."""
    return cached_html("funnel-panels", _state_parts(state, public), "dashboards/funnel.html#dashboard-panels",
                       lambda: {**state, **funnel_context(**state), "dimension_labels": DIMENSION_LABELS,
                                "public": public}, request=request)


def _share_button(request: HttpRequest, *, out_of_band: bool) -> str:
    # Rendered for each request: it carries the person's CSRF token and the view's current query string.
    return render_to_string("dashboards/includes/share_button.html", {
        "can_share": can_share(request.user), "share_days": SHARED_LINK_DAYS, "oob": out_of_band}, request=request)


def funnel(request: HttpRequest) -> HttpResponse:
    """The shared funnel: the same page for both teams; filters and period in the URL, panels swapped by HTMX."""
    if not request.user.can(Action.LEAD_VIEW):
        raise PermissionDenied
    state = _dashboard_state(request)
    target = request.htmx.target if request.htmx else None
    if target == "breakdown":
        return HttpResponse(cached_html(
            "funnel-breakdown", _state_parts(state, False), "dashboards/funnel.html#breakdown",
            lambda: {**state, "dimension_labels": DIMENSION_LABELS, "public": False,
                     "breakdown": funnel_breakdown(span=state["period"].current, filters=state["filters"],
                                                   by=state["by"])}, request=request))
    panels = _funnel_panels(request, state, public=False)
    if target == "dashboard-panels":
        return HttpResponse(panels + _share_button(request, out_of_band=True))
    context = {**state, "panels_html": panels,
               "share_button": mark_safe(_share_button(request, out_of_band=False)),  # noqa: S308
               "period_choices": PERIOD_CHOICES, "choices": filter_choices()}
    return render(request, "dashboards/funnel.html", context)


# Up to this many scored leads the calibration is computed while the page loads; above, by the job.
CALIBRATION_INLINE_LEADS = 50_000


def _calibration_outcome(request: HttpRequest) -> str:
    value = request.GET.get("outcome") or request.POST.get("outcome")
    return value if value in CalibrationSnapshot.Outcome.values else CalibrationSnapshot.Outcome.ACCEPTANCE


def calibration(request: HttpRequest) -> HttpResponse:
    """How well the scoring in force separates good leads from bad ones, and what points the data suggests."""
    if not request.user.can(Action.LEAD_VIEW):
        raise PermissionDenied
    outcome = _calibration_outcome(request)
    version = scoring_version_active()
    snapshot = calibration_latest(outcome=outcome)
    computing = False
    if version is not None and calibration_is_stale(snapshot, version_number=version.number):
        if LeadScore.objects.count() <= CALIBRATION_INLINE_LEADS:
            snapshot = calibration_snapshot_compute(outcome=outcome)
        else:
            computing = enqueue("dashboards.tasks.calibrate_scoring_task", outcome=outcome)
    result = snapshot.result if snapshot and version and snapshot.scoring_version_number == version.number else None
    context = {
        "outcome": outcome, "outcome_choices": CalibrationSnapshot.Outcome.choices, "version": version,
        "snapshot": snapshot if result is not None else None, "result": result, "computing": computing,
        "min_outcomes": MIN_OUTCOMES, "min_each": MIN_EACH_CLASS, "max_leads": MAX_LEADS,
        "can_draft": request.user.can(Action.QUALIFICATION_EDIT),
        "suggests_changes": bool(result and any(rule.get("suggested") is not None and rule["suggested"] != rule["points"]
                                                for rule in result.get("rules", []))),
    }
    if result is not None and result.get("enough"):
        context.update(_calibration_tables_html(snapshot, result))
    return render(request, "dashboards/calibration.html", context)


def _calibration_tables_html(snapshot: CalibrationSnapshot, result: dict) -> dict:
    """The score bands and each rule's lift as HTML, rendered once a minute per snapshot (a snapshot never
    changes: a recomputation is a new one)."""
    return {f"{name}_html": cached_html(f"calibration-{name}", (snapshot.pk,),
                                        f"dashboards/calibration.html#calibration-{name}", lambda: {"result": result})
            for name in ("bands", "rules")}


@require_POST
def calibration_recompute(request: HttpRequest) -> HttpResponse:
    if not request.user.can(Action.QUALIFICATION_EDIT):
        raise PermissionDenied
    outcome = _calibration_outcome(request)
    if LeadScore.objects.count() <= CALIBRATION_INLINE_LEADS:
        calibration_snapshot_compute(outcome=outcome)
        messages.success(request, "Calibration recomputed.")
    elif enqueue("dashboards.tasks.calibrate_scoring_task", outcome=outcome):
        messages.info(request, "Recomputing the calibration; it appears here in a minute or two.")
    return redirect(f"{reverse('dashboards:calibration')}?outcome={outcome}")


@require_POST
def calibration_draft(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    """Turns the suggested points into a draft scoring version, which both teams then review and sign."""
    snapshot = get_object_or_404(CalibrationSnapshot, pk=snapshot_id)
    try:
        draft, changed = calibration_draft_create(snapshot=snapshot, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(f"{reverse('dashboards:calibration')}?outcome={snapshot.outcome}")
    messages.success(request, f"Draft v{draft.number} now has the suggested points for {changed} rule(s). "
                              "Check them with the what-if, then both managers sign.")
    return redirect("scoring:version_detail", kind="scoring", number=draft.number)


def feedback_loop(request: HttpRequest) -> HttpResponse:
    """What sales tells marketing: objections heard, why leads were turned down, quality ratings, the words."""
    if not request.user.can(Action.LEAD_VIEW):
        raise PermissionDenied
    state = _dashboard_state(request)
    by = request.GET.get("by") if request.GET.get("by") in ("source", "campaign", "persona", "rep", "team") else "source"
    search = (request.GET.get("q") or "").strip()
    context = {**state, "by": by, "search": search, "period_choices": PERIOD_CHOICES,
               "dimension_labels": DIMENSION_LABELS}
    texts_html = _feedback_texts_html(request, context)
    if request.htmx and request.htmx.target == "feedback-texts":
        return HttpResponse(texts_html)
    panels_html = _feedback_panels_html(request, context)
    if request.htmx and request.htmx.target == "dashboard-panels":
        return HttpResponse(panels_html)
    context.update(choices=filter_choices(), panels_html=panels_html, texts_html=texts_html)
    return render(request, "dashboards/feedback.html", context)


def _feedback_texts_html(request: HttpRequest, context: dict) -> str:
    """What sales wrote, rendered at most once a minute per filter and search (see cached())."""
    filters, search = context["filters"], context["search"]
    return cached_html("feedback-texts", (filters, search), "dashboards/feedback.html#feedback-texts",
                       lambda: {**context, "texts": feedback_texts(filters=filters, search=search)}, request=request)


def _feedback_panels_html(request: HttpRequest, context: dict) -> str:
    """Objections, reasons and ratings, rendered at most once a minute per view and edit right (see cached())."""
    period, filters, by = context["period"], context["filters"], context["by"]
    can_edit_content = request.user.can(Action.CONTENT_EDIT)
    return cached_html(
        "feedback-panels", (period.key, period.current, period.previous, filters, by, can_edit_content),
        "dashboards/feedback.html#dashboard-panels",
        lambda: {**context, "can_edit_content": can_edit_content,
                 "objections": objections_heard(period=period, filters=filters),
                 "without_content": objections_without_content(),
                 "reasons": feedback_reasons(period=period, filters=filters, by=by),
                 "quality": feedback_quality(period=period, filters=filters, by=by)}, request=request)


def email_preferences(request: HttpRequest) -> HttpResponse:
    """Which of the dashboards' e-mails a person gets: the weekly digest (everyone) and the monthly report
    (managers). Both are on until switched off here."""
    from dashboards.models import DigestPreference

    preference = DigestPreference.objects.filter(user=request.user).first()
    if request.method == "POST":
        digest_preference_save(user=request.user, weekly_digest=request.POST.get("weekly_digest") == "on",
                               monthly_report=request.POST.get("monthly_report") == "on")
        messages.success(request, "Your e-mail choices are saved.")
        return redirect("dashboards:email_preferences")
    return render(request, "dashboards/email_preferences.html", {
        "weekly": preference.weekly_digest if preference else True,
        "monthly": preference.monthly_report if preference else True,
        "is_manager": request.user.role in (Role.MARKETING_MANAGER, Role.SALES_MANAGER),
    })


# --- Shared read-only links --------------------------------------------------------------------------------


@require_POST
def share_create(request: HttpRequest) -> HttpResponse:
    """Makes a read-only link to the dashboard view the manager is looking at (its query string)."""
    from urllib.parse import parse_qsl

    query = dict(parse_qsl(request.POST.get("query", "")))
    try:
        days = int(request.POST.get("days", "7"))
    except ValueError:
        days = 0
    try:
        link = shared_link_create(actor=request.user, query=query, days=days, label=request.POST.get("label", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(reverse("dashboards:funnel") + (f"?{request.POST.get('query')}" if request.POST.get("query") else ""))
    url = request.build_absolute_uri(reverse("dashboards:shared", args=[shared_link_token(link)]))
    if request.htmx:
        return render(request, "dashboards/includes/share_button.html#share-result", {"shared_url": url, "link": link})
    messages.success(request, f"Read-only link, valid until {link.expires_at:%d %b %Y}: {url}")
    return redirect("dashboards:shared_links")


def shared_links(request: HttpRequest) -> HttpResponse:
    """The links managers shared, with their state; a manager revokes any of them."""
    if not can_share(request.user):
        raise PermissionDenied
    from dashboards.models import SharedLink

    links = list(SharedLink.objects.select_related("created_by", "revoked_by").order_by("-created_at", "-id")[:100])
    rows = [(link, request.build_absolute_uri(reverse("dashboards:shared", args=[shared_link_token(link)])))
            for link in links]
    return render(request, "dashboards/shared_links.html", {"rows": rows})


@require_POST
def shared_link_revoke_view(request: HttpRequest, link_id: int) -> HttpResponse:
    from dashboards.models import SharedLink

    link = get_object_or_404(SharedLink, pk=link_id)
    shared_link_revoke(link=link, actor=request.user)
    messages.success(request, "The link is revoked: it no longer opens.")
    return redirect("dashboards:shared_links")


@login_not_required
@xframe_options_exempt
def shared(request: HttpRequest, token: str) -> HttpResponse:
    """A shared dashboard view, without login: aggregates only, never a lead; it can be embedded in a frame."""
    from urllib.parse import parse_qsl

    from django.http import QueryDict

    link = shared_link_from_token(token)
    if link is None:
        raise Http404
    if not link.is_active():
        state = "revoked" if link.revoked_at else "expired"
        return render(request, "dashboards/shared_gone.html", {"state": state, "link": link}, status=410)
    shared_link_opened(link=link)
    params = QueryDict(mutable=True)
    for key, value in parse_qsl(link.query):
        params[key] = value
    period = period_resolve(params.get("period"), start=params.get("start"), end=params.get("end"))
    by = params.get("by") if params.get("by") in DIMENSIONS else "source"
    state = {"period": period, "filters": filters_from(params), "by": by}
    panels = _funnel_panels(request, state, public=True)
    return render(request, "dashboards/shared.html", {**state, "link": link,
                                                      "panels_html": panels})


def compliance(request: HttpRequest) -> HttpResponse:
    """Both sides of the SLA on one page: marketing's MQLs and their acceptance, sales' follow-up and breaches."""
    from dashboards.compliance import sla_compliance

    if not request.user.can(Action.LEAD_VIEW):
        raise PermissionDenied
    state = _dashboard_state(request)
    period = state["period"]
    panels_html = cached_html("compliance-panels", (period.key, period.current, period.previous),
                              "dashboards/compliance.html#dashboard-panels",
                              lambda: {**state, "compliance": sla_compliance(period=period)}, request=request)
    if request.htmx and request.htmx.target == "dashboard-panels":
        return HttpResponse(panels_html)
    return render(request, "dashboards/compliance.html", {
        **state, "period_choices": PERIOD_CHOICES, "panels_html": panels_html})


def goals(request: HttpRequest) -> HttpResponse:
    """The shared goals with their progress, where they should be by now, and where they are heading."""
    from dashboards.compliance import goals_with_forecast

    if not request.user.can(Action.LEAD_VIEW):
        raise PermissionDenied
    from dashboards.periods import local_today

    return render(request, "dashboards/goals.html", {"goals_html": cached_html(
        "goals-html", (local_today(),), "dashboards/goals.html#goals", lambda: {"goals": goals_with_forecast()},
        request=request)})
