"""Reads of sales' follow-up on leads: attempts, feedback, objections ranked and their answers."""

from datetime import datetime

from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from leads.models import ContactAttempt, Feedback, Lead, Objection, ObjectionAnswer


def _with_answers(queryset: QuerySet, prefix: str) -> QuerySet:
    # The answer next to each objection, fetched in one query for the whole list.
    return queryset.select_related(prefix).prefetch_related(
        Prefetch(f"{prefix}__answers", queryset=ObjectionAnswer.objects.order_by("title", "id"))
    )


def lead_contact_attempts(*, lead: Lead) -> QuerySet[ContactAttempt]:
    """The lead's contact attempts, newest first, with who made them and the content answering each objection."""
    return _with_answers(ContactAttempt.objects.filter(lead=lead).select_related("rep"), "objection") \
        .order_by("-occurred_at", "-id")


def lead_feedback(*, lead: Lead) -> QuerySet[Feedback]:
    return _with_answers(Feedback.objects.filter(lead=lead).select_related("author", "reason"), "objection") \
        .order_by("-created_at", "-id")


def objections_active() -> QuerySet[Objection]:
    return Objection.objects.filter(is_active=True).order_by("label")


def _count_since(model: type, since: datetime | None, time_field: str) -> Subquery:
    rows = model.objects.filter(objection=OuterRef("pk"))
    if since is not None:
        rows = rows.filter(**{f"{time_field}__gte": since})
    # A subquery per source, not two joins: joining attempts and feedback would multiply the counts.
    return Coalesce(Subquery(rows.order_by().values("objection").annotate(n=Count("pk")).values("n")[:1],
                             output_field=IntegerField()), Value(0))


def objections_ranked(*, since: datetime | None = None, include_inactive: bool = True) -> QuerySet[Objection]:
    """Objections by how often reps heard them (in attempts and feedback), most often first, with answers."""
    objections = Objection.objects.all() if include_inactive else Objection.objects.filter(is_active=True)
    return (
        objections.annotate(
            attempt_mentions=_count_since(ContactAttempt, since, "occurred_at"),
            feedback_mentions=_count_since(Feedback, since, "created_at"),
        )
        .annotate(mentions=F("attempt_mentions") + F("feedback_mentions"), answer_count=Count("answers"))
        .prefetch_related(Prefetch("answers", queryset=ObjectionAnswer.objects.order_by("title", "id")))
        .order_by("-mentions", "label")
    )


def feedback_for_inbox(*, unread_only: bool = False, kind: str = "", lead_ids: QuerySet | None = None,
                       ) -> QuerySet[Feedback]:
    """Feedback for marketing's inbox, newest first, with the lead, its company, the author and the reason."""
    feedback = _with_answers(
        Feedback.objects.select_related("lead", "lead__company", "author", "reason", "read_by"), "objection"
    )
    if unread_only:
        feedback = feedback.filter(read_at=None)
    if kind:
        feedback = feedback.filter(kind=kind)
    if lead_ids is not None:
        feedback = feedback.filter(lead_id__in=lead_ids)
    return feedback.order_by("-created_at", "-id")


def feedback_counts() -> dict[str, int]:
    return Feedback.objects.aggregate(total=Count("pk"), unread=Count("pk", filter=Q(read_at=None)))
