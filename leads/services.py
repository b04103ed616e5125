"""Writes on leads, companies, activities and stages. Every stage change goes through lead_change_stage."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from leads.identity import email_domain, is_free_mail, normalise_domain, normalise_email
from leads.models import Activity, Company, Lead, Reason, Stage, StageChange
from smarketing.models import User
from smarketing.roles import Role

# Who may make each move. SYSTEM stands for the application itself (qualification, SLA recycling).
SYSTEM = "system"
_MARKETING = frozenset({Role.MARKETER, Role.MARKETING_MANAGER, Role.ADMIN})
_SALES = frozenset({Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN})

TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (Stage.NEW, Stage.MQL): _MARKETING | {SYSTEM},
    (Stage.NEW, Stage.DISQUALIFIED): _MARKETING,
    (Stage.MQL, Stage.SAL): _SALES,
    (Stage.MQL, Stage.RECYCLED): _SALES | _MARKETING,
    (Stage.MQL, Stage.DISQUALIFIED): _SALES | _MARKETING,
    (Stage.SAL, Stage.SQL): _SALES,
    (Stage.SAL, Stage.LOST): _SALES,
    (Stage.SAL, Stage.RECYCLED): _SALES | {SYSTEM},
    (Stage.SAL, Stage.DISQUALIFIED): _SALES,
    (Stage.SQL, Stage.OPPORTUNITY): _SALES,
    (Stage.SQL, Stage.LOST): _SALES,
    (Stage.SQL, Stage.RECYCLED): _SALES,
    (Stage.OPPORTUNITY, Stage.WON): _SALES,
    (Stage.OPPORTUNITY, Stage.LOST): _SALES,
    (Stage.LOST, Stage.RECYCLED): _MARKETING,
    (Stage.RECYCLED, Stage.MQL): _MARKETING | {SYSTEM},
    (Stage.RECYCLED, Stage.DISQUALIFIED): _MARKETING,
    # Reopening a disqualified lead undoes a judgement: managers only.
    (Stage.DISQUALIFIED, Stage.NEW): frozenset({Role.MARKETING_MANAGER, Role.SALES_MANAGER, Role.ADMIN}),
}

# Leaving the funnel needs a reason, so marketing learns why.
REASON_REQUIRED = frozenset({Stage.LOST, Stage.DISQUALIFIED, Stage.RECYCLED})
# ...and for these, one from the agreed, editable list, so the reasons can be counted.
REASON_LIST_OF = {Stage.DISQUALIFIED: Reason.Kind.DISQUALIFICATION, Stage.LOST: Reason.Kind.LOSS}


def reason_from_list(*, to: str, reason: str) -> str:
    """The listed reason (as spelled in the list) for a move that needs one; ValidationError if unlisted."""
    kind = REASON_LIST_OF[to]
    match = Reason.objects.filter(kind=kind, is_active=True, label__iexact=reason.strip()).first()
    if match is None:
        labels = ", ".join(Reason.objects.filter(kind=kind, is_active=True).values_list("label", flat=True))
        raise ValidationError(
            {"reason": f"Choose a {Reason.Kind(kind).label.lower()} reason from the list: {labels}."},
            code="unlisted_reason",
        )
    return match.label

# Fields a capture (form, import, API) may set; stage, owner and the timestamps are not among them.
CAPTURE_FIELDS = (
    "first_name", "last_name", "phone", "job_title", "seniority", "country",
    "source", "campaign", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
    "do_not_contact",
)


def _actor_key(actor: User | None) -> str:
    return SYSTEM if actor is None else actor.role


def stage_targets_for(*, lead: Lead, actor: User | None) -> list[str]:
    """The stages this actor may move this lead to now, in funnel order."""
    if actor is not None and actor.role == Role.SALES_REP and lead.owner_id != actor.pk:
        return []
    key = _actor_key(actor)
    return [
        to for to in Stage.values
        if key in TRANSITIONS.get((lead.stage, to), frozenset())
    ]


@transaction.atomic
def lead_change_stage(
    *, lead: Lead, to: str, actor: User | None, reason: str = "", note: str = "",
    at: datetime | None = None,
) -> StageChange:
    """Moves a lead to another stage if that move is allowed for the actor, and records it."""
    if to not in Stage.values:
        raise ValidationError({"to": f"“{to}” is not a stage."}, code="invalid_stage")
    # Lock the row: two people moving the same lead at once must not both start from the old stage.
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    allowed = TRANSITIONS.get((lead.stage, to))
    if allowed is None:
        raise ValidationError(
            f"A lead cannot move from {Stage(lead.stage).label} to {Stage(to).label}.", code="illegal_transition"
        )
    if _actor_key(actor) not in allowed:
        role_label = "The system" if actor is None else Role(actor.role).label + "s"
        raise ValidationError(
            f"{role_label} cannot move a lead from {Stage(lead.stage).label} to {Stage(to).label}.",
            code="transition_not_allowed_for_role",
        )
    if actor is not None and actor.role == Role.SALES_REP and lead.owner_id != actor.pk:
        raise PermissionDenied("Sales reps change only the leads handed to them.")
    reason = reason.strip()
    if to in REASON_REQUIRED and not reason:
        raise ValidationError({"reason": f"Give a reason for moving the lead to {Stage(to).label}."}, code="required")
    if to in REASON_LIST_OF:
        reason = reason_from_list(to=to, reason=reason)

    now = at or timezone.now()
    change = StageChange.objects.create(
        lead=lead, from_stage=lead.stage, to_stage=to, changed_at=now, changed_by=actor, reason=reason,
        note=note.strip(),
    )
    Lead.objects.filter(pk=lead.pk).update(stage=to, stage_entered_at=now, updated_at=now)
    return change


@transaction.atomic
def leads_move_by_system(*, lead_ids: list[int], to: str, reason: str, at: datetime | None = None) -> list[int]:
    """Moves many leads at once on the system's behalf (e.g. qualification), by the same transition table.

    Set-based: one locking read, one bulk insert of StageChanges, one update. Leads whose stage does not
    allow the move for the system (someone moved them meanwhile) are skipped. Returns the moved ids.
    """
    sources = [source for (source, target), actors in TRANSITIONS.items() if target == to and SYSTEM in actors]
    if not sources:
        raise ValidationError(f"The system cannot move leads to {Stage(to).label}.", code="transition_not_allowed")
    if to in REASON_REQUIRED and not reason.strip():
        raise ValidationError({"reason": "Give a reason."}, code="required")
    now = at or timezone.now()
    # Lock in id order so two concurrent runs cannot deadlock; a lead locked by a person is left for the
    # next run (level-triggered: the qualification job finds it again).
    rows = list(
        Lead.objects.select_for_update(skip_locked=True).filter(pk__in=lead_ids, stage__in=sources)
        .order_by("pk").values_list("pk", "stage")
    )
    if not rows:
        return []
    StageChange.objects.bulk_create(
        [StageChange(lead_id=pk, from_stage=stage, to_stage=to, changed_at=now, reason=reason) for pk, stage in rows],
        batch_size=2000,
    )
    moved = [pk for pk, _ in rows]
    Lead.objects.filter(pk__in=moved).update(stage=to, stage_entered_at=now, updated_at=now)
    return moved


def company_for_capture(*, email: str, company_name: str = "", domain: str = "") -> Company | None:
    """The company a captured lead works for: by domain (never a free-mail one), else by name."""
    domain = normalise_domain(domain) if domain else email_domain(email)
    company_name = company_name.strip()
    if domain and not is_free_mail(domain):
        company, created = Company.objects.get_or_create(
            domain=domain, defaults={"name": company_name or domain.split(".")[0].capitalize()}
        )
        if not created and company_name and company.name.lower() == domain.split(".")[0]:
            # The name was only guessed from the domain; the real one wins.
            Company.objects.filter(pk=company.pk).update(name=company_name)
            company.name = company_name
        return company
    if company_name:
        company = Company.objects.filter(name__iexact=company_name).order_by("pk").first()
        return company or Company.objects.create(name=company_name)
    return None


@dataclass(frozen=True)
class CaptureResult:
    lead: Lead
    created: bool
    duplicate_attempt: bool


@transaction.atomic
def lead_capture(
    *, email: str, fields: dict[str, Any], actor: User | None, company_name: str = "", company_domain: str = "",
    properties: dict[str, Any] | None = None, owner: User | None = None,
) -> CaptureResult:
    """Creates a lead, or updates the one with this e-mail; a lead already past `new` is flagged, not reset."""
    try:
        email = normalise_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": exc.messages}) from None
    unknown = set(fields) - set(CAPTURE_FIELDS)
    if unknown:
        raise ValueError(f"lead_capture does not set {sorted(unknown)}")
    # What a capture does not know is blank: None, whitespace, and an unticked do-not-contact box (an
    # opt-out is only lifted by an explicit edit, never by a form the person fills in again).
    values = {
        name: value.strip() if isinstance(value, str) else value
        for name, value in fields.items()
        if value is not None and value is not False and not (isinstance(value, str) and not value.strip())
    }
    now = timezone.now()
    company = company_for_capture(email=email, company_name=company_name, domain=company_domain)

    lead = Lead.objects.select_for_update().filter(email=email).first()
    if lead is None:
        lead = Lead.objects.create(
            email=email, company=company, properties=properties or {},
            # A rep who enters a lead works it; others may name an owner.
            owner=actor if actor is not None and actor.role == Role.SALES_REP else owner,
            stage=Stage.NEW, stage_entered_at=now, created_at=now, updated_at=now, **values,
        )
        StageChange.objects.create(lead=lead, from_stage="", to_stage=Stage.NEW, changed_at=now, changed_by=actor,
                                   reason="created")
        return CaptureResult(lead=lead, created=True, duplicate_attempt=False)

    # A repeat capture fills in and refreshes what it knows; it never blanks a field or moves the stage.
    for name, value in values.items():
        setattr(lead, name, value)
    if company is not None:
        lead.company = company
    if properties:
        lead.properties = {**lead.properties, **properties}
    lead.updated_at = now
    duplicate_attempt = lead.stage != Stage.NEW
    if duplicate_attempt:
        lead.duplicate_attempts += 1
        lead.last_duplicate_attempt_at = now
    lead.save()
    return CaptureResult(lead=lead, created=False, duplicate_attempt=duplicate_attempt)


@transaction.atomic
def lead_update(*, lead: Lead, actor: User, changes: dict[str, Any], company_name: str | None = None) -> Lead:
    """Edits a lead's profile (not its stage); a changed e-mail must stay unique."""
    if "email" in changes:
        changes["email"] = normalise_email(changes["email"])
        if Lead.objects.filter(email=changes["email"]).exclude(pk=lead.pk).exists():
            raise ValidationError({"email": "Another lead already has this e-mail address."}, code="unique")
    if "stage" in changes:
        raise ValueError("A stage changes only through lead_change_stage.")
    for name, value in changes.items():
        setattr(lead, name, value)
    if company_name is not None and company_name.strip() != (lead.company.name if lead.company else ""):
        lead.company = company_for_capture(email=lead.email, company_name=company_name)
    lead.updated_at = timezone.now()
    lead.save()
    return lead


@transaction.atomic
def activity_record(
    *, lead: Lead, type: str, occurred_at: datetime, url: str = "", properties: dict[str, Any] | None = None,
) -> Activity:
    """Appends one activity to a lead's timeline and keeps the lead's last-activity time current."""
    if occurred_at > timezone.now():
        raise ValidationError({"occurred_at": "An activity cannot happen in the future."}, code="future")
    activity = Activity.objects.create(
        lead=lead, type=type, occurred_at=occurred_at, url=url, properties=properties or {}
    )
    # updated_at moves too: it is how the rescoring job finds leads whose score is stale.
    Lead.objects.filter(pk=lead.pk).update(
        updated_at=timezone.now(),
        # Coalesce: SQLite's MAX() of NULL and a value is NULL.
        last_activity_at=Greatest(Coalesce(F("last_activity_at"), Value(occurred_at)), Value(occurred_at))
    )
    return activity
