"""A handoff's life through sla.services: made, accepted or rejected, reassigned, moved on to won or lost."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from leads.models import Feedback, Reason, Stage, StageChange
from leads.services import lead_change_stage
from sla.deadlines import HandoffDeadlines
from sla.models import Handoff
from sla.services import (
    HandoffConflict,
    Verdict,
    handoff_accept,
    handoff_create,
    handoff_move_on,
    handoff_reassign,
    handoff_reject,
    handoffs_close_finished,
)
from smarketing.models import AuditEntry
from tests.factories import HandoffFactory, LeadFactory


@pytest.fixture
def mql(db):
    return LeadFactory(email="ada@acme.test", first_name="Ada", last_name="Lovelace", stage=Stage.MQL)


def rejection(label: str = "No budget") -> Reason:
    return Reason.objects.get(kind=Reason.Kind.REJECTION, label=label)


def made(lead, rep, marketer) -> Handoff:
    return handoff_create(lead=lead, rep=rep, actor=marketer, note="Asked about SSO on the demo form.")


def accepted(lead, rep, marketer) -> Handoff:
    return handoff_accept(handoff=made(lead, rep, marketer), actor=rep)


# --- Making a handoff ---------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_handoff_gives_the_lead_to_the_rep_and_keeps_it_an_mql(mql, sales_rep, marketer):
    handoff = made(mql, sales_rep, marketer)

    mql.refresh_from_db()
    assert (handoff.status, handoff.rep, handoff.handed_off_by) == ("pending", sales_rep, marketer)
    assert handoff.note == "Asked about SSO on the demo form."
    assert (mql.stage, mql.owner) == (Stage.MQL, sales_rep)
    assert handoff.summary["person"]["email"] == "ada@acme.test"
    assert AuditEntry.objects.filter(action="handoff.create", target_id=str(handoff.pk)).exists()


@pytest.mark.django_db
def test_without_an_sla_in_force_a_handoff_has_no_deadlines(mql, sales_rep, marketer):
    handoff = made(mql, sales_rep, marketer)

    assert (handoff.first_attempt_due_at, handoff.attempts_due_at, handoff.attempts_required,
            handoff.sla_version_number) == (None, None, None, None)


@pytest.mark.django_db
def test_the_handoff_stores_the_deadlines_the_sla_hook_gives_it(mql, sales_rep, marketer, monkeypatch):
    asked = []
    first_due, attempts_due = timezone.now() + timedelta(hours=6), timezone.now() + timedelta(days=12)

    def deadlines(*, handed_off_at):
        asked.append(handed_off_at)
        return HandoffDeadlines(first_attempt_due_at=first_due, attempts_due_at=attempts_due, attempts_required=4,
                                sla_version_number=3)

    monkeypatch.setattr("sla.services.handoff_deadlines", deadlines)

    handoff = made(mql, sales_rep, marketer)

    assert asked == [handoff.created_at]
    assert (handoff.first_attempt_due_at, handoff.attempts_due_at, handoff.attempts_required,
            handoff.sla_version_number) == (first_due, attempts_due, 4, 3)


@pytest.mark.django_db
def test_a_lead_handed_off_already_cannot_be_handed_off_again(mql, sales_rep, other_rep, marketer,
                                                              marketing_manager):
    made(mql, sales_rep, marketer)

    with pytest.raises(HandoffConflict) as conflict:
        handoff_create(lead=mql, rep=other_rep, actor=marketing_manager)

    assert "already handed to Rita Owner by Mia Marketer" in conflict.value.messages[0]
    assert Handoff.objects.filter(lead=mql).count() == 1


@pytest.mark.django_db
def test_the_database_refuses_a_second_open_handoff_for_a_lead(mql, sales_rep, other_rep):
    HandoffFactory(lead=mql, rep=sales_rep, status="accepted")

    with pytest.raises(IntegrityError), transaction.atomic():
        HandoffFactory(lead=mql, rep=other_rep, status="pending")


@pytest.mark.django_db
@pytest.mark.parametrize("stage", [Stage.NEW, Stage.SAL, Stage.RECYCLED, Stage.WON])
def test_only_an_mql_can_be_handed_off(stage, sales_rep, marketer):
    lead = LeadFactory(stage=stage)

    with pytest.raises(ValidationError, match="Only an MQL can be handed off"):
        handoff_create(lead=lead, rep=sales_rep, actor=marketer)


@pytest.mark.django_db
def test_a_lead_goes_to_a_sales_rep_only(mql, marketer, sales_manager):
    with pytest.raises(ValidationError, match="not an active sales rep"):
        handoff_create(lead=mql, rep=sales_manager, actor=marketer)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["sales_rep", "other_rep"])
def test_sales_reps_cannot_hand_leads_off(who, cast, mql, sales_rep):
    with pytest.raises(PermissionDenied):
        handoff_create(lead=mql, rep=sales_rep, actor=cast[who])


# --- Accepting and rejecting ----------------------------------------------------------------------------

@pytest.mark.django_db
def test_accepting_makes_the_lead_sal(mql, sales_rep, marketer):
    handoff = accepted(mql, sales_rep, marketer)

    mql.refresh_from_db()
    assert handoff.status == "accepted" and handoff.accepted_at is not None
    assert mql.stage == Stage.SAL
    change = StageChange.objects.filter(lead=mql).first()
    assert (change.from_stage, change.to_stage, change.changed_by) == (Stage.MQL, Stage.SAL, sales_rep)


@pytest.mark.django_db
def test_accepting_twice_is_refused_with_a_message(mql, sales_rep, marketer):
    handoff = accepted(mql, sales_rep, marketer)

    with pytest.raises(ValidationError, match="already accepted"):
        handoff_accept(handoff=handoff, actor=sales_rep)


@pytest.mark.django_db
def test_rejecting_recycles_the_lead_records_feedback_and_returns_it_to_marketing(mql, sales_rep, marketer):
    handoff = made(mql, sales_rep, marketer)

    handoff = handoff_reject(handoff=handoff, actor=sales_rep, reason=rejection(),
                             verdict=Verdict(quality=2, text="Student project, no budget.", objection="Too expensive"))

    mql.refresh_from_db()
    assert (handoff.status, handoff.outcome, handoff.rejection_reason.label) == ("rejected", "recycled", "No budget")
    assert handoff.rejection_comment == "Student project, no budget."
    assert (mql.stage, mql.owner) == (Stage.RECYCLED, None)
    assert StageChange.objects.filter(lead=mql).first().reason == "Rejected: No budget"
    feedback = Feedback.objects.get(lead=mql)
    assert (feedback.kind, feedback.quality, feedback.reason.label, feedback.text, feedback.objection.label) == (
        "rejection", 2, "No budget", "Student project, no budget.", "Too expensive")


@pytest.mark.django_db
def test_rejecting_can_disqualify_with_a_listed_reason(mql, sales_rep, marketer):
    handoff = made(mql, sales_rep, marketer)

    handoff_reject(handoff=handoff, actor=sales_rep, reason=rejection("Wrong or missing contact data"),
                   verdict=Verdict(quality=1, text="Fake name and number."), disqualify=True,
                   disqualification_reason="false or incomplete data")

    mql.refresh_from_db()
    assert mql.stage == Stage.DISQUALIFIED
    assert StageChange.objects.filter(lead=mql).first().reason == "False or incomplete data"


@pytest.mark.django_db
@pytest.mark.parametrize(("reason_label", "verdict", "field"), [
    (None, Verdict(quality=2, text="No."), "reason"),
    ("No budget", Verdict(quality=2, text="  "), "text"),
    ("No budget", Verdict(quality=None, text="No."), "quality"),
    ("No budget", Verdict(quality=6, text="No."), "quality"),
])
def test_a_rejection_needs_a_listed_reason_a_comment_and_a_rating(reason_label, verdict, field, mql, sales_rep,
                                                                   marketer):
    handoff = made(mql, sales_rep, marketer)

    with pytest.raises(ValidationError) as error:
        handoff_reject(handoff=handoff, actor=sales_rep, reason=rejection(reason_label) if reason_label else None,
                       verdict=verdict)

    assert field in error.value.message_dict
    mql.refresh_from_db()
    assert mql.stage == Stage.MQL
    assert Handoff.objects.get(pk=handoff.pk).status == "pending"


# --- Reassigning ----------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_reassigning_closes_the_old_handoff_and_opens_one_for_the_new_rep(mql, sales_rep, other_rep, marketer,
                                                                          sales_manager):
    old = accepted(mql, sales_rep, marketer)

    new = handoff_reassign(handoff=old, to_rep=other_rep, actor=sales_manager, reason="Rita is on leave")

    old.refresh_from_db()
    mql.refresh_from_db()
    assert (old.status, old.reassigned_by, old.reassign_reason) == ("reassigned", sales_manager, "Rita is on leave")
    assert (new.status, new.rep, new.previous, new.note) == ("accepted", other_rep, old, old.note)
    assert mql.owner == other_rep and mql.stage == Stage.SAL
    assert [h["status"] for h in new.summary["previous_handoffs"]] == ["reassigned"]


@pytest.mark.django_db
def test_a_pending_handoff_stays_pending_for_the_new_rep(mql, sales_rep, other_rep, marketer, sales_manager):
    new = handoff_reassign(handoff=made(mql, sales_rep, marketer), to_rep=other_rep, actor=sales_manager,
                           reason="Territory change")

    assert new.status == "pending"


@pytest.mark.django_db
def test_reassigning_needs_a_reason_and_a_manager(mql, sales_rep, other_rep, marketer, sales_manager):
    handoff = made(mql, sales_rep, marketer)

    with pytest.raises(ValidationError, match="Say why"):
        handoff_reassign(handoff=handoff, to_rep=other_rep, actor=sales_manager, reason=" ")
    with pytest.raises(PermissionDenied):
        handoff_reassign(handoff=handoff, to_rep=other_rep, actor=marketer, reason="I prefer Tom")
    with pytest.raises(PermissionDenied):
        handoff_reassign(handoff=handoff, to_rep=other_rep, actor=sales_rep, reason="Too busy")


# --- Moving on ------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_an_accepted_lead_moves_to_sql_opportunity_and_won_with_its_amounts(mql, sales_rep, marketer):
    handoff = accepted(mql, sales_rep, marketer)
    close_on = timezone.localdate() + timedelta(days=30)

    handoff_move_on(handoff=handoff, actor=sales_rep, to=Stage.SQL)
    handoff = handoff_move_on(handoff=handoff, actor=sales_rep, to=Stage.OPPORTUNITY, amount=Decimal("12000"),
                              expected_close_on=close_on)
    assert (handoff.deal_amount, handoff.expected_close_on, handoff.status) == (Decimal("12000"), close_on, "accepted")

    handoff = handoff_move_on(handoff=handoff, actor=sales_rep, to=Stage.WON, amount=Decimal("11500.50"))

    mql.refresh_from_db()
    assert mql.stage == Stage.WON
    assert (handoff.status, handoff.outcome, handoff.won_amount) == ("closed", "won", Decimal("11500.50"))
    assert [c.to_stage for c in StageChange.objects.filter(lead=mql).order_by("changed_at", "id")] == [
        "sal", "sql", "opportunity", "won"]


@pytest.mark.django_db
def test_won_takes_the_deal_amount_when_none_is_given(mql, sales_rep, marketer):
    handoff = accepted(mql, sales_rep, marketer)
    handoff_move_on(handoff=handoff, actor=sales_rep, to=Stage.SQL)
    handoff_move_on(handoff=handoff, actor=sales_rep, to=Stage.OPPORTUNITY, amount=Decimal("900"),
                    expected_close_on=timezone.localdate())

    handoff = handoff_move_on(handoff=handoff, actor=sales_rep, to=Stage.WON)

    assert handoff.won_amount == Decimal("900")


@pytest.mark.django_db
@pytest.mark.parametrize(("fields", "errors"), [
    ({}, {"amount", "expected_close_on"}),
    ({"amount": Decimal("0"), "expected_close_on": "yesterday"}, {"amount", "expected_close_on"}),
])
def test_an_opportunity_needs_an_amount_and_a_close_date_not_in_the_past(fields, errors, mql, sales_rep, marketer):
    handoff = accepted(mql, sales_rep, marketer)
    handoff_move_on(handoff=handoff, actor=sales_rep, to=Stage.SQL)
    if fields.get("expected_close_on") == "yesterday":
        fields["expected_close_on"] = timezone.localdate() - timedelta(days=1)

    with pytest.raises(ValidationError) as error:
        handoff_move_on(handoff=handoff, actor=sales_rep, to=Stage.OPPORTUNITY, **fields)

    assert set(error.value.message_dict) == errors


@pytest.mark.django_db
def test_losing_a_lead_needs_a_loss_reason_and_a_rating_and_closes_the_handoff(mql, sales_rep, marketer):
    handoff = accepted(mql, sales_rep, marketer)

    with pytest.raises(ValidationError) as error:
        handoff_move_on(handoff=handoff, actor=sales_rep, to=Stage.LOST)
    assert set(error.value.message_dict) == {"quality", "reason"}

    handoff = handoff_move_on(handoff=handoff, actor=sales_rep, to=Stage.LOST, reason="chose a competitor",
                              verdict=Verdict(quality=3, text="Went with the incumbent.", objection="Locked in"))

    mql.refresh_from_db()
    assert mql.stage == Stage.LOST
    assert (handoff.status, handoff.outcome) == ("closed", "lost")
    feedback = Feedback.objects.get(lead=mql)
    assert (feedback.kind, feedback.reason.label, feedback.quality, feedback.objection.label) == (
        "loss", "Chose a competitor", 3, "Locked in")


@pytest.mark.django_db
def test_a_lead_must_be_accepted_before_it_moves_on(mql, sales_rep, marketer):
    handoff = made(mql, sales_rep, marketer)

    with pytest.raises(ValidationError, match="Accept the lead"):
        handoff_move_on(handoff=handoff, actor=sales_rep, to=Stage.SQL)


# --- Keeping handoffs in step with stages changed elsewhere ---------------------------------------------

@pytest.mark.django_db
def test_handoffs_of_leads_moved_by_another_path_are_closed_or_accepted(sales_rep, other_rep, marketer):
    lost = accepted(LeadFactory(stage=Stage.MQL), sales_rep, marketer)
    lead_change_stage(lead=lost.lead, to=Stage.LOST, actor=sales_rep, reason="Price")
    taken = made(LeadFactory(stage=Stage.MQL), other_rep, marketer)
    lead_change_stage(lead=taken.lead, to=Stage.SAL, actor=other_rep)

    assert handoffs_close_finished() == 1

    lost.refresh_from_db()
    taken.refresh_from_db()
    assert (lost.status, lost.outcome) == ("closed", "lost")
    assert taken.status == "accepted"


@pytest.mark.django_db
def test_a_recycled_lead_back_to_mql_can_be_handed_off_again(mql, sales_rep, other_rep, marketer):
    first = made(mql, sales_rep, marketer)
    handoff_reject(handoff=first, actor=sales_rep, reason=rejection(), verdict=Verdict(quality=2, text="Not now."))
    lead_change_stage(lead=mql, to=Stage.MQL, actor=None, reason="definition v1")

    second = handoff_create(lead=mql, rep=other_rep, actor=marketer)

    assert second.summary["previous_handoffs"][0]["status"] == "rejected"
    assert second.summary["previous_handoffs"][0]["reason"] == "No budget"
