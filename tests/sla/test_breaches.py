"""Watching the contract: a missed deadline is one breach, one notification to the rep, one escalation."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from freezegun import freeze_time

from leads.models import ContactAttempt, Stage, StageChange
from sla.contract_services import (
    NOTIFY_BREACH,
    NOTIFY_ESCALATION,
    NOTIFY_RECYCLED,
    NOTIFY_REVIEW,
    breach_mark_met,
    breaches_check,
    marketing_month_close,
    review_reminders_send,
    stale_leads_flag,
)
from sla.models import Breach, BreachScan, Handoff
from smarketing.models import Notification, WebhookDelivery
from tests.factories import HandoffFactory, UserFactory, WebhookEndpointFactory
from tests.sla.conftest import berlin, handoff_under_sla

FRIDAY_4PM = berlin(2026, 11, 20, 16, 0)
MONDAY_DUE = berlin(2026, 11, 23, 14, 0)


def notifications(user, kind):
    return Notification.objects.filter(recipient=user, kind=kind).count()


@pytest.fixture
def late(sla_in_force, sales_rep):
    """A Friday-afternoon handoff whose first-attempt deadline (Monday 14:00) passes without an attempt."""
    return handoff_under_sla(at=FRIDAY_4PM, rep=sales_rep)


def test_a_missed_deadline_is_one_breach_one_notification_one_escalation(late, sales_rep, sales_manager):
    assert breaches_check(now=MONDAY_DUE - timedelta(minutes=1)).breaches == 0
    result = breaches_check(now=MONDAY_DUE + timedelta(minutes=1))
    assert result.first_attempt == 1
    breach = Breach.objects.get()
    assert (breach.kind, breach.side, breach.handoff, breach.rep) == ("first_attempt", "sales", late, sales_rep)
    assert breach.due_at == MONDAY_DUE and breach.escalated_to == sales_manager and breach.sla_version_number == 1
    assert notifications(sales_rep, NOTIFY_BREACH) == 1
    assert notifications(sales_manager, NOTIFY_ESCALATION) == 1
    # Run again, and again with a full sweep: nothing new.
    assert breaches_check(now=MONDAY_DUE + timedelta(minutes=2)).breaches == 0
    assert breaches_check(now=MONDAY_DUE + timedelta(minutes=3), full=True).breaches == 0
    assert Breach.objects.count() == 1
    assert notifications(sales_rep, NOTIFY_BREACH) == 1 and notifications(sales_manager, NOTIFY_ESCALATION) == 1


def test_a_deadline_met_in_time_is_no_breach(late):
    Handoff.objects.filter(pk=late.pk).update(first_attempt_at=MONDAY_DUE - timedelta(hours=1), attempt_count=1)
    assert breaches_check(now=MONDAY_DUE + timedelta(minutes=1), full=True).breaches == 0


def test_an_attempt_after_the_deadline_marks_the_breach_met_late(late):
    breaches_check(now=MONDAY_DUE + timedelta(minutes=1))
    attempt_at = MONDAY_DUE + timedelta(hours=2)
    Handoff.objects.filter(pk=late.pk).update(first_attempt_at=attempt_at, attempt_count=1)
    result = breaches_check(now=attempt_at + timedelta(minutes=1))
    assert result.met_late == 1
    breach = Breach.objects.get()
    assert breach.met_at == attempt_at and breach.status == "met late"


def test_the_handoff_service_can_mark_it_met_at_once(late):
    breaches_check(now=MONDAY_DUE + timedelta(minutes=1))
    Handoff.objects.filter(pk=late.pk).update(first_attempt_at=MONDAY_DUE + timedelta(hours=1))
    assert breach_mark_met(handoff=late) == 1
    assert Breach.objects.get().met_at == MONDAY_DUE + timedelta(hours=1)


def test_a_breach_of_a_handoff_that_ended_unmet_is_closed(late):
    breaches_check(now=MONDAY_DUE + timedelta(minutes=1))
    Handoff.objects.filter(pk=late.pk).update(status=Handoff.Status.REASSIGNED)
    assert breaches_check(now=MONDAY_DUE + timedelta(minutes=2)).closed == 1
    assert Breach.objects.get().status == "never met"


def test_closed_handoffs_are_not_watched(late):
    Handoff.objects.filter(pk=late.pk).update(status=Handoff.Status.CLOSED, closed_at=FRIDAY_4PM)
    assert breaches_check(now=MONDAY_DUE + timedelta(minutes=1), full=True).breaches == 0


def test_a_lead_that_reached_sql_only_after_the_deadline_was_owed_its_attempts(late):
    StageChange.objects.create(lead=late.lead, from_stage=Stage.SAL, to_stage=Stage.SQL,
                               changed_at=late.attempts_due_at + timedelta(hours=1))
    Handoff.objects.filter(pk=late.pk).update(first_attempt_at=FRIDAY_4PM, attempt_count=1)
    assert breaches_check(now=late.attempts_due_at + timedelta(hours=2), full=True).attempts == 1


def test_a_late_attempt_before_the_check_ran_is_still_a_breach_met_late(late):
    # The check was down (a broker outage) when the deadline passed; the rep called an hour late.
    Handoff.objects.filter(pk=late.pk).update(first_attempt_at=MONDAY_DUE + timedelta(hours=1), attempt_count=1)
    assert breaches_check(now=MONDAY_DUE + timedelta(hours=3)).first_attempt == 1
    breach = Breach.objects.get()
    assert breach.status == "met late" and breach.met_at == MONDAY_DUE + timedelta(hours=1)


def test_a_handoff_ended_before_its_deadline_owes_nothing(late):
    Handoff.objects.filter(pk=late.pk).update(status=Handoff.Status.REASSIGNED, reassigned_at=MONDAY_DUE - timedelta(hours=1))
    assert breaches_check(now=MONDAY_DUE + timedelta(hours=1), full=True).breaches == 0


def test_the_k_attempts_deadline(late, sales_rep):
    late.lead.stage = Stage.SAL
    late.lead.save()
    Handoff.objects.filter(pk=late.pk).update(first_attempt_at=FRIDAY_4PM + timedelta(minutes=30), attempt_count=3)
    due = late.attempts_due_at
    result = breaches_check(now=due + timedelta(minutes=1))
    assert (result.first_attempt, result.attempts) == (0, 1)
    breach = Breach.objects.get()
    assert breach.kind == "attempts" and breach.due_at == due
    Handoff.objects.filter(pk=late.pk).update(attempt_count=4, attempts_met_at=due + timedelta(hours=3))
    assert breaches_check(now=due + timedelta(hours=4)).met_late == 1


def test_a_lead_that_moved_on_owes_no_more_attempts(late):
    late.lead.stage = Stage.SQL
    late.lead.save()
    StageChange.objects.create(lead=late.lead, from_stage=Stage.SAL, to_stage=Stage.SQL,
                               changed_at=late.attempts_due_at - timedelta(days=3))
    Handoff.objects.filter(pk=late.pk).update(first_attempt_at=FRIDAY_4PM, attempt_count=1,
                                              status=Handoff.Status.ACCEPTED)
    assert breaches_check(now=late.attempts_due_at + timedelta(minutes=1), full=True).attempts == 0


def test_a_rep_without_a_manager_escalates_to_a_sales_manager_of_their_team(sla_in_force, sales_team, sales_manager):
    loner = UserFactory(role="sales_rep", team=sales_team, manager=None)
    handoff_under_sla(at=FRIDAY_4PM, rep=loner)
    breaches_check(now=MONDAY_DUE + timedelta(minutes=1))
    assert Breach.objects.get().escalated_to == sales_manager
    assert notifications(sales_manager, NOTIFY_ESCALATION) == 1


def test_the_check_reads_only_deadlines_due_since_its_last_run(late, sales_rep):
    breaches_check(now=MONDAY_DUE - timedelta(hours=1))
    assert BreachScan.objects.get(kind="first_attempt").scanned_to == MONDAY_DUE - timedelta(hours=1)
    breaches_check(now=MONDAY_DUE + timedelta(minutes=1))
    # A deadline written behind the watermark (say, backfilled) is left to the nightly full sweep.
    old = handoff_under_sla(at=FRIDAY_4PM - timedelta(days=7), rep=sales_rep)
    assert breaches_check(now=MONDAY_DUE + timedelta(minutes=2)).breaches == 0
    assert breaches_check(now=MONDAY_DUE + timedelta(minutes=3), full=True).breaches == 1
    assert list(Breach.objects.filter(handoff=old).values_list("kind", flat=True)) == ["first_attempt"]


def test_a_breach_is_sent_to_webhooks(late):
    endpoint = WebhookEndpointFactory(events=["sla.breach"])
    breaches_check(now=MONDAY_DUE + timedelta(minutes=1))
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event == "sla.breach"
    assert delivery.payload["data"]["handoff_id"] == late.pk and delivery.payload["data"]["kind"] == "first_attempt"


@freeze_time("2026-11-24 12:00:00")
def test_check_sla_command(late, capsys):
    # The command checks now: a day after Monday's deadline.
    call_command("check_sla")
    assert "Breaches recorded: 1 first attempt" in capsys.readouterr().out
    call_command("check_sla", "--full")
    assert "Breaches recorded: 0 first attempt" in capsys.readouterr().out


# --- Recycling unanswered leads ---------------------------------------------------------------------------

def _accepted_without_answer(handoff, rep, outcomes):
    handoff.lead.stage = Stage.SAL
    handoff.lead.owner = rep
    handoff.lead.save()
    Handoff.objects.filter(pk=handoff.pk).update(status=Handoff.Status.ACCEPTED, accepted_at=handoff.created_at)
    for n, outcome in enumerate(outcomes):
        ContactAttempt.objects.create(lead=handoff.lead, rep=rep, channel="call", outcome=outcome,
                                      occurred_at=handoff.created_at + timedelta(hours=n + 1),
                                      idempotency_key=f"k-{handoff.pk}-{n}")
    Handoff.objects.filter(pk=handoff.pk).update(first_attempt_at=handoff.created_at + timedelta(hours=1),
                                                 attempt_count=len(outcomes))


def test_unanswered_leads_go_back_to_nurture_when_the_sla_says_so(sla_in_force, sales_rep, marketer):
    sla_in_force.auto_recycle = True
    sla_in_force.save()
    silent = handoff_under_sla(at=FRIDAY_4PM, rep=sales_rep, handed_off_by=marketer)
    answered = handoff_under_sla(at=FRIDAY_4PM, rep=sales_rep)
    _accepted_without_answer(silent, sales_rep, ["no_answer", "voicemail", "no_answer", "no_answer"])
    _accepted_without_answer(answered, sales_rep, ["no_answer", "connected"])
    result = breaches_check(now=silent.attempts_due_at + timedelta(minutes=1))
    assert result.recycled == 1
    silent.lead.refresh_from_db()
    assert silent.lead.stage == Stage.RECYCLED
    change = StageChange.objects.get(lead=silent.lead, to_stage=Stage.RECYCLED)
    assert change.changed_by is None and "No answer" in change.reason
    silent.refresh_from_db()
    assert (silent.status, silent.outcome) == (Handoff.Status.CLOSED, Stage.RECYCLED)
    answered.lead.refresh_from_db()
    assert answered.lead.stage == Stage.SAL
    assert notifications(sales_rep, NOTIFY_RECYCLED) == 1 and notifications(marketer, NOTIFY_RECYCLED) == 1


def test_without_auto_recycle_leads_stay_with_the_rep(late, sales_rep):
    _accepted_without_answer(late, sales_rep, ["no_answer"] * 4)
    assert breaches_check(now=late.attempts_due_at + timedelta(minutes=1)).recycled == 0
    late.lead.refresh_from_db()
    assert late.lead.stage == Stage.SAL


# --- Idle accepted leads -------------------------------------------------------------------------------------

def test_an_accepted_lead_left_idle_is_flagged_once(sla_in_force, sales_rep, sales_manager):
    sla_in_force.stale_after_days = 10
    sla_in_force.save()
    handoff = handoff_under_sla(at=FRIDAY_4PM, rep=sales_rep)
    handoff.lead.stage, handoff.lead.stage_entered_at = Stage.SAL, FRIDAY_4PM
    handoff.lead.save()
    Handoff.objects.filter(pk=handoff.pk).update(status=Handoff.Status.ACCEPTED, accepted_at=FRIDAY_4PM,
                                                 last_attempt_at=FRIDAY_4PM + timedelta(days=2))
    assert stale_leads_flag(now=FRIDAY_4PM + timedelta(days=11)) == 0
    assert stale_leads_flag(now=FRIDAY_4PM + timedelta(days=12, minutes=1)) == 1
    assert stale_leads_flag(now=FRIDAY_4PM + timedelta(days=13)) == 0
    breach = Breach.objects.get(kind="stale")
    assert breach.due_at == FRIDAY_4PM + timedelta(days=12)
    assert notifications(sales_rep, NOTIFY_BREACH) == 1 and notifications(sales_manager, NOTIFY_ESCALATION) == 1


# --- Marketing's month ---------------------------------------------------------------------------------------

def _handed_off(at, rep, **fields):
    return HandoffFactory(rep=rep, created_at=at, **fields)


def test_a_month_closing_short_is_one_breach_for_marketing(sla_in_force, sales_rep, marketing_manager, sales_manager):
    sla_in_force.mqls_per_month, sla_in_force.min_acceptance_rate = 3, 60
    sla_in_force.pipeline_value_per_month = Decimal(1000)
    sla_in_force.save()
    accepted = _handed_off(berlin(2026, 10, 5, 10, 0), sales_rep, status="accepted",
                           accepted_at=berlin(2026, 10, 5, 11, 0))
    rejected = _handed_off(berlin(2026, 10, 20, 10, 0), sales_rep, status="reassigned")
    # Reassigned to another rep, who rejected it: still one MQL delivered.
    _handed_off(berlin(2026, 10, 21, 10, 0), sales_rep, lead=rejected.lead, previous=rejected, status="rejected",
                rejected_at=berlin(2026, 10, 21, 12, 0), rejection_reason=_rejection_reason())
    _handed_off(berlin(2026, 9, 30, 23, 0), sales_rep)  # September in Berlin
    Handoff.objects.filter(pk=accepted.pk).update(deal_amount=Decimal(400))
    StageChange.objects.create(lead=accepted.lead, from_stage="sql", to_stage="opportunity",
                               changed_at=berlin(2026, 10, 25, 9, 0))
    recorded = marketing_month_close(month=date(2026, 10, 1), now=berlin(2026, 11, 1, 0, 30))
    kinds = {b.kind: b for b in recorded}
    assert set(kinds) == {"mql_volume", "acceptance_rate", "pipeline_value"}
    assert (kinds["mql_volume"].committed, kinds["mql_volume"].delivered) == (3, 2)
    assert kinds["acceptance_rate"].delivered == Decimal("50.0")
    assert kinds["pipeline_value"].delivered == Decimal(400)
    assert all(b.side == "marketing" and b.month == date(2026, 10, 1) for b in recorded)
    assert marketing_month_close(month=date(2026, 10, 1), now=berlin(2026, 11, 2, 0, 30)) == []
    assert Breach.objects.filter(side="marketing").count() == 3
    assert notifications(marketing_manager, NOTIFY_BREACH) == 3 and notifications(sales_manager, NOTIFY_BREACH) == 3


def test_per_rep_commitments_count_the_active_reps(sla_in_force, sales_rep, other_rep, sales_team):
    sla_in_force.mqls_per_month, sla_in_force.mql_basis = 1, "per_rep"
    sla_in_force.save()
    _handed_off(berlin(2026, 10, 5, 10, 0), sales_rep)
    _handed_off(berlin(2026, 10, 6, 10, 0), other_rep)
    UserFactory(role="sales_rep", team=sales_team)
    UserFactory(role="sales_rep", team=sales_team, is_active=False)  # gone: not counted
    # Three active reps: 3 committed, 2 delivered.
    recorded = marketing_month_close(month=date(2026, 10, 1), now=berlin(2026, 11, 1, 1, 0))
    assert [(b.kind, b.committed, b.delivered) for b in recorded] == [("mql_volume", 3, 2)]


def test_an_open_month_cannot_be_closed(sla_in_force):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        marketing_month_close(month=date(2026, 11, 1), now=berlin(2026, 11, 20, 12, 0))


def _rejection_reason():
    from leads.models import Reason

    return Reason.objects.filter(kind="rejection").first() or Reason.objects.create(kind="rejection", label="Bad fit")


# --- Review reminders ------------------------------------------------------------------------------------------

def test_both_managers_are_reminded_once_when_the_review_date_comes(sla_in_force, marketing_manager, sales_manager):
    sla_in_force.review_on = date(2026, 12, 1)
    sla_in_force.save()
    assert review_reminders_send(now=berlin(2026, 11, 30, 12, 0)) == 0
    assert review_reminders_send(now=berlin(2026, 12, 1, 7, 0)) == 2
    assert review_reminders_send(now=berlin(2026, 12, 2, 7, 0)) == 0
    assert notifications(marketing_manager, NOTIFY_REVIEW) == 1 and notifications(sales_manager, NOTIFY_REVIEW) == 1


# --- The breaches page ----------------------------------------------------------------------------------------

def test_the_breaches_page_and_its_partial(late, client_for, sales_rep, marketer):
    breaches_check(now=MONDAY_DUE + timedelta(minutes=1))
    client = client_for(marketer)
    page = client.get(reverse("sla_contract:breach_list"))
    assert page.status_code == 200 and late.lead.email.encode() not in page.content  # names, not e-mails
    assert str(late.lead).encode() in page.content and b"<html" in page.content
    partial = client.get(reverse("sla_contract:breach_list") + "?status=open", headers={"HX-Request": "true"})
    assert b"<html" not in partial.content and b'id="breach-table"' in partial.content
    empty = client.get(reverse("sla_contract:breach_list") + "?status=met_late", headers={"HX-Request": "true"})
    assert b"No breach matches" in empty.content
