"""A data subject's requests about one lead: a copy of everything kept (GDPR art. 15, 20) and erasure (art. 17).

Here, in sla, because a lead's record spans every layer below it (leads, its score, its handoffs) and a
lower layer never imports a higher one. Each layer reads and erases its own rows; this module puts them
together, checks who may, and writes the audit log.
"""

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from leads.models import Lead, Reason
from leads.selectors_privacy import lead_personal_record
from leads.services_privacy import lead_anonymise
from scoring.selectors import lead_score_explained
from sla.models import Handoff
from sla.services import ACCEPTED_REASON, REJECTED_REASON_PREFIX
from smarketing.audit import audit_record
from smarketing.models import User
from smarketing.roles import Action


def _ensure_may(actor: User) -> None:
    if not actor.can(Action.LEAD_PERSONAL_DATA):
        raise PermissionDenied("Only a manager or an admin exports or erases a lead's personal data.")


def _person(user: User | None) -> str | None:
    return str(user) if user is not None else None


def _score(lead: Lead) -> dict[str, Any] | None:
    explained = lead_score_explained(lead=lead)
    if explained is None:
        return None
    score = explained.score
    return {
        "total": score.total, "fit": score.fit, "engagement": score.engagement, "grade": score.grade,
        "persona": score.persona.name if score.persona else None, "conversions": score.conversions,
        "computed_at": score.computed_at, "scoring_version": score.version.number,
        "fit_rules": [{"rule": label, "points": points} for label, points in explained.fit_lines],
        "engagement_rules": [{"rule": label, "points": points} for label, points in explained.engagement_lines],
        "persona_reasons": explained.persona_reasons,
    }


def _handoffs(lead: Lead) -> list[dict[str, Any]]:
    handoffs = (Handoff.objects.filter(lead=lead).select_related("rep", "handed_off_by", "rejection_reason")
                .order_by("created_at", "id"))
    return [{
        "handed_off_at": h.created_at, "rep": _person(h.rep), "handed_off_by": _person(h.handed_off_by),
        "status": h.status, "note": h.note, "accepted_at": h.accepted_at, "rejected_at": h.rejected_at,
        "rejection_reason": h.rejection_reason.label if h.rejection_reason else None,
        "rejection_comment": h.rejection_comment, "reassign_reason": h.reassign_reason, "outcome": h.outcome,
        "first_attempt_due_at": h.first_attempt_due_at, "first_attempt_at": h.first_attempt_at,
        "attempt_count": h.attempt_count, "deal_amount": h.deal_amount, "won_amount": h.won_amount,
        "summary": h.summary,
    } for h in handoffs]


@transaction.atomic
def lead_export_personal_data(*, lead: Lead, actor: User) -> dict[str, Any]:
    """Everything kept about the lead, as one JSON document; who took the copy is in the audit log."""
    _ensure_may(actor)
    record = lead_personal_record(lead=lead)
    document = {
        "exported_at": timezone.now(), "exported_by": str(actor),
        **record, "score": _score(lead), "handoffs": _handoffs(lead),
    }
    audit_record(actor=actor, action="lead.export", target=lead,
                 summary=f"Exported the personal data of lead #{lead.pk} on request")
    return document


@transaction.atomic
def lead_erase(*, lead: Lead, actor: User, confirm_email: str) -> Lead:
    """Erases the person behind a lead on request; the lead's history stays, anonymised, in every figure.

    The caller confirms by typing the lead's e-mail address: an erasure cannot be undone.
    """
    _ensure_may(actor)
    if lead.is_erased:
        raise ValidationError(f"Lead #{lead.pk} was already erased.", code="already_erased")
    if (confirm_email or "").strip().lower() != lead.email:
        raise ValidationError({"confirm_email": "Type the lead's e-mail address exactly to confirm."},
                              code="confirmation")
    # Before the lead's own row: its notes and the frozen intelligence card quote the person.
    Handoff.objects.filter(lead=lead).update(note="", summary={}, rejection_comment="", reassign_reason="")
    rejection_labels = Reason.objects.filter(kind=Reason.Kind.REJECTION).values_list("label", flat=True)
    kept_reasons = frozenset({ACCEPTED_REASON, *(f"{REJECTED_REASON_PREFIX}{label}" for label in rejection_labels)})
    lead = lead_anonymise(lead=lead, kept_reasons=kept_reasons)
    audit_record(actor=actor, action="lead.erase", target=lead,
                 summary=f"Erased the personal data of lead #{lead.pk} on request; its history is kept anonymised")
    return lead
