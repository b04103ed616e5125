"""Writes of sales' follow-up on a lead: contact attempts, feedback, objections and the content answering them.

These write the rows only. Who may write them, and what a handoff makes of them (its attempt counters,
the notification to the marketer who handed the lead off), is decided one layer up, in sla.services,
which calls these; leads never imports sla.
"""

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from leads.models import ContactAttempt, Feedback, Lead, Objection, ObjectionAnswer, Reason
from smarketing.models import User
from smarketing.roles import Action

# Which list a feedback reason comes from, for the kinds that need one.
FEEDBACK_REASON_KIND = {
    Feedback.Kind.REJECTION: Reason.Kind.REJECTION,
    Feedback.Kind.LOSS: Reason.Kind.LOSS,
    Feedback.Kind.DISQUALIFICATION: Reason.Kind.DISQUALIFICATION,
}
# A browser clock a little ahead of the server's is not "the future".
CLOCK_SKEW = timedelta(minutes=2)


@transaction.atomic
def lead_set_owner(*, lead: Lead, owner: User | None) -> Lead:
    """Makes `owner` the lead's owner (the rep it was handed to), or clears it."""
    Lead.objects.filter(pk=lead.pk).update(owner=owner)
    lead.owner = owner
    return lead


def objection_resolve(*, label: str, actor: User) -> Objection | None:
    """The objection with this label (any case), created when a rep names a new one; None for a blank label."""
    label = " ".join(label.split())
    if not label:
        return None
    if len(label) > Objection._meta.get_field("label").max_length:
        raise ValidationError({"objection": "Keep the objection under 120 characters."}, code="max_length")
    existing = Objection.objects.filter(label__iexact=label).first()
    if existing is not None:
        return existing
    try:
        # A savepoint: two reps naming the same new objection at once both end up with the one row.
        with transaction.atomic():
            return Objection.objects.create(label=label, created_by=actor)
    except IntegrityError:
        return Objection.objects.get(label__iexact=label)


@transaction.atomic
def contact_attempt_create(
    *, lead: Lead, rep: User, channel: str, outcome: str, occurred_at: datetime, idempotency_key: str,
    notes: str = "", objection: Objection | None = None,
) -> tuple[ContactAttempt, bool]:
    """Records one contact attempt, once per idempotency key; returns it and whether it is new.

    The same key again (a double click, a resubmitted form, a retried API call) returns the attempt
    already recorded instead of a second one.
    """
    key = (idempotency_key or "").strip()
    errors: dict[str, str] = {}
    if not key or len(key) > 64:
        errors["idempotency_key"] = "Send a one-time key of 1 to 64 characters with each attempt."
    if channel not in ContactAttempt.Channel.values:
        errors["channel"] = "Choose how you contacted the lead."
    if outcome not in ContactAttempt.Outcome.values:
        errors["outcome"] = "Choose what came of it."
    if occurred_at is None or timezone.is_naive(occurred_at):
        errors["occurred_at"] = "Give the time of the attempt with its time zone."
    elif occurred_at > timezone.now() + CLOCK_SKEW:
        errors["occurred_at"] = "An attempt cannot be in the future."
    if errors:
        raise ValidationError(errors)

    existing = ContactAttempt.objects.filter(idempotency_key=key).first()
    if existing is None:
        try:
            with transaction.atomic():
                return ContactAttempt.objects.create(
                    lead=lead, rep=rep, channel=channel, outcome=outcome, occurred_at=occurred_at,
                    notes=notes.strip(), objection=objection, idempotency_key=key,
                ), True
        except IntegrityError:
            # The first of two simultaneous submissions won; this one is the same attempt.
            existing = ContactAttempt.objects.get(idempotency_key=key)
    if existing.lead_id != lead.pk or existing.rep_id != rep.pk:
        raise ValidationError({"idempotency_key": "This key was already used for another attempt."}, code="reused")
    return existing, False


@transaction.atomic
def feedback_create(
    *, lead: Lead, author: User, quality: int, kind: str = Feedback.Kind.GENERAL, reason: Reason | None = None,
    text: str = "", objection: Objection | None = None,
) -> Feedback:
    """Records sales' verdict on a lead; rejecting, losing and disqualifying name a reason from their list."""
    errors: dict[str, str] = {}
    if kind not in Feedback.Kind.values:
        errors["kind"] = "Not a kind of feedback."
    if not isinstance(quality, int) or not 1 <= quality <= 5:
        errors["quality"] = "Rate the lead from 1 (poor) to 5 (excellent)."
    wanted = FEEDBACK_REASON_KIND.get(kind)
    if wanted is not None and reason is None:
        errors["reason"] = "Choose a reason from the list."
    elif reason is not None and wanted is not None and reason.kind != wanted:
        errors["reason"] = f"Choose a {Reason.Kind(wanted).label.lower()} reason."
    if kind == Feedback.Kind.GENERAL and not text.strip() and reason is None:
        errors["text"] = "Say what you think of the lead."
    if errors:
        raise ValidationError(errors)
    return Feedback.objects.create(lead=lead, author=author, kind=kind, quality=quality, reason=reason,
                                   text=text.strip(), objection=objection)


@transaction.atomic
def feedback_mark_read(*, feedback_ids: list[int], actor: User) -> int:
    """Marks feedback read in marketing's inbox; returns how many were unread."""
    if not actor.can(Action.FEEDBACK_INBOX):
        raise PermissionDenied("Only marketing and managers keep the feedback inbox.")
    return Feedback.objects.filter(pk__in=feedback_ids, read_at=None).update(read_at=timezone.now(), read_by=actor)


def _ensure_content_editor(actor: User) -> None:
    if not actor.can(Action.CONTENT_EDIT):
        raise PermissionDenied("Only marketing keeps the objections and the content that answers them.")


@transaction.atomic
def objection_answer_create(*, objection: Objection, actor: User, title: str, url: str,
                            note: str = "") -> ObjectionAnswer:
    """Links a piece of content that answers an objection; reps see it next to the objection."""
    _ensure_content_editor(actor)
    errors = {}
    if not title.strip():
        errors["title"] = "Give the content a title."
    if not url.strip():
        errors["url"] = "Give the content's address."
    if errors:
        raise ValidationError(errors)
    return ObjectionAnswer.objects.create(objection=objection, title=title.strip(), url=url.strip(),
                                          note=note.strip(), created_by=actor)


@transaction.atomic
def objection_answer_delete(*, answer: ObjectionAnswer, actor: User) -> None:
    _ensure_content_editor(actor)
    answer.delete()


@transaction.atomic
def objection_update(*, objection: Objection, actor: User, label: str | None = None,
                     is_active: bool | None = None) -> Objection:
    """Renames an objection or takes it off the list reps choose from (its history stays)."""
    _ensure_content_editor(actor)
    if label is not None:
        label = " ".join(label.split())
        if not label:
            raise ValidationError({"label": "An objection needs a label."}, code="required")
        if Objection.objects.filter(label__iexact=label).exclude(pk=objection.pk).exists():
            raise ValidationError({"label": "This objection is already on the list."}, code="unique")
        objection.label = label
    if is_active is not None:
        objection.is_active = is_active
    objection.save(update_fields=["label", "is_active"])
    return objection


@transaction.atomic
def objection_create(*, actor: User, label: str) -> Objection:
    """Adds an objection to the list reps choose from."""
    _ensure_content_editor(actor)
    label = " ".join(label.split())
    if not label:
        raise ValidationError({"label": "An objection needs a label."}, code="required")
    if Objection.objects.filter(label__iexact=label).exists():
        raise ValidationError({"label": "This objection is already on the list."}, code="unique")
    return Objection.objects.create(label=label, created_by=actor)
