"""Writes of the qualification agreement: personas, drafts and their rules, signatures, rescoring and
qualification. Business rules live here; views, the API and tasks call these functions."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, F, Max, Min, OuterRef
from django.utils import timezone

from leads.identity import ERASED_EMAIL_DOMAIN
from leads.models import Activity, Lead, Stage
from leads.services import leads_move_by_system
from scoring.compiler import (
    SCORE,
    CompiledVersion,
    LeadScope,
    RuleError,
    condition_sql,
    criteria_sql,
    is_known_field,
    now_param,
    score_select_sql,
)
from scoring.models import (
    Criteria,
    DefinitionVersion,
    EngagementRule,
    FitRule,
    LeadScore,
    Operator,
    Persona,
    RescoreRun,
    RescoreRunChunk,
    ScoringVersion,
    VersionComment,
    VersionStatus,
)
from smarketing.audit import audit_record
from smarketing.models import User
from smarketing.roles import Action, Function
from smarketing.tasks import enqueue

# A full rescore works on id ranges of this many leads: one statement each, about 0.5 s on PostgreSQL
# with 10 activities per lead; small enough that a retried chunk costs little, large enough that the
# per-statement overhead is noise. Chunks fan out over workers as a Celery group.
RESCORE_CHUNK_LEADS = 50_000
# A full run not finished after this long is taken for crashed, and the periodic job starts another.
FULL_RUN_GIVEN_UP_AFTER = timedelta(hours=1)
# A full rescore asked for (a persona changed) but not started after this long: its message was lost.
LOST_MESSAGE_GRACE = timedelta(minutes=3)
# Incremental rescoring and qualification take ids in batches below SQLite's 32,766-variable limit.
ID_BATCH = 5_000


# --- Personas ---------------------------------------------------------------------------------------

def ensure_can_edit_qualification(actor: User) -> None:
    if not actor.can(Action.QUALIFICATION_EDIT):
        raise PermissionDenied("Only marketing and the managers edit the qualification agreement.")


def ensure_can_edit_personas(actor: User) -> None:
    # Personas describe both teams' buyer: the managers of both teams keep them.
    if not actor.can(Action.PERSONA_EDIT):
        raise PermissionDenied("Personas are edited by the marketing and sales managers.")


@transaction.atomic
def persona_save(*, persona: Persona, actor: User) -> Persona:
    """Saves a persona; the next rescore applies it to every lead."""
    ensure_can_edit_personas(actor)
    if persona.company_size_min is not None and persona.company_size_max is not None \
            and persona.company_size_min > persona.company_size_max:
        raise ValidationError({"company_size_max": "The largest company size must not be below the smallest."})
    created = persona.pk is None
    persona.updated_at = timezone.now()
    persona.save()
    audit_record(actor=actor, action="persona.create" if created else "persona.update", target=persona,
                 summary=f"Persona “{persona.name}” {'created' if created else 'changed'}")
    _start_full_rescore_on_commit(reason=f"persona {persona.name} changed")
    return persona


# --- Versions: drafts, rules, signatures ------------------------------------------------------------

def scoring_version_active() -> ScoringVersion | None:
    return ScoringVersion.objects.filter(status=VersionStatus.ACTIVE).first()


def definition_version_active() -> DefinitionVersion | None:
    return DefinitionVersion.objects.filter(status=VersionStatus.ACTIVE).first()


def _next_number(model: type[ScoringVersion] | type[DefinitionVersion]) -> int:
    return (model.objects.aggregate(n=Max("number"))["n"] or 0) + 1


@transaction.atomic
def scoring_draft_create(*, actor: User) -> ScoringVersion:
    """Opens a draft scoring version, a copy of the one in force; there is at most one draft."""
    ensure_can_edit_qualification(actor)
    existing = ScoringVersion.objects.filter(status=VersionStatus.DRAFT).first()
    if existing:
        return existing
    active = scoring_version_active()
    draft = ScoringVersion.objects.create(
        number=_next_number(ScoringVersion), created_by=actor,
        grade_a_min_fit=active.grade_a_min_fit if active else 60,
        grade_b_min_fit=active.grade_b_min_fit if active else 35,
        grade_c_min_fit=active.grade_c_min_fit if active else 15,
    )
    if active:
        FitRule.objects.bulk_create([
            FitRule(version=draft, label=r.label, field=r.field, operator=r.operator, value=r.value,
                    value_to=r.value_to, points=r.points) for r in active.fit_rules.all()
        ])
        EngagementRule.objects.bulk_create([
            EngagementRule(version=draft, label=r.label, activity_type=r.activity_type, url_match=r.url_match,
                           url_value=r.url_value, property_key=r.property_key, property_min=r.property_min,
                           points=r.points, cap=r.cap, half_life_days=r.half_life_days)
            for r in active.engagement_rules.all()
        ])
    audit_record(actor=actor, action="scoring.draft", target=draft, summary=f"Scoring draft v{draft.number} opened")
    return draft


def _ensure_draft(version: ScoringVersion | DefinitionVersion) -> None:
    if not version.is_draft:
        raise ValidationError("Only a draft can be changed; open a new draft to propose changes.", code="not_draft")


def _draft_changed(version: ScoringVersion | DefinitionVersion) -> None:
    """A signature covers the draft as it was signed: any change to it asks both teams to sign again."""
    type(version).objects.filter(pk=version.pk).update(
        marketing_signed_by=None, marketing_signed_at=None, sales_signed_by=None, sales_signed_at=None
    )


def validate_fit_rule(rule: FitRule) -> None:
    errors: dict[str, str] = {}
    if not is_known_field(rule.field):
        errors["field"] = f"“{rule.field}” is not a field a rule can test."
    if rule.operator == Operator.BETWEEN:
        for name in ("value", "value_to"):
            try:
                float(getattr(rule, name))
            except ValueError:
                errors[name] = "Give a number."
    elif rule.operator not in (Operator.IS_EMPTY, Operator.IS_NOT_EMPTY) and not rule.value.strip():
        errors["value"] = "Give a value to compare with."
    if not errors:
        try:
            condition_sql(rule.field, rule.operator, rule.value, rule.value_to, [], "NULL", {})
        except RuleError as exc:
            errors["operator"] = str(exc)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def fit_rule_save(*, rule: FitRule, actor: User) -> FitRule:
    """Adds or changes a fit rule of the draft."""
    ensure_can_edit_qualification(actor)
    _ensure_draft(rule.version)
    validate_fit_rule(rule)
    created = rule.pk is None
    rule.save()
    _draft_changed(rule.version)
    audit_record(actor=actor, action="fit_rule.create" if created else "fit_rule.update", target=rule.version,
                 summary=f"Fit rule “{rule.label}”: {rule.field} {rule.get_operator_display()} {rule.value} "
                         f"{rule.value_to} → {rule.points:+d}")
    return rule


@transaction.atomic
def engagement_rule_save(*, rule: EngagementRule, actor: User) -> EngagementRule:
    """Adds or changes an engagement rule of the draft."""
    ensure_can_edit_qualification(actor)
    _ensure_draft(rule.version)
    if rule.url_match and not rule.url_value.strip():
        raise ValidationError({"url_value": "Give the URL text to match."})
    if rule.property_key and rule.property_min is None:
        raise ValidationError({"property_min": "Give the minimum value of the property."})
    created = rule.pk is None
    rule.save()
    _draft_changed(rule.version)
    audit_record(actor=actor, action="engagement_rule.create" if created else "engagement_rule.update",
                 target=rule.version,
                 summary=f"Engagement rule “{rule.label}”: {rule.points:+d} per {rule.get_activity_type_display()}"
                         f"{f', cap {rule.cap}' if rule.cap else ''}"
                         f"{f', half-life {rule.half_life_days} d' if rule.half_life_days else ''}")
    return rule


@transaction.atomic
def rule_delete(*, rule: FitRule | EngagementRule, actor: User) -> None:
    ensure_can_edit_qualification(actor)
    _ensure_draft(rule.version)
    audit_record(actor=actor, action="rule.delete", target=rule.version, summary=f"Rule “{rule.label}” removed")
    rule.delete()
    _draft_changed(rule.version)


@transaction.atomic
def scoring_grades_save(*, version: ScoringVersion, actor: User, a: int, b: int, c: int) -> ScoringVersion:
    ensure_can_edit_qualification(actor)
    _ensure_draft(version)
    if not a >= b >= c:
        raise ValidationError({"grade_a_min_fit": "Grade thresholds must go down from A to C."})
    version.grade_a_min_fit, version.grade_b_min_fit, version.grade_c_min_fit = a, b, c
    version.save(update_fields=["grade_a_min_fit", "grade_b_min_fit", "grade_c_min_fit"])
    _draft_changed(version)
    audit_record(actor=actor, action="scoring.grades", target=version, summary=f"Grades A ≥ {a}, B ≥ {b}, C ≥ {c}")
    return version


@transaction.atomic
def definition_draft_create(*, actor: User) -> DefinitionVersion:
    """Opens a draft of the MQL/SQL definitions, a copy of the one in force."""
    ensure_can_edit_qualification(actor)
    existing = DefinitionVersion.objects.filter(status=VersionStatus.DRAFT).first()
    if existing:
        return existing
    active = definition_version_active()
    draft = DefinitionVersion.objects.create(number=_next_number(DefinitionVersion), created_by=actor)
    for kind in Criteria.Kind.values:
        source = active.criteria.filter(kind=kind).first() if active else None
        if source:
            source.pk = None
            source.version = draft
            source.save()
        else:
            Criteria.objects.create(version=draft, kind=kind, min_conversions=5 if kind == Criteria.Kind.MQL else 0)
    audit_record(actor=actor, action="definition.draft", target=draft, summary=f"Definition draft v{draft.number} opened")
    return draft


REQUIRED_FIELD_CHOICES = ["first_name", "last_name", "phone", "job_title", "seniority", "country", "company"]


@transaction.atomic
def criteria_save(*, criteria: Criteria, actor: User) -> Criteria:
    ensure_can_edit_qualification(actor)
    _ensure_draft(criteria.version)
    unknown = [name for name in criteria.required_fields if name not in REQUIRED_FIELD_CHOICES]
    if unknown:
        raise ValidationError({"required_fields": f"Unknown fields: {', '.join(unknown)}."})
    criteria.save()
    _draft_changed(criteria.version)
    audit_record(actor=actor, action="definition.criteria", target=criteria.version,
                 summary=f"{criteria.get_kind_display()} criteria changed")
    return criteria


@transaction.atomic
def version_comment(*, version: ScoringVersion | DefinitionVersion, actor: User, body: str) -> VersionComment:
    """Anyone on either team may comment on a version while it is discussed."""
    if not body.strip():
        raise ValidationError({"body": "Write a comment."})
    field = "scoring_version" if isinstance(version, ScoringVersion) else "definition_version"
    return VersionComment.objects.create(author=actor, body=body.strip(), **{field: version})


@transaction.atomic
def version_sign(*, version: ScoringVersion | DefinitionVersion, actor: User) -> ScoringVersion | DefinitionVersion:
    """A manager signs a draft for their team; with both teams' signatures the draft takes effect."""
    if not actor.can(Action.AGREEMENT_SIGN):
        raise PermissionDenied("Only a marketing manager or a sales manager signs.")
    model = type(version)
    version = model.objects.select_for_update().get(pk=version.pk)
    _ensure_draft(version)
    now = timezone.now()
    if actor.function == Function.MARKETING:
        if version.marketing_signed_at:
            raise ValidationError("Marketing has already signed this draft.", code="already_signed")
        version.marketing_signed_by, version.marketing_signed_at = actor, now
    else:
        if version.sales_signed_at:
            raise ValidationError("Sales has already signed this draft.", code="already_signed")
        version.sales_signed_by, version.sales_signed_at = actor, now
    version.save()
    audit_record(actor=actor, action="version.sign", target=version,
                 summary=f"{model.__name__} v{version.number} signed for {actor.get_role_display().split()[0].lower()}")
    if version.fully_signed:
        model.objects.filter(status=VersionStatus.ACTIVE).update(status=VersionStatus.SUPERSEDED)
        version.status, version.activated_at = VersionStatus.ACTIVE, now
        version.save(update_fields=["status", "activated_at"])
        audit_record(actor=actor, action="version.activate", target=version,
                     summary=f"{model.__name__} v{version.number} took effect")
        _start_full_rescore_on_commit(reason=f"{model.__name__} v{version.number} took effect")
    return version




# --- Rescoring ---------------------------------------------------------------------------------------

_UPSERT_COLUMNS = ["version_id", "fit", "engagement", "total", "grade", "persona_id", "conversions", "breakdown_json",
                   "computed_at"]
_SCORE_COLUMNS = [column for column in _UPSERT_COLUMNS if column != "computed_at"]


def _upsert_sql(select_sql: str, *, only_changed: bool) -> str:
    """INSERT … SELECT … ON CONFLICT UPDATE of the scores; with `only_changed`, a row whose score, version
    and breakdown are the same is left as it is (a nightly full run then rewrites only what moved)."""
    updates = ", ".join(f"{column} = excluded.{column}" for column in _UPSERT_COLUMNS)
    changed = ""
    if only_changed:
        ours = ", ".join(f"{SCORE}.{column}" for column in _SCORE_COLUMNS)
        theirs = ", ".join(f"excluded.{column}" for column in _SCORE_COLUMNS)
        changed = f" WHERE ({ours}) IS DISTINCT FROM ({theirs})"
    # "WHERE 1 = 1": SQLite needs a WHERE before ON CONFLICT to parse INSERT ... SELECT ... ON CONFLICT.
    return (
        f"INSERT INTO {SCORE} (lead_id, {', '.join(_UPSERT_COLUMNS)}) "
        f"SELECT q.lead_id, %s, q.fit, q.engagement, q.total, q.grade, q.persona_id, q.conversions, q.breakdown_json, %s "
        f"FROM ({select_sql}) q WHERE 1 = 1 "
        f"ON CONFLICT (lead_id) DO UPDATE SET {updates}{changed}"
    )


@transaction.atomic
def leads_rescore(*, compiled: CompiledVersion, scope: LeadScope, now: datetime, only_changed: bool = False) -> int:
    """Scores every lead in scope under the version, in one statement; returns how many rows it wrote.

    Idempotent: the same data and the same `now` give the same rows. A full run passes `only_changed`;
    the incremental run does not, because it marks each touched lead as scored (computed_at) even when
    its score stayed the same.
    """
    select_sql, params = score_select_sql(compiled, scope, now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Compiling this statement to machine code costs more than it saves at 50,000 rows.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(_upsert_sql(select_sql, only_changed=only_changed),
                       [compiled.version.pk, now_param(now), *params])
        return cursor.rowcount


def leads_qualify(*, scope: LeadScope, now: datetime | None = None) -> int:
    """Moves the leads in scope that meet the MQL definition in force from new (or recycled, when they
    engaged again after being recycled) to mql; returns how many moved. Never moves a lead backwards."""
    definition = definition_version_active()
    if definition is None:
        return 0
    mql = definition.criteria.filter(kind=Criteria.Kind.MQL).first()
    if mql is None:
        return 0
    params: list[Any] = [Stage.NEW, Stage.RECYCLED]
    condition = criteria_sql(mql, params)
    scope_sql = scope.sql("l.id", params)
    # An erased lead is no one to hand off: it keeps its history but never qualifies again.
    params.append(f"%@{ERASED_EMAIL_DOMAIN}")
    sql = (
        f"SELECT l.id FROM {Lead._meta.db_table} l JOIN {SCORE} s ON s.lead_id = l.id "
        f"LEFT JOIN leads_company c ON c.id = l.company_id "
        f"WHERE (l.stage = %s OR (l.stage = %s AND l.last_activity_at > l.stage_entered_at)) "
        f"AND {condition} AND {scope_sql} AND l.email NOT LIKE %s ORDER BY l.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    moved = 0
    for start in range(0, len(ids), ID_BATCH):
        moved += len(leads_move_by_system(lead_ids=ids[start:start + ID_BATCH], to=Stage.MQL,
                                          reason=f"meets MQL {definition.label}", at=now))
    return moved


def rescore_run_start(*, kind: str, reason: str) -> tuple[RescoreRun, list[tuple[int, int]]] | None:
    """Plans a rescoring run over all leads: the run and its id-range chunks, the very ones it counts
    (a lead created meanwhile must not add a chunk the run does not expect). None when nothing is in force."""
    version = scoring_version_active()
    if version is None:
        return None
    chunks = lead_chunks()
    run = RescoreRun.objects.create(kind=kind, version=version, chunks_total=len(chunks), reason=reason,
                                    finished_at=timezone.now() if not chunks else None,
                                    activity_watermark=_newest_activity_id())
    return run, chunks


def _newest_activity_id() -> int:
    """The id of the newest activity (0 without any): a run covers the activities up to it."""
    return Activity.objects.aggregate(newest=Max("id"))["newest"] or 0


def lead_chunks() -> list[tuple[int, int]]:
    """The id ranges a full rescore works on, over the leads there are now."""
    bounds = Lead.objects.aggregate(low=Min("id"), high=Max("id"))
    return rescore_chunks(bounds["low"], bounds["high"])


def rescore_chunks(low: int | None, high: int | None) -> list[tuple[int, int]]:
    if low is None or high is None:
        return []
    return [(start, min(start + RESCORE_CHUNK_LEADS, high + 1)) for start in range(low, high + 1, RESCORE_CHUNK_LEADS)]


def rescore_run_chunk(*, run_id: int, id_from: int, id_to: int) -> int:
    """Scores and qualifies one chunk of a run, and counts it done (the progress bar reads this)."""
    run = RescoreRun.objects.select_related("version").get(pk=run_id)
    now = run.started_at
    compiled = CompiledVersion.load(run.version)
    scope = LeadScope(id_from=id_from, id_to=id_to)
    # Rows whose score did not move are not rewritten, but every lead of the chunk counts as scored.
    leads_rescore(compiled=compiled, scope=scope, now=now, only_changed=True)
    scored = Lead.objects.filter(pk__gte=id_from, pk__lt=id_to).count()
    qualified = leads_qualify(scope=scope, now=timezone.now())
    with transaction.atomic():
        # Counted once per chunk: a second delivery of the same chunk redoes the (idempotent) work but must
        # not count it again, or the run would read finished while a chunk is still to come.
        _, first_time = RescoreRunChunk.objects.get_or_create(run_id=run_id, id_from=id_from)
        if first_time:
            RescoreRun.objects.filter(pk=run_id).update(
                chunks_done=F("chunks_done") + 1, leads_scored=F("leads_scored") + scored,
                leads_qualified=F("leads_qualified") + qualified,
            )
            RescoreRun.objects.filter(pk=run_id, chunks_done__gte=F("chunks_total"), finished_at=None).update(
                finished_at=timezone.now()
            )
    return scored


def on_connections(function, items: list, *, workers: int):
    """function(item) for each item, in order; with `workers` > 1, that many at once, each on its own
    database connection (closed when its work is done), so PostgreSQL scores on every core."""
    if workers <= 1:
        yield from (function(item) for item in items)
        return

    def on_own_connection(item):
        try:
            return function(item)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(on_own_connection, items)


def rescore_all(*, reason: str, progress=None, workers: int = 1) -> RescoreRun | None:
    """A full rescore in this process, chunk after chunk (the command and the benchmark use it).

    With `workers` > 1, that many chunks run at once, each on its own database connection: what a
    Celery worker with that concurrency does with the chunks rescore_full_task fans out."""
    planned = rescore_run_start(kind=RescoreRun.Kind.FULL, reason=reason)
    if planned is None:
        return None
    run, chunks = planned
    for index, _ in enumerate(on_connections(lambda bounds: rescore_run_chunk(run_id=run.pk, id_from=bounds[0],
                                                                              id_to=bounds[1]),
                                             chunks, workers=workers), start=1):
        if progress:
            progress(index, run.chunks_total)
    run.refresh_from_db()
    return run


def stale_lead_ids(
    *, since: datetime | None, activities_after: int | None, version: ScoringVersion, limit: int,
) -> list[int]:
    """Leads whose score is missing or older than their last change: a profile or stage change (updated_at
    since `since`) or a new activity (an id after `activities_after`, else created since `since`)."""
    leads = Lead.objects.all()
    if since is not None:
        # The index on updated_at keeps this proportional to the leads touched since the last run.
        leads = leads.filter(updated_at__gte=since)
    stale = leads.exclude(score__computed_at__gte=F("updated_at"), score__version=version)
    changed = set(stale.order_by("updated_at", "id").values_list("id", flat=True)[:limit])
    if since is None:
        return sorted(changed)
    # The primary key finds the new activities; a run before the watermark existed looks by time, once.
    activities = (Activity.objects.filter(pk__gt=activities_after) if activities_after is not None
                  else Activity.objects.filter(created_at__gte=since))
    scored_since = LeadScore.objects.filter(lead_id=OuterRef("lead_id"), version=version,
                                        computed_at__gte=OuterRef("created_at"))
    active = activities.exclude(Exists(scored_since)).values_list("lead_id", flat=True).distinct()
    return sorted(changed | set(active[:limit]))[:limit]


def rescore_stale(*, limit: int = 50_000, workers: int = 1) -> int:
    """Rescores and qualifies the leads touched since the last incremental run (level-triggered).

    With `workers` > 1 (the job passes RESCORE_WORKERS), that many batches of ID_BATCH leads run at once,
    each on its own connection. The batches are disjoint, so they never wait on each other's locks."""
    version = scoring_version_active()
    if version is None:
        return 0
    started = timezone.now()
    last = (RescoreRun.objects.filter(kind=RescoreRun.Kind.INCREMENTAL, version=version, finished_at__isnull=False)
            .order_by("-started_at").first())
    full = RescoreRun.objects.filter(kind=RescoreRun.Kind.FULL, version=version).order_by("-started_at").first()
    if full is None or (full.finished_at is None and full.started_at < started - FULL_RUN_GIVEN_UP_AFTER):
        # The version in force was never fully applied (a lost message, a crashed run): do that first.
        rescore_all(reason="version in force not yet applied to every lead", workers=workers)
        return Lead.objects.count()
    if full.finished_at is None:
        return 0  # a full run is under way; it covers every lead
    if Persona.objects.filter(updated_at__gt=full.started_at, updated_at__lt=started - LOST_MESSAGE_GRACE).exists():
        # A persona changed after the last full run started, and no full run followed: its message was lost
        # (broker down). Apply it now, not at the nightly run.
        rescore_all(reason="a persona changed and its rescore message was lost", workers=workers)
        return Lead.objects.count()
    since_candidates = [run.started_at for run in (last, full) if run is not None]
    since = max(since_candidates) if since_candidates else None
    # A run from before activity watermarks has none: the other's, or else a look by time, covers it.
    watermarks = [run.activity_watermark for run in (last, full) if run and run.activity_watermark is not None]
    activities_after = max(watermarks) if watermarks else None
    newest_activity = _newest_activity_id()
    ids = stale_lead_ids(since=since, activities_after=activities_after, version=version, limit=limit)
    if not ids:
        return 0
    # The run's watermarks: where the next run starts looking. When more leads changed than one run
    # takes, they stay where they were, so the next run finds the rest (the ones scored now are no longer
    # stale: they are scored at `scored_at`, after their last change and their new activities).
    watermark, activity_watermark = (since, activities_after) if len(ids) == limit else (started, newest_activity)
    scored_at = timezone.now()
    compiled = CompiledVersion.load(version)

    def score_batch(batch: list[int]) -> tuple[int, int]:
        scope = LeadScope(ids=batch)
        return (leads_rescore(compiled=compiled, scope=scope, now=scored_at),
                leads_qualify(scope=scope, now=timezone.now()))

    batches = [ids[start:start + ID_BATCH] for start in range(0, len(ids), ID_BATCH)]
    counts = list(on_connections(score_batch, batches, workers=workers))
    scored, qualified = sum(n for n, _ in counts), sum(n for _, n in counts)
    RescoreRun.objects.create(kind=RescoreRun.Kind.INCREMENTAL, version=version, started_at=watermark,
                              activity_watermark=activity_watermark, finished_at=timezone.now(), chunks_total=1,
                              chunks_done=1, leads_scored=scored, leads_qualified=qualified,
                              reason=f"{len(ids)} leads changed")
    return scored


def _start_full_rescore_on_commit(*, reason: str) -> None:
    transaction.on_commit(partial(enqueue, "scoring.tasks.rescore_full_task", reason=reason))
