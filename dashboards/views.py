from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboards.periods import PERIOD_CHOICES, period_resolve
from dashboards.selectors import (
    DIMENSION_LABELS,
    DIMENSIONS,
    OPEN_FOR_SALES,
    closed_loop,
    filter_choices,
    filters_from,
    funnel_breakdown,
    funnel_report,
    funnel_trend,
    rep_work_counts,
    stage_counts,
)
from leads.models import Lead, Stage
from leads.selectors import leads_for_list
from smarketing.roles import Action, Role

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
    return render(request, "dashboards/home.html", context)


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


# Which partial answers an HTMX request, by the element it targets.
_FUNNEL_PARTIALS = {"breakdown": "breakdown", "dashboard-panels": "dashboard-panels"}


def funnel(request: HttpRequest) -> HttpResponse:
    """The shared funnel: the same page for both teams; filters and period in the URL, panels swapped by HTMX."""
    if not request.user.can(Action.LEAD_VIEW):
        raise PermissionDenied
    state = _dashboard_state(request)
    target = request.htmx.target if request.htmx else None
    if target == "breakdown":
        context = {**state, "breakdown": funnel_breakdown(span=state["period"].current, filters=state["filters"],
                                                          by=state["by"])}
    else:
        context = {**state, **funnel_context(**state)}
    context.update(dimension_labels=DIMENSION_LABELS, period_choices=PERIOD_CHOICES, public=False)
    if target in _FUNNEL_PARTIALS:
        return render(request, f"dashboards/funnel.html#{_FUNNEL_PARTIALS[target]}", context)
    context["choices"] = filter_choices()
    return render(request, "dashboards/funnel.html", context)
