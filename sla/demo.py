"""Demo data of the handoff: routing rules, handoffs with their intelligence, contact attempts, feedback,
objections with the content that answers them, and a few notifications — consistent with the leads' stages.

handoffs_seed() runs after leads.demo.demo_seed (and, when present, the scoring agreement and the SLA, so
handoffs get scores and deadlines). It reads each lead's stage history and gives the leads that went
through sales the handoff that history implies: pending for an MQL a rep owns, accepted while sales works
it, closed with its outcome once it left sales, rejected when sales turned it down. It is idempotent: with
handoffs already there it changes nothing.
"""

import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from leads.models import (
    ContactAttempt,
    Feedback,
    Lead,
    Objection,
    ObjectionAnswer,
    Reason,
    Stage,
    StageChange,
)
from sla.deadlines import handoff_deadlines
from sla.models import Handoff, RoutingRule, RoutingSettings
from sla.selectors import handoff_summary_build
from smarketing.models import Notification, Team, User
from smarketing.roles import Function, Role

SALES_ROLES = (Role.SALES_REP, Role.SALES_MANAGER)
EXITS = (Stage.WON, Stage.LOST, Stage.RECYCLED, Stage.DISQUALIFIED)
# Open handoffs a rep gets in the demo: some room left under capacity, so routing has someone to choose.
ROOM_LEFT = 6

OBJECTIONS = [
    ("Too expensive for our team size", [("ROI calculator", "https://smarketing.example/resources/roi-calculator",
                                          "Fill it in with them on the call: most pay back in 4 months.")]),
    ("Already use a competitor", [("Switching guide: from spreadsheets and CRMs",
                                   "https://smarketing.example/resources/switching-guide",
                                   "Send after the first call; it answers the migration question.")]),
    ("No time to implement this quarter", [("Customer story: Northwind live in 14 days",
                                            "https://smarketing.example/customers/northwind-logistics", "")]),
    ("Security review needed first", [("Security & GDPR whitepaper", "https://smarketing.example/security.pdf",
                                       "Share before IT asks; it covers SSO, DPA and hosting.")]),
    ("Need buy-in from the sales team", []),
    ("Happy with spreadsheets", []),
    ("Not the decision maker", []),
]

_NOTES = [
    "Asked about SSO and the HubSpot integration on the demo form.", "Downloaded the SLA template twice; budget stated.",
    "Came from the pricing page after the webinar.", "Their CMO attended the webinar; this is the ops lead.",
    "Replied to the nurture e-mail asking for a call.", "", "", "",
]
_ATTEMPT_NOTES = {
    "no_answer": ["Rang twice, no answer.", "No answer; will try in the morning.", ""],
    "voicemail": ["Left a voicemail with my direct line.", "Voicemail: mentioned the ROI calculator.", ""],
    "connected": ["Good call: 3 people in marketing, 8 in sales. Wants a demo with their head of sales.",
                  "Connected. Using spreadsheets today; pain is the weekly meeting.",
                  "Short call, asked to send pricing by e-mail."],
    "meeting_booked": ["Demo booked for next Tuesday with the CMO.", "Discovery call booked, 30 min."],
    "not_interested": ["Not a priority this year.", "Said they just renewed with a competitor."],
    "wrong_contact": ["Wrong person: forwarded to their RevOps lead.", "Number belongs to reception."],
}
_REJECTION_TEXT = {
    "Not a fit for our offer": "Agency with 3 people, they resell our kind of tool.",
    "No budget": "Interested, but the budget is frozen until next fiscal year.",
    "No response after the agreed attempts": "Four attempts over two weeks, no reply on any channel.",
    "Already a customer or in a deal": "Their parent company is already a customer; passed to account management.",
    "Wrong or missing contact data": "Phone number and e-mail bounce; name looks made up.",
    "Other": "Student researching for a thesis.",
}
_LOSS_TEXT = ["Went with the incumbent after a price match.", "Project postponed after a reorganisation.",
              "Needed a Dynamics integration we do not have.", "Decision maker left; the new one restarts the search.",
              ""]
_WIN_TEXT = ["Perfect lead: the intelligence card told me exactly what to open with.",
             "Came in hot from the webinar; closed in three weeks.", ""]
_GENERAL_TEXT = ["Good fit, but marketing should send these a week earlier.",
                 "Great intel on the card. More like this one please.",
                 "Title says director, but they are an individual contributor."]


@dataclass
class HandoffSeedReport:
    handoffs: int = 0
    open: int = 0
    attempts: int = 0
    feedback: int = 0
    objections: int = 0
    rules: int = 0
    notifications: int = 0
    seconds: float = 0.0


@dataclass
class _Plan:
    lead: Lead
    rep: User
    status: str
    created_at: datetime
    accepted_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: str = ""
    reason_text: str = ""


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    if end <= start:
        return start
    return start + (end - start) * rng.random()


def _rules() -> list[RoutingRule]:
    emea = Team.objects.filter(function=Function.SALES, name__icontains="emea").first()
    americas = Team.objects.filter(function=Function.SALES, name__icontains="americ").first()
    rules = []
    if emea:
        rules.append(RoutingRule(name="EMEA by territory", team=emea, by_territory=True, position=10))
    if americas:
        rules.append(RoutingRule(name="Americas & APAC by territory", team=americas, by_territory=True, position=20))
    if emea:
        rules.append(RoutingRule(name="Anything else: Sales EMEA in turn", team=emea, by_territory=False,
                                 position=100))
    RoutingRule.objects.bulk_create(rules)
    RoutingSettings.objects.get_or_create(pk=1)
    return rules


def _objections(author: User | None) -> list[Objection]:
    made = []
    for label, answers in OBJECTIONS:
        objection, _ = Objection.objects.get_or_create(label=label, defaults={"created_by": author})
        for title, url, note in answers:
            ObjectionAnswer.objects.get_or_create(objection=objection, title=title,
                                                  defaults={"url": url, "note": note, "created_by": author})
        made.append(objection)
    return made


def _plans(rng: random.Random, now: datetime, reps: dict[int, User], closed_limit: int) -> list[_Plan]:
    """The handoffs the leads' stage histories imply: open ones up to each rep's room, the latest closed ones."""
    sales_ids = set(User.objects.filter(role__in=SALES_ROLES).values_list("pk", flat=True))
    open_leads = list(Lead.objects.select_related("company").filter(
        stage__in=[Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY],
                                          owner_id__in=list(reps)).order_by("-stage_entered_at", "-id"))
    room = {pk: max(rep.capacity - ROOM_LEFT, 3) for pk, rep in reps.items()}
    chosen: list[Lead] = []
    for lead in open_leads:
        if room[lead.owner_id] > 0:
            room[lead.owner_id] -= 1
            chosen.append(lead)
    worked_by_sales = StageChange.objects.filter(
        Q(from_stage=Stage.MQL, to_stage=Stage.SAL)
        | Q(from_stage=Stage.MQL, to_stage__in=[Stage.RECYCLED, Stage.DISQUALIFIED], changed_by_id__in=sales_ids)
    ).values("lead_id")
    closed = list(Lead.objects.select_related("company").filter(stage__in=EXITS, pk__in=worked_by_sales)
                  .order_by("-stage_entered_at", "-id")[:closed_limit])
    leads = {lead.pk: lead for lead in [*chosen, *closed]}
    history: dict[int, list[StageChange]] = defaultdict(list)
    for change in StageChange.objects.filter(lead_id__in=list(leads)).order_by("lead_id", "changed_at", "id"):
        history[change.lead_id].append(change)

    plans = []
    for lead_id, lead in leads.items():
        changes = history[lead_id]
        last_mql = max((i for i, c in enumerate(changes) if c.to_stage == Stage.MQL), default=None)
        if last_mql is None:
            continue
        mql_at = changes[last_mql].changed_at
        after = changes[last_mql + 1:]
        if not after:
            if lead.stage != Stage.MQL or lead.owner_id not in reps:
                continue
            created = min(_between(rng, mql_at, mql_at + timedelta(hours=6)), now - timedelta(minutes=20))
            plans.append(_Plan(lead=lead, rep=reps[lead.owner_id], status=Handoff.Status.PENDING, created_at=created))
            continue
        first = after[0]
        rep = reps.get(first.changed_by_id) or reps.get(lead.owner_id)
        if rep is None:
            continue
        if first.to_stage in (Stage.RECYCLED, Stage.DISQUALIFIED):
            if first.changed_by_id not in sales_ids:
                continue
            created = max(mql_at, first.changed_at - timedelta(hours=rng.uniform(2, 40)))
            plans.append(_Plan(lead=lead, rep=rep, status=Handoff.Status.REJECTED, created_at=created,
                               closed_at=first.changed_at, outcome=first.to_stage, reason_text=first.reason))
            continue
        if first.to_stage != Stage.SAL:
            continue
        created = max(mql_at, first.changed_at - timedelta(hours=rng.uniform(0.5, 20)))
        plan = _Plan(lead=lead, rep=rep, status=Handoff.Status.ACCEPTED, created_at=created,
                     accepted_at=first.changed_at)
        exit_change = next((c for c in after[1:] if c.to_stage in EXITS), None)
        if exit_change is not None:
            plan.status, plan.closed_at, plan.outcome = Handoff.Status.CLOSED, exit_change.changed_at, \
                exit_change.to_stage
            plan.reason_text = exit_change.reason
        elif lead.stage not in (Stage.SAL, Stage.SQL, Stage.OPPORTUNITY):
            continue
        plans.append(plan)
    return sorted(plans, key=lambda p: p.created_at)


def _attempts_for(rng: random.Random, plan: _Plan, now: datetime, objections: list[Objection]) -> list[ContactAttempt]:
    end = min(plan.closed_at or now, now)
    if plan.status == Handoff.Status.PENDING:
        count = 1 if rng.random() < 0.3 else 0
    elif plan.status == Handoff.Status.REJECTED:
        # "No response after the agreed attempts" means the attempts were made.
        count = 4 if "response" in plan.reason_text.lower() else rng.choice([0, 1, 2])
    else:
        count = rng.choice([1, 2, 3, 3, 4, 4, 5])
    attempts = []
    at = plan.created_at + timedelta(hours=rng.choice([0.3, 1, 2, 4, 7, 30]))
    for index in range(count):
        if at >= end:
            break
        last = index == count - 1
        if plan.status == Handoff.Status.REJECTED and "response" in plan.reason_text.lower():
            outcome = rng.choice(["no_answer", "voicemail"])
        elif plan.outcome in (Stage.LOST, Stage.RECYCLED, Stage.DISQUALIFIED) and last:
            outcome = rng.choice(["not_interested", "connected", "wrong_contact"])
        elif index < 2:
            outcome = rng.choice(["no_answer", "voicemail", "no_answer", "connected"])
        else:
            outcome = rng.choice(["connected", "meeting_booked", "voicemail"])
        channel = rng.choice(["call", "call", "email", "linkedin"]) if outcome != "meeting_booked" else "meeting"
        objection = rng.choice(objections) if outcome in ("connected", "not_interested") and rng.random() < 0.45 \
            else None
        attempts.append(ContactAttempt(
            lead=plan.lead, rep=plan.rep, channel=channel, outcome=outcome, occurred_at=at,
            notes=rng.choice(_ATTEMPT_NOTES[outcome]), objection=objection,
            idempotency_key=f"demo-{plan.lead.pk}-{index}", created_at=at,
        ))
        at += timedelta(hours=rng.uniform(3, 70))
    return attempts


def _reason(kind: str, text: str, rng: random.Random, by_label: dict[tuple[str, str], Reason]) -> Reason:
    match = by_label.get((kind, text.strip().lower()))
    if match is not None:
        return match
    options = [reason for (reason_kind, _), reason in by_label.items() if reason_kind == kind]
    return rng.choice(options)


@transaction.atomic
def handoffs_seed(
    *, seed: int = 42, now: datetime | None = None, closed_limit: int = 300,
    progress: Callable[[str], None] | None = None,
) -> HandoffSeedReport:
    """Gives the demo organisation's leads the handoffs, attempts and feedback their stage history implies.

    Open handoffs go to each rep up to a little under their capacity (most recent leads first), closed
    ones to the `closed_limit` leads that most recently left sales. Idempotent: a database that has
    handoffs is left alone.
    """
    started = time.monotonic()
    report = HandoffSeedReport()
    if Handoff.objects.exists():
        return report
    say = progress or (lambda message: None)
    rng = random.Random(f"handoffs-{seed}")
    now = now or timezone.now()
    reps = {rep.pk: rep for rep in User.objects.filter(role=Role.SALES_REP, is_active=True).select_related("team")}
    marketers = list(User.objects.filter(role__in=[Role.MARKETER, Role.MARKETING_MANAGER], is_active=True)
                     .order_by("role", "pk"))
    if not reps or not marketers:
        return report
    rules = _rules()
    rule_of_team = {rule.team_id: rule for rule in rules if rule.by_territory}
    objections = _objections(author=marketers[-1])
    report.rules, report.objections = len(rules), len(objections)
    reasons = {(r.kind, r.label.lower()): r for r in Reason.objects.filter(is_active=True)}

    plans = _plans(rng, now, reps, closed_limit)
    say(f"Handoffs: {len(plans):,} from the leads' stage history; building their intelligence summaries…")
    handoffs: list[Handoff] = []
    attempts_of: dict[int, list[ContactAttempt]] = {}
    rule_labels: dict[int, dict[str, str]] = {}  # one scoring version's labels, read once for every summary
    for index, plan in enumerate(plans):
        routed = rng.random() < 0.25 and plan.rep.team_id in rule_of_team
        deadlines = handoff_deadlines(handed_off_at=plan.created_at)
        handoff = Handoff(
            lead=plan.lead, rep=plan.rep, created_at=plan.created_at, status=plan.status,
            handed_off_by=None if routed else rng.choice(marketers),
            routing_rule=rule_of_team.get(plan.rep.team_id) if routed else None,
            note="" if routed else rng.choice(_NOTES), summary=handoff_summary_build(lead=plan.lead, at=plan.created_at, rule_labels=rule_labels),
            accepted_at=plan.accepted_at, closed_at=plan.closed_at, outcome=plan.outcome,
            first_attempt_due_at=deadlines.first_attempt_due_at, attempts_due_at=deadlines.attempts_due_at,
            attempts_required=deadlines.attempts_required, sla_version_number=deadlines.sla_version_number,
        )
        if plan.status == Handoff.Status.REJECTED:
            handoff.rejected_at = plan.closed_at
            handoff.rejection_reason = _reason(Reason.Kind.REJECTION, plan.reason_text, rng, reasons)
            handoff.rejection_comment = _REJECTION_TEXT.get(handoff.rejection_reason.label, "Not for sales.")
            plan.reason_text = handoff.rejection_reason.label
        if plan.lead.stage in (Stage.OPPORTUNITY, Stage.WON) or plan.outcome == Stage.WON:
            handoff.deal_amount = Decimal(rng.randrange(6, 90) * 1000)
            handoff.expected_close_on = (plan.closed_at or now + timedelta(days=rng.randint(5, 60))).date()
            if plan.outcome == Stage.WON:
                handoff.won_amount = handoff.deal_amount * Decimal(rng.choice(["0.9", "1", "1", "1.1"]))
        attempts = _attempts_for(rng, plan, now, objections)
        if attempts:
            times = [a.occurred_at for a in attempts]
            handoff.attempt_count, handoff.first_attempt_at, handoff.last_attempt_at = len(times), times[0], times[-1]
            if handoff.attempts_required and len(times) >= handoff.attempts_required:
                handoff.attempts_met_at = times[handoff.attempts_required - 1]
        handoffs.append(handoff)
        attempts_of[index] = attempts
        if index and index % 200 == 0:
            say(f"  {index:,} of {len(plans):,}")
    Handoff.objects.bulk_create(handoffs, batch_size=500)
    report.handoffs = len(handoffs)
    report.open = sum(1 for h in handoffs if h.is_open)

    all_attempts = [a for attempts in attempts_of.values() for a in attempts]
    ContactAttempt.objects.bulk_create(all_attempts, batch_size=1000)
    report.attempts = len(all_attempts)

    feedback = _feedback(rng, handoffs, reasons, objections, marketers, now)
    Feedback.objects.bulk_create(feedback, batch_size=1000)
    report.feedback = len(feedback)
    _reassignment(handoffs, reps, marketers)
    report.notifications = _notifications(handoffs, now)
    report.seconds = time.monotonic() - started
    say(f"Handoffs: {report.handoffs:,} ({report.open:,} open), {report.attempts:,} contact attempts, "
        f"{report.feedback:,} feedback, {report.objections} objections, {report.rules} routing rules.")
    return report


def _feedback(rng: random.Random, handoffs: list[Handoff], reasons: dict, objections: list[Objection],
              marketers: list[User], now: datetime) -> list[Feedback]:
    rows = []
    for handoff in handoffs:
        at = handoff.closed_at or now - timedelta(hours=rng.uniform(1, 72))
        at = max(at, handoff.created_at)
        objection = rng.choice(objections) if rng.random() < 0.35 else None
        if handoff.status == Handoff.Status.REJECTED:
            rows.append(Feedback(lead=handoff.lead, author=handoff.rep, kind=Feedback.Kind.REJECTION,
                                 quality=rng.choice([1, 2, 2, 3]), reason=handoff.rejection_reason,
                                 text=handoff.rejection_comment, objection=objection, created_at=at))
        elif handoff.outcome == Stage.LOST:
            change = StageChange.objects.filter(lead=handoff.lead, to_stage=Stage.LOST).order_by("-changed_at").first()
            reason = _reason(Reason.Kind.LOSS, change.reason if change else "", rng, reasons)
            rows.append(Feedback(lead=handoff.lead, author=handoff.rep, kind=Feedback.Kind.LOSS,
                                 quality=rng.choice([2, 3, 3, 4]), reason=reason, text=rng.choice(_LOSS_TEXT),
                                 objection=objection, created_at=at))
        elif handoff.outcome == Stage.WON and rng.random() < 0.6:
            rows.append(Feedback(lead=handoff.lead, author=handoff.rep, kind=Feedback.Kind.WIN,
                                 quality=rng.choice([4, 5, 5]), text=rng.choice(_WIN_TEXT), created_at=at))
        elif handoff.is_open and handoff.status == Handoff.Status.ACCEPTED and rng.random() < 0.15:
            rows.append(Feedback(lead=handoff.lead, author=handoff.rep, kind=Feedback.Kind.GENERAL,
                                 quality=rng.choice([3, 4, 5]), text=rng.choice(_GENERAL_TEXT), objection=objection,
                                 created_at=at))
    # Marketing has read all but the latest dozen.
    rows.sort(key=lambda f: f.created_at)
    for row in rows[:-12]:
        row.read_at = row.created_at + timedelta(hours=rng.uniform(1, 30))
        row.read_by = rng.choice(marketers)
    return rows


def _reassignment(handoffs: list[Handoff], reps: dict[int, User], marketers: list[User]) -> None:
    """One accepted lead passed from one rep to a teammate, so the lead page shows a reassignment's history."""
    candidate = next((h for h in reversed(handoffs) if h.status == Handoff.Status.ACCEPTED and h.is_open), None)
    teammate = next((rep for rep in reps.values() if candidate and rep.team_id == candidate.rep.team_id
                     and rep.pk != candidate.rep_id), None)
    manager = User.objects.filter(role=Role.SALES_MANAGER, is_active=True).order_by("pk").first()
    if candidate is None or teammate is None:
        return
    earlier = Handoff.objects.create(
        lead=candidate.lead, rep=teammate, handed_off_by=candidate.handed_off_by, created_at=candidate.created_at,
        status=Handoff.Status.REASSIGNED, note=candidate.note, summary=candidate.summary,
        accepted_at=candidate.accepted_at, reassigned_at=candidate.created_at + timedelta(hours=2),
        closed_at=candidate.created_at + timedelta(hours=2), reassigned_by=manager,
        reassign_reason=f"{teammate.first_name} is on leave this week",
    )
    Handoff.objects.filter(pk=candidate.pk).update(previous=earlier)


def _notifications(handoffs: list[Handoff], now: datetime) -> int:
    """The latest events under each demo user's bell: new handoffs for reps, verdicts for marketers."""
    rows: list[tuple[Notification, datetime]] = []
    per_rep: dict[int, int] = defaultdict(int)
    for handoff in sorted(handoffs, key=lambda h: h.created_at, reverse=True):
        lead = handoff.lead
        if handoff.status == Handoff.Status.PENDING and per_rep[handoff.rep_id] < 3:
            per_rep[handoff.rep_id] += 1
            rows.append((Notification(recipient=handoff.rep, kind=Notification.Kind.HANDOFF_NEW,
                                      title=f"New lead for you: {lead}", url=f"/leads/{lead.pk}/",
                                      body=f"{handoff.handed_off_by or 'Routing'} handed you {lead}.",
                                      email_wanted=False), handoff.created_at))
    per_marketer: dict[int, int] = defaultdict(int)
    for handoff in sorted(handoffs, key=lambda h: h.closed_at or h.created_at, reverse=True):
        marketer = handoff.handed_off_by
        if marketer is None or per_marketer[marketer.pk] >= 4 or handoff.closed_at is None:
            continue
        if handoff.status == Handoff.Status.REJECTED:
            title = f"{handoff.rep} rejected {handoff.lead}"
            kind, body = Notification.Kind.HANDOFF_REJECTED, f"Reason: {handoff.rejection_reason}."
        elif handoff.outcome == Stage.WON:
            title, kind, body = f"Won: {handoff.lead}", Notification.Kind.HANDOFF_WON, f"{handoff.rep} won it."
        else:
            continue
        per_marketer[marketer.pk] += 1
        rows.append((Notification(recipient=marketer, kind=kind, title=title, body=body,
                                  url=f"/leads/{handoff.lead_id}/", email_wanted=False), handoff.closed_at))
    made = Notification.objects.bulk_create([row for row, _ in rows])
    # created_at is set on insert (auto_now_add): put each back at the moment of its event.
    for notification, (_, at) in zip(made, rows, strict=True):
        notification.created_at = min(at, now)
        notification.read_at = notification.created_at if at < now - timedelta(days=3) else None
    Notification.objects.bulk_update(made, ["created_at", "read_at"], batch_size=500)
    return len(made)


def handoff_counts() -> dict[str, int]:
    """What handoffs_seed left, by status (for the seed command's summary line)."""
    return dict(Handoff.objects.values_list("status").annotate(n=Count("pk")).order_by())
