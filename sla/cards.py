"""What the lead page's handoff card and follow-up panels show: one builder each, for the page and for HTMX.

The lead page renders them through sla.templatetags.handoff_tags; the views that change them render
the same context again when they answer an HTMX request, so the page and its fragments never differ.
"""

from dataclasses import dataclass, field
from typing import Any

from django import forms

from leads.models import ContactAttempt, Feedback, Lead, Objection, Reason, Stage
from leads.selectors_followup import lead_contact_attempts, lead_feedback, objections_active
from leads.services import stage_targets_for
from sla.forms import AttemptForm, FeedbackForm, HandoffForm, MoveOnForm, ReassignForm, RejectForm
from sla.models import Handoff
from sla.selectors import (
    handoff_can_work,
    lead_can_follow_up,
    lead_handoffs,
    sql_checklist,
    summary_for_display,
)
from smarketing.models import User
from smarketing.roles import Action

# The order the card offers the moves in, and the words on each button.
MOVE_LABELS = {
    Stage.SQL: "Sales-qualified (SQL)", Stage.OPPORTUNITY: "Opportunity", Stage.WON: "Won", Stage.LOST: "Lost",
    Stage.RECYCLED: "Back to nurture", Stage.DISQUALIFIED: "Disqualify",
}


@dataclass
class HandoffCard:
    lead: Lead
    user: User
    handoff: Handoff | None
    history: list[Handoff]
    summary: dict[str, Any] | None
    can_work: bool
    can_create: bool
    can_reassign: bool
    handoff_form: forms.Form | None = None
    reject_form: forms.Form | None = None
    move_form: forms.Form | None = None
    reassign_form: forms.Form | None = None
    moves: list[tuple[str, str]] = field(default_factory=list)
    checklist: list | None = None
    open_move: str = ""
    open_panel: str = ""
    reasons: dict[str, list[Reason]] = field(default_factory=dict)


def handoff_card(*, user: User, lead: Lead, handoff_form: forms.Form | None = None,
                 reject_form: forms.Form | None = None, move_form: forms.Form | None = None,
                 reassign_form: forms.Form | None = None, open_panel: str = "") -> HandoffCard:
    """The handoff card for this user: the intelligence, and what this user may do with the handoff."""
    history = list(lead_handoffs(lead=lead))
    handoff = next((h for h in history if h.is_open), None)
    closed = [h for h in history if not h.is_open]
    can_work = handoff is not None and handoff_can_work(user=user, handoff=handoff)
    card = HandoffCard(
        lead=lead, user=user, handoff=handoff, history=closed,
        summary=summary_for_display(handoff.summary) if handoff is not None and handoff.summary else None,
        can_work=can_work,
        can_create=handoff is None and lead.stage == Stage.MQL and user.can(Action.HANDOFF_CREATE),
        can_reassign=handoff is not None and user.can(Action.ROUTING_CONFIGURE),
        open_panel=open_panel,
    )
    if card.can_create:
        card.handoff_form = handoff_form or HandoffForm()
    if card.can_reassign:
        card.reassign_form = reassign_form or ReassignForm()
    if can_work and handoff.status == Handoff.Status.PENDING:
        card.reject_form = reject_form or RejectForm()
    if can_work and handoff.status == Handoff.Status.ACCEPTED:
        targets = set(stage_targets_for(lead=lead, actor=user))
        card.moves = [(stage, label) for stage, label in MOVE_LABELS.items() if stage in targets]
        card.move_form = move_form or MoveOnForm()
        card.open_move = move_form["to"].value() if move_form is not None and move_form.is_bound else ""
        if Stage.SQL in targets:
            card.checklist = sql_checklist(lead=lead)
        card.reasons = {
            Stage.LOST: list(Reason.objects.filter(kind=Reason.Kind.LOSS, is_active=True)),
            Stage.DISQUALIFIED: list(Reason.objects.filter(kind=Reason.Kind.DISQUALIFICATION, is_active=True)),
        }
    return card


@dataclass
class FollowUp:
    """The lead page's contact attempts and feedback panels."""

    lead: Lead
    can_follow_up: bool
    attempts: list[ContactAttempt]
    feedback: list[Feedback]
    objections: list[Objection]
    open_handoff: bool = False
    attempt_form: forms.Form | None = None
    feedback_form: forms.Form | None = None
    logged: bool = False
    feedback_saved: bool = False


def follow_up(*, user: User, lead: Lead, attempt_form: forms.Form | None = None,
              feedback_form: forms.Form | None = None) -> FollowUp:
    can = lead_can_follow_up(user=user, lead=lead)
    return FollowUp(
        lead=lead, can_follow_up=can,
        open_handoff=Handoff.objects.filter(lead=lead, status__in=Handoff.OPEN_STATUSES).exists(),
        attempts=list(lead_contact_attempts(lead=lead)),
        feedback=list(lead_feedback(lead=lead)),
        objections=list(objections_active()) if can else [],
        attempt_form=(attempt_form or AttemptForm()) if can else None,
        feedback_form=(feedback_form or FeedbackForm()) if can else None,
    )
