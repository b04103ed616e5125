"""Writes on handoffs: routing, handing off, accepting, rejecting, reassigning, moving on, attempts, feedback.

Every stage change goes through leads.services.lead_change_stage, in the same transaction as the
handoff's own change, so a lead's stage and its handoff never disagree. Notifications and webhooks are
written here and leave after commit.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Min, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from leads.models import ContactAttempt, Feedback, Lead, Reason, Stage
from leads.services import lead_change_stage, reason_from_list
from leads.services_followup import (
    contact_attempt_create,
    feedback_create,
    lead_set_owner,
    objection_resolve,
)
from sla.deadlines import handoff_deadlines
from sla.models import Handoff, RoutingRule, RoutingSettings, RoutingTurn
from sla.selectors import (
    OPEN,
    handoff_can_work,
    handoff_latest_for_lead,
    handoff_summary_build,
    lead_can_follow_up,
    leads_awaiting_routing,
    rule_candidates,
    rule_matches,
)
from smarketing.audit import audit_record, audit_text
from smarketing.models import Notification, User, WebhookEvent
from smarketing.notifications import notification_send
from smarketing.roles import Action, Role
from smarketing.services import webhook_emit

# Where an accepted lead may go next from the handoff card, and which of those close the handoff.
MOVES_ON = (Stage.SQL, Stage.OPPORTUNITY, Stage.WON, Stage.LOST, Stage.RECYCLED, Stage.DISQUALIFIED)
EXITS = frozenset({Stage.WON, Stage.LOST, Stage.RECYCLED, Stage.DISQUALIFIED})
# Leaving sales this way is a verdict on the lead: marketing gets feedback with it.
FEEDBACK_KIND_OF_EXIT = {
    Stage.LOST: Feedback.Kind.LOSS,
    Stage.DISQUALIFIED: Feedback.Kind.DISQUALIFICATION,
    Stage.RECYCLED: Feedback.Kind.RECYCLING,
}
# How many MQLs one run of auto-routing hands off; the next run (a minute later) takes the rest.
ROUTE_BATCH = 200


class HandoffConflict(ValidationError):
    """Someone else handed the lead off first: there is already an open handoff."""


# The stage-change reasons handoffs write (sla.services_privacy keeps them when a lead is erased).
ACCEPTED_REASON = "Accepted the handoff"
REJECTED_REASON_PREFIX = "Rejected: "


def _lead_url(lead_id: int) -> str:
    return reverse("leads:lead_detail", args=[lead_id])


def _ensure_assignable(rep: User) -> None:
    if rep.role != Role.SALES_REP or not rep.is_active:
        raise ValidationError({"rep": f"{rep} is not an active sales rep."}, code="not_a_rep")


def _ensure_can_work(actor: User, handoff: Handoff) -> None:
    if not handoff_can_work(user=actor, handoff=handoff):
        raise PermissionDenied("Only the rep this lead was handed to, or a sales manager, can work it.")


def _locked(handoff: Handoff) -> Handoff:
    # Lock the handoff: a double click on "accept" or two managers reassigning at once act one after
    # the other, and the second sees what the first did.
    return (Handoff.objects.select_for_update(of=("self",)).select_related("lead", "rep", "handed_off_by")
            .get(pk=handoff.pk))


def _conflict(existing: Handoff) -> HandoffConflict:
    by = f" by {existing.handed_off_by}" if existing.handed_off_by else " by routing"
    return HandoffConflict(
        f"{existing.lead} was already handed to {existing.rep}{by} at "
        f"{timezone.localtime(existing.created_at):%H:%M on %b %d}. Nothing was changed.",
        code="already_handed_off",
    )


def _webhook_payload(handoff: Handoff) -> dict:
    return {
        "handoff_id": handoff.pk, "lead_id": handoff.lead_id, "lead_email": handoff.lead.email,
        "rep_email": handoff.rep.email, "handed_off_by": handoff.handed_off_by.email if handoff.handed_off_by else None,
        "routing_rule": handoff.routing_rule.name if handoff.routing_rule_id else None,
        "status": handoff.status, "created_at": handoff.created_at,
        "first_attempt_due_at": handoff.first_attempt_due_at, "attempts_due_at": handoff.attempts_due_at,
    }


def _open_handoff(
    *, lead: Lead, rep: User, actor: User | None, note: str, routing_rule: RoutingRule | None,
    previous: Handoff | None = None, status: str = Handoff.Status.PENDING, at: datetime | None = None,
) -> Handoff:
    """Inserts the open handoff; the caller holds the lead's row lock and has closed any earlier one."""
    now = at or timezone.now()
    deadlines = handoff_deadlines(handed_off_at=now)
    handoff = Handoff(
        lead=lead, rep=rep, handed_off_by=actor, created_at=now, routing_rule=routing_rule, previous=previous,
        note=note.strip(), status=status, accepted_at=now if status == Handoff.Status.ACCEPTED else None,
        summary=handoff_summary_build(lead=lead, at=now),
        first_attempt_due_at=deadlines.first_attempt_due_at, attempts_due_at=deadlines.attempts_due_at,
        attempts_required=deadlines.attempts_required, sla_version_number=deadlines.sla_version_number,
    )
    try:
        # A savepoint: the unique constraint is the last line of defence when the row lock is not
        # enough (SQLite takes none), and its violation is a conflict, not a crash.
        with transaction.atomic():
            handoff.save()
    except IntegrityError:
        existing = Handoff.objects.filter(lead=lead, status__in=OPEN).select_related("rep", "handed_off_by").first()
        if existing is None:
            raise
        raise _conflict(existing) from None
    lead_set_owner(lead=lead, owner=rep)
    return handoff


@transaction.atomic
def handoff_create(
    *, lead: Lead, rep: User, actor: User | None, note: str = "", routing_rule: RoutingRule | None = None,
    at: datetime | None = None,
) -> Handoff:
    """Hands an MQL to a sales rep with marketing's intelligence frozen on it, and starts the SLA clock.

    actor None is routing. Of two people handing off the same lead at once, the first wins and the
    second gets HandoffConflict.
    """
    if actor is not None and not actor.can(Action.HANDOFF_CREATE):
        raise PermissionDenied("Only marketing and managers hand leads off to sales.")
    _ensure_assignable(rep)
    # The lead's row lock serialises handoffs of one lead: the second waits, then sees the first.
    lead = Lead.objects.select_for_update(of=("self",)).select_related("company").get(pk=lead.pk)
    if lead.is_erased:
        raise ValidationError("This person's data was erased on request: there is no one to hand off.",
                              code="erased")
    handoffs_close_finished(lead_ids=[lead.pk])
    existing = Handoff.objects.filter(lead=lead, status__in=OPEN).select_related("rep", "handed_off_by").first()
    if existing is not None:
        raise _conflict(existing)
    if lead.stage != Stage.MQL:
        raise ValidationError(f"Only an MQL can be handed off; {lead} is {Stage(lead.stage).label}.",
                              code="not_mql")
    handoff = _open_handoff(lead=lead, rep=rep, actor=actor, note=note, routing_rule=routing_rule, at=at)
    who = str(actor) if actor else f"routing ({routing_rule})" if routing_rule else "routing"
    audit_record(actor=actor, action="handoff.create", target=handoff, summary=f"{who} handed {lead} to {rep}")
    notification_send(
        recipient=rep, kind=Notification.Kind.HANDOFF_NEW, title=f"New lead for you: {lead}",
        body=(f"{who} handed you {lead}" + (f" ({lead.company.name})" if lead.company else "") + "."
              + (f"\n\nNote: {handoff.note}" if handoff.note else "")),
        url=_lead_url(lead.pk),
    )
    webhook_emit(event=WebhookEvent.HANDOFF_MADE, payload=_webhook_payload(handoff))
    return handoff


@transaction.atomic
def handoff_accept(*, handoff: Handoff, actor: User) -> Handoff:
    """The rep takes the lead on: the handoff is accepted and the lead becomes SAL."""
    handoff = _locked(handoff)
    _ensure_can_work(actor, handoff)
    if handoff.status != Handoff.Status.PENDING:
        raise ValidationError(f"This handoff is already {handoff.get_status_display().lower()}.", code="not_pending")
    lead_change_stage(lead=handoff.lead, to=Stage.SAL, actor=actor, reason=ACCEPTED_REASON)
    handoff.status = Handoff.Status.ACCEPTED
    handoff.accepted_at = timezone.now()
    handoff.save(update_fields=["status", "accepted_at"])
    handoff.lead.refresh_from_db()  # lead_change_stage wrote the stage with an UPDATE
    return handoff


@dataclass(frozen=True)
class Verdict:
    """Sales' feedback that comes with rejecting or losing a lead."""

    quality: int | None
    text: str = ""
    objection: str = ""


def _notify_marketing(handoff: Handoff, *, kind: str, title: str, body: str, actor: User) -> None:
    """Tells whoever handed the lead off; routed leads have no such person, so marketing's managers hear."""
    if handoff.handed_off_by_id:
        recipients = [handoff.handed_off_by] if handoff.handed_off_by_id != actor.pk else []
    else:
        recipients = list(User.objects.filter(role=Role.MARKETING_MANAGER, is_active=True))
    for recipient in recipients:
        notification_send(recipient=recipient, kind=kind, title=title, body=body, url=_lead_url(handoff.lead_id))


@transaction.atomic
def handoff_reject(
    *, handoff: Handoff, actor: User, reason: Reason | None, verdict: Verdict, disqualify: bool = False,
    disqualification_reason: str = "",
) -> Handoff:
    """The rep turns the lead down with a listed reason and a comment: back to nurture, or disqualified.

    The rejection is feedback to marketing (quality, reason, comment) and tells the marketer who
    handed the lead off.
    """
    handoff = _locked(handoff)
    _ensure_can_work(actor, handoff)
    if handoff.status != Handoff.Status.PENDING:
        raise ValidationError(f"Only a handoff waiting for the rep can be rejected; this one is "
                              f"{handoff.get_status_display().lower()}.", code="not_pending")
    errors = {}
    if reason is None or reason.kind != Reason.Kind.REJECTION:
        errors["reason"] = "Choose a rejection reason from the list."
    if not verdict.text.strip():
        errors["text"] = "Tell marketing in a sentence why the lead is not for sales."
    if disqualify and not disqualification_reason.strip():
        errors["disqualification_reason"] = "Choose why the lead is disqualified."
    if errors:
        raise ValidationError(errors)
    lead = handoff.lead
    objection = objection_resolve(label=verdict.objection, actor=actor)
    feedback_create(lead=lead, author=actor, kind=Feedback.Kind.REJECTION, quality=verdict.quality, reason=reason,
                    text=verdict.text, objection=objection)
    now = timezone.now()
    if disqualify:
        lead_change_stage(lead=lead, to=Stage.DISQUALIFIED, actor=actor,
                          reason=reason_from_list(to=Stage.DISQUALIFIED, reason=disqualification_reason),
                          note=f"Rejected: {reason.label}. {verdict.text.strip()}", at=now)
    else:
        lead_change_stage(lead=lead, to=Stage.RECYCLED, actor=actor, reason=f"{REJECTED_REASON_PREFIX}{reason.label}",
                          note=verdict.text.strip(), at=now)
    handoff.status = Handoff.Status.REJECTED
    handoff.rejected_at = handoff.closed_at = now
    handoff.rejection_reason = reason
    handoff.rejection_comment = verdict.text.strip()
    handoff.outcome = Stage.DISQUALIFIED if disqualify else Stage.RECYCLED
    handoff.save(update_fields=["status", "rejected_at", "closed_at", "rejection_reason", "rejection_comment",
                                "outcome"])
    # Back with marketing: the lead has no sales owner until it is handed off again.
    lead_set_owner(lead=lead, owner=None)
    audit_record(actor=actor, action="handoff.reject", target=handoff,
                 summary=f"{actor} rejected {lead}: {reason.label}")
    _notify_marketing(
        handoff, kind=Notification.Kind.HANDOFF_REJECTED, actor=actor,
        title=f"{actor} rejected {lead}",
        body=f"Reason: {reason.label}. Quality {verdict.quality}/5.\n\n“{verdict.text.strip()}”",
    )
    webhook_emit(event=WebhookEvent.HANDOFF_REJECTED, payload={
        **_webhook_payload(handoff), "reason": reason.label, "comment": handoff.rejection_comment,
        "quality": verdict.quality, "lead_stage": handoff.outcome,
    })
    lead.refresh_from_db()
    return handoff


@transaction.atomic
def handoff_reassign(*, handoff: Handoff, to_rep: User, actor: User, reason: str) -> Handoff:
    """A manager gives an open handoff to another rep, with a reason; the old handoff stays as history."""
    if not actor.can(Action.ROUTING_CONFIGURE):
        raise PermissionDenied("Only managers reassign leads.")
    _ensure_assignable(to_rep)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the lead goes to another rep."}, code="required")
    # The lead's row lock first, as handoff_create takes it: a reassignment and a new handoff queue up.
    Lead.objects.select_for_update().get(pk=handoff.lead_id)
    handoff = _locked(handoff)
    if not handoff.is_open:
        raise ValidationError(f"This handoff is already {handoff.get_status_display().lower()}.", code="not_open")
    if handoff.rep_id == to_rep.pk:
        raise ValidationError({"rep": f"The lead is already with {to_rep}."}, code="same_rep")
    now = timezone.now()
    handoff.status = Handoff.Status.REASSIGNED
    handoff.reassigned_at = handoff.closed_at = now
    handoff.reassigned_by = actor
    handoff.reassign_reason = reason.strip()
    handoff.save(update_fields=["status", "reassigned_at", "closed_at", "reassigned_by", "reassign_reason"])
    # The new rep takes the lead where it stands: still to accept if it was, accepted if it was.
    successor = _open_handoff(lead=handoff.lead, rep=to_rep, actor=actor, note=handoff.note,
                              routing_rule=None, previous=handoff, status=_open_status(handoff), at=now)
    _attempts_refresh(successor)
    lead = handoff.lead
    audit_record(actor=actor, action="handoff.reassign", target=successor,
                 summary=f"{actor} reassigned {lead} from {handoff.rep} to {to_rep}: {handoff.reassign_reason}")
    notification_send(recipient=to_rep, kind=Notification.Kind.HANDOFF_NEW, title=f"New lead for you: {lead}",
                      body=f"{actor} reassigned {lead} to you from {handoff.rep}. Reason: {handoff.reassign_reason}",
                      url=_lead_url(lead.pk))
    notification_send(recipient=handoff.rep, kind=Notification.Kind.HANDOFF_REASSIGNED,
                      title=f"{lead} was reassigned to {to_rep}",
                      body=f"{actor} reassigned it. Reason: {handoff.reassign_reason}", url=_lead_url(lead.pk))
    webhook_emit(event=WebhookEvent.HANDOFF_MADE, payload={**_webhook_payload(successor),
                                                           "reassigned_from": handoff.rep.email})
    return successor


def _open_status(handoff: Handoff) -> str:
    # A reassigned handoff keeps where it stood for its successor: accepted once the lead left MQL.
    return Handoff.Status.ACCEPTED if handoff.accepted_at is not None else Handoff.Status.PENDING


@transaction.atomic
def handoff_move_on(
    *, handoff: Handoff, actor: User, to: str, amount: Decimal | None = None, expected_close_on: date | None = None,
    reason: str = "", verdict: Verdict | None = None, note: str = "",
) -> Handoff:
    """Moves an accepted lead on: SQL, opportunity (amount, expected close), won (amount), or out of sales.

    Losing, disqualifying or recycling a lead is a verdict: it needs feedback (quality, a reason) for
    marketing. Won, lost, disqualified and recycled close the handoff with that outcome.
    """
    handoff = _locked(handoff)
    _ensure_can_work(actor, handoff)
    if handoff.status != Handoff.Status.ACCEPTED:
        raise ValidationError("Accept the lead before moving it on.", code="not_accepted")
    if to not in MOVES_ON:
        raise ValidationError({"to": "Choose where the lead goes next."}, code="invalid_stage")
    verdict = verdict or Verdict(quality=None)
    errors: dict[str, str] = {}
    if to == Stage.OPPORTUNITY:
        if amount is None or amount <= 0:
            errors["amount"] = "Give the deal's expected amount."
        if expected_close_on is None:
            errors["expected_close_on"] = "Give the date you expect the deal to close."
        elif expected_close_on < timezone.localdate():
            errors["expected_close_on"] = "The expected close date cannot be in the past."
    if to == Stage.WON:
        amount = amount if amount is not None else handoff.deal_amount
        if amount is None or amount <= 0:
            errors["amount"] = "Give the amount won."
    feedback_kind = FEEDBACK_KIND_OF_EXIT.get(to)
    if feedback_kind is not None:
        if verdict.quality is None:
            errors["quality"] = "Rate the lead for marketing, 1 (poor) to 5 (excellent)."
        if not reason.strip():
            errors["reason"] = "Choose a reason."
    if errors:
        raise ValidationError(errors)

    lead = handoff.lead
    listed_reason: Reason | None = None
    if to in (Stage.LOST, Stage.DISQUALIFIED):
        reason = reason_from_list(to=to, reason=reason)
        listed_reason = Reason.objects.filter(kind=Reason.Kind.LOSS if to == Stage.LOST else
                                              Reason.Kind.DISQUALIFICATION, label=reason).first()
    now = timezone.now()
    lead_change_stage(lead=lead, to=to, actor=actor, reason=reason.strip(), note=note or verdict.text, at=now)
    fields = []
    if to == Stage.OPPORTUNITY:
        handoff.deal_amount, handoff.expected_close_on = amount, expected_close_on
        fields += ["deal_amount", "expected_close_on"]
    if to == Stage.WON:
        handoff.won_amount = amount
        fields.append("won_amount")
    if to in EXITS:
        handoff.status, handoff.closed_at, handoff.outcome = Handoff.Status.CLOSED, now, to
        fields += ["status", "closed_at", "outcome"]
    if fields:
        handoff.save(update_fields=fields)
    if feedback_kind is not None or (to == Stage.WON and verdict.quality is not None):
        objection = objection_resolve(label=verdict.objection, actor=actor)
        feedback_create(lead=lead, author=actor, kind=feedback_kind or Feedback.Kind.WIN, quality=verdict.quality,
                        reason=listed_reason, text=verdict.text, objection=objection)
    if to == Stage.RECYCLED:
        lead_set_owner(lead=lead, owner=None)
    if to == Stage.WON:
        _notify_marketing(handoff, kind=Notification.Kind.HANDOFF_WON, actor=actor,
                          title=f"Won: {lead}", body=f"{actor} won {lead} for {amount:,.2f}.")
    elif feedback_kind is not None:
        _notify_marketing(handoff, kind=Notification.Kind.FEEDBACK, actor=actor,
                          title=f"{actor} moved {lead} to {Stage(to).label}",
                          body=f"Reason: {reason}. Quality {verdict.quality}/5."
                               + (f"\n\n“{verdict.text.strip()}”" if verdict.text.strip() else ""))
    lead.refresh_from_db()
    return handoff


@transaction.atomic
def handoffs_close_finished(*, lead_ids: list[int] | None = None) -> int:
    """Brings open handoffs in line with leads moved by another path (the stage API, an import).

    A pending handoff whose lead sales already accepted becomes accepted; an open handoff whose lead left
    sales (won, lost, disqualified, recycled, back to new) closes with that stage as its outcome.
    """
    now = timezone.now()
    open_handoffs = Handoff.objects.filter(status__in=OPEN)
    if lead_ids is not None:
        open_handoffs = open_handoffs.filter(lead_id__in=lead_ids)
    lead_stage = Subquery(Lead.objects.filter(pk=OuterRef("lead_id")).values("stage")[:1])
    closed = open_handoffs.exclude(lead__stage__in=[Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY]).update(
        status=Handoff.Status.CLOSED, closed_at=now, outcome=lead_stage,
    )
    open_handoffs.filter(status=Handoff.Status.PENDING, lead__stage__in=[Stage.SAL, Stage.SQL, Stage.OPPORTUNITY]) \
        .update(status=Handoff.Status.ACCEPTED, accepted_at=now)
    return closed


# --- Contact attempts and feedback --------------------------------------------------------------------

def _attempts_refresh(handoff: Handoff) -> None:
    """Recounts the handoff's attempts from the lead's attempts made since the handoff (idempotent)."""
    # From the minute of the handoff: an attempt is logged to the minute, and a call made right after the
    # handoff must count.
    since = handoff.created_at.replace(second=0, microsecond=0)
    attempts = ContactAttempt.objects.filter(lead_id=handoff.lead_id, occurred_at__gte=since)
    figures = attempts.aggregate(count=Count("pk"), first=Min("occurred_at"), last=Max("occurred_at"))
    met_at = None
    if handoff.attempts_required and figures["count"] >= handoff.attempts_required:
        met_at = attempts.order_by("occurred_at", "id").values_list("occurred_at", flat=True)[
            handoff.attempts_required - 1]
    Handoff.objects.filter(pk=handoff.pk).update(attempt_count=figures["count"], first_attempt_at=figures["first"],
                                                 last_attempt_at=figures["last"], attempts_met_at=met_at)
    handoff.attempt_count, handoff.first_attempt_at = figures["count"], figures["first"]
    handoff.last_attempt_at, handoff.attempts_met_at = figures["last"], met_at


def _ensure_can_follow_up(actor: User, lead: Lead) -> None:
    if not lead_can_follow_up(user=actor, lead=lead):
        raise PermissionDenied("Only the rep this lead was handed to, or a sales manager, can log attempts "
                               "and give feedback on it.")


@transaction.atomic
def contact_attempt_log(
    *, lead: Lead, actor: User, channel: str, outcome: str, occurred_at: datetime, idempotency_key: str,
    notes: str = "", objection: str = "",
) -> tuple[ContactAttempt, bool]:
    """Logs a sales touch on a lead once per key, and counts it toward the open handoff's SLA."""
    _ensure_can_follow_up(actor, lead)
    attempt, created = contact_attempt_create(
        lead=lead, rep=actor, channel=channel, outcome=outcome, occurred_at=occurred_at, notes=notes,
        idempotency_key=idempotency_key, objection=objection_resolve(label=objection, actor=actor),
    )
    if created:
        handoff = Handoff.objects.select_for_update().filter(lead=lead, status__in=OPEN).first()
        if handoff is not None:
            _attempts_refresh(handoff)
    return attempt, created


@transaction.atomic
def feedback_give(
    *, lead: Lead, actor: User, quality: int | None, text: str = "", reason: Reason | None = None,
    objection: str = "",
) -> Feedback:
    """Sales' verdict on a lead at any time; the marketer who handed it off is told."""
    _ensure_can_follow_up(actor, lead)
    if reason is not None and reason.kind not in (Reason.Kind.REJECTION, Reason.Kind.LOSS,
                                                  Reason.Kind.DISQUALIFICATION):
        raise ValidationError({"reason": "Choose a reason from the list."})
    feedback = feedback_create(lead=lead, author=actor, kind=Feedback.Kind.GENERAL, quality=quality,
                               reason=reason, text=text, objection=objection_resolve(label=objection, actor=actor))
    handoff = handoff_latest_for_lead(lead_id=lead.pk)
    if handoff is not None:
        handoff.lead = lead
        _notify_marketing(handoff, kind=Notification.Kind.FEEDBACK, actor=actor,
                          title=f"Feedback on {lead}: {quality}/5",
                          body=f"{actor}: “{text.strip()}”" if text.strip() else f"{actor} rated the lead {quality}/5.")
    return feedback


# --- Routing ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RouteChoice:
    rule: RoutingRule
    rep: User


def _persona_id(lead: Lead) -> int | None:
    try:
        return lead.score.persona_id
    except ObjectDoesNotExist:  # not scored yet
        return None


def _choose(lead: Lead, rules: list[RoutingRule]) -> RouteChoice | None:
    persona_id = _persona_id(lead)
    for rule in rules:
        if not rule_matches(rule=rule, country=lead.country, persona_id=persona_id):
            continue
        candidates = rule_candidates(rule=rule, country=lead.country)
        if candidates:
            return RouteChoice(rule=rule, rep=candidates[0])
    return None


@transaction.atomic
def lead_route(*, lead: Lead, actor: User | None) -> Handoff | None:
    """Hands an MQL to a rep by the routing rules (round-robin, by territory and persona, within capacity).

    None when no rule matches or no rep has room; the lead then waits for a person or the next run.
    """
    if actor is not None and not actor.can(Action.HANDOFF_CREATE):
        raise PermissionDenied("Only marketing and managers hand leads off to sales.")
    # Rules are locked in order: two routers serialise on them, so turns and capacity counts hold.
    rules = list(RoutingRule.objects.select_for_update().filter(is_active=True).order_by("position", "id"))
    lead = Lead.objects.select_related("score").get(pk=lead.pk)
    choice = _choose(lead, rules)
    if choice is None:
        return None
    handoff = handoff_create(lead=lead, rep=choice.rep, actor=actor, routing_rule=choice.rule)
    RoutingRule.objects.filter(pk=choice.rule.pk).update(turns=choice.rule.turns + 1)
    choice.rule.turns += 1
    turn, _ = RoutingTurn.objects.get_or_create(rule=choice.rule, rep=choice.rep)
    turn.last_turn = choice.rule.turns
    turn.assigned += 1
    turn.save(update_fields=["last_turn", "assigned"])
    return handoff


@dataclass(frozen=True)
class RoutingRun:
    routed: int
    unrouted: int
    conflicts: int


def mqls_route_new(*, limit: int = ROUTE_BATCH, force: bool = False) -> RoutingRun:
    """Auto-routing: hands each MQL without an open handoff to a rep by the rules, when switched on.

    Level-triggered (the periodic task calls it every minute): it looks for the state to fix, so a
    lead qualified while the worker was down is routed on the next run. Each lead is its own
    transaction, so one conflict (a marketer handing the same lead off by hand) costs only that lead.
    """
    if not force and not RoutingSettings.objects.filter(pk=1, auto_route_new_mqls=True).exists():
        return RoutingRun(routed=0, unrouted=0, conflicts=0)
    routed = unrouted = conflicts = 0
    for lead in leads_awaiting_routing(limit=limit):
        try:
            handoff = lead_route(lead=lead, actor=None)
        except HandoffConflict:
            conflicts += 1
            continue
        except ValidationError:
            unrouted += 1
            continue
        if handoff is None:
            unrouted += 1
        else:
            routed += 1
    return RoutingRun(routed=routed, unrouted=unrouted, conflicts=conflicts)


def _ensure_routing_admin(actor: User) -> None:
    if not actor.can(Action.ROUTING_CONFIGURE):
        raise PermissionDenied("Only managers configure routing.")


@transaction.atomic
def routing_rule_save(*, actor: User, rule: RoutingRule | None = None, **fields) -> RoutingRule:
    """Creates or changes a routing rule; countries are stored as upper-case ISO codes."""
    _ensure_routing_admin(actor)
    rule = rule or RoutingRule()
    if "countries" in fields:
        fields["countries"] = sorted({c.strip().upper() for c in fields["countries"] if c.strip()})
    created = rule.pk is None
    # What the audit log says changed: each field whose value differs, with the new value.
    changed = {name: value for name, value in fields.items() if created or getattr(rule, name) != value}
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.updated_at = timezone.now()
    rule.save()
    details = "; ".join(f"{name.replace('_', ' ')}: {audit_text(value)}" for name, value in changed.items())
    audit_record(actor=actor, action="routing.rule_create" if created else "routing.rule_update", target=rule,
                 summary=f"{'Added' if created else 'Changed'} routing rule “{rule.name}”"
                         + (f": {details}" if details else ""))
    return rule


@transaction.atomic
def routing_rule_delete(*, actor: User, rule: RoutingRule) -> None:
    _ensure_routing_admin(actor)
    audit_record(actor=actor, action="routing.rule_delete", target=rule, summary=f"Deleted routing rule “{rule.name}”")
    rule.delete()


def _rep_room(rep: User) -> dict[str, object]:
    """What routing reads of a rep, as the audit entry names it."""
    return {"capacity": rep.capacity, "territory": rep.territory, "away": rep.is_away,
            "manager": str(rep.manager) if rep.manager_id else "—"}


@transaction.atomic
def rep_room_update(*, actor: User, rep: User, capacity: int, territory: list[str], is_away: bool,
                    manager: User | None) -> User:
    """Sets what routing reads of a rep: capacity, territory (ISO country codes), away, and the sales manager
    their breaches escalate to. A capacity below the rep's open handoffs only stops new ones."""
    _ensure_routing_admin(actor)
    if rep.role != Role.SALES_REP:
        raise ValidationError("Only sales reps take handoffs.")
    if manager is not None and manager.role != Role.SALES_MANAGER:
        raise ValidationError({"manager": "Choose a sales manager."})
    before = _rep_room(rep)
    rep.capacity, rep.is_away, rep.manager = capacity, is_away, manager
    rep.territory = sorted({code.strip().upper() for code in territory if code.strip()})
    rep.save(update_fields=["capacity", "territory", "is_away", "manager"])
    after = _rep_room(rep)
    changes = [f"{name} {before[name]} → {after[name]}" for name in before if before[name] != after[name]]
    audit_record(actor=actor, action="routing.rep_update", target=rep,
                 summary=f"{rep}: {'; '.join(changes) if changes else 'no change'}")
    return rep


@transaction.atomic
def routing_settings_update(*, actor: User, auto_route_new_mqls: bool) -> RoutingSettings:
    """Switches auto-routing of new MQLs on or off."""
    _ensure_routing_admin(actor)
    settings, _ = RoutingSettings.objects.select_for_update().get_or_create(pk=1)
    settings.auto_route_new_mqls = auto_route_new_mqls
    settings.updated_by, settings.updated_at = actor, timezone.now()
    settings.save()
    audit_record(actor=actor, action="routing.settings", target=settings,
                 summary=f"Auto-routing of new MQLs {'on' if auto_route_new_mqls else 'off'}")
    return settings
