from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from leads.filters import LeadFilter
from leads.forms import LeadForm, StageChangeForm
from leads.models import Reason
from leads.selectors import (
    companies_for_list,
    company_get_for_user,
    lead_can_edit,
    lead_get_for_user,
    lead_stage_history,
    lead_timeline,
    leads_for_list,
    reasons_active,
)
from leads.services import CAPTURE_FIELDS, lead_capture, lead_change_stage, lead_update, stage_targets_for
from scoring.selectors import companies_with_account_scores
from smarketing.forms import add_service_errors
from smarketing.roles import Action

LEADS_PER_PAGE = 50


def _leads_with_scores():
    # The lead list and company page show each lead's score: scoring's one-to-one row, joined in the
    # same query (views may read any app; the leads layer itself never imports scoring).
    return leads_for_list().select_related("score")


def lead_list(request: HttpRequest) -> HttpResponse:
    if not request.user.can(Action.LEAD_VIEW):
        raise PermissionDenied
    lead_filter = LeadFilter(request.GET, queryset=_leads_with_scores())
    leads = lead_filter.qs if lead_filter.is_valid() else leads_for_list().none()
    page = Paginator(leads, LEADS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"filter": lead_filter, "page": page, "sort": request.GET.get("sort", ""),
               "can_import": request.user.can(Action.LEAD_IMPORT)}
    template = "leads/lead_list.html#lead-table" if request.htmx else "leads/lead_list.html"
    return render(request, template, context)


def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = lead_get_for_user(user=request.user, lead_id=lead_id)
    timeline = lead_timeline(lead=lead, page_number=request.GET.get("activity_page"))
    if request.htmx and request.htmx.target == "timeline":
        return render(request, "leads/lead_detail.html#timeline", {"lead": lead, "timeline": timeline})
    targets = stage_targets_for(lead=lead, actor=request.user)
    context = {
        "lead": lead,
        "timeline": timeline,
        "history": lead_stage_history(lead=lead),
        "can_edit": lead_can_edit(user=request.user, lead=lead) and not lead.is_erased,
        "can_personal_data": request.user.can(Action.LEAD_PERSONAL_DATA),
        "stage_form": StageChangeForm(targets=targets) if targets else None,
        "reasons": reasons_active(kinds=[Reason.Kind.DISQUALIFICATION, Reason.Kind.LOSS, Reason.Kind.REJECTION]),
    }
    return render(request, "leads/lead_detail.html", context)


@require_POST
def lead_stage_change(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = lead_get_for_user(user=request.user, lead_id=lead_id, write=True)
    form = StageChangeForm(request.POST, targets=stage_targets_for(lead=lead, actor=request.user))
    if not form.is_valid():
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields and name != "to" else ""
            messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))
        return redirect("leads:lead_detail", lead_id=lead.pk)
    try:
        change = lead_change_stage(lead=lead, to=form.cleaned_data["to"], actor=request.user,
                                   reason=form.cleaned_data["reason"], note=form.cleaned_data["note"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Moved to {change.get_to_stage_display()}.")
    return redirect("leads:lead_detail", lead_id=lead.pk)


def lead_create(request: HttpRequest) -> HttpResponse:
    if not request.user.can(Action.LEAD_CREATE):
        raise PermissionDenied
    can_assign = request.user.can(Action.LEAD_ASSIGN_OWNER)
    form = LeadForm(request.POST or None, can_assign_owner=can_assign)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = lead_capture(
                email=data["email"], fields={name: data[name] for name in CAPTURE_FIELDS if name in data},
                company_name=data["company_name"], actor=request.user, owner=data.get("owner"),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if result.created:
                messages.success(request, f"Lead {result.lead} created.")
            else:
                messages.info(request, "A lead with this e-mail already existed: it was updated, not duplicated.")
            return redirect("leads:lead_detail", lead_id=result.lead.pk)
    return render(request, "leads/lead_form.html", {"form": form, "lead": None})


def lead_edit(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = lead_get_for_user(user=request.user, lead_id=lead_id, write=True)
    form = LeadForm(request.POST or None, instance=lead, can_assign_owner=request.user.can(Action.LEAD_ASSIGN_OWNER))
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.Meta.fields if name in form.cleaned_data}
        try:
            lead_update(lead=lead, actor=request.user, changes=changes,
                        company_name=form.cleaned_data["company_name"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Lead saved.")
            return redirect("leads:lead_detail", lead_id=lead.pk)
    return render(request, "leads/lead_form.html", {"form": form, "lead": lead})


def company_list(request: HttpRequest) -> HttpResponse:
    if not request.user.can(Action.LEAD_VIEW):
        raise PermissionDenied
    search = request.GET.get("q", "").strip()
    companies = companies_with_account_scores(companies_for_list(search=search))
    page = Paginator(companies, LEADS_PER_PAGE).get_page(request.GET.get("page"))
    template = "leads/company_list.html#company-table" if request.htmx else "leads/company_list.html"
    return render(request, template, {"page": page, "q": search})


def company_detail(request: HttpRequest, company_id: int) -> HttpResponse:
    company = company_get_for_user(user=request.user, company_id=company_id)
    leads = _leads_with_scores().filter(company=company).order_by("-last_activity_at", "-id")
    page = Paginator(leads, LEADS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "leads/company_detail.html", {"company": company, "page": page})
