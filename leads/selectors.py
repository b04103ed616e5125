"""Reads on leads and companies, and the access helper every view and API endpoint uses."""

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Q, QuerySet
from django.shortcuts import get_object_or_404

from leads.models import Activity, Company, Lead, Reason, StageChange
from smarketing.models import User
from smarketing.roles import Action


def lead_can_edit(*, user: User, lead: Lead) -> bool:
    """Marketing and managers edit any lead; a sales rep only the leads they own."""
    return user.can(Action.LEAD_EDIT_ANY) or (user.can(Action.LEAD_EDIT_OWN) and lead.owner_id == user.pk)


def lead_get_for_user(*, user: User, lead_id: int, write: bool = False) -> Lead:
    """The lead, if the user may see it (404 otherwise) and, with write=True, change it (403 otherwise)."""
    if not user.can(Action.LEAD_VIEW):
        raise PermissionDenied
    lead = get_object_or_404(Lead.objects.select_related("company", "owner"), pk=lead_id)
    if write and not lead_can_edit(user=user, lead=lead):
        raise PermissionDenied("You can change only the leads handed to you.")
    return lead


def leads_for_list() -> QuerySet[Lead]:
    """Leads with what the list shows of their company and owner, in one query."""
    return Lead.objects.select_related("company", "owner")


def lead_timeline(*, lead: Lead, page_number: int | str | None, per_page: int = 20) -> Page:
    """The lead's activities, newest first, one page at a time."""
    activities = Activity.objects.filter(lead=lead).order_by("-occurred_at", "-id")
    return Paginator(activities, per_page).get_page(page_number)


def lead_stage_history(*, lead: Lead) -> QuerySet[StageChange]:
    return StageChange.objects.filter(lead=lead).select_related("changed_by").order_by("-changed_at", "-id")


def reasons_active(*, kinds: list[str] | None = None) -> QuerySet[Reason]:
    reasons = Reason.objects.filter(is_active=True)
    return reasons.filter(kind__in=kinds) if kinds else reasons


def companies_for_list(*, search: str = "") -> QuerySet[Company]:
    """Companies with how many leads each has and when one of them last did something."""
    companies = Company.objects.annotate(lead_count=Count("leads"), last_activity_at=Max("leads__last_activity_at"))
    if search:
        companies = companies.filter(Q(name__icontains=search) | Q(domain__icontains=search))
    return companies.order_by("name")


def company_get_for_user(*, user: User, company_id: int) -> Company:
    if not user.can(Action.LEAD_VIEW):
        raise PermissionDenied
    return get_object_or_404(Company, pk=company_id)
