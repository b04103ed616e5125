"""Reads of the qualification agreement: versions, a lead's explained score, accounts, what-if."""

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone

from leads.models import Company, Lead, Stage
from scoring.compiler import COMPANY, LEAD, SCORE, CompiledVersion, LeadScope, criteria_sql, score_select_sql
from scoring.models import (
    Criteria,
    DefinitionVersion,
    LeadScore,
    Persona,
    RescoreRun,
    ScoringVersion,
    VersionStatus,
)

# Stages in which a lead is still in play; closed leads are left out of what-if counts.
OPEN_STAGES = [Stage.NEW, Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.RECYCLED]
WHAT_IF_SAMPLE = 10


def scoring_versions() -> QuerySet[ScoringVersion]:
    return ScoringVersion.objects.select_related("marketing_signed_by", "sales_signed_by", "created_by")


def definition_versions() -> QuerySet[DefinitionVersion]:
    return DefinitionVersion.objects.select_related("marketing_signed_by", "sales_signed_by", "created_by")


def version_in(queryset: QuerySet, status: str):
    return queryset.filter(status=status).first()


def rescore_run_latest() -> RescoreRun | None:
    return RescoreRun.objects.filter(kind=RescoreRun.Kind.FULL).select_related("version").first()


@dataclass
class ExplainedScore:
    """A lead's score with each rule's points, labelled, biggest first."""

    score: LeadScore
    fit_lines: list[tuple[str, int]]
    engagement_lines: list[tuple[str, int]]
    persona_reasons: list[str]


def lead_score_explained(*, lead: Lead) -> ExplainedScore | None:
    score = LeadScore.objects.select_related("version", "persona").filter(lead=lead).first()
    if score is None:
        return None
    version = score.version
    fit_labels = {rule.key: rule.label for rule in version.fit_rules.all()}
    engagement_labels = {rule.key: rule.label for rule in version.engagement_rules.all()}
    breakdown = score.breakdown
    fit_lines = sorted(((fit_labels.get(k, k), p) for k, p in breakdown.items() if k.startswith("fit:")),
                       key=lambda line: -abs(line[1]))
    engagement_lines = sorted(((engagement_labels.get(k, k), p) for k, p in breakdown.items()
                               if k.startswith("eng:")), key=lambda line: -abs(line[1]))
    return ExplainedScore(score=score, fit_lines=fit_lines, engagement_lines=engagement_lines,
                          persona_reasons=persona_reasons(persona=score.persona, lead=lead) if score.persona else [])


def persona_reasons(*, persona: Persona, lead: Lead) -> list[str]:
    """Why a persona matched, criterion by criterion, in words a rep reads."""
    reasons = []
    title = (lead.job_title or "").lower()
    hits = [k for k in persona.title_keywords
            if k.strip() and re.search(rf"\b{re.escape(k.strip().lower())}", title)]
    if persona.title_keywords and hits:
        reasons.append(f"job title “{lead.job_title}” contains “{hits[0]}”")
    if persona.seniorities:
        reasons.append(f"seniority is {lead.get_seniority_display()}")
    company = lead.company
    if (persona.company_size_min is not None or persona.company_size_max is not None) and company:
        reasons.append(f"{company.employees:,} employees is within "
                       f"{persona.company_size_min or 0:,}–{persona.company_size_max or '∞'}")
    if persona.industries and company:
        reasons.append(f"industry is {company.industry}")
    if persona.countries:
        reasons.append(f"country is {lead.country}")
    return reasons


@dataclass
class AccountScore:
    best_fit: int | None
    engagement: int
    engaged_people: int
    scored_people: int


def company_account_score(*, company: Company) -> AccountScore:
    """An account's score from its people: best fit, summed engagement, people who engaged at all."""
    figures = LeadScore.objects.filter(lead__company=company).aggregate(
        top_fit=Max("fit"), summed=Sum("engagement"), engaged=Count("pk", filter=Q(engagement__gt=0)),
        scored=Count("pk"),
    )
    return AccountScore(best_fit=figures["top_fit"], engagement=figures["summed"] or 0,
                        engaged_people=figures["engaged"], scored_people=figures["scored"])


def companies_with_account_scores(queryset: QuerySet[Company]) -> QuerySet[Company]:
    """Adds account_engagement, account_best_fit and engaged_people to each company, in the same query."""
    return queryset.annotate(
        account_engagement=Sum("leads__score__engagement"),
        account_best_fit=Max("leads__score__fit"),
        engaged_people=Count("leads__score", filter=Q(leads__score__engagement__gt=0)),
    )


@dataclass
class WhatIf:
    """How many leads qualify under the agreement in force and under the drafts, and who changes."""

    meets_mql: tuple[int, int]
    becomes_mql: tuple[int, int]
    sql_ready: tuple[int, int]
    gains: list[dict[str, Any]] = field(default_factory=list)
    losses: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> list[tuple[str, int, int, int]]:
        """(what, in force, draft, change) for the what-if table."""
        return [
            (label, pair[0], pair[1], pair[1] - pair[0])
            for label, pair in (
                ("Meet the MQL criteria", self.meets_mql),
                ("Become MQL at the next rescore", self.becomes_mql),
                ("SQL-ready (accepted, meet SQL criteria)", self.sql_ready),
            )
        ]


def _criteria(version: DefinitionVersion | None, kind: str) -> Criteria | None:
    return version.criteria.filter(kind=kind).first() if version else None


def what_if(*, draft_scoring: ScoringVersion | None = None,
            draft_definition: DefinitionVersion | None = None) -> WhatIf:
    """Counts, in the database, the leads that meet the MQL criteria and the SQL-ready leads under the
    agreement in force and under the drafts, and samples the leads whose MQL standing would change.

    "Becomes MQL" counts what the next rescore would move to mql: leads in new, or in recycled with
    activity since they were recycled — exactly the leads scoring.services.leads_qualify moves.
    """
    started = timezone.now()
    active_definition = DefinitionVersion.objects.filter(status=VersionStatus.ACTIVE).first()
    definition = draft_definition or active_definition
    now_mql, now_sql = _criteria(active_definition, Criteria.Kind.MQL), _criteria(active_definition, Criteria.Kind.SQL)
    new_mql, new_sql = _criteria(definition, Criteria.Kind.MQL), _criteria(definition, Criteria.Kind.SQL)

    with transaction.atomic(), connection.cursor() as cursor:
        draft_scores = SCORE
        if draft_scoring is not None:
            # The draft's scores for every lead, computed once into a temporary table for the queries below.
            select_sql, select_params = score_select_sql(CompiledVersion.load(draft_scoring), LeadScope(), started)
            cursor.execute("DROP TABLE IF EXISTS whatif_scores")
            cursor.execute(f"CREATE TEMPORARY TABLE whatif_scores AS {select_sql}", select_params)
            draft_scores = "whatif_scores"

        params: list[Any] = []
        # Only scored leads qualify, as in scoring.services.leads_qualify.
        flags = {
            "now_mql": f"s_now.lead_id IS NOT NULL AND {criteria_sql(now_mql, params, 's_now')}" if now_mql else "1 = 0",
            "new_mql": f"s_new.lead_id IS NOT NULL AND {criteria_sql(new_mql, params, 's_new')}" if new_mql else "1 = 0",
            "now_sql": f"s_now.lead_id IS NOT NULL AND {criteria_sql(now_sql, params, 's_now')}" if now_sql else "1 = 0",
            "new_sql": f"s_new.lead_id IS NOT NULL AND {criteria_sql(new_sql, params, 's_new')}" if new_sql else "1 = 0",
        }
        params += [Stage.NEW, Stage.RECYCLED, Stage.SAL, *OPEN_STAGES]
        per_lead = (
            "SELECT l.id AS lead_id, l.email, l.first_name, l.last_name, l.stage, "
            + ", ".join(f"CASE WHEN {condition} THEN 1 ELSE 0 END AS {name}" for name, condition in flags.items())
            + ", CASE WHEN l.stage = %s OR (l.stage = %s AND l.last_activity_at > l.stage_entered_at) "
              "THEN 1 ELSE 0 END AS in_pool, CASE WHEN l.stage = %s THEN 1 ELSE 0 END AS in_sal "
            f"FROM {LEAD} l LEFT JOIN {COMPANY} c ON c.id = l.company_id "
            f"LEFT JOIN {SCORE} s_now ON s_now.lead_id = l.id "
            f"LEFT JOIN {draft_scores} s_new ON s_new.lead_id = l.id "
            f"WHERE l.stage IN ({', '.join(['%s'] * len(OPEN_STAGES))})"
        )
        cursor.execute(
            "SELECT COALESCE(SUM(now_mql), 0), COALESCE(SUM(new_mql), 0), "
            "COALESCE(SUM(now_mql * in_pool), 0), COALESCE(SUM(new_mql * in_pool), 0), "
            "COALESCE(SUM(now_sql * in_sal), 0), COALESCE(SUM(new_sql * in_sal), 0) "
            f"FROM ({per_lead}) f",
            params,
        )
        now_meets, new_meets, now_becomes, new_becomes, now_ready, new_ready = (int(v) for v in cursor.fetchone())
        samples = {}
        # Gains and losses are sampled apart, so many gains never hide the leads that would lose.
        for side, (was, becomes) in {"gains": (0, 1), "losses": (1, 0)}.items():
            cursor.execute(
                f"SELECT lead_id, email, first_name, last_name, stage FROM ({per_lead}) f "
                f"WHERE now_mql = {was} AND new_mql = {becomes} ORDER BY lead_id LIMIT {WHAT_IF_SAMPLE}",
                params,
            )
            samples[side] = [dict(zip(["id", "email", "first_name", "last_name", "stage"], row, strict=True))
                             for row in cursor.fetchall()]
        if draft_scoring is not None:
            cursor.execute("DROP TABLE IF EXISTS whatif_scores")
    return WhatIf(
        meets_mql=(now_meets, new_meets), becomes_mql=(now_becomes, new_becomes), sql_ready=(now_ready, new_ready),
        gains=samples["gains"], losses=samples["losses"],
        seconds=(timezone.now() - started).total_seconds(),
    )
