"""Reads of handoffs and routing: the access helper, the rep's queue, the intelligence summary, the SQL checklist."""

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Case, Count, DateTimeField, F, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from leads.identity import ERASED_EMAIL_DOMAIN
from leads.models import Activity, ActivityType, Lead, Stage
from scoring.compiler import COMPANY, LEAD, SCORE, criteria_sql
from scoring.models import Criteria, DefinitionVersion, Grade, LeadScore, VersionStatus
from scoring.selectors import lead_score_explained, persona_reasons
from sla.models import Handoff, RoutingRule, RoutingSettings, RoutingTurn
from smarketing.models import User
from smarketing.roles import Action, Role

OPEN = Handoff.OPEN_STATUSES
# The stages a lead stands in while sales works it; the queue filters by these.
QUEUE_STAGES = (Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY)


# --- Access -------------------------------------------------------------------------------------------

def handoff_can_work(*, user: User, handoff: Handoff) -> bool:
    """The rep it was handed to works it; a sales manager may act for any rep. Marketing never does."""
    if not user.can(Action.HANDOFF_WORK):
        return False
    return user.role != Role.SALES_REP or handoff.rep_id == user.pk


def lead_can_follow_up(*, user: User, lead: Lead) -> bool:
    """Who may log attempts and give feedback on a lead: sales, on leads handed to them (managers on any)."""
    if not user.can(Action.HANDOFF_WORK):
        return False
    return user.role != Role.SALES_REP or lead.owner_id == user.pk


def handoff_get_for_user(*, user: User, handoff_id: int, write: bool = False) -> Handoff:
    """The handoff, if the user may see it (404 otherwise) and, with write=True, work it (403 otherwise)."""
    if not user.can(Action.LEAD_VIEW):
        raise PermissionDenied
    handoff = get_object_or_404(
        Handoff.objects.select_related("lead", "lead__company", "rep", "handed_off_by", "rejection_reason"),
        pk=handoff_id,
    )
    if write and not handoff_can_work(user=user, handoff=handoff):
        raise PermissionDenied("Only the rep this lead was handed to, or a sales manager, can work it.")
    return handoff


# --- The queue ----------------------------------------------------------------------------------------

def _due_expression() -> Case:
    # The next deadline not yet met: the first attempt until there is one, then the K attempts.
    return Case(
        When(first_attempt_at__isnull=True, then=F("first_attempt_due_at")),
        When(attempts_required__isnull=False, attempt_count__lt=F("attempts_required"), then=F("attempts_due_at")),
        default=Value(None), output_field=DateTimeField(),
    )


def _overdue_q(now: datetime) -> Q:
    return (Q(first_attempt_at__isnull=True, first_attempt_due_at__lt=now)
            | Q(first_attempt_at__isnull=False, attempts_required__isnull=False,
                attempt_count__lt=F("attempts_required"), attempts_due_at__lt=now))


def handoffs_for_queue(*, reps: QuerySet[User] | list[User] | User, stage: str = "") -> QuerySet[Handoff]:
    """Open handoffs ordered by urgency: overdue first, then the nearest deadline, then the oldest.

    One query whatever the number of rows: the lead, its company, score and persona and who handed it
    off come in the same SELECT. Sorting is on the deadline columns of the handoff, so the database
    orders and limits the page.
    """
    one_rep = isinstance(reps, User)
    handoffs = Handoff.objects.filter(status__in=OPEN)
    handoffs = handoffs.filter(rep=reps) if one_rep else handoffs.filter(rep__in=reps)
    if stage:
        handoffs = handoffs.filter(lead__stage=stage)
    related = ["lead", "lead__company", "lead__score", "lead__score__persona", "handed_off_by"]
    return (
        handoffs.select_related(*related, *([] if one_rep else ["rep"]))
        # The wide columns the queue never shows stay in the table: the frozen summary alone is kilobytes a
        # row, and the database sorts whole rows before it keeps a page of them.
        .defer(*QUEUE_DEFERRED)
        .annotate(due_at=_due_expression())
        .order_by(F("due_at").asc(nulls_last=True), "created_at", "id")
    )


QUEUE_DEFERRED = (
    "summary", "note", "rejection_comment", "reassign_reason",
    "lead__properties", "lead__capture_fingerprint", "lead__score__breakdown_json",
    "lead__score__persona__description", "lead__score__persona__pains", "lead__score__persona__goals",
    "lead__score__persona__title_keywords", "lead__score__persona__industries", "lead__score__persona__countries",
    "lead__score__persona__seniorities", "handed_off_by__password",
)


@dataclass(frozen=True)
class QueueCounts:
    total: int
    pending: int
    overdue: int
    due_soon: int
    by_stage: dict[str, int]


def queue_counts(*, reps: QuerySet[User] | list[User] | User, soon: timedelta = timedelta(hours=24)) -> QueueCounts:
    """The queue's figures in one query: open, waiting to be accepted, overdue, due within a day, per stage."""
    now = timezone.now()
    handoffs = Handoff.objects.filter(status__in=OPEN)
    handoffs = handoffs.filter(rep=reps) if isinstance(reps, User) else handoffs.filter(rep__in=reps)
    figures = handoffs.annotate(due_at=_due_expression()).aggregate(
        total=Count("pk"),
        pending=Count("pk", filter=Q(status=Handoff.Status.PENDING)),
        overdue=Count("pk", filter=_overdue_q(now)),
        due_soon=Count("pk", filter=Q(due_at__gte=now, due_at__lt=now + soon)),
        **{f"stage_{stage}": Count("pk", filter=Q(lead__stage=stage)) for stage in QUEUE_STAGES},
    )
    return QueueCounts(
        total=figures["total"], pending=figures["pending"], overdue=figures["overdue"], due_soon=figures["due_soon"],
        by_stage={stage: figures[f"stage_{stage}"] for stage in QUEUE_STAGES},
    )


def sales_reps_with_load(*, team_id: int | None = None) -> QuerySet[User]:
    """Active sales reps with their open handoffs counted, for choosing a rep and for the manager's view."""
    reps = User.objects.filter(role=Role.SALES_REP, is_active=True)
    if team_id is not None:
        reps = reps.filter(team_id=team_id)
    now = timezone.now()
    return reps.select_related("team").annotate(
        open_handoffs=Count("handoffs", filter=Q(handoffs__status__in=OPEN)),
        pending_handoffs=Count("handoffs", filter=Q(handoffs__status=Handoff.Status.PENDING)),
        overdue_handoffs=Count("handoffs", filter=Q(handoffs__status__in=OPEN) & (
            Q(handoffs__first_attempt_at__isnull=True, handoffs__first_attempt_due_at__lt=now)
            | Q(handoffs__first_attempt_at__isnull=False, handoffs__attempts_required__isnull=False,
                handoffs__attempt_count__lt=F("handoffs__attempts_required"), handoffs__attempts_due_at__lt=now)
        )),
    ).order_by("team__name", "first_name", "last_name", "id")


# --- A lead's handoffs ---------------------------------------------------------------------------------

def handoff_open_for_lead(*, lead: Lead) -> Handoff | None:
    return (Handoff.objects.filter(lead=lead, status__in=OPEN)
            .select_related("rep", "handed_off_by", "routing_rule").first())


def lead_handoffs(*, lead: Lead) -> QuerySet[Handoff]:
    """Every handoff of the lead, newest first: the history a reassignment or a second try keeps."""
    return (Handoff.objects.filter(lead=lead)
            .select_related("rep", "handed_off_by", "routing_rule", "rejection_reason", "reassigned_by")
            .order_by("-created_at", "-id"))


def handoff_latest_for_lead(*, lead_id: int) -> Handoff | None:
    return Handoff.objects.filter(lead_id=lead_id).select_related("handed_off_by").order_by("-created_at", "-id") \
        .first()


def handed_off_lead_ids(*, by: User) -> QuerySet:
    """The leads this person handed off (for "feedback on my leads")."""
    return Handoff.objects.filter(handed_off_by=by).values("lead_id")


# --- Routing ------------------------------------------------------------------------------------------

def routing_settings() -> RoutingSettings:
    return RoutingSettings.objects.filter(pk=1).first() or RoutingSettings(pk=1)


def routing_rules(*, active_only: bool = False) -> QuerySet[RoutingRule]:
    rules = RoutingRule.objects.select_related("team", "persona").annotate(
        handoff_count=Count("handoffs"),
    ).order_by("position", "id")
    return rules.filter(is_active=True) if active_only else rules


def rule_matches(*, rule: RoutingRule, country: str, persona_id: int | None) -> bool:
    """Whether a lead from `country` with persona `persona_id` meets the rule's conditions."""
    if rule.persona_id is not None and rule.persona_id != persona_id:
        return False
    return not (rule.countries and country.upper() not in {c.upper() for c in rule.countries})


def rule_candidates(*, rule: RoutingRule, country: str) -> list[User]:
    """The reps of the rule's team who may take a lead now, the one waiting longest for a lead first.

    Away reps and reps at capacity (open handoffs ≥ capacity) are skipped; with by_territory, so are
    reps whose territory does not cover the lead's country.
    """
    reps = list(
        User.objects.filter(team_id=rule.team_id, role=Role.SALES_REP, is_active=True, is_away=False)
        .annotate(open_handoffs=Count("handoffs", filter=Q(handoffs__status__in=OPEN)))
        .filter(open_handoffs__lt=F("capacity"))
    )
    if rule.by_territory:
        country = country.upper()
        # Territories are short JSON lists; matched here because SQLite has no JSON containment.
        reps = [rep for rep in reps if country and country in {c.upper() for c in rep.territory or []}]
    turns = dict(RoutingTurn.objects.filter(rule=rule, rep__in=reps).values_list("rep_id", "last_turn"))
    return sorted(reps, key=lambda rep: (turns.get(rep.pk, 0), rep.pk))


def leads_awaiting_routing(*, limit: int) -> list[Lead]:
    """MQLs without an open handoff, oldest MQL first: what auto-routing picks up."""
    return list(
        Lead.objects.filter(stage=Stage.MQL).exclude(handoffs__status__in=OPEN)
        .exclude(email__endswith=f"@{ERASED_EMAIL_DOMAIN}")  # an erased lead is no one to call
        .select_related("score").order_by("stage_entered_at", "id")[:limit]
    )


# --- The SQL checklist --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChecklistItem:
    label: str
    met: bool
    detail: str = ""


def _criteria_parts(criteria: Criteria) -> list[tuple[str, Criteria, str]]:
    """The SQL criteria one by one, each as a Criteria holding only that condition, with its label."""
    def only(**values: Any) -> Criteria:
        nothing = {"min_conversions": 0, "exclude_free_mail": False, "exclude_do_not_contact": False,
                   "required_fields": [], "excluded_domains": []}
        return Criteria(kind=criteria.kind, **{**nothing, **values})

    parts: list[tuple[str, Criteria, str]] = []
    if criteria.min_score is not None:
        parts.append((f"Score of at least {criteria.min_score}", only(min_score=criteria.min_score), "total"))
    if criteria.min_fit is not None:
        parts.append((f"Fit of at least {criteria.min_fit}", only(min_fit=criteria.min_fit), "fit"))
    if criteria.min_engagement is not None:
        parts.append((f"Engagement of at least {criteria.min_engagement}",
                      only(min_engagement=criteria.min_engagement), "engagement"))
    if criteria.min_grade:
        better = "" if criteria.min_grade == Grade.A else " or better"
        parts.append((f"Grade {criteria.min_grade}{better}", only(min_grade=criteria.min_grade), "grade"))
    if criteria.persona_required:
        parts.append(("Matches a persona", only(persona_required=True), ""))
    for name in criteria.required_fields:
        parts.append((f"Has a {name.replace('_', ' ')}", only(required_fields=[name]), ""))
    if criteria.min_conversions:
        parts.append((f"At least {criteria.min_conversions} form submission{'s' if criteria.min_conversions > 1 else ''}",
                      only(min_conversions=criteria.min_conversions), "conversions"))
    if criteria.exclude_do_not_contact:
        parts.append(("Not marked do-not-contact", only(exclude_do_not_contact=True), ""))
    if criteria.exclude_free_mail:
        parts.append(("A business e-mail, not free mail", only(exclude_free_mail=True), ""))
    if criteria.excluded_domains:
        parts.append(("Not a competitor's or partner's domain", only(excluded_domains=criteria.excluded_domains), ""))
    return parts


def sql_checklist(*, lead: Lead) -> list[ChecklistItem] | None:
    """The SQL definition in force as a checklist for this lead, each criterion met or not; None without one.

    Each criterion is compiled by the same code the qualification job uses (scoring.compiler.criteria_sql)
    and all are checked in one query.
    """
    version = DefinitionVersion.objects.filter(status=VersionStatus.ACTIVE).first()
    criteria = version.criteria.filter(kind=Criteria.Kind.SQL).first() if version else None
    if criteria is None:
        return None
    parts = _criteria_parts(criteria)
    if not parts:
        return []
    params: list[Any] = []
    columns = [f"CASE WHEN {criteria_sql(part, params, 's')} THEN 1 ELSE 0 END" for _, part, _ in parts]
    params.append(lead.pk)
    sql = (f"SELECT {', '.join(columns)}, s.total, s.fit, s.engagement, s.grade, s.conversions "  # noqa: S608 - parts are whitelisted
           f"FROM {LEAD} l LEFT JOIN {COMPANY} c ON c.id = l.company_id "
           f"LEFT JOIN {SCORE} s ON s.lead_id = l.id WHERE l.id = %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    flags, values = row[:len(parts)], dict(zip(["total", "fit", "engagement", "grade", "conversions"],
                                               row[len(parts):], strict=True))
    items = []
    for (label, _, value_key), flag in zip(parts, flags, strict=True):
        value = values.get(value_key) if value_key else None
        items.append(ChecklistItem(label=label, met=bool(flag), detail="" if value is None else f"now {value}"))
    return items


# --- The intelligence summary -------------------------------------------------------------------------

SUMMARY_WINDOW = timedelta(days=90)
SUMMARY_ACTIVITIES = 500
TELLING_SHOWN = 6
CONTENT_SHOWN = 8

DECISION_WORDS = ("pricing", "demo", "trial", "quote", "contact", "book", "meeting")
CONSIDERATION_WORDS = ("product", "customers", "case-stud", "integrations", "security", "compare", "roi",
                       "webinar", "features", "docs", "alternatives")
# Words a slug spells in lower case that a title spells in capitals.
ACRONYMS = {word: word.upper() for word in ("mql", "sql", "sla", "roi", "b2b", "crm", "gdpr", "abm", "saas", "api")}
JOURNEY_LABELS = {"awareness": "Awareness", "consideration": "Consideration", "decision": "Decision"}
_JOURNEY_RANK = {"awareness": 0, "consideration": 1, "decision": 2}


def _has_word(url: str, words: tuple[str, ...]) -> bool:
    lowered = url.lower()
    return any(word in lowered for word in words)


def activity_signal(activity_type: str, url: str) -> tuple[str, bool]:
    """(buyer-journey stage, telling?) of one activity.

    Decision: meetings, demo/pricing/contact forms and pages. Consideration: downloads, webinars, product,
    customer and integration pages, other forms. Awareness: the rest (blog posts, e-mail opens).
    Telling: what a rep should read first — form submissions, meetings, pricing and demo pages, downloads
    and webinars.
    """
    if activity_type == ActivityType.MEETING_BOOKED:
        return "decision", True
    if activity_type == ActivityType.FORM_SUBMISSION:
        if _has_word(url, DECISION_WORDS):
            return "decision", True
        return ("awareness" if "newsletter" in url.lower() else "consideration"), True
    if activity_type in (ActivityType.DOWNLOAD, ActivityType.WEBINAR):
        return "consideration", True
    if activity_type in (ActivityType.PAGE_VIEW, ActivityType.CLICK, ActivityType.OTHER):
        if _has_word(url, DECISION_WORDS):
            return "decision", activity_type != ActivityType.OTHER or "pricing" in url.lower()
        if _has_word(url, CONSIDERATION_WORDS):
            return "consideration", False
    return "awareness", False


def _content_title(activity_type: str, url: str) -> str:
    """A readable name for a piece of content from its URL or asset name."""
    if activity_type == ActivityType.WEBINAR or not url.startswith("/"):
        return url
    path = url.split("?")[0].rstrip("/")
    slug = path.rsplit("/", 1)[-1]
    slug = re.sub(r"\.(pdf|docx?|xlsx?|pptx?|zip)$", "", slug)
    words = " ".join(ACRONYMS.get(word, word) for word in slug.replace("-", " ").replace("_", " ").split())
    title = words[:1].upper() + words[1:] if words else path
    if path.startswith("/blog/"):
        return f"Blog: {title}"
    if path.startswith("/customers/"):
        return f"Customer story: {title}"
    return title


def _is_content(activity_type: str, url: str) -> bool:
    if activity_type in (ActivityType.DOWNLOAD, ActivityType.WEBINAR):
        return True
    if activity_type in (ActivityType.PAGE_VIEW, ActivityType.EMAIL_CLICK):
        path = url.split("?")[0]
        return path.startswith(("/blog/", "/resources/", "/customers/", "/case-studies/", "/guides/"))
    return False


def _detail(activity_type: str, properties: dict) -> str:
    for key in ("form", "meeting", "title", "asset"):
        if properties.get(key):
            return str(properties[key]).replace("-", " ")
    if activity_type == ActivityType.WEBINAR and properties.get("minutes"):
        return f"attended {properties['minutes']} min"
    if properties.get("duration_s"):
        return f"{properties['duration_s']} s on the page"
    return ""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _journey(activities: list[dict], now: datetime) -> dict:
    """The buyer-journey stage from what the lead did in the last 90 days, with the signals that say so."""
    by_stage: dict[str, Counter] = {"awareness": Counter(), "consideration": Counter(), "decision": Counter()}
    for activity in activities:
        stage, _ = activity_signal(activity["type"], activity["url"])
        label = ActivityType(activity["type"]).label if activity["type"] in ActivityType.values else activity["type"]
        by_stage[stage][f"{label}: {activity['url']}" if activity["url"] else label] += 1
    stage = next((s for s in ("decision", "consideration", "awareness") if by_stage[s]), "awareness")
    signals = [f"{what} ({count}×)" if count > 1 else what for what, count in by_stage[stage].most_common(3)]
    return {"stage": stage, "label": JOURNEY_LABELS[stage], "signals": signals,
            "counts": {s: sum(c.values()) for s, c in by_stage.items()}}


def _score_summary(lead: Lead, rule_labels: dict[int, dict[str, str]] | None) -> tuple[dict | None, dict | None]:
    """(score, persona) of the summary. Rule labels come from `rule_labels` when the caller shares a cache
    across many leads (a scoring version's rules never change once it is signed)."""
    if rule_labels is None:
        explained = lead_score_explained(lead=lead)
        if explained is None:
            return None, None
        score, lines = explained.score, [*explained.fit_lines, *explained.engagement_lines]
    else:
        score = LeadScore.objects.select_related("version", "persona").filter(lead=lead).first()
        if score is None:
            return None, None
        if score.version_id not in rule_labels:
            version = score.version
            rule_labels[score.version_id] = {
                **{rule.key: rule.label for rule in version.fit_rules.all()},
                **{rule.key: rule.label for rule in version.engagement_rules.all()},
            }
        labels = rule_labels[score.version_id]
        lines = [(labels.get(key, key), points) for key, points in score.breakdown.items()]
    lines = sorted(lines, key=lambda line: -abs(line[1]))
    summary = {"total": score.total, "fit": score.fit, "engagement": score.engagement, "grade": score.grade,
               "version": score.version.number,
               "top": [{"label": label, "points": points} for label, points in lines[:5]]}
    persona = None
    if score.persona is not None:
        persona = {"name": score.persona.name, "reasons": persona_reasons(persona=score.persona, lead=lead),
                   "pains": score.persona.pains}
    return summary, persona


def handoff_summary_build(*, lead: Lead, at: datetime | None = None,
                          rule_labels: dict[int, dict[str, str]] | None = None) -> dict[str, Any]:
    """What marketing knows about the lead, as the rep will read it, frozen on the handoff as JSON.

    Persona and why, buyer-journey stage, score and its top contributors, source and UTM, company facts,
    the most telling recent activities, the content consumed, previous handoffs and how they ended.
    """
    now = at or timezone.now()
    activities = list(
        Activity.objects.filter(lead=lead, occurred_at__gte=now - SUMMARY_WINDOW, occurred_at__lte=now)
        .order_by("-occurred_at", "-id").values("type", "url", "occurred_at", "properties")[:SUMMARY_ACTIVITIES]
    )
    telling = []
    content: dict[str, dict] = {}
    for activity in activities:
        kind, is_telling = activity_signal(activity["type"], activity["url"])
        type_label = ActivityType(activity["type"]).label if activity["type"] in ActivityType.values else \
            activity["type"]
        if is_telling and len(telling) < TELLING_SHOWN:
            telling.append({"type": activity["type"], "label": type_label, "url": activity["url"],
                            "detail": _detail(activity["type"], activity["properties"] or {}),
                            "journey": kind, "at": _iso(activity["occurred_at"])})
        if _is_content(activity["type"], activity["url"]):
            key = activity["url"].split("?")[0]
            entry = content.setdefault(key, {"title": _content_title(activity["type"], activity["url"]),
                                             "type": type_label, "url": key, "times": 0,
                                             "last_at": _iso(activity["occurred_at"])})
            entry["times"] += 1

    score, persona = _score_summary(lead, rule_labels)

    company = lead.company
    previous = [
        {"rep": str(h.rep), "at": _iso(h.created_at), "status": h.status, "status_label": h.get_status_display(),
         "outcome": h.outcome, "outcome_label": Stage(h.outcome).label if h.outcome else "",
         "reason": h.rejection_reason.label if h.rejection_reason else h.reassign_reason,
         "comment": h.rejection_comment}
        for h in Handoff.objects.filter(lead=lead).select_related("rep", "rejection_reason")
        .order_by("-created_at", "-id")[:5]
    ]
    type_counts = Counter(a["type"] for a in activities)
    return {
        "version": 1,
        "built_at": _iso(now),
        "person": {"name": lead.full_name, "job_title": lead.job_title, "seniority": lead.get_seniority_display(),
                   "country": lead.country, "email": lead.email, "phone": lead.phone},
        "persona": persona,
        "journey": _journey(activities, now),
        "score": score,
        "source": {"source": lead.source, "campaign": lead.campaign,
                   "utm": {name: getattr(lead, name) for name in ("utm_source", "utm_medium", "utm_campaign",
                                                                  "utm_term", "utm_content") if getattr(lead, name)}},
        "company": None if company is None else {
            "name": company.name, "domain": company.domain or "", "industry": company.industry,
            "employees": company.employees, "country": company.country,
            "annual_revenue": str(Decimal(company.annual_revenue).quantize(Decimal("0.01")))
            if company.annual_revenue is not None else None,
        },
        "telling_activities": telling,
        "content": sorted(content.values(), key=lambda c: c["last_at"] or "", reverse=True)[:CONTENT_SHOWN],
        "activity": {"total_90d": len(activities), "last_at": _iso(lead.last_activity_at),
                     "counts": {ActivityType(t).label: n for t, n in type_counts.most_common() if t in ActivityType.values}},
        "previous_handoffs": previous,
    }


def summary_for_display(summary: dict[str, Any]) -> dict[str, Any]:
    """The frozen summary with its ISO timestamps turned back into datetimes, for the template."""
    def when(value: str | None) -> datetime | None:
        return parse_datetime(value) if value else None

    shown = dict(summary)
    shown["built_at"] = when(summary.get("built_at"))
    shown["telling_activities"] = [{**a, "at": when(a.get("at"))} for a in summary.get("telling_activities", [])]
    shown["content"] = [{**c, "last_at": when(c.get("last_at"))} for c in summary.get("content", [])]
    shown["previous_handoffs"] = [{**h, "at": when(h.get("at"))} for h in summary.get("previous_handoffs", [])]
    activity = dict(summary.get("activity") or {})
    activity["last_at"] = when(activity.get("last_at"))
    shown["activity"] = activity
    return shown
