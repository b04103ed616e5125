"""Writes of the dashboards app: the daily funnel rollups, calibration snapshots and the draft they propose,
meetings with their notes and action items, shared links, digest preferences and the digests themselves."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from dashboards.calibration import calibrate, outcome_rows, version_rules
from dashboards.metrics import CrossRow, Key, moves_between, velocity_json
from dashboards.models import (
    ActionItem,
    CalibrationSnapshot,
    DigestDelivery,
    DigestPreference,
    FunnelDay,
    Grain,
    Meeting,
    MeetingNote,
    RollupDay,
    SharedLink,
)
from dashboards.periods import day_bounds, local_today, org_zone
from scoring.models import EngagementRule, FitRule, ScoringVersion
from scoring.services import (
    engagement_rule_save,
    fit_rule_save,
    scoring_draft_create,
    scoring_version_active,
)
from smarketing.audit import audit_record
from smarketing.models import User
from smarketing.roles import Action

# Which parts of the full-cross key each grain keeps (from, to are always kept).
_GRAIN_KEEPS: dict[str, tuple[bool, bool, bool, bool, bool]] = {
    # source, campaign, persona, rep, team
    Grain.TOTAL: (False, False, False, False, False),
    Grain.SOURCE: (True, False, False, False, False),
    # A campaign keeps its source: the closed loop lists campaigns under their source.
    Grain.CAMPAIGN: (True, True, False, False, False),
    Grain.PERSONA: (False, False, True, False, False),
    Grain.REP: (False, False, False, True, False),
    Grain.TEAM: (False, False, False, False, True),
    Grain.ALL: (True, True, True, True, True),
}


def _grain_rows(cross: dict[Key, CrossRow]) -> dict[tuple[str, Key], CrossRow]:
    """The full cross summed to every grain the pages read."""
    grains: dict[tuple[str, Key], CrossRow] = {}
    for (from_stage, to_stage, *dims), row in cross.items():
        for grain, keeps in _GRAIN_KEEPS.items():
            kept = tuple(value if keep else ("" if index < 2 else None)
                         for index, (value, keep) in enumerate(zip(dims, keeps, strict=True)))
            target = grains.setdefault((grain, (from_stage, to_stage, *kept)), CrossRow())
            target.moves += row.moves
            target.returning += row.returning
            target.won_amount += row.won_amount
            target.velocity.update(row.velocity)
    return grains


@transaction.atomic
def funnel_day_rollup(*, day: date, zone: ZoneInfo | None = None) -> int:
    """Stores one local day's stage moves at every grain, replacing what was stored for it (idempotent).

    Only whole days: today (and later) is always computed live, so it is refused here.
    Returns the number of moves the day holds.
    """
    zone = zone or org_zone()
    if day >= local_today(zone):
        raise ValueError(f"{day} has not ended yet; only past days are rolled up.")
    start, end = day_bounds(day, day, zone)
    cross = moves_between(start, end)
    rows = [
        FunnelDay(day=day, grain=grain, from_stage=from_stage, to_stage=to_stage, source=source, campaign=campaign,
                  persona_id=persona, rep_id=rep, team_id=team, moves=row.moves, returning=row.returning,
                  won_amount=row.won_amount, velocity=velocity_json(row.velocity))
        for (grain, (from_stage, to_stage, source, campaign, persona, rep, team)), row in _grain_rows(cross).items()
    ]
    FunnelDay.objects.filter(day=day).delete()
    # 2,000 rows a statement: a busy day at 1M leads holds ~15,000 rows, so a handful of round trips.
    FunnelDay.objects.bulk_create(rows, batch_size=2000)
    moves = sum(row.moves for row in cross.values())
    RollupDay.objects.update_or_create(day=day, defaults={"computed_at": timezone.now(), "moves": moves,
                                                          "time_zone": str(zone)})
    return moves


def funnel_rollup_range(*, first: date, last: date, zone: ZoneInfo | None = None, progress=None) -> int:
    """Rolls up every past day from `first` to `last` (each in its own transaction); returns the days done."""
    zone = zone or org_zone()
    last = min(last, local_today(zone) - timedelta(days=1))
    done = 0
    day = first
    while day <= last:
        moves = funnel_day_rollup(day=day, zone=zone)
        done += 1
        if progress:
            progress(day, moves)
        day += timedelta(days=1)
    return done


def funnel_rollup_due(*, lookback_days: int = 3, zone: ZoneInfo | None = None) -> int:
    """The daily job: re-rolls the last few days (late edits to yesterday land too) and any earlier day
    since the first stage change that was never rolled up. Level-triggered: a missed night catches up."""
    from leads.models import StageChange

    zone = zone or org_zone()
    today = local_today(zone)
    recent_first = today - timedelta(days=lookback_days)
    done = funnel_rollup_range(first=recent_first, last=today - timedelta(days=1), zone=zone)
    first_change = StageChange.objects.order_by("changed_at").values_list("changed_at", flat=True).first()
    if first_change is None:
        return done
    first_day = first_change.astimezone(zone).date()
    stored = set(RollupDay.objects.filter(day__gte=first_day, day__lt=recent_first).values_list("day", flat=True))
    day = first_day
    while day < recent_first:
        if day not in stored:
            funnel_day_rollup(day=day, zone=zone)
            done += 1
        day += timedelta(days=1)
    return done


# --- Scoring calibration -----------------------------------------------------------------------------------


def calibration_snapshot_compute(*, outcome: str) -> CalibrationSnapshot | None:
    """Computes and keeps the calibration of the scoring in force against one kind of outcome."""
    version = scoring_version_active()
    if version is None:
        return None
    rows = outcome_rows(outcome)
    result = calibrate(rows=rows, rules=version_rules(version))
    return CalibrationSnapshot.objects.create(outcome=outcome, scoring_version_number=version.number,
                                              outcomes=len(rows), result=result)


def _fit_signature(rule: FitRule) -> tuple:
    return (rule.label, rule.field, rule.operator, rule.value, rule.value_to)


def _engagement_signature(rule: EngagementRule) -> tuple:
    return (rule.label, rule.activity_type, rule.url_match, rule.url_value, rule.property_key, rule.property_min,
            rule.cap, rule.half_life_days)


@transaction.atomic
def calibration_draft_create(*, snapshot: CalibrationSnapshot, actor: User) -> tuple[ScoringVersion, int]:
    """Opens a scoring draft (a copy of the version in force, or the open draft) with the points the calibration
    suggests for each rule it could judge. Returns the draft and how many rules it changed.

    A rule of the version in force is found in the draft by what it tests (label, field, operator, value…),
    so a draft that someone already edited keeps their changes to the other rules.
    """
    if not actor.can(Action.QUALIFICATION_EDIT):
        raise PermissionDenied("Only marketing and the managers edit the scoring.")
    active = scoring_version_active()
    if active is None or active.number != snapshot.scoring_version_number:
        raise ValidationError("The scoring in force changed since this calibration; recompute it first.")
    suggestions = {(item["kind"], item["rule_id"]): item["suggested"] for item in snapshot.result.get("rules", [])
                   if item.get("suggested") is not None and item["suggested"] != item["points"]}
    if not suggestions:
        raise ValidationError("The calibration suggests no change of points.")
    draft = scoring_draft_create(actor=actor)
    draft_fit: dict[tuple, list[FitRule]] = {}
    for rule in draft.fit_rules.all():
        draft_fit.setdefault(_fit_signature(rule), []).append(rule)
    draft_engagement: dict[tuple, list[EngagementRule]] = {}
    for rule in draft.engagement_rules.all():
        draft_engagement.setdefault(_engagement_signature(rule), []).append(rule)
    changed = 0
    for rule in active.fit_rules.all():
        points = suggestions.get(("fit", rule.pk))
        matches = draft_fit.get(_fit_signature(rule))
        if points is not None and matches:
            target = matches.pop(0)
            target.points = points
            fit_rule_save(rule=target, actor=actor)
            changed += 1
    for rule in active.engagement_rules.all():
        points = suggestions.get(("engagement", rule.pk))
        matches = draft_engagement.get(_engagement_signature(rule))
        if points is not None and matches:
            target = matches.pop(0)
            target.points = points
            engagement_rule_save(rule=target, actor=actor)
            changed += 1
    return draft, changed


# --- Meetings ------------------------------------------------------------------------------------------------


def meeting_get_or_create(*, kind: str, period_start: date) -> Meeting:
    """The meeting of a period, made on its first note or action item; two people adding at once share it."""
    if kind == Meeting.Kind.WEEKLY and period_start.weekday() != 0:
        raise ValidationError("A weekly meeting starts on a Monday.")
    if kind == Meeting.Kind.MONTHLY and period_start.day != 1:
        raise ValidationError("A monthly meeting starts on the first of the month.")
    meeting, _ = Meeting.objects.get_or_create(kind=kind, period_start=period_start)
    return meeting


@transaction.atomic
def meeting_note_add(*, kind: str, period_start: date, actor: User, body: str) -> MeetingNote:
    """Any attendee adds a note; notes are added, never overwrite each other."""
    if not actor.can(Action.LEAD_VIEW):
        raise PermissionDenied
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Write the note."})
    meeting = meeting_get_or_create(kind=kind, period_start=period_start)
    return MeetingNote.objects.create(meeting=meeting, author=actor, body=body[:5000])


@transaction.atomic
def action_item_add(*, kind: str, period_start: date, actor: User, title: str, owner: User | None,
                    due_on: date | None) -> ActionItem:
    """An action item agreed at a meeting: what, who, by when. It stays on every later meeting until done."""
    if not actor.can(Action.LEAD_VIEW):
        raise PermissionDenied
    errors = {}
    if not title.strip():
        errors["title"] = "Say what is to be done."
    if owner is None or not owner.is_active:
        errors["owner"] = "Choose who does it."
    if due_on is None:
        errors["due_on"] = "Give a due date."
    elif due_on < period_start:
        errors["due_on"] = "The due date cannot be before the meeting."
    if errors:
        raise ValidationError(errors)
    meeting = meeting_get_or_create(kind=kind, period_start=period_start)
    item = ActionItem.objects.create(meeting=meeting, title=title.strip()[:300], owner=owner, due_on=due_on,
                                     created_by=actor)
    audit_record(actor=actor, action="action_item.create", target=item,
                 summary=f"Action item “{item.title}” for {owner} by {due_on:%Y-%m-%d}")
    return item


@transaction.atomic
def action_item_set_done(*, item: ActionItem, actor: User, done: bool) -> ActionItem:
    """Marks an item done (or open again); anyone at the meeting may, as it is ticked off together."""
    if not actor.can(Action.LEAD_VIEW):
        raise PermissionDenied
    item = ActionItem.objects.select_for_update().get(pk=item.pk)
    if done and item.done_at is None:
        item.done_at, item.done_by = timezone.now(), actor
    elif not done:
        item.done_at, item.done_by = None, None
    item.save(update_fields=["done_at", "done_by"])
    return item


# --- Digests and the monthly report ---------------------------------------------------------------------------

# Digests go out from this local hour on their day (Monday for the weekly one, the first working day of the
# month for the report); the hourly job sends whatever is due and not yet sent, so a stopped scheduler
# catches up later the same week instead of losing the digest.
DIGEST_HOUR = 7


@transaction.atomic
def digest_preference_save(*, user: User, weekly_digest: bool, monthly_report: bool) -> DigestPreference:
    """A person chooses which of the dashboards' e-mails they get."""
    preference, _ = DigestPreference.objects.update_or_create(
        user=user, defaults={"weekly_digest": weekly_digest, "monthly_report": monthly_report,
                             "updated_at": timezone.now()})
    return preference


def _site_url() -> str:
    from django.conf import settings

    return getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/")


def _send_once(*, kind: str, period_start: date, user: User, subject: str, text: str, html: str,
               attachments: list[tuple[str, str, str]] = ()) -> bool:
    """Sends one e-mail unless it was sent already; the delivery row is the claim (unique per user and period),
    so two runs never send it twice, and a failed send rolls the claim back for the next run."""
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives
    from django.db import IntegrityError

    try:
        with transaction.atomic():
            DigestDelivery.objects.create(kind=kind, period_start=period_start, user=user)
            message = EmailMultiAlternatives(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL,
                                             to=[user.email])
            message.attach_alternative(html, "text/html")
            for name, content, mimetype in attachments:
                message.attach(name, content, mimetype)
            message.send()
    except IntegrityError:
        return False
    return True


def weekly_digest_send(*, monday: date) -> int:
    """The weekly digest for the week starting `monday` (last week's numbers and the meeting link) to every
    active user who has not opted out and has not had it yet. Returns how many were sent."""
    from django.template.loader import render_to_string
    from django.urls import reverse

    from dashboards.reports import weekly_agenda

    users = list(User.objects.filter(is_active=True).exclude(email="")
                 .exclude(digest_preference__weekly_digest=False)
                 .exclude(pk__in=DigestDelivery.objects.filter(kind=DigestDelivery.Kind.WEEKLY, period_start=monday)
                          .values("user_id")).order_by("pk"))
    if not users:
        return 0
    agenda = weekly_agenda(monday=monday)
    site = _site_url()
    context = {"agenda": agenda, "monday": monday, "site": site,
               "meeting_url": site + reverse("meetings:weekly", args=[monday]),
               "dashboard_url": site + reverse("dashboards:funnel") + "?period=last_week",
               "preferences_url": site + reverse("dashboards:email_preferences")}
    subject = f"Smarketing weekly: the week of {agenda.reviewed.current.first:%-d %b}"
    sent = 0
    for user in users:
        personal = {**context, "user": user}
        sent += _send_once(kind=DigestDelivery.Kind.WEEKLY, period_start=monday, user=user, subject=subject,
                           text=render_to_string("dashboards/email/weekly_digest.txt", personal),
                           html=render_to_string("dashboards/email/weekly_digest.html", personal))
    return sent


MANAGER_ROLES = ("marketing_manager", "sales_manager")


def monthly_report_send(*, first: date) -> int:
    """The monthly report of the month starting `first`, with its CSV, to every active manager who has not
    opted out and has not had it yet. Returns how many were sent."""
    from django.template.loader import render_to_string
    from django.urls import reverse

    from dashboards.reports import monthly_report, monthly_report_csv_text

    users = list(User.objects.filter(is_active=True, role__in=MANAGER_ROLES).exclude(email="")
                 .exclude(digest_preference__monthly_report=False)
                 .exclude(pk__in=DigestDelivery.objects.filter(kind=DigestDelivery.Kind.MONTHLY, period_start=first)
                          .values("user_id")).order_by("pk"))
    if not users:
        return 0
    report = monthly_report(first=first)
    report_csv = monthly_report_csv_text(report)
    site = _site_url()
    context = {"report": report, "site": site,
               "report_url": site + reverse("meetings:monthly_report", args=[first]),
               "meeting_url": site + reverse("meetings:monthly", args=[first]),
               "preferences_url": site + reverse("dashboards:email_preferences")}
    subject = f"Smarketing monthly report: {first:%B %Y}"
    sent = 0
    for user in users:
        personal = {**context, "user": user}
        sent += _send_once(kind=DigestDelivery.Kind.MONTHLY, period_start=first, user=user, subject=subject,
                           text=render_to_string("dashboards/email/monthly_report.txt", personal),
                           html=render_to_string("dashboards/email/monthly_report.html", personal),
                           attachments=[(f"smarketing-report-{first:%Y-%m}.csv", report_csv, "text/csv")])
    return sent


def first_working_day(first: date) -> date:
    """The first working day of a month: Monday to Friday, skipping the SLA calendar's holidays when one is
    in force."""
    calendar = None
    try:
        from sla import contract_selectors

        version = contract_selectors.sla_version_active()
        calendar = version.calendar.working if version else None
    except (ImportError, AttributeError):
        calendar = None
    day = first
    for _ in range(31):
        if calendar is not None:
            try:
                if calendar.is_working_day(day):
                    return day
            except AttributeError:
                calendar = None
        if calendar is None and day.weekday() < 5:
            return day
        day += timedelta(days=1)
    return first


def digests_send_due(*, now=None) -> dict[str, int]:
    """The hourly job: this week's digest from Monday DIGEST_HOUR (local), last month's report from the first
    working day's DIGEST_HOUR; each person gets each once."""
    from dashboards.periods import add_months, week_monday

    zone = org_zone()
    local = (now or timezone.now()).astimezone(zone)
    sent = {"weekly": 0, "monthly": 0}
    monday = week_monday(local.date())
    if local.date() > monday or local.hour >= DIGEST_HOUR:
        sent["weekly"] = weekly_digest_send(monday=monday)
    month = local.date().replace(day=1)
    due = first_working_day(month)
    if local.date() > due or (local.date() == due and local.hour >= DIGEST_HOUR):
        sent["monthly"] = monthly_report_send(first=add_months(month, -1))
    return sent


# --- Shared read-only links ------------------------------------------------------------------------------------

SHARED_LINK_SALT = "dashboards.shared-link"
SHARED_LINK_DAYS = (1, 7, 30, 90)
# The query-string parameters a shared view keeps; anything else in the URL is dropped.
SHARED_LINK_PARAMS = ("period", "start", "end", "source", "campaign", "persona", "team", "rep", "by")


def can_share(user: User) -> bool:
    from smarketing.roles import Action

    return user.can(Action.DASHBOARD_SHARE)


@transaction.atomic
def shared_link_create(*, actor: User, query: dict, days: int, label: str = "") -> SharedLink:
    """A manager shares one dashboard view, read-only, for `days` days; the link shows aggregates only."""
    from urllib.parse import urlencode

    if not can_share(actor):
        raise PermissionDenied("Only a manager shares a dashboard outside the app.")
    if days not in SHARED_LINK_DAYS:
        raise ValidationError({"days": f"Choose one of {', '.join(map(str, SHARED_LINK_DAYS))} days."})
    kept = {key: str(query[key])[:200] for key in SHARED_LINK_PARAMS if query.get(key)}
    link = SharedLink.objects.create(label=label.strip()[:120], query=urlencode(kept), created_by=actor,
                                     expires_at=timezone.now() + timedelta(days=days))
    audit_record(actor=actor, action="shared_link.create", target=link,
                 summary=f"Dashboard shared read-only for {days} days: {link.query or 'default view'}")
    return link


def shared_link_token(link: SharedLink) -> str:
    """The link's URL token: signed, and the same every time (the expiry lives in the row, not in the token)."""
    from django.core import signing

    return signing.Signer(salt=SHARED_LINK_SALT).sign_object({"link": link.pk})


def shared_link_from_token(token: str) -> SharedLink | None:
    """The link a token names, or None when the token is tampered with or names no link."""
    from django.core import signing

    try:
        link_id = signing.Signer(salt=SHARED_LINK_SALT).unsign_object(token)["link"]
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    return SharedLink.objects.filter(pk=link_id).first()


@transaction.atomic
def shared_link_revoke(*, link: SharedLink, actor: User) -> SharedLink:
    """A manager ends a shared link at once; whoever holds it sees that it was revoked."""
    if not can_share(actor):
        raise PermissionDenied("Only a manager revokes a shared link.")
    if link.revoked_at is None:
        link.revoked_at, link.revoked_by = timezone.now(), actor
        link.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(actor=actor, action="shared_link.revoke", target=link, summary="Shared dashboard link revoked")
    return link


def shared_link_opened(*, link: SharedLink) -> None:
    """Counts a visit (a single UPDATE, so concurrent visits do not lose counts)."""
    from django.db.models import F

    SharedLink.objects.filter(pk=link.pk).update(opened=F("opened") + 1, last_opened_at=timezone.now())
