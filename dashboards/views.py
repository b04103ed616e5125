from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboards.selectors import OPEN_FOR_SALES, rep_work_counts, stage_counts
from leads.models import Lead, Stage
from leads.selectors import leads_for_list
from smarketing.roles import Role

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
