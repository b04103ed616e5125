"""Writes of the SLA contract: drafts and signatures, the business calendar, breaches, goals.

A version is a draft until a marketing manager and a sales manager have both signed it for their own
team; then it takes effect and the version it replaces is kept. A signature covers the draft as signed:
any change to the draft (numbers, text or calendar) asks both teams to sign again.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Max, OuterRef, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone

from leads.models import ContactAttempt, Stage, StageChange
from leads.services import leads_move_by_system
from scoring.models import Persona, VersionStatus
from sla.models import Breach, BreachScan, BusinessCalendar, ClosedDay, Goal, Handoff, SlaVersion
from sla.services import handoffs_close_finished
from smarketing.audit import audit_record
from smarketing.models import Notification, Team, User, WebhookEvent
from smarketing.notifications import EMAIL_TASK, notification_send
from smarketing.roles import Action, Function, Role
from smarketing.services import webhooks_emit
from smarketing.tasks import enqueue

logger = logging.getLogger(__name__)

# The kinds of notification the contract sends (smarketing.Notification.kind).
NOTIFY_BREACH = "sla_breach"
NOTIFY_ESCALATION = "sla_escalation"
NOTIFY_RECYCLED = "sla_recycled"
NOTIFY_REVIEW = "sla_review"

# Attempt outcomes in which the lead answered: such a lead is not recycled for "no response".
ANSWERED_OUTCOMES = (
    ContactAttempt.Outcome.CONNECTED, ContactAttempt.Outcome.MEETING_BOOKED,
    ContactAttempt.Outcome.NOT_INTERESTED, ContactAttempt.Outcome.WRONG_CONTACT,
)

# What a draft's form may change, and what its calendar's form may change.
DRAFT_FIELDS = (
    "mqls_per_month", "mql_basis", "pipeline_value_per_month", "min_acceptance_rate",
    "first_attempt_hours", "attempts_required", "attempts_within_days", "auto_recycle", "stale_after_days",
    "personas_text", "responsibilities_text", "protocol_text", "review_on", "note",
)
CALENDAR_FIELDS = ("time_zone", "working_weekdays", "opens_at", "closes_at", "holiday_country", "holiday_subdivision")

DEFAULT_RESPONSIBILITIES = (
    "Marketing qualifies leads by the signed MQL definition, hands each MQL to sales with its intelligence "
    "summary, and delivers the committed number of MQLs every month.\n"
    "Sales accepts or rejects each handoff with a reason, makes the first attempt within the agreed business "
    "hours, keeps trying until the agreed number of attempts, and reports the outcome of every lead."
)
DEFAULT_PROTOCOL = (
    "1. Read the handoff's intelligence summary before the first call.\n"
    "2. First attempt by phone within the agreed business hours; log every attempt.\n"
    "3. Follow up by e-mail and LinkedIn until the agreed number of attempts is reached.\n"
    "4. Accept the lead once you have spoken to them, or reject it with a reason from the list.\n"
    "5. A lead that never answers goes back to marketing's nurture with the reason “no response”."
)


# --- Permissions -------------------------------------------------------------------------------------

def ensure_can_change_sla(actor: User) -> None:
    """Drafting the SLA, its calendar and the shared goals is the managers' job (both teams)."""
    if not actor.can(Action.AGREEMENT_SIGN):
        raise PermissionDenied("Only a marketing manager or a sales manager changes the SLA and its goals.")


def _ensure_draft(version: SlaVersion) -> None:
    if not version.is_draft:
        raise ValidationError("Only a draft can be changed; propose a new version instead.", code="not_draft")


def _draft_changed(version: SlaVersion) -> None:
    """A signature covers the draft as it was signed: any change to it asks both teams to sign again."""
    SlaVersion.objects.filter(pk=version.pk).update(
        marketing_signed_by=None, marketing_signed_at=None, sales_signed_by=None, sales_signed_at=None
    )
    version.marketing_signed_by = version.marketing_signed_at = None
    version.sales_signed_by = version.sales_signed_at = None


# --- Validation ---------------------------------------------------------------------------------------

def validate_calendar(values: dict[str, Any]) -> None:
    """The calendar a draft proposes must be one business-time arithmetic can count in."""
    errors: dict[str, str] = {}
    try:
        ZoneInfo(values["time_zone"])
    except (ZoneInfoNotFoundError, ValueError, KeyError):
        errors["time_zone"] = f"“{values.get('time_zone', '')}” is not a time zone, e.g. Europe/Berlin."
    weekdays = values.get("working_weekdays") or []
    if not weekdays or not set(weekdays) <= set(range(7)):
        errors["working_weekdays"] = "Choose at least one working day."
    opens, closes = values.get("opens_at"), values.get("closes_at")
    if not isinstance(opens, time) or not isinstance(closes, time) or opens >= closes:
        errors["closes_at"] = "The business day must close after it opens."
    country, subdivision = values.get("holiday_country", ""), values.get("holiday_subdivision", "")
    if country:
        supported = holidays.list_supported_countries()
        if country not in supported:
            errors["holiday_country"] = f"No public holidays are known for “{country}”."
        elif subdivision and subdivision not in supported[country]:
            errors["holiday_subdivision"] = (
                f"“{subdivision}” is not a region of {country}; one of {', '.join(supported[country][:20])}."
            )
    elif subdivision:
        errors["holiday_subdivision"] = "Choose the country first."
    if errors:
        raise ValidationError(errors)


def validate_commitments(version: SlaVersion) -> None:
    errors: dict[str, str] = {}
    for name in ("first_attempt_hours", "attempts_required", "attempts_within_days"):
        if not getattr(version, name) or getattr(version, name) < 1:
            errors[name] = "Must be at least 1."
    if version.min_acceptance_rate is not None and not 0 <= version.min_acceptance_rate <= 100:
        errors["min_acceptance_rate"] = "A percentage between 0 and 100."
    if version.pipeline_value_per_month is not None and version.pipeline_value_per_month < 0:
        errors["pipeline_value_per_month"] = "Cannot be negative."
    if version.stale_after_days is not None and version.stale_after_days < 1:
        errors["stale_after_days"] = "At least one day, or leave it empty."
    if errors:
        raise ValidationError(errors)


# --- Versions: drafts and signatures -----------------------------------------------------------------

def _next_number() -> int:
    return (SlaVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1


def _active() -> SlaVersion | None:
    return SlaVersion.objects.filter(status=VersionStatus.ACTIVE).select_related("calendar").first()


@transaction.atomic
def sla_draft_create(*, actor: User) -> SlaVersion:
    """Opens a draft SLA, a copy of the version in force (calendar and closed days included); one at a time."""
    ensure_can_change_sla(actor)
    existing = SlaVersion.objects.filter(status=VersionStatus.DRAFT).first()
    if existing:
        return existing
    active = _active()
    if active:
        source_calendar = active.calendar
        closed_days = list(source_calendar.closed_days.all())
        calendar = BusinessCalendar.objects.create(
            **{name: getattr(source_calendar, name) for name in CALENDAR_FIELDS}
        )
        ClosedDay.objects.bulk_create([ClosedDay(calendar=calendar, day=d.day, label=d.label) for d in closed_days])
        draft = SlaVersion(calendar=calendar, number=_next_number(), created_by=actor,
                           **{name: getattr(active, name) for name in DRAFT_FIELDS if name != "note"})
        draft.review_on = None  # the next review is agreed anew with the new version
        draft.save()
        draft.personas.set(active.personas.all())
    else:
        calendar = BusinessCalendar.objects.create(
            time_zone=settings.TIME_ZONE if settings.TIME_ZONE != "UTC" else "Europe/Berlin",
            working_weekdays=[0, 1, 2, 3, 4],
        )
        draft = SlaVersion.objects.create(
            calendar=calendar, number=_next_number(), created_by=actor,
            responsibilities_text=DEFAULT_RESPONSIBILITIES, protocol_text=DEFAULT_PROTOCOL,
        )
    audit_record(actor=actor, action="sla.draft", target=draft, summary=f"SLA draft v{draft.number} opened")
    return draft


@transaction.atomic
def sla_draft_update(
    *, version: SlaVersion, actor: User, changes: dict[str, Any], personas: Iterable[Persona] | None = None,
) -> SlaVersion:
    """Changes a draft's commitments and text; any change withdraws the signatures it had."""
    ensure_can_change_sla(actor)
    version = SlaVersion.objects.select_for_update().get(pk=version.pk)
    _ensure_draft(version)
    unknown = set(changes) - set(DRAFT_FIELDS)
    if unknown:
        raise ValueError(f"sla_draft_update does not set {sorted(unknown)}")
    # Browsers send text areas with CRLF line ends: unchanged text must compare equal to what is stored.
    changes = {name: value.replace("\r\n", "\n").strip() if isinstance(value, str) else value
               for name, value in changes.items()}
    changed = [name for name, value in changes.items() if getattr(version, name) != value]
    for name in changed:
        setattr(version, name, changes[name])
    validate_commitments(version)
    personas_changed = False
    if personas is not None:
        wanted = {p.pk for p in personas}
        personas_changed = wanted != set(version.personas.values_list("pk", flat=True))
        if personas_changed:
            version.personas.set(wanted)
    if changed or personas_changed:
        version.save(update_fields=changed or None)
        _draft_changed(version)
        audit_record(actor=actor, action="sla.update", target=version,
                     summary=f"SLA draft v{version.number}: {', '.join(changed + (['personas'] if personas_changed else []))} changed")
    return version


@transaction.atomic
def calendar_update(*, calendar: BusinessCalendar, actor: User, changes: dict[str, Any]) -> BusinessCalendar:
    """Changes the business calendar of a draft: zone, working days and hours, whose public holidays."""
    ensure_can_change_sla(actor)
    version = SlaVersion.objects.select_for_update().get(calendar=calendar)
    _ensure_draft(version)
    # Compare with the row as stored: a ModelForm may already have put the new values on the instance.
    calendar = BusinessCalendar.objects.get(pk=calendar.pk)
    unknown = set(changes) - set(CALENDAR_FIELDS)
    if unknown:
        raise ValueError(f"calendar_update does not set {sorted(unknown)}")
    values = {name: getattr(calendar, name) for name in CALENDAR_FIELDS} | changes
    values["working_weekdays"] = sorted({int(d) for d in values["working_weekdays"] or []})
    values["holiday_country"] = (values["holiday_country"] or "").strip().upper()
    values["holiday_subdivision"] = (values["holiday_subdivision"] or "").strip().upper()
    validate_calendar(values)
    changed = [name for name in CALENDAR_FIELDS if getattr(calendar, name) != values[name]]
    if changed:
        for name in changed:
            setattr(calendar, name, values[name])
        calendar.save(update_fields=changed)
        calendar.__dict__.pop("working", None)
        _draft_changed(version)
        audit_record(actor=actor, action="sla.calendar", target=version,
                     summary=f"SLA draft v{version.number}: calendar {str(calendar)[:200]}")
    return calendar


@transaction.atomic
def closed_day_add(*, calendar: BusinessCalendar, actor: User, day: date, label: str = "") -> ClosedDay:
    """Adds a day the draft's calendar does not work (a company holiday); public holidays come by country."""
    ensure_can_change_sla(actor)
    version = SlaVersion.objects.select_for_update().get(calendar=calendar)
    _ensure_draft(version)
    if calendar.closed_days.filter(day=day).exists():
        raise ValidationError({"day": f"{day:%b %-d, %Y} is already a closed day."}, code="duplicate")
    closed = ClosedDay.objects.create(calendar=calendar, day=day, label=label.strip()[:100])
    _draft_changed(version)
    audit_record(actor=actor, action="sla.closed_day", target=version,
                 summary=f"SLA draft v{version.number}: closed on {day:%Y-%m-%d} {closed.label}".strip())
    return closed


@transaction.atomic
def closed_day_remove(*, closed_day: ClosedDay, actor: User) -> None:
    ensure_can_change_sla(actor)
    version = SlaVersion.objects.select_for_update().get(calendar=closed_day.calendar_id)
    _ensure_draft(version)
    closed_day.delete()
    _draft_changed(version)
    audit_record(actor=actor, action="sla.closed_day", target=version,
                 summary=f"SLA draft v{version.number}: open again on {closed_day.day:%Y-%m-%d}")


@transaction.atomic
def sla_draft_discard(*, version: SlaVersion, actor: User) -> None:
    """Withdraws a draft nobody wants to sign; the version in force stays."""
    ensure_can_change_sla(actor)
    version = SlaVersion.objects.select_for_update().get(pk=version.pk)
    _ensure_draft(version)
    audit_record(actor=actor, action="sla.discard", target=version, summary=f"SLA draft v{version.number} withdrawn")
    calendar = version.calendar
    version.delete()
    calendar.delete()


@transaction.atomic
def sla_sign(*, version: SlaVersion, actor: User) -> SlaVersion:
    """A manager signs a draft for their own team; with both teams' signatures it takes effect."""
    if not actor.can(Action.AGREEMENT_SIGN):
        raise PermissionDenied("Only a marketing manager or a sales manager signs the SLA.")
    version = SlaVersion.objects.select_for_update().select_related("calendar").get(pk=version.pk)
    _ensure_draft(version)
    validate_commitments(version)
    validate_calendar({name: getattr(version.calendar, name) for name in CALENDAR_FIELDS})
    now = timezone.now()
    # Each side signs for its own team: the function of the signer's role decides the line they sign.
    if actor.function == Function.MARKETING:
        if version.marketing_signed_at:
            raise ValidationError("Marketing has already signed this draft.", code="already_signed")
        version.marketing_signed_by, version.marketing_signed_at = actor, now
    elif actor.function == Function.SALES:
        if version.sales_signed_at:
            raise ValidationError("Sales has already signed this draft.", code="already_signed")
        version.sales_signed_by, version.sales_signed_at = actor, now
    else:  # pragma: no cover - AGREEMENT_SIGN is for managers, who all belong to a side
        raise PermissionDenied("Only a marketing manager or a sales manager signs the SLA.")
    version.save(update_fields=["marketing_signed_by", "marketing_signed_at", "sales_signed_by", "sales_signed_at"])
    audit_record(actor=actor, action="sla.sign", target=version,
                 summary=f"SLA v{version.number} signed for {Function(actor.function).label.lower()}")
    if version.fully_signed:
        # Handoffs keep the deadlines they were given: superseding a version rewrites nothing.
        SlaVersion.objects.filter(status=VersionStatus.ACTIVE).update(status=VersionStatus.SUPERSEDED)
        version.status, version.activated_at = VersionStatus.ACTIVE, now
        version.save(update_fields=["status", "activated_at"])
        audit_record(actor=actor, action="sla.activate", target=version, summary=f"SLA v{version.number} took effect")
    return version


# --- Goals -------------------------------------------------------------------------------------------

@transaction.atomic
def goal_save(*, goal: Goal, actor: User, teams: Iterable[Team]) -> Goal:
    """Creates or changes a shared goal; managers of either team set them, for one team or both."""
    ensure_can_change_sla(actor)
    teams = list(teams)
    errors: dict[str, str] = {}
    if not teams:
        errors["teams"] = "Choose the team or teams that own the goal."
    if goal.period_end and goal.period_start and goal.period_end < goal.period_start:
        errors["period_end"] = "The period must end on or after its start."
    if goal.target is None or goal.target <= 0:
        errors["target"] = "Give a target above zero."
    elif goal.is_rate and goal.target > 100:
        errors["target"] = "A rate's target is a percentage, at most 100."
    if errors:
        raise ValidationError(errors)
    created = goal.pk is None
    if created:
        goal.created_by = actor
    goal.save()
    goal.teams.set(teams)
    audit_record(actor=actor, action="goal.create" if created else "goal.update", target=goal,
                 summary=f"Goal “{goal.title}”: {goal.get_metric_display()} {goal.target} "
                         f"from {goal.period_start:%Y-%m-%d} to {goal.period_end:%Y-%m-%d}")
    return goal


@transaction.atomic
def goal_delete(*, goal: Goal, actor: User) -> None:
    ensure_can_change_sla(actor)
    audit_record(actor=actor, action="goal.delete", target=goal, summary=f"Goal “{goal.title}” removed")
    goal.delete()


# --- The calculator's proposal -----------------------------------------------------------------------

@transaction.atomic
def sla_propose_from_plan(
    *, actor: User, mqls_per_month: int, mql_basis: str, pipeline_value_per_month: Decimal | None, note: str,
) -> SlaVersion:
    """Puts the calculator's figures into the draft (opening one from the version in force if needed)."""
    draft = sla_draft_create(actor=actor)
    return sla_draft_update(version=draft, actor=actor, changes={
        "mqls_per_month": mqls_per_month, "mql_basis": mql_basis,
        "pipeline_value_per_month": pipeline_value_per_month, "note": note[:2000],
    })


# --- Watching the contract: breaches -----------------------------------------------------------------
#
# breaches_check is level-triggered: it looks at the handoffs' own deadline columns, never at messages,
# so a broker outage delays breaches and loses none. To keep its cost proportional to the breaches it
# finds (and not to all open handoffs) it reads only deadlines that fell due since its last run, through
# partial indexes on the open handoffs' deadlines (migration 0003), and keeps a watermark per kind
# (BreachScan). A nightly full sweep (full=True) reads every unmet deadline, in case a watermark ever
# skipped one (a deadline written in the past, a clock that jumped).
#
# Each breach is claimed by INSERT … ON CONFLICT DO NOTHING RETURNING against the unique constraint
# (handoff, kind): of two runs at once, the second waits for the first's commit and inserts nothing.
# Telling people is a second step in its own transaction (breaches_notify): it claims the breaches
# nobody was told of (notified_at, FOR UPDATE SKIP LOCKED) and writes their notifications in the same
# transaction, so each breach is notified exactly once, a crash between the steps loses nothing, and a
# burst of notifications never holds up the recording of breaches.

# Re-read a little before the watermark: a deadline that a slow transaction committed just behind it.
WATERMARK_OVERLAP = timedelta(minutes=10)
# How far back a full sweep (nightly, or the first run ever) looks: older deadlines were judged long ago.
FULL_SWEEP = timedelta(days=35)

_ENDED = (Handoff.Status.REJECTED, Handoff.Status.REASSIGNED, Handoff.Status.CLOSED)


@dataclass(frozen=True)
class BreachCheckResult:
    first_attempt: int = 0
    attempts: int = 0
    met_late: int = 0
    closed: int = 0
    recycled: int = 0
    notified: int = 0
    breach_ids: tuple[int, ...] = ()

    @property
    def breaches(self) -> int:
        return self.first_attempt + self.attempts


def _since(kind: str, *, full: bool, now: datetime) -> datetime:
    """Where this run starts reading: a little before the last run's end, or FULL_SWEEP back for a sweep."""
    scan = None if full else BreachScan.objects.filter(kind=kind).first()
    return scan.scanned_to - WATERMARK_OVERLAP if scan else now - FULL_SWEEP


def _advance(kind: str, now: datetime) -> None:
    # Only forwards: a slower run that started earlier must not move the watermark back.
    if not BreachScan.objects.filter(kind=kind, scanned_to__lt=now).update(scanned_to=now):
        BreachScan.objects.get_or_create(kind=kind, defaults={"scanned_to": now})


# Each kind of deadline: its column on the handoff, when it was met (NULL: not yet), and what else must hold
# for a missed deadline to be a breach. Each WHERE repeats its partial index's predicate (migration 0003)
# word for word, so PostgreSQL reads the index.
_DEADLINES = {
    Breach.Kind.FIRST_ATTEMPT: (
        "first_attempt_due_at", "first_attempt_at",
        "AND (h.first_attempt_at IS NULL OR h.first_attempt_at > h.first_attempt_due_at)",
    ),
    # K attempts are owed only to a lead still waiting for contact: one that reached SQL by the deadline
    # was reached.
    Breach.Kind.ATTEMPTS: (
        "attempts_due_at", "attempts_met_at",
        "AND (h.attempts_met_at IS NULL OR h.attempts_met_at > h.attempts_due_at) "
        "AND NOT EXISTS (SELECT 1 FROM {stage_change} c WHERE c.lead_id = h.lead_id "
        "AND c.to_stage IN ('sql', 'opportunity', 'won') AND c.changed_at >= h.created_at "
        "AND c.changed_at <= h.attempts_due_at)",
    ),
}


def _insert_breaches(*, kind: str, since: datetime | None, now: datetime) -> list[tuple[int, int]]:
    """Inserts one breach per handoff whose `kind` deadline fell due in (since, now] and was not met by then,
    unless the handoff had ended before it; returns (breach id, handoff id) of the rows this call inserted.

    A deadline met late (an attempt after it, before this run) is a breach too, recorded as met late.
    """
    due_column, met_column, condition = _DEADLINES[kind]
    tables = {"breach": Breach._meta.db_table, "handoff": Handoff._meta.db_table, "user": User._meta.db_table,
              "stage_change": StageChange._meta.db_table}
    window = f"AND h.{due_column} > %s " if since is not None else ""
    # Table and column names come from the models and this module; every value is a parameter.
    sql = (
        "INSERT INTO {breach} (kind, side, handoff_id, rep_id, escalated_to_id, sla_version_number, due_at, "  # noqa: S608
        "detected_at, met_at, detail) "
        f"SELECT %s, %s, h.id, h.rep_id, u.manager_id, h.sla_version_number, h.{due_column}, %s, "
        f"CASE WHEN h.{met_column} > h.{due_column} THEN h.{met_column} END, '' "
        "FROM {handoff} h JOIN {user} u ON u.id = h.rep_id "
        f"WHERE h.{due_column} IS NOT NULL AND h.{due_column} <= %s {window}{condition} "
        # Ended before the deadline (rejected, reassigned, closed): nothing was owed any more.
        f"AND COALESCE(h.rejected_at, h.reassigned_at, h.closed_at, h.{due_column}) >= h.{due_column} "
        "ORDER BY h.id "
        "ON CONFLICT DO NOTHING "
        "RETURNING id, handoff_id"
    ).replace("{breach}", tables["breach"]).replace("{handoff}", tables["handoff"]).replace(
        "{user}", tables["user"]).replace("{stage_change}", tables["stage_change"])
    # As the ORM would send them: SQLite compares datetimes as naive UTC text.
    instants = [connection.ops.adapt_datetimefield_value(at) for at in (now, now, since) if at is not None]
    with connection.cursor() as cursor:
        cursor.execute(sql, [kind, Function.SALES, *instants])
        return cursor.fetchall()


def breaches_check(*, now: datetime | None = None, full: bool = False) -> BreachCheckResult:
    """Records each sales deadline that passed unmet as one breach, then tells the rep and escalates to
    their manager. Two transactions on purpose (see above): recording, then notifying what was recorded."""
    now = now or timezone.now()
    result = breaches_record(now=now, full=full)
    return replace(result, notified=breaches_notify(now=now))


@transaction.atomic
def breaches_record(*, now: datetime | None = None, full: bool = False) -> BreachCheckResult:
    """Records each sales deadline that passed unmet as one breach (once, whoever else runs at the same time).

    Then marks breaches met late whose handoff got its attempts after all, closes those whose handoff
    ended unmet, and recycles leads whose K-attempts deadline passed without an answer when the SLA says so.
    """
    now = now or timezone.now()
    first = _insert_breaches(kind=Breach.Kind.FIRST_ATTEMPT, since=_since(Breach.Kind.FIRST_ATTEMPT, full=full, now=now),
                             now=now)
    _advance(Breach.Kind.FIRST_ATTEMPT, now)
    attempts_since = _since(Breach.Kind.ATTEMPTS, full=full, now=now)
    attempts = _insert_breaches(kind=Breach.Kind.ATTEMPTS, since=attempts_since, now=now)
    recycled = _recycle_unanswered(since=attempts_since, now=now)
    _advance(Breach.Kind.ATTEMPTS, now)
    new_rows = first + attempts
    met_late, closed = _breaches_reconcile(now=now)
    return BreachCheckResult(
        first_attempt=len(first), attempts=len(attempts), met_late=met_late, closed=closed, recycled=recycled,
        breach_ids=tuple(row[0] for row in new_rows),
    )


def _breaches_reconcile(*, now: datetime) -> tuple[int, int]:
    """Open breaches whose handoff got its attempts after the deadline are met late; those whose handoff
    ended without them are closed. Reads only open breaches (a partial index)."""
    open_breaches = Breach.objects.filter(met_at=None, closed_at=None, handoff__isnull=False)
    handoffs = Handoff.objects.filter(pk=OuterRef("handoff_id"))
    met = open_breaches.filter(kind=Breach.Kind.FIRST_ATTEMPT, handoff__first_attempt_at__isnull=False).update(
        met_at=Subquery(handoffs.values("first_attempt_at")[:1])
    )
    met += open_breaches.filter(kind=Breach.Kind.ATTEMPTS, handoff__attempts_met_at__isnull=False).update(
        met_at=Subquery(handoffs.values("attempts_met_at")[:1])
    )
    # A positive filter on the handoff's status: an exclude() across the join would read every open handoff.
    closed = open_breaches.filter(
        kind__in=(Breach.Kind.FIRST_ATTEMPT, Breach.Kind.ATTEMPTS), handoff__status__in=_ENDED,
    ).update(closed_at=now)
    return met, closed


@transaction.atomic
def breach_mark_met(*, handoff: Handoff) -> int:
    """Marks the handoff's open breaches met late once its attempts are in (called when an attempt is logged).

    The breach check does the same on its next run; this only makes it show at once.
    """
    handoff = Handoff.objects.get(pk=handoff.pk)
    met = 0
    if handoff.first_attempt_at is not None:
        met += Breach.objects.filter(handoff=handoff, kind=Breach.Kind.FIRST_ATTEMPT, met_at=None,
                                     closed_at=None).update(met_at=handoff.first_attempt_at)
    if handoff.attempts_met_at is not None:
        met += Breach.objects.filter(handoff=handoff, kind=Breach.Kind.ATTEMPTS, met_at=None,
                                     closed_at=None).update(met_at=handoff.attempts_met_at)
    return met


def _recycle_unanswered(*, since: datetime, now: datetime) -> int:
    """Accepted leads whose K-attempts deadline passed with no answer go back to nurture, if their SLA says so.

    "No answer": the lead is still `sal` and no attempt reached the person. Only accepted leads: the system
    may move sal → recycled; a lead never accepted is the rep's manager's to reassign (the breach says so).
    """
    recycling_versions = list(SlaVersion.objects.filter(auto_recycle=True).values_list("number", flat=True))
    if not recycling_versions:
        return 0
    due = Handoff.objects.filter(
        status=Handoff.Status.ACCEPTED, attempts_due_at__lte=now, sla_version_number__in=recycling_versions,
        lead__stage=Stage.SAL, attempts_due_at__gt=since,
    )
    answered = ContactAttempt.objects.filter(
        lead=OuterRef("lead_id"), occurred_at__gte=OuterRef("created_at"), outcome__in=ANSWERED_OUTCOMES,
    )
    candidates = list(due.exclude(Exists(answered)).values_list("pk", "lead_id", "attempts_required",
                                                                 "sla_version_number"))
    if not candidates:
        return 0
    by_lead = {lead_id: (pk, k, number) for pk, lead_id, k, number in candidates}
    moved = leads_move_by_system(
        lead_ids=sorted(by_lead), to=Stage.RECYCLED,
        reason="No answer after the SLA's contact attempts: back to nurture", at=now,
    )
    if moved:
        # The handoffs close with the lead's new stage as their outcome, as for any lead that left sales.
        handoffs_close_finished(lead_ids=moved)
        _recycled_notify(handoff_ids=[by_lead[lead_id][0] for lead_id in moved])
    return len(moved)


# --- Notifications of the contract -------------------------------------------------------------------

@transaction.atomic
def breaches_notify(*, now: datetime | None = None, limit: int = 10_000) -> int:
    """Tells people of the breaches nobody was told of yet, each once: the rep and their manager (sales), or
    both teams' managers (marketing's month). Claims its breaches, so two runs at once never both send."""
    now = now or timezone.now()
    # Oldest first, at most `limit` per run (a burst of 10,000 breaches is a few runs, a minute apart).
    claimed = list(Breach.objects.select_for_update(skip_locked=True).filter(notified_at=None)
                   .order_by("pk").values_list("pk", flat=True)[:limit])
    if not claimed:
        return 0
    Breach.objects.filter(pk__in=claimed).update(notified_at=now)
    # Plain rows, not model instances: a burst of a thousand breaches is notified in well under a second.
    breaches = list(Breach.objects.filter(pk__in=claimed).order_by("pk").values(*_NOTIFY_COLUMNS))
    _escalation_fallback([b for b in breaches if b["side"] == Function.SALES])
    breach_url = reverse("sla_contract:breach_list")
    kinds = dict(Breach.Kind.choices)
    managers: list[User] | None = None
    messages: list[tuple[int, bool, str, str, str, str]] = []
    for b in breaches:
        what = _breach_sentence(b["kind"], b["detail"])
        if b["side"] == Function.MARKETING:
            if managers is None:
                managers = _managers(Role.MARKETING_MANAGER, Role.SALES_MANAGER)
            title = f"SLA: {kinds[b['kind']]} in {b['month']:%B %Y}"
            messages.extend((m.pk, bool(m.email), NOTIFY_BREACH, title, what, f"{breach_url}?side=marketing")
                            for m in managers)
            continue
        lead = _person(b["handoff__lead__first_name"], b["handoff__lead__last_name"], b["handoff__lead__email"])
        rep = _person(b["rep__first_name"], b["rep__last_name"], b["rep__email"])
        messages.append((b["rep_id"], b["rep__is_active"] and bool(b["rep__email"]), NOTIFY_BREACH,
                         f"SLA breach: {lead} — {what}", f"{lead}: {what}. Act on it now.",
                         reverse("leads:lead_detail", args=[b["handoff__lead_id"]])))
        if b["escalated_to_id"]:
            messages.append((b["escalated_to_id"], b["escalated_to__is_active"] and bool(b["escalated_to__email"]),
                             NOTIFY_ESCALATION, f"Escalation: {rep} — {what}", f"{lead}, handed to {rep}: {what}.",
                             f"{breach_url}?rep={b['rep_id']}"))
    _notify_many(messages)
    _breach_webhooks(breaches)
    return len(breaches)


_NOTIFY_COLUMNS = (
    "pk", "kind", "side", "detail", "month", "due_at", "detected_at", "sla_version_number", "committed", "delivered",
    "handoff_id", "handoff__lead_id", "handoff__lead__first_name", "handoff__lead__last_name", "handoff__lead__email",
    "rep_id", "rep__first_name", "rep__last_name", "rep__email", "rep__is_active", "rep__team_id",
    "escalated_to_id", "escalated_to__email", "escalated_to__is_active",
)


def _person(first_name: str | None, last_name: str | None, email: str | None) -> str:
    """How a lead or a user is named in a notification (their __str__, from plain columns)."""
    return f"{first_name or ''} {last_name or ''}".strip() or (email or "")


def _escalation_fallback(breaches: list[dict]) -> None:
    """A rep without a manager escalates to a sales manager of their team (or any, without one)."""
    orphans = [b for b in breaches if b["escalated_to_id"] is None and b["rep_id"]]
    if not orphans:
        return
    managers = list(User.objects.filter(role=Role.SALES_MANAGER, is_active=True).order_by("pk"))
    for breach in orphans:
        same_team = [m for m in managers if m.team_id and m.team_id == breach["rep__team_id"]]
        chosen = (same_team or managers or [None])[0]
        if chosen is not None:
            breach.update(escalated_to_id=chosen.pk, escalated_to__email=chosen.email,
                          escalated_to__is_active=chosen.is_active)
            Breach.objects.filter(pk=breach["pk"]).update(escalated_to=chosen)


def _breach_sentence(kind: str, detail: str) -> str:
    if kind == Breach.Kind.FIRST_ATTEMPT:
        return "no first attempt by the SLA deadline"
    if kind == Breach.Kind.ATTEMPTS:
        return "fewer contact attempts than the SLA requires by its deadline"
    if kind == Breach.Kind.STALE:
        return "accepted lead without sales activity"
    return detail or Breach.Kind(kind).label


def _breach_webhooks(breaches: list[dict]) -> None:
    webhooks_emit(event=WebhookEvent.SLA_BREACH, payloads=[
        {
            "breach_id": b["pk"], "kind": b["kind"], "side": b["side"], "handoff_id": b["handoff_id"],
            "lead_id": b["handoff__lead_id"], "rep_id": b["rep_id"],
            "month": b["month"].isoformat() if b["month"] else None, "due_at": b["due_at"].isoformat(),
            "detected_at": b["detected_at"].isoformat(), "sla_version": b["sla_version_number"],
            "committed": str(b["committed"]) if b["committed"] is not None else None,
            "delivered": str(b["delivered"]) if b["delivered"] is not None else None,
        }
        for b in breaches
    ])


def _recycled_notify(*, handoff_ids: list[int]) -> None:
    for handoff in Handoff.objects.filter(pk__in=handoff_ids).select_related("lead", "rep", "handed_off_by"):
        url = reverse("leads:lead_detail", args=[handoff.lead_id])
        recipients = [handoff.rep] + ([handoff.handed_off_by] if handoff.handed_off_by_id else [])
        _notify(recipients=recipients, title=f"Back to nurture: {handoff.lead}",
                body=f"{handoff.lead} did not answer {handoff.attempt_count} attempts by the SLA's deadline "
                     f"and went back to marketing's nurture.", url=url, kind=NOTIFY_RECYCLED)


# --- Idle accepted leads -----------------------------------------------------------------------------

@transaction.atomic
def stale_leads_flag(*, now: datetime | None = None) -> int:
    """Flags, once per handoff, each accepted lead left without sales activity for the SLA's stale days.

    Sales activity is the later of the acceptance, the last attempt and the last stage change. The rule
    is the one of the SLA the handoff was made under. Tells the rep and their manager.
    """
    now = now or timezone.now()
    rules = dict(SlaVersion.objects.filter(stale_after_days__isnull=False).values_list("number", "stale_after_days"))
    if not rules:
        return 0
    rows: list[tuple[int, int, int | None, int, datetime]] = []
    accepted = (
        Handoff.objects.filter(status=Handoff.Status.ACCEPTED, sla_version_number__in=list(rules),
                               lead__stage__in=(Stage.SAL, Stage.SQL, Stage.OPPORTUNITY))
        .exclude(breaches__kind=Breach.Kind.STALE)
        .annotate(last_touch=Greatest(Coalesce("last_attempt_at", "accepted_at", "created_at"),
                                      Coalesce("accepted_at", "created_at"), "lead__stage_entered_at"))
        .values_list("pk", "rep_id", "rep__manager_id", "sla_version_number", "last_touch")
    )
    for pk, rep_id, manager_id, number, last_touch in accepted:
        if last_touch + timedelta(days=rules[number]) <= now:
            rows.append((pk, rep_id, manager_id, number, last_touch + timedelta(days=rules[number])))
    if not rows:
        return 0
    new = []
    for pk, rep_id, manager_id, number, due in rows:
        # Claimed by the unique constraint (handoff, kind): a concurrent run's insert fails here and is skipped.
        try:
            with transaction.atomic():
                breach = Breach.objects.create(
                    kind=Breach.Kind.STALE, side=Function.SALES, handoff_id=pk, rep_id=rep_id,
                    escalated_to_id=manager_id, sla_version_number=number, due_at=due, detected_at=now,
                    detail=f"No sales activity for {rules[number]} days",
                )
        except IntegrityError:
            continue
        new.append((breach.pk, pk, rep_id, manager_id, number, due))
    if new:
        breaches_notify(now=now)
    return len(new)


# --- Marketing's month ------------------------------------------------------------------------------

def _month_bounds(month: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(month.replace(day=1), time(0), tzinfo=zone)
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, datetime.combine(following, time(0), tzinfo=zone)


def _managers(*roles: str) -> list[User]:
    return list(User.objects.filter(role__in=roles, is_active=True).order_by("pk"))


@transaction.atomic
def marketing_month_close(*, month: date, now: datetime | None = None) -> list[Breach]:
    """Closes marketing's month: a breach for each commitment the month fell short of, recorded once.

    The commitments are those of the SLA version in force at the month's end; MQLs delivered are the
    MQLs handed off to sales in the month (a reassignment not counted again), the acceptance rate is the share of that month's handoffs
    that sales accepted (of those it decided), the pipeline value is the deal amount of the leads that
    became opportunities in the month.
    """
    from sla.contract_selectors import marketing_month, sla_version_at

    now = now or timezone.now()
    month = month.replace(day=1)
    version = sla_version_at(_month_bounds(month, ZoneInfo("UTC"))[1] - timedelta(seconds=1))
    if version is None:
        return []
    zone = ZoneInfo(version.calendar.time_zone)
    _start, end = _month_bounds(month, zone)
    if now < end:
        raise ValidationError(f"{month:%B %Y} has not ended yet.", code="month_open")
    figures = marketing_month(version=version, month=month, now=end)
    shortfalls: list[Breach] = []
    common = {"side": Function.MARKETING, "month": month, "sla_version_number": version.number, "due_at": end,
              "detected_at": now}
    if figures.delivered < figures.committed:
        shortfalls.append(Breach(kind=Breach.Kind.MQL_VOLUME, committed=figures.committed, delivered=figures.delivered,
                                 detail=f"{figures.delivered} of {figures.committed} MQLs delivered in {month:%B %Y}",
                                 **common))
    if (version.min_acceptance_rate is not None and figures.acceptance_rate is not None
            and figures.acceptance_rate < version.min_acceptance_rate):
        shortfalls.append(Breach(kind=Breach.Kind.ACCEPTANCE_RATE, committed=version.min_acceptance_rate,
                                 delivered=Decimal(figures.acceptance_rate).quantize(Decimal("0.1")),
                                 detail=f"Sales accepted {figures.acceptance_rate:.0f}% of the MQLs of {month:%B %Y}, "
                                        f"below the agreed {version.min_acceptance_rate}%", **common))
    if version.pipeline_value_per_month is not None and figures.pipeline_value < version.pipeline_value_per_month:
        shortfalls.append(Breach(kind=Breach.Kind.PIPELINE_VALUE, committed=version.pipeline_value_per_month,
                                 delivered=figures.pipeline_value,
                                 detail=f"Pipeline of {figures.pipeline_value:,.0f} of {version.pipeline_value_per_month:,.0f} "
                                        f"in {month:%B %Y}", **common))
    recorded = []
    for breach in shortfalls:
        # Recorded once per month and kind: a rerun of the close (or two at once) finds it there.
        if Breach.objects.filter(month=month, kind=breach.kind).exists():
            continue
        try:
            with transaction.atomic():
                breach.save()
        except IntegrityError:
            continue
        recorded.append(breach)
    if recorded:
        breaches_notify(now=now)
    return recorded


# --- Review reminders -------------------------------------------------------------------------------

@transaction.atomic
def review_reminders_send(*, now: datetime | None = None) -> int:
    """Reminds both teams' managers, once, when the SLA in force reaches its review date."""
    now = now or timezone.now()
    version = SlaVersion.objects.filter(status=VersionStatus.ACTIVE, review_on__isnull=False,
                                        review_reminded_at=None).select_related("calendar").first()
    if version is None or version.review_on > now.astimezone(ZoneInfo(version.calendar.time_zone)).date():
        return 0
    # Claimed by a conditional update: of two runs, only one sends.
    if not SlaVersion.objects.filter(pk=version.pk, review_reminded_at=None).update(review_reminded_at=now):
        return 0
    recipients = _managers(Role.MARKETING_MANAGER, Role.SALES_MANAGER)
    _notify(recipients=recipients, title=f"Time to review SLA v{version.number}",
            body=f"Both teams agreed to reassess the SLA on {version.review_on:%B %-d, %Y}. "
                 f"Open a draft with what has changed, or agree a new review date.",
            url=reverse("sla_contract:overview"), kind=NOTIFY_REVIEW)
    return len(recipients)


def _notify(*, recipients: Iterable[User | None], title: str, body: str, url: str, kind: str) -> None:
    """One notification (bell and e-mail) per distinct person, in the caller's transaction."""
    seen: set[int] = set()
    for recipient in recipients:
        if recipient is None or recipient.pk in seen:
            continue
        seen.add(recipient.pk)
        notification_send(recipient=recipient, kind=kind, title=title, body=body, url=url)


def _notify_many(messages: list[tuple[int, bool, str, str, str, str]]) -> None:
    """notification_send for many messages at once: the same rows in one insert, each e-mail after commit.

    (recipient id, e-mail wanted, kind, title, body, url) each. The breach check may record a thousand
    breaches in a run; a row at a time would cost seconds.
    """
    rows = [
        Notification(recipient_id=recipient_id, kind=kind, title=title[:200], body=body, url=url[:500],
                     email_wanted=email_wanted)
        for recipient_id, email_wanted, kind, title, body, url in messages
    ]
    Notification.objects.bulk_create(rows, batch_size=1000)
    ids = [row.pk for row in rows if row.email_wanted and row.pk is not None]

    def enqueue_emails() -> None:
        for notification_id in ids:
            enqueue(EMAIL_TASK, notification_id=notification_id)

    if ids:
        transaction.on_commit(enqueue_emails)
