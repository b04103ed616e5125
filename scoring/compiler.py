"""Turns the qualification agreement into SQL, so every lead is scored and qualified in the database.

Scoring is set-based (DESIGN.md, flow 2): one SELECT computes, for a whole range of leads at once, each
fit rule's and each engagement rule's points, the persona, the conversions, the totals, the grade and
the breakdown. The same SELECT feeds the rescoring upsert and the what-if counts, so a what-if is
exactly what the rescoring will write.

Only whitelisted field names and operators reach the SQL text; every value is a query parameter.
Works on PostgreSQL and SQLite (the embedded default), which differ in a handful of functions below.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection

from leads.identity import FREE_MAIL_DOMAINS
from leads.models import Activity, ActivityType, Company, Lead
from scoring.models import (
    Criteria,
    EngagementRule,
    FitRule,
    Grade,
    LeadScore,
    Operator,
    Persona,
    ScoringVersion,
)

LEAD = Lead._meta.db_table
COMPANY = Company._meta.db_table
ACTIVITY = Activity._meta.db_table
SCORE = LeadScore._meta.db_table

# field name → (SQL on lead `l` / company `c`, kind). Kind decides how operators compare.
TEXT, NUMBER, BOOL = "text", "number", "bool"
_LEAD_TEXT_FIELDS = [
    "email", "first_name", "last_name", "phone", "job_title", "seniority", "country", "source", "campaign",
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
]
FIELDS: dict[str, tuple[str, str]] = {
    **{name: (f"l.{name}", TEXT) for name in _LEAD_TEXT_FIELDS},
    "do_not_contact": ("l.do_not_contact", BOOL),
    "company.name": ("c.name", TEXT),
    "company.domain": ("c.domain", TEXT),
    "company.industry": ("c.industry", TEXT),
    "company.country": ("c.country", TEXT),
    "company.employees": ("c.employees", NUMBER),
    "company.annual_revenue": ("c.annual_revenue", NUMBER),
}
EMAIL_DOMAIN_FIELD = "email_domain"
PERSONA_FIELD = "persona"
PROPERTY_PREFIX = "properties."
_PROPERTY_KEY = re.compile(r"^[A-Za-z0-9_\- ]{1,100}$")

# Fields a definition may require to be filled in.
REQUIRED_FIELD_SQL = {
    "first_name": "l.first_name <> ''", "last_name": "l.last_name <> ''", "phone": "l.phone <> ''",
    "job_title": "l.job_title <> ''", "seniority": "l.seniority <> ''", "country": "l.country <> ''",
    "company": "l.company_id IS NOT NULL",
}

# json_build_object takes at most 100 arguments: the breakdown is built in slices of 40 pairs.
_JSON_PAIRS_PER_CALL = 40


def field_choices() -> list[tuple[str, str]]:
    """The fields a fit rule may test, for the rule form."""
    labels = [(name, name.replace("_", " ").replace(".", ": ")) for name in FIELDS]
    return [(PERSONA_FIELD, "persona (name)"), (EMAIL_DOMAIN_FIELD, "e-mail domain"), *labels]


def is_known_field(name: str) -> bool:
    if name in FIELDS or name in (EMAIL_DOMAIN_FIELD, PERSONA_FIELD):
        return True
    return name.startswith(PROPERTY_PREFIX) and bool(_PROPERTY_KEY.match(name[len(PROPERTY_PREFIX):]))


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _least(a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if _is_postgres() else f"MIN({a}, {b})"


def _greatest(a: str, b: str) -> str:
    return f"GREATEST({a}, {b})" if _is_postgres() else f"MAX({a}, {b})"


def _round_half_away(value_sql: str) -> str:
    """Round to whole points, halves away from zero on both databases (2.5 → 3, −2.5 → −3).

    PostgreSQL rounds a double half to even; as numeric it rounds half away from zero, like SQLite.
    One cast per lead and rule, after the aggregate: cheap."""
    return f"ROUND(CAST({value_sql} AS numeric))" if _is_postgres() else f"ROUND({value_sql})"


def _email_domain_sql() -> str:
    return "split_part(l.email, '@', 2)" if _is_postgres() else "substr(l.email, instr(l.email, '@') + 1)"


def _property_sql(alias: str, key: str) -> str:
    # The key is inlined: _PROPERTY_KEY admits only letters, digits, spaces, "_" and "-", never a quote.
    if not _PROPERTY_KEY.match(key):
        raise RuleError(f"“{key}” is not a property name.")
    if _is_postgres():
        return f"({alias}.properties ->> '{key}')"
    return f"json_extract({alias}.properties, '$.\"{key}\"')"


def _as_number(text_sql: str) -> str:
    """A text as a number, or NULL when it is not one (never an error on 'n/a')."""
    if _is_postgres():
        return (f"(CASE WHEN {text_sql} ~ '^\\s*-?[0-9]+(\\.[0-9]+)?\\s*$' "
                f"THEN CAST({text_sql} AS double precision) END)")
    # The same numbers as the PostgreSQL pattern above: an optional leading minus, digits, and at most one
    # dot with digits on both sides ("1000-5000", "-", "1.2.3" and "n/a" are not numbers).
    t = f"trim({text_sql})"
    return (f"(CASE WHEN typeof({text_sql}) IN ('integer', 'real') THEN {text_sql} "
            f"WHEN ({t} GLOB '[0-9]*' OR {t} GLOB '-[0-9]*') AND {t} GLOB '*[0-9]' "
            f"AND substr({t}, 2) NOT GLOB '*[^0-9.]*' "
            f"AND length({t}) - length(replace({t}, '.', '')) <= 1 "
            f"AND {t} NOT GLOB '*-.*' AND {t} NOT GLOB '*.-*' "
            f"THEN CAST({t} AS REAL) END)")


def _age_days_sql(params: list[Any], now: datetime) -> str:
    if _is_postgres():
        # date_part gives double precision; EXTRACT gives numeric, and POWER() on numeric is 30× slower.
        params.append(now.timestamp())
        return "((%s - date_part('epoch', a.occurred_at)) / 86400.0)"
    params.append(now_param(now))
    return "(julianday(%s) - julianday(a.occurred_at))"


def now_param(now: datetime) -> Any:
    if _is_postgres():
        return now
    return now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _json_object(pairs: list[tuple[str, str]], params: list[Any]) -> str:
    """JSON text of the non-zero pairs. On PostgreSQL built as text: far cheaper than json(b) functions."""
    if not pairs:
        return "'{}'"
    if _is_postgres():
        parts = []
        for key, value_sql in pairs:
            # Keys are "fit:<id>" / "eng:<id>": no quote or backslash can occur in them.
            parts.append(f"CASE WHEN {value_sql} <> 0 THEN '\"{key}\":' || {value_sql} END")
        return "'{' || concat_ws(',', " + ", ".join(parts) + ") || '}'"
    calls = []
    for start in range(0, len(pairs), _JSON_PAIRS_PER_CALL):
        args = []
        for key, value_sql in pairs[start:start + _JSON_PAIRS_PER_CALL]:
            params.append(key)
            args.append(f"%s, NULLIF({value_sql}, 0)")
        calls.append(f"json_object({', '.join(args)})")
    json_sql = calls[0]
    for call in calls[1:]:
        json_sql = f"json_patch({json_sql}, {call})"
    return json_sql


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _split_values(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class RuleError(ValueError):
    """A rule that cannot be compiled (unknown field, a number that is not one)."""


def condition_sql(field_name: str, operator: str, value: str, value_to: str, params: list[Any],
                  persona_sql: str, personas_by_name: dict[str, int]) -> str:
    """The SQL condition of one fit rule on lead `l` and company `c`."""
    if field_name == PERSONA_FIELD:
        names = [value.strip().lower()] if operator == Operator.EQUALS else [v.lower() for v in _split_values(value)]
        if operator in (Operator.IS_EMPTY, Operator.IS_NOT_EMPTY):
            return f"({persona_sql}) IS {'NULL' if operator == Operator.IS_EMPTY else 'NOT NULL'}"
        if operator not in (Operator.EQUALS, Operator.ONE_OF):
            raise RuleError("A persona rule uses “equals”, “is one of”, “is empty” or “is not empty”.")
        ids = [personas_by_name[name] for name in names if name in personas_by_name]
        if not ids:
            return "1 = 0"
        params.extend(ids)
        return f"({persona_sql}) IN ({', '.join(['%s'] * len(ids))})"

    if field_name == EMAIL_DOMAIN_FIELD:
        column, kind = _email_domain_sql(), TEXT
    elif field_name.startswith(PROPERTY_PREFIX):
        column, kind = _property_sql("l", field_name[len(PROPERTY_PREFIX):]), TEXT
    elif field_name in FIELDS:
        column, kind = FIELDS[field_name]
    else:
        raise RuleError(f"“{field_name}” is not a field a rule can test.")

    if operator == Operator.IS_EMPTY:
        return f"({column} IS NULL OR CAST({column} AS TEXT) = '')" if kind == TEXT else f"({column} IS NULL)"
    if operator == Operator.IS_NOT_EMPTY:
        return f"({column} IS NOT NULL AND CAST({column} AS TEXT) <> '')" if kind == TEXT else f"({column} IS NOT NULL)"
    if kind == BOOL:
        if operator != Operator.EQUALS:
            raise RuleError("A yes/no field uses “equals”.")
        params.append(value.strip().lower() in {"1", "true", "yes", "on"})
        return f"({column} = %s)"
    if operator == Operator.BETWEEN:
        low, high = _number(value), _number(value_to)
        numeric = column if kind == NUMBER else _as_number(column)
        params.extend([low, high])
        return f"({numeric} BETWEEN %s AND %s)"
    if kind == NUMBER:
        if operator == Operator.EQUALS:
            params.append(_number(value))
            return f"({column} = %s)"
        if operator == Operator.ONE_OF:
            numbers = [_number(v) for v in _split_values(value)] or [None]
            params.extend(numbers)
            return f"({column} IN ({', '.join(['%s'] * len(numbers))}))"
        raise RuleError("A number field uses “equals”, “is one of”, “is between” or an emptiness check.")
    text = f"LOWER(CAST({column} AS TEXT))"
    if operator == Operator.EQUALS:
        params.append(value.strip().lower())
        return f"({text} = %s)"
    if operator == Operator.ONE_OF:
        values = [v.lower() for v in _split_values(value)] or [""]
        params.extend(values)
        return f"({text} IN ({', '.join(['%s'] * len(values))}))"
    if operator == Operator.CONTAINS:
        params.append(f"%{_like_escape(value.strip().lower())}%")
        return f"({text} LIKE %s ESCAPE '\\')"
    if operator == Operator.STARTS_WITH:
        params.append(f"{_like_escape(value.strip().lower())}%")
        return f"({text} LIKE %s ESCAPE '\\')"
    raise RuleError(f"“{operator}” is not an operator.")


def _number(value: str) -> float:
    try:
        return float(str(value).strip())
    except ValueError:
        raise RuleError(f"“{value}” is not a number.") from None


def title_keywords_pattern(keywords: list[str]) -> str:
    """A case-insensitive regular expression matching any keyword at the start of a word of a job title:
    "engineer" matches "Engineering director", "cto" matches "CTO" but not "Director"."""
    alternatives = "|".join(re.escape(k.strip().lower()) for k in keywords if k.strip())
    if _is_postgres():
        return rf"\m({alternatives})"
    return rf"(?i)\b({alternatives})"


def persona_case_sql(personas: list[Persona], params: list[Any]) -> str:
    """The id of the lead's persona: the most specific one whose criteria the lead all meets."""
    ordered = sorted((p for p in personas if p.is_active and p.specificity), key=lambda p: (-p.specificity, p.priority, p.pk))
    if not ordered:
        return "CAST(NULL AS INTEGER)"
    branches = []
    for persona in ordered:
        # The cheap tests first and the title's regular expression last: AND stops at the first false.
        parts = []
        if persona.seniorities:
            params.extend(persona.seniorities)
            parts.append(f"l.seniority IN ({', '.join(['%s'] * len(persona.seniorities))})")
        if persona.company_size_min is not None:
            params.append(persona.company_size_min)
            parts.append("c.employees >= %s")
        if persona.company_size_max is not None:
            params.append(persona.company_size_max)
            parts.append("c.employees <= %s")
        if persona.industries:
            params.extend(i.strip().lower() for i in persona.industries)
            parts.append(f"LOWER(c.industry) IN ({', '.join(['%s'] * len(persona.industries))})")
        if persona.countries:
            params.extend(c.strip().upper() for c in persona.countries)
            parts.append(f"UPPER(l.country) IN ({', '.join(['%s'] * len(persona.countries))})")
        if persona.title_keywords:
            # Keywords start words of the title: "cto" matches "CTO & co-founder", not "Director".
            params.append(title_keywords_pattern(persona.title_keywords))
            parts.append("l.job_title ~* %s" if _is_postgres() else "l.job_title REGEXP %s")
        params.append(persona.pk)
        branches.append(f"WHEN {' AND '.join(parts)} THEN %s")
    return "CASE " + " ".join(branches) + " END"


@dataclass
class LeadScope:
    """Which leads a statement covers: an id range (full rescore chunks) or a list of ids."""

    id_from: int | None = None
    id_to: int | None = None  # exclusive
    ids: list[int] = field(default_factory=list)

    def sql(self, column: str, params: list[Any]) -> str:
        if self.ids:
            if _is_postgres():
                params.append(list(self.ids))  # one array parameter: 5,000 ids are planned as fast as 5
                return f"{column} = ANY(%s)"
            params.extend(self.ids)
            return f"{column} IN ({', '.join(['%s'] * len(self.ids))})"
        clauses = []
        if self.id_from is not None:
            params.append(self.id_from)
            clauses.append(f"{column} >= %s")
        if self.id_to is not None:
            params.append(self.id_to)
            clauses.append(f"{column} < %s")
        return " AND ".join(clauses) or "1 = 1"


@dataclass
class CompiledVersion:
    """A scoring version's rules, loaded once, ready to be turned into SQL many times."""

    version: ScoringVersion
    fit_rules: list[FitRule]
    engagement_rules: list[EngagementRule]
    personas: list[Persona]

    @classmethod
    def load(cls, version: ScoringVersion) -> "CompiledVersion":
        return cls(
            version=version,
            fit_rules=list(version.fit_rules.order_by("id")),
            engagement_rules=list(version.engagement_rules.order_by("id")),
            personas=list(Persona.objects.filter(is_active=True)),
        )


def _fence() -> str:
    """Keeps PostgreSQL from folding a subquery into the query above it.

    Folded, a column's expression is copied to every place that reads it: the persona's regular
    expressions would run once per persona rule and again for the persona column, and each fit rule's
    CASE once for the fit, once for the grade and twice for the breakdown."""
    return " OFFSET 0" if _is_postgres() else ""


def score_select_sql(compiled: CompiledVersion, scope: LeadScope, now: datetime) -> tuple[str, list[Any]]:
    """SELECT lead_id, fit, engagement, total, grade, persona_id, conversions, breakdown_json for the scope.

    Engagement of a rule = min(cap, Σ points × 0.5^(age in days / half-life)) over the lead's matching
    activities, rounded to whole points; fit = Σ points of the fit rules the lead meets; total = fit +
    engagement, so the breakdown always adds up to the score.

    Four nested levels, each computing its columns once for the level above (see _fence):
    p: the persona, the fit rules on the lead and its company, each engagement rule's points;
    q: the fit rules on the persona; s: fit and engagement; the outer level: total, grade, breakdown.
    Parameters are listed in the order their %s appear in the text, so each level keeps its own list.
    """
    version = compiled.version

    # --- the activities in scope, each read once: URL in lower case, age in days ------------------
    decays = any(rule.half_life_days for rule in compiled.engagement_rules)
    activity_params: list[Any] = []
    age_sql = f", {_age_days_sql(activity_params, now)} AS age_days" if decays else ""
    scope_a = scope.sql("a.lead_id", activity_params)
    activities_sql = (
        f"SELECT a.lead_id, a.type, LOWER(a.url) AS url, a.properties{age_sql} "
        f"FROM {ACTIVITY} a WHERE {scope_a}"
    )

    # --- engagement, per lead ---------------------------------------------------------------------
    eng_params: list[Any] = []
    eng_columns = []
    for index, rule in enumerate(compiled.engagement_rules):
        conditions = ["a.type = %s"]
        cond_params: list[Any] = [rule.activity_type]
        if rule.url_match and rule.url_value:
            pattern = _like_escape(rule.url_value.strip().lower())
            cond_params.append(f"%{pattern}%" if rule.url_match == EngagementRule.UrlMatch.CONTAINS else f"{pattern}%")
            conditions.append("a.url LIKE %s ESCAPE '\\'")
        if rule.property_key and rule.property_min is not None:
            prop = _property_sql("a", rule.property_key)
            cond_params.append(rule.property_min)
            conditions.append(f"{_as_number(prop)} >= %s")
        weight_params: list[Any] = [rule.points]
        if rule.half_life_days:
            weight_params.append(rule.half_life_days)
            weight = f"%s * POWER(0.5, {_greatest('0', 'a.age_days')} / %s)"
        else:
            weight = "%s"
        summed = f"SUM(CASE WHEN {' AND '.join(conditions)} THEN {weight} ELSE 0 END)"
        cap_params: list[Any] = []
        if rule.cap is not None:
            cap_params.append(rule.cap)
            summed = _least("%s", summed)
        eng_params.extend(cap_params + cond_params + weight_params)
        eng_columns.append(f"CAST({_round_half_away(summed)} AS INTEGER) AS e{index}")
    eng_params.append(ActivityType.FORM_SUBMISSION)
    eng_columns.append("SUM(CASE WHEN a.type = %s THEN 1 ELSE 0 END) AS conversions")
    engagement_sql = f"SELECT a.lead_id, {', '.join(eng_columns)} FROM ({activities_sql}) a GROUP BY a.lead_id"
    eng_params += activity_params

    # --- p: persona, fit on the lead and its company, engagement ----------------------------------
    persona_params: list[Any] = []
    persona_sql = persona_case_sql(compiled.personas, persona_params)
    personas_by_name = {p.name.strip().lower(): p.pk for p in compiled.personas}
    lead_fit_columns, lead_fit_params = [], []
    persona_fit_columns, persona_fit_params = [], []
    for index, rule in enumerate(compiled.fit_rules):
        cond_params = []
        condition = condition_sql(rule.field, rule.operator, rule.value, rule.value_to, cond_params,
                                  "p.persona_id", personas_by_name)
        column = f"CASE WHEN {condition} THEN %s ELSE 0 END AS f{index}"
        if rule.field == PERSONA_FIELD:
            persona_fit_columns.append(column)
            persona_fit_params += cond_params + [rule.points]
        else:
            lead_fit_columns.append(column)
            lead_fit_params += cond_params + [rule.points]

    eng_outer = [f"COALESCE(e.e{i}, 0) AS e{i}" for i in range(len(compiled.engagement_rules))]
    scope_l_params: list[Any] = []
    scope_l = scope.sql("l.id", scope_l_params)
    p_sql = (
        f"SELECT l.id AS lead_id, {persona_sql} AS persona_id, "
        + "".join(f"{column}, " for column in lead_fit_columns + eng_outer)
        + "COALESCE(e.conversions, 0) AS conversions "
        f"FROM {LEAD} l LEFT JOIN {COMPANY} c ON c.id = l.company_id "
        f"LEFT JOIN ({engagement_sql}) e ON e.lead_id = l.id WHERE {scope_l}{_fence()}"
    )
    p_params = persona_params + lead_fit_params + eng_params + scope_l_params

    # --- q: fit on the persona, read from p -------------------------------------------------------
    q_sql = f"SELECT {', '.join(['p.*', *persona_fit_columns])} FROM ({p_sql}) p{_fence()}"
    q_params = persona_fit_params + p_params

    # --- s: the sums ------------------------------------------------------------------------------
    fit_sum = " + ".join(f"q.f{i}" for i in range(len(compiled.fit_rules))) or "0"
    eng_sum = " + ".join(f"q.e{i}" for i in range(len(compiled.engagement_rules))) or "0"
    s_sql = (
        f"SELECT q.*, CAST({fit_sum} AS INTEGER) AS fit, CAST({eng_sum} AS INTEGER) AS engagement "
        f"FROM ({q_sql}) q{_fence()}"
    )

    # --- the row: total, grade, breakdown -----------------------------------------------------------
    outer_params: list[Any] = [version.grade_a_min_fit, Grade.A, version.grade_b_min_fit, Grade.B,
                               version.grade_c_min_fit, Grade.C, Grade.D]
    pairs = [(rule.key, f"s.f{i}") for i, rule in enumerate(compiled.fit_rules)]
    pairs += [(rule.key, f"s.e{i}") for i, rule in enumerate(compiled.engagement_rules)]
    breakdown_params: list[Any] = []
    breakdown_sql = _json_object(pairs, breakdown_params)
    sql = (
        "SELECT s.lead_id, s.fit, s.engagement, s.fit + s.engagement AS total, "
        "CASE WHEN s.fit >= %s THEN %s WHEN s.fit >= %s THEN %s WHEN s.fit >= %s THEN %s ELSE %s END AS grade, "
        f"s.persona_id, s.conversions, {breakdown_sql} AS breakdown_json "
        f"FROM ({s_sql}) s"
    )
    return sql, outer_params + breakdown_params + q_params


def criteria_sql(criteria: Criteria, params: list[Any], score_alias: str = "s") -> str:
    """The condition a lead `l` with score `score_alias` (and company `c`) must meet for the criteria."""
    s = score_alias
    parts = ["1 = 1"]
    for column, minimum in (("total", criteria.min_score), ("fit", criteria.min_fit),
                            ("engagement", criteria.min_engagement)):
        if minimum is not None:
            params.append(minimum)
            parts.append(f"{s}.{column} >= %s")
    if criteria.min_grade:
        grades = [g for g in Grade.values if g <= criteria.min_grade]
        params.extend(grades)
        parts.append(f"{s}.grade IN ({', '.join(['%s'] * len(grades))})")
    if criteria.persona_required:
        parts.append(f"{s}.persona_id IS NOT NULL")
    for name in criteria.required_fields:
        if name in REQUIRED_FIELD_SQL:
            parts.append(REQUIRED_FIELD_SQL[name])
    if criteria.min_conversions:
        params.append(criteria.min_conversions)
        parts.append(f"{s}.conversions >= %s")
    if criteria.exclude_do_not_contact:
        params.append(False)
        parts.append("l.do_not_contact = %s")
    excluded = set()
    if criteria.exclude_free_mail:
        excluded |= FREE_MAIL_DOMAINS
    excluded |= {d.strip().lower() for d in criteria.excluded_domains if d.strip()}
    if excluded:
        domains = sorted(excluded)
        params.extend(domains)
        parts.append(f"{_email_domain_sql()} NOT IN ({', '.join(['%s'] * len(domains))})")
        company_domains = sorted({d.strip().lower() for d in criteria.excluded_domains if d.strip()})
        if company_domains:
            params.extend(company_domains)
            parts.append(f"(c.domain IS NULL OR c.domain NOT IN ({', '.join(['%s'] * len(company_domains))}))")
    return " AND ".join(parts)
