"""Writes on leads, companies, activities and stages. Every stage change goes through lead_change_stage."""

import hashlib
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, OperationalError, connection, models, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone

from leads.identity import email_domain, is_free_mail, normalise_domain, normalise_email
from leads.models import Activity, ActivityType, Company, Lead, Reason, Seniority, Stage, StageChange
from smarketing.models import User, WebhookEvent
from smarketing.roles import Role
from smarketing.selectors import webhook_wanted
from smarketing.services import webhooks_emit

# Who may make each move. SYSTEM stands for the application itself (qualification, SLA recycling).
SYSTEM = "system"
_MARKETING = frozenset({Role.MARKETER, Role.MARKETING_MANAGER, Role.ADMIN})
_SALES = frozenset({Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN})

TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (Stage.NEW, Stage.MQL): _MARKETING | {SYSTEM},
    (Stage.NEW, Stage.DISQUALIFIED): _MARKETING,
    (Stage.MQL, Stage.SAL): _SALES,
    (Stage.MQL, Stage.RECYCLED): _SALES | _MARKETING,
    (Stage.MQL, Stage.DISQUALIFIED): _SALES | _MARKETING,
    (Stage.SAL, Stage.SQL): _SALES,
    (Stage.SAL, Stage.LOST): _SALES,
    (Stage.SAL, Stage.RECYCLED): _SALES | {SYSTEM},
    (Stage.SAL, Stage.DISQUALIFIED): _SALES,
    (Stage.SQL, Stage.OPPORTUNITY): _SALES,
    (Stage.SQL, Stage.LOST): _SALES,
    (Stage.SQL, Stage.RECYCLED): _SALES,
    (Stage.OPPORTUNITY, Stage.WON): _SALES,
    (Stage.OPPORTUNITY, Stage.LOST): _SALES,
    (Stage.LOST, Stage.RECYCLED): _MARKETING,
    (Stage.RECYCLED, Stage.MQL): _MARKETING | {SYSTEM},
    (Stage.RECYCLED, Stage.DISQUALIFIED): _MARKETING,
    # Reopening a disqualified lead undoes a judgement: managers only.
    (Stage.DISQUALIFIED, Stage.NEW): frozenset({Role.MARKETING_MANAGER, Role.SALES_MANAGER, Role.ADMIN}),
}

# Leaving the funnel needs a reason, so marketing learns why.
REASON_REQUIRED = frozenset({Stage.LOST, Stage.DISQUALIFIED, Stage.RECYCLED})
# ...and for these, one from the agreed, editable list, so the reasons can be counted.
REASON_LIST_OF = {Stage.DISQUALIFIED: Reason.Kind.DISQUALIFICATION, Stage.LOST: Reason.Kind.LOSS}


def reason_from_list(*, to: str, reason: str) -> str:
    """The listed reason (as spelled in the list) for a move that needs one; ValidationError if unlisted."""
    kind = REASON_LIST_OF[to]
    match = Reason.objects.filter(kind=kind, is_active=True, label__iexact=reason.strip()).first()
    if match is None:
        labels = ", ".join(Reason.objects.filter(kind=kind, is_active=True).values_list("label", flat=True))
        raise ValidationError(
            {"reason": f"Choose a {Reason.Kind(kind).label.lower()} reason from the list: {labels}."},
            code="unlisted_reason",
        )
    return match.label

# Fields a capture (form, import, API) may set; stage, owner and the timestamps are not among them.
CAPTURE_FIELDS = (
    "first_name", "last_name", "phone", "job_title", "seniority", "country",
    "source", "campaign", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
    "do_not_contact",
)


def _actor_key(actor: User | None) -> str:
    return SYSTEM if actor is None else actor.role


def stage_targets_for(*, lead: Lead, actor: User | None) -> list[str]:
    """The stages this actor may move this lead to now, in funnel order."""
    if actor is not None and actor.role == Role.SALES_REP and lead.owner_id != actor.pk:
        return []
    key = _actor_key(actor)
    return [
        to for to in Stage.values
        if key in TRANSITIONS.get((lead.stage, to), frozenset())
    ]


@transaction.atomic
def lead_change_stage(
    *, lead: Lead, to: str, actor: User | None, reason: str = "", note: str = "",
    at: datetime | None = None,
) -> StageChange:
    """Moves a lead to another stage if that move is allowed for the actor, and records it."""
    if to not in Stage.values:
        raise ValidationError({"to": f"“{to}” is not a stage."}, code="invalid_stage")
    # Lock the row: two people moving the same lead at once must not both start from the old stage.
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    allowed = TRANSITIONS.get((lead.stage, to))
    if allowed is None:
        raise ValidationError(
            f"A lead cannot move from {Stage(lead.stage).label} to {Stage(to).label}.", code="illegal_transition"
        )
    if _actor_key(actor) not in allowed:
        role_label = "The system" if actor is None else Role(actor.role).label + "s"
        raise ValidationError(
            f"{role_label} cannot move a lead from {Stage(lead.stage).label} to {Stage(to).label}.",
            code="transition_not_allowed_for_role",
        )
    if actor is not None and actor.role == Role.SALES_REP and lead.owner_id != actor.pk:
        raise PermissionDenied("Sales reps change only the leads handed to them.")
    reason = reason.strip()
    if to in REASON_REQUIRED and not reason:
        raise ValidationError({"reason": f"Give a reason for moving the lead to {Stage(to).label}."}, code="required")
    if to in REASON_LIST_OF:
        reason = reason_from_list(to=to, reason=reason)

    now = at or timezone.now()
    change = StageChange.objects.create(
        lead=lead, from_stage=lead.stage, to_stage=to, changed_at=now, changed_by=actor, reason=reason,
        note=note.strip(),
    )
    Lead.objects.filter(pk=lead.pk).update(stage=to, stage_entered_at=now, updated_at=now)
    if to in WEBHOOK_EVENT_OF_STAGE:
        _emit_stage_webhooks(to=to, changes=[change])
    return change


@transaction.atomic
def leads_move_by_system(*, lead_ids: list[int], to: str, reason: str, at: datetime | None = None) -> list[int]:
    """Moves many leads at once on the system's behalf (e.g. qualification), by the same transition table.

    Set-based: one locking read, one bulk insert of StageChanges, one update. Leads whose stage does not
    allow the move for the system (someone moved them meanwhile) are skipped. Returns the moved ids.
    """
    sources = [source for (source, target), actors in TRANSITIONS.items() if target == to and SYSTEM in actors]
    if not sources:
        raise ValidationError(f"The system cannot move leads to {Stage(to).label}.", code="transition_not_allowed")
    if to in REASON_REQUIRED and not reason.strip():
        raise ValidationError({"reason": "Give a reason."}, code="required")
    now = at or timezone.now()
    # Lock in id order so two concurrent runs cannot deadlock; a lead locked by a person is left for the
    # next run (level-triggered: the qualification job finds it again).
    rows = list(
        Lead.objects.select_for_update(skip_locked=True).filter(pk__in=lead_ids, stage__in=sources)
        .order_by("pk").values_list("pk", "stage")
    )
    if not rows:
        return []
    StageChange.objects.bulk_create(
        [StageChange(lead_id=pk, from_stage=stage, to_stage=to, changed_at=now, reason=reason) for pk, stage in rows],
        batch_size=2000,
    )
    moved = [pk for pk, _ in rows]
    Lead.objects.filter(pk__in=moved).update(stage=to, stage_entered_at=now, updated_at=now)
    if to in WEBHOOK_EVENT_OF_STAGE:
        _emit_stage_webhooks(to=to, changes=[
            StageChange(lead_id=pk, from_stage=stage, to_stage=to, changed_at=now, reason=reason) for pk, stage in rows
        ])
    return moved


# Stage moves that integrations hear about through outgoing webhooks.
WEBHOOK_EVENT_OF_STAGE = {Stage.MQL: WebhookEvent.LEAD_MQL, Stage.WON: WebhookEvent.LEAD_WON}


def _emit_stage_webhooks(*, to: str, changes: list[StageChange]) -> None:
    """Records a webhook delivery per moved lead, sent after commit; nothing at all when no endpoint listens."""
    event = WEBHOOK_EVENT_OF_STAGE[to]
    if not webhook_wanted(event=event):
        return
    leads = Lead.objects.select_related("company", "owner").in_bulk([change.lead_id for change in changes])
    webhooks_emit(event=event, payloads=[{
        "lead": {
            "id": lead.pk, "email": lead.email, "first_name": lead.first_name, "last_name": lead.last_name,
            "job_title": lead.job_title, "country": lead.country,
            "company": lead.company.name if lead.company else None,
            "company_domain": lead.company.domain if lead.company else None,
            "source": lead.source, "campaign": lead.campaign, "stage": lead.stage,
            "owner": lead.owner.email if lead.owner else None,
        },
        "stage_change": {
            "from_stage": change.from_stage, "to_stage": change.to_stage, "changed_at": change.changed_at,
            "changed_by": change.changed_by.email if change.changed_by_id else None, "reason": change.reason,
        },
    } for change in changes if (lead := leads.get(change.lead_id)) is not None])


# --- Capture: one lead or a thousand, by one path ---------------------------------------------------
#
# A form, an import row and an API item are all a *capture*: what someone says about a person with an
# e-mail address. leads_capture_bulk applies the capture rules to a batch set-based (a fixed number of
# queries per batch, whatever its size); lead_capture is that same call for one item.

# Company attributes a capture may fill in (an import's "NumberOfEmployees", an API item's company fields).
COMPANY_CAPTURE_FIELDS = ("employees", "industry", "annual_revenue")


class CaptureStatus(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    # The same capture as the lead's last one (a retried request, a re-run import): nothing changed.
    UNCHANGED = "unchanged", "Unchanged"
    # The lead exists and the caller asked to leave existing leads alone (an import's "skip" policy).
    SKIPPED = "skipped", "Skipped"
    ERROR = "error", "Error"


class ExistingLeadPolicy(models.TextChoices):
    UPDATE = "update", "Update existing leads"
    SKIP = "skip", "Skip existing leads"


@dataclass(frozen=True)
class CaptureItem:
    """What one form, import row or API item says about a person."""

    email: str
    fields: dict[str, Any] = field(default_factory=dict)
    company_name: str = ""
    company_domain: str = ""
    company_fields: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] | None = None


@dataclass(frozen=True)
class CaptureOutcome:
    status: str
    lead_id: int | None = None
    duplicate_attempt: bool = False
    errors: dict[str, list[str]] = field(default_factory=dict)
    # The index of the earlier item of the same batch with the same e-mail: both are one capture.
    duplicate_of: int | None = None
    # The actor may not change this lead (a sales rep capturing another rep's lead): a 403, not a 400.
    forbidden: bool = False


NOT_YOUR_LEAD = "This lead exists and is not yours: only its owner, marketing or a manager can change it."


def _rep_may_not_change(actor: User | None, owner_id: int | None) -> bool:
    """A sales rep changes only the leads they own (the rule of leads.selectors.lead_can_edit, by owner id)."""
    return actor is not None and actor.role == Role.SALES_REP and owner_id != actor.pk


@dataclass(frozen=True)
class CaptureResult:
    lead: Lead
    created: bool
    duplicate_attempt: bool


@dataclass
class _Capture:
    """The merged, cleaned capture of one e-mail in a batch."""

    email: str
    indexes: list[int]
    values: dict[str, Any]
    company_name: str
    company_domain: str
    company_values: dict[str, Any]
    properties: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        body = json.dumps([self.values, self.company_name, self.company_domain, self.company_values,
                           self.properties], sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(body.encode()).hexdigest()


# Column widths, looked up once (the field API costs more than the check, at a million rows).
_MAX_LENGTH = {
    **{name: Lead._meta.get_field(name).max_length for name in ("email", *CAPTURE_FIELDS) if name != "do_not_contact"},
    "company_name": Company._meta.get_field("name").max_length,
    "company_domain": Company._meta.get_field("domain").max_length,
    "company_industry": Company._meta.get_field("industry").max_length,
}
# Looked up once: TextChoices.values builds a new list on every access, and these run once per item.
_SENIORITIES = frozenset(Seniority.values)
_ACTIVITY_TYPES = frozenset(ActivityType.values)


def _is_blank(value: Any) -> bool:
    return value is None or value is False or (isinstance(value, str) and not value.strip())


def _too_long(value: str, limit: int) -> list[str]:
    return [f"Ensure this value has at most {limit} characters (it has {len(value)})."] if len(value) > limit else []


def _capture_clean(item: CaptureItem) -> tuple[_Capture | None, dict[str, list[str]]]:
    """Checks one item's shape (what the database would refuse) and normalises it; errors by field."""
    errors: dict[str, list[str]] = {}
    try:
        email = normalise_email(item.email)
    except ValidationError as exc:
        return None, {"email": exc.messages}
    if len(email) > _MAX_LENGTH["email"]:
        errors["email"] = _too_long(email, _MAX_LENGTH["email"])

    # What a capture does not know is blank: None, whitespace, and an unticked do-not-contact box (an
    # opt-out is only lifted by an explicit edit, never by a form the person fills in again).
    values: dict[str, Any] = {}
    for name, value in item.fields.items():
        if _is_blank(value):
            continue
        if name == "do_not_contact":
            if value is not True:
                errors[name] = ["Must be true or false."]
            else:
                values[name] = True
            continue
        value = str(value).strip()
        if name == "country":
            value = value.upper()
            if len(value) != 2 or not value.isascii() or not value.isalpha():
                errors[name] = ["Use a two-letter country code, e.g. DE."]
                continue
        elif name == "seniority" and value not in _SENIORITIES:
            errors[name] = [f"“{value}” is not one of {', '.join(Seniority.values)}."]
            continue
        if problem := _too_long(value, _MAX_LENGTH[name]):
            errors[name] = problem
            continue
        values[name] = value

    company_name = (item.company_name or "").strip()
    if problem := _too_long(company_name, _MAX_LENGTH["company_name"]):
        errors["company"] = problem
    company_domain = normalise_domain(item.company_domain) if item.company_domain else ""
    if problem := _too_long(company_domain, _MAX_LENGTH["company_domain"]):
        errors["company_domain"] = problem

    company_values: dict[str, Any] = {}
    for name, value in item.company_fields.items():
        if _is_blank(value):
            continue
        try:
            if name == "employees":
                value = int(value)
                if not 0 <= value <= 2_147_483_647:
                    raise ValueError
            elif name == "annual_revenue":
                value = Decimal(str(value)).quantize(Decimal("0.01"))
                if not value.is_finite() or abs(value) >= Decimal("1e13"):
                    raise ValueError
            else:
                value = str(value).strip()
                if _too_long(value, _MAX_LENGTH[f"company_{name}"]):
                    raise ValueError
        except (ValueError, ArithmeticError):
            errors[f"company_{name}"] = [f"“{value}” is not a valid {name.replace('_', ' ')}."]
            continue
        company_values[name] = value

    if item.properties is not None and not isinstance(item.properties, dict):
        errors["properties"] = ["Must be an object."]
    if errors:
        return None, errors
    return _Capture(email=email, indexes=[], values=values, company_name=company_name,
                    company_domain=company_domain, company_values=company_values,
                    properties=dict(item.properties or {})), {}


def _company_key(capture: _Capture) -> tuple[str, str] | None:
    """How a capture names its company: ("domain", host) for a business domain, else ("name", lower name)."""
    domain = capture.company_domain or email_domain(capture.email)
    # An e-mail's domain may be longer than a company's domain column (253, DNS's limit): no company from it.
    if domain and not is_free_mail(domain) and len(domain) <= _MAX_LENGTH["company_domain"]:
        return ("domain", domain)
    if capture.company_name:
        return ("name", capture.company_name.lower())
    return None


def _guessed_name(domain: str) -> str:
    return domain.split(".")[0].capitalize()


def _one_of(model: type[models.Model], column: str, values: Sequence[str]) -> Q | RawSQL:
    """A filter `column IN values` that costs the same at 5 values and at 5,000 on PostgreSQL.

    The ORM prepares an IN list value by value (a fifth of a 2,000-row import batch's Python time); on
    PostgreSQL the values go as one array parameter of `= ANY(...)`, which uses the column's index alike.
    """
    if connection.vendor == "postgresql":
        table = model._meta.db_table
        return RawSQL(f'"{table}"."{column}" = ANY(%s)', (list(values),),  # noqa: S611 - names from the model
                      output_field=models.BooleanField())
    return Q(**{f"{column}__in": list(values)})


def _companies_for_captures(captures: list[_Capture]) -> dict[tuple[str, str], Company]:
    """The company of each capture, found or created set-based: by domain (never a free-mail one), else by name.

    A company known so far by name only takes the domain when a lead of that name brings one, instead of
    the account existing twice. A name that was only guessed from the domain gives way to a real one.
    """
    wanted_names: dict[tuple[str, str], str] = {}
    for capture in captures:
        key = _company_key(capture)
        if key is not None and not wanted_names.get(key):
            wanted_names[key] = capture.company_name  # the first real name in the batch, as one by one
    domains = [value for kind, value in wanted_names if kind == "domain"]
    names = {value for kind, value in wanted_names if kind == "name"}
    found: dict[tuple[str, str], Company] = {}
    renamed: list[Company] = []

    if domains:
        for company in Company.objects.filter(_one_of(Company, "domain", domains)):
            key = ("domain", company.domain)
            found[key] = company
            real_name = wanted_names[key]
            if real_name and company.name.lower() == company.domain.split(".")[0]:
                company.name = real_name
                renamed.append(company)
        missing = [domain for domain in domains if ("domain", domain) not in found]
        # A name-only company of the same name adopts the domain.
        by_name = {wanted_names[("domain", domain)].lower(): domain for domain in missing
                   if wanted_names[("domain", domain)]}
        if by_name:
            for company in (Company.objects.filter(domain__isnull=True).annotate(lower_name=Lower("name"))
                            .filter(lower_name__in=list(by_name)).order_by("pk")):
                domain = by_name.pop(company.lower_name, None)
                if domain is not None:
                    company.domain = domain
                    renamed.append(company)
                    found[("domain", domain)] = company
        # Sorted: two concurrent captures (an import's parts, API requests) insert shared domains in one
        # order, so one waits for the other instead of both deadlocking.
        missing = sorted(domain for domain in domains if ("domain", domain) not in found)
        if missing:
            # ON CONFLICT DO NOTHING: a concurrent capture may create the same domain; we read it back below.
            now = timezone.now()
            _insert_values(Company, [
                {"name": wanted_names[("domain", d)] or _guessed_name(d), "domain": d, "employees": None,
                 "industry": "", "country": "", "annual_revenue": None, "created_at": now} for d in missing
            ], returning=False, ignore_conflicts=True)
            for company in Company.objects.filter(_one_of(Company, "domain", missing)):
                found[("domain", company.domain)] = company

    if names:
        for company in (Company.objects.annotate(lower_name=Lower("name")).filter(lower_name__in=list(names))
                        .order_by("-pk")):
            found[("name", company.lower_name)] = company  # the oldest wins: ordered newest first
        missing_names = [key for key in wanted_names if key[0] == "name" and key not in found]
        created = Company.objects.bulk_create([Company(name=wanted_names[key]) for key in missing_names])
        found.update(zip(missing_names, created, strict=True))

    if renamed:
        Company.objects.bulk_update(sorted(renamed, key=lambda company: company.pk), ["name", "domain"])
    return found


def _companies_fill_in(companies_values: dict[int, tuple[Company, dict[str, Any]]]) -> None:
    """Company attributes a capture brings refresh the known ones; a blank never erases one."""
    changed = []
    for company, values in companies_values.values():
        if any(getattr(company, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(company, name, value)
            changed.append(company)
    if changed:
        # In id order, as every concurrent capture locks them: no deadlock on a company two batches share.
        Company.objects.bulk_update(sorted(changed, key=lambda company: company.pk), list(COMPANY_CAPTURE_FIELDS))


def _update_rows(model: type[models.Model], rows: list[models.Model], fields: list[str]) -> None:
    """Writes many rows with different values in one UPDATE ... FROM (VALUES ...) per 500 rows.

    Django's bulk_update writes a CASE per row and field: O(rows × fields) of SQL text to parse and plan,
    about ten times slower at 1,000 rows × 20 fields than a VALUES list joined on the primary key.
    """
    meta = model._meta
    model_fields = [meta.get_field(name) for name in fields]
    columns = ["id", *(f.column for f in model_fields)]
    postgres = connection.vendor == "postgresql"
    # PostgreSQL types the VALUES list as text where it cannot tell: cast back to each column's type.
    sets = ", ".join(
        f'"{f.column}" = v."{f.column}"' + (f"::{f.db_type(connection)}" if postgres else "") for f in model_fields
    )
    pk_cast = "::bigint" if postgres else ""
    for start in range(0, len(rows), 500):
        chunk = rows[start:start + 500]
        params: list[Any] = []
        for row, values in zip(chunk, _db_values(chunk, model_fields) if postgres else
                               [[f.get_db_prep_save(getattr(r, f.attname), connection) for f in model_fields]
                                for r in chunk], strict=True):
            params.append(row.pk)
            params.extend(values)
        placeholders = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(chunk))
        column_list = ", ".join(f'"{c}"' for c in columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f'WITH v ({column_list}) AS (VALUES {placeholders}) '  # noqa: S608 - names from the model
                f'UPDATE "{meta.db_table}" SET {sets} FROM v WHERE "{meta.db_table}"."id" = v."id"{pk_cast}',
                params,
            )


def _db_values(rows: list[models.Model], model_fields: list[models.Field]) -> list[list[Any]]:
    """Each row's values as psycopg2 takes them. Strings, numbers, booleans, ids and aware datetimes go as
    they are (psycopg2 adapts them); only JSON needs Django's preparation. Skipping the field API for the
    rest halves the Python cost of a 1,000-lead batch."""
    json_fields = {f.attname for f in model_fields if isinstance(f, models.JSONField)}
    return [[f.get_db_prep_save(getattr(row, f.attname), connection) if f.attname in json_fields
             else getattr(row, f.attname) for f in model_fields] for row in rows]


# COPY's text format: a tab between values, \\N for NULL, and these four characters escaped in a value.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")


def _copy_text(value: str | None) -> str:
    if value is None:
        return "\\N"
    # Most values hold none of the four: a search is a fifth of the cost of a translate.
    return value.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(value) else value


def _copy_json(value: Any) -> str:
    # As the json module writes it, as Django's encoder would; a NULL JSON value is an empty object.
    return _copy_text(json.dumps(value if value is not None else {}))


def _copy_bool(value: bool | None) -> str:
    return "\\N" if value is None else "t" if value else "f"


def _copy_plain(value: Any) -> str:
    # Numbers, ids and datetimes: their str() is a value PostgreSQL reads and holds none of the four.
    return "\\N" if value is None else str(value)


def _copy_converter(f: models.Field) -> Callable[[Any], str]:
    """How one column's values are written in COPY's text format, chosen once per column, not per value."""
    if isinstance(f, models.JSONField):
        return _copy_json
    if isinstance(f, models.BooleanField):
        return _copy_bool
    if isinstance(f, models.CharField | models.TextField):
        return _copy_text
    return _copy_plain


def _insert_values(
    model: type[models.Model], rows: list[dict[str, Any]], returning: bool = True, ignore_conflicts: bool = False,
) -> list[int]:
    """Inserts rows given as {attname: value} and returns their ids, in order; no model instance per row.

    Building a model instance costs ~50 µs, as much as the rest of a row's capture: at a million imported
    rows that is a minute. On PostgreSQL the rows are streamed with COPY into a temporary staging table,
    then moved with one INSERT ... SELECT ... ORDER BY RETURNING: the same rows sent as statement
    parameters (one array per column for unnest) cost the server a third more CPU to parse and cast.
    Elsewhere through bulk_create.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objects = [model(**row) for row in rows]
        model.objects.bulk_create(objects, batch_size=500, ignore_conflicts=ignore_conflicts)
        return [obj.pk for obj in objects]

    meta = model._meta
    attnames = list(rows[0])
    fields = [meta.get_field(name) for name in attnames]
    staging = f"_copy_{meta.db_table}"
    # "n" is the row's position: the INSERT reads the staging table in that order, so the ids come back in it.
    column_types = ", ".join(f'"c{position}" {f.db_type(connection)}' for position, f in enumerate(fields))
    converters = [(name, _copy_converter(f)) for name, f in zip(attnames, fields, strict=True)]
    lines = io.StringIO()
    for n, row in enumerate(rows):
        lines.write(f"{n}\t" + "\t".join([convert(row[name]) for name, convert in converters]) + "\n")
    lines.seek(0)
    column_list = ", ".join(f'"{f.column}"' for f in fields)
    aliases = ", ".join(f'"c{position}"' for position in range(len(fields)))
    sql = (f'INSERT INTO "{meta.db_table}" ({column_list}) SELECT {aliases} '  # noqa: S608 - names from the model
           f'FROM "{staging}" ORDER BY "n"')
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    # psycopg2's own cursor, as for COPY: with DEBUG on, Django's cursor keeps the text of every statement,
    # and an import's memory would grow with its batches.
    with connection.cursor() as cursor:
        raw = cursor.cursor
        # Inside the capture batch's transaction: in autocommit, ON COMMIT DROP would drop it at once.
        raw.execute(f'CREATE TEMPORARY TABLE "{staging}" ("n" integer, {column_types}) ON COMMIT DROP')
        raw.copy_expert(f'COPY "{staging}" ("n", {aliases}) FROM STDIN', lines, size=1 << 20)
        if returning:
            # The rows come back in the order they were inserted: the SELECT's, by "n".
            raw.execute(sql + ' RETURNING "id"')
            ids = [pk for (pk,) in raw.fetchall()]
        else:
            raw.execute(sql)
            ids = []
        raw.execute(f'DROP TABLE "{staging}"')
    return ids


# Every column of a new lead, in the order the INSERT names them; a capture overrides what it knows.
_NEW_LEAD_DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(CAPTURE_FIELDS, ""), "do_not_contact": False, "email": "", "company_id": None,
    "owner_id": None, "stage": Stage.NEW.value, "stage_entered_at": None, "created_at": None, "updated_at": None,
    "last_activity_at": None, "properties": None, "duplicate_attempts": 0, "last_duplicate_attempt_at": None,
    "capture_fingerprint": None,
}

_LEAD_UPDATE_FIELDS = [*CAPTURE_FIELDS, "company", "properties", "updated_at", "duplicate_attempts",
                       "last_duplicate_attempt_at", "capture_fingerprint"]


def leads_capture_bulk(
    *, items: Sequence[CaptureItem], actor: User | None, owner: User | None = None,
    existing: str = ExistingLeadPolicy.UPDATE,
) -> list[CaptureOutcome]:
    """Captures many leads at once by the capture rules, set-based; one outcome per item, in order.

    The rules: the e-mail is normalised and unique, so a repeat updates its lead and a blank never erases
    a known value; a lead already past `new` is flagged as a duplicate attempt, never reset; the company
    comes from a business domain (never a free-mail one), else from the company name; a new lead gets its
    ""→new StageChange. The same capture as the lead's last is a replay and changes nothing. An item with
    invalid values gets its field errors and the others are still kept.
    """
    for item in items:
        unknown = set(item.fields) - set(CAPTURE_FIELDS)
        if unknown:
            raise ValueError(f"lead_capture does not set {sorted(unknown)}")
        unknown = set(item.company_fields) - set(COMPANY_CAPTURE_FIELDS)
        if unknown:
            raise ValueError(f"lead_capture does not set the company's {sorted(unknown)}")
    # Two captures of a batch may both create the same new e-mail with a concurrent one; the loser of
    # that race sees the winner's row on the next try and updates it instead. Two that lock shared companies
    # in crossing orders (one renames, the other fills in) deadlock; PostgreSQL stops one, which tries again.
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _leads_capture_batch(items=items, actor=actor, owner=owner, existing=existing)
        except (IntegrityError, OperationalError) as exc:
            if attempt == 2 or not (isinstance(exc, IntegrityError) or _is_deadlock(exc)):
                raise
    raise AssertionError("unreachable")


def _is_deadlock(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "pgcode", None) == "40P01"  # deadlock_detected


def _leads_capture_batch(
    *, items: Sequence[CaptureItem], actor: User | None, owner: User | None, existing: str,
) -> list[CaptureOutcome]:
    outcomes: list[CaptureOutcome | None] = [None] * len(items)
    captures: dict[str, _Capture] = {}
    for index, item in enumerate(items):
        capture, errors = _capture_clean(item)
        if capture is None:
            outcomes[index] = CaptureOutcome(status=CaptureStatus.ERROR, errors=errors)
            continue
        merged = captures.get(capture.email)
        if merged is None:
            capture.indexes.append(index)
            captures[capture.email] = capture
            continue
        # The same e-mail twice in a batch is one capture: later values win, blanks keep earlier ones.
        merged.indexes.append(index)
        merged.values.update(capture.values)
        merged.company_name = capture.company_name or merged.company_name
        merged.company_domain = capture.company_domain or merged.company_domain
        merged.company_values.update(capture.company_values)
        merged.properties.update(capture.properties)
    if not captures:
        return outcomes  # type: ignore[return-value]

    now = timezone.now()
    # Lock in e-mail order so two concurrent batches cannot deadlock on each other's rows.
    known = {lead.email: lead for lead in
             Lead.objects.select_for_update().filter(_one_of(Lead, "email", list(captures))).order_by("email")}
    # Each fingerprint once (a JSON dump and a hash of the whole capture), now that the batch's repeats are merged.
    fingerprints = {email: capture.fingerprint for email, capture in captures.items()}
    to_write = [c for c in captures.values() if c.email not in known or (
        existing == ExistingLeadPolicy.UPDATE and known[c.email].capture_fingerprint != fingerprints[c.email]
        and not _rep_may_not_change(actor, known[c.email].owner_id))]
    companies = _companies_for_captures(to_write)
    company_values: dict[int, tuple[Company, dict[str, Any]]] = {}

    new_leads: list[dict[str, Any]] = []
    updated: list[Lead] = []
    status_of: dict[str, tuple[str, bool]] = {}
    new_owner = actor if actor is not None and actor.role == Role.SALES_REP else owner
    for capture in captures.values():
        lead = known.get(capture.email)
        if lead is not None and _rep_may_not_change(actor, lead.owner_id):
            # A capture is an update of the existing lead: a rep may not rewrite another rep's lead this way.
            status_of[capture.email] = (CaptureStatus.ERROR, False)
            continue
        if lead is not None and existing == ExistingLeadPolicy.SKIP:
            status_of[capture.email] = (CaptureStatus.SKIPPED, False)
            continue
        if lead is not None and lead.capture_fingerprint == fingerprints[capture.email]:
            status_of[capture.email] = (CaptureStatus.UNCHANGED, False)
            continue
        key = _company_key(capture)
        company = companies.get(key) if key else None
        if company is not None and capture.company_values:
            merged_values = company_values.setdefault(company.pk, (company, {}))[1]
            merged_values.update(capture.company_values)
        if lead is None:
            new_leads.append({
                **_NEW_LEAD_DEFAULTS, **capture.values, "email": capture.email,
                "company_id": company.pk if company is not None else None, "properties": capture.properties,
                "owner_id": new_owner.pk if new_owner is not None else None, "stage_entered_at": now,
                "created_at": now, "updated_at": now, "capture_fingerprint": fingerprints[capture.email],
            })
            status_of[capture.email] = (CaptureStatus.CREATED, False)
            continue
        # A repeat capture fills in and refreshes what it knows; it never blanks a field or moves the stage.
        for name, value in capture.values.items():
            setattr(lead, name, value)
        if company is not None:
            lead.company = company
        if capture.properties:
            lead.properties = {**lead.properties, **capture.properties}
        lead.updated_at = now
        lead.capture_fingerprint = fingerprints[capture.email]
        duplicate_attempt = lead.stage != Stage.NEW
        if duplicate_attempt:
            lead.duplicate_attempts += 1
            lead.last_duplicate_attempt_at = now
        updated.append(lead)
        status_of[capture.email] = (CaptureStatus.UPDATED, duplicate_attempt)

    _companies_fill_in(company_values)
    if new_leads:
        # The primary keys come back from the INSERT (RETURNING) on PostgreSQL and SQLite alike.
        new_ids = _insert_values(Lead, new_leads)
        actor_id = actor.pk if actor is not None else None
        _insert_values(StageChange, [
            {"lead_id": pk, "from_stage": "", "to_stage": Stage.NEW.value, "changed_at": now, "changed_by_id": actor_id,
             "reason": "created", "note": ""} for pk in new_ids
        ], returning=False)
        for row, pk in zip(new_leads, new_ids, strict=True):
            row["id"] = pk
    if updated:
        _update_rows(Lead, updated, _LEAD_UPDATE_FIELDS)

    lead_ids = {lead.email: lead.pk for lead in known.values()}
    lead_ids.update((row["email"], row["id"]) for row in new_leads)
    for capture in captures.values():
        status, duplicate_attempt = status_of[capture.email]
        first = capture.indexes[0]
        for index in capture.indexes:
            if status == CaptureStatus.ERROR:
                outcomes[index] = CaptureOutcome(status=status, errors={"email": [NOT_YOUR_LEAD]}, forbidden=True)
                continue
            outcomes[index] = CaptureOutcome(
                status=status, lead_id=lead_ids[capture.email], duplicate_attempt=duplicate_attempt,
                duplicate_of=None if index == first else first,
            )
    return outcomes  # type: ignore[return-value]


def company_for_capture(*, email: str, company_name: str = "", domain: str = "") -> Company | None:
    """The company a captured lead works for: by domain (never a free-mail one), else by name."""
    capture = _Capture(email=email, indexes=[], values={}, company_name=company_name.strip(),
                       company_domain=normalise_domain(domain) if domain else "", company_values={}, properties={})
    key = _company_key(capture)
    return _companies_for_captures([capture]).get(key) if key else None


@transaction.atomic
def lead_capture(
    *, email: str, fields: dict[str, Any], actor: User | None, company_name: str = "", company_domain: str = "",
    properties: dict[str, Any] | None = None, owner: User | None = None,
) -> CaptureResult:
    """Creates a lead, or updates the one with this e-mail; a lead already past `new` is flagged, not reset."""
    item = CaptureItem(email=email, fields=fields, company_name=company_name, company_domain=company_domain,
                       properties=properties)
    [outcome] = leads_capture_bulk(items=[item], actor=actor, owner=owner)
    if outcome.forbidden:
        raise PermissionDenied(NOT_YOUR_LEAD)
    if outcome.status == CaptureStatus.ERROR:
        raise ValidationError(outcome.errors)
    return CaptureResult(lead=Lead.objects.select_related("company", "owner").get(pk=outcome.lead_id),
                         created=outcome.status == CaptureStatus.CREATED,
                         duplicate_attempt=outcome.duplicate_attempt)


@transaction.atomic
def lead_update(*, lead: Lead, actor: User, changes: dict[str, Any], company_name: str | None = None) -> Lead:
    """Edits a lead's profile (not its stage); a changed e-mail must stay unique."""
    if lead.is_erased:
        # Erasure is final: the person's data is not put back on the anonymised record.
        raise ValidationError("This lead's personal data was erased on request; it cannot be edited.", code="erased")
    if "email" in changes:
        changes["email"] = normalise_email(changes["email"])
        if Lead.objects.filter(email=changes["email"]).exclude(pk=lead.pk).exists():
            raise ValidationError({"email": "Another lead already has this e-mail address."}, code="unique")
    if "stage" in changes:
        raise ValueError("A stage changes only through lead_change_stage.")
    for name, value in changes.items():
        setattr(lead, name, value)
    fields = {*changes, "updated_at"}
    if company_name is not None and company_name.strip() != (lead.company.name if lead.company else ""):
        lead.company = company_for_capture(email=lead.email, company_name=company_name)
        fields.add("company")
    lead.updated_at = timezone.now()
    # Only the edited fields: a stage moved meanwhile by someone else is never written back from this copy.
    lead.save(update_fields=sorted(fields))
    return lead


# --- Activities: one or five thousand, by one path ----------------------------------------------------

class ActivityStatus(models.TextChoices):
    CREATED = "created", "Created"
    DUPLICATE = "duplicate", "Duplicate"
    ERROR = "error", "Error"


@dataclass(frozen=True)
class ActivityItem:
    """One behavioural event, naming its lead by id or by e-mail."""

    type: str
    occurred_at: datetime
    lead_id: int | None = None
    lead_email: str = ""
    url: str = ""
    properties: dict[str, Any] | None = None
    event_id: str = ""


@dataclass(frozen=True)
class ActivityOutcome:
    status: str
    activity_id: int | None = None
    lead_id: int | None = None
    lead_created: bool = False
    errors: dict[str, list[str]] = field(default_factory=dict)


def activity_dedupe_key(*, type: str, occurred_at: datetime, url: str, event_id: str = "") -> str:
    """What makes two activities of a lead the same event: the sender's event id, else (type, time, URL)."""
    if event_id:
        body = f"event\x1f{event_id}"
    else:
        body = f"{type}\x1f{occurred_at.astimezone(UTC).isoformat(timespec='microseconds')}\x1f{url}"
    return hashlib.sha256(body.encode()).hexdigest()


def activities_ingest(
    *, items: Sequence[ActivityItem], actor: User | None, create_unknown_leads: bool = False,
) -> list[ActivityOutcome]:
    """Appends many activities set-based, each event once, and keeps each touched lead's last-activity time.

    An activity may not lie in the future. A lead named by an unknown e-mail is captured (by the capture
    rules) when create_unknown_leads is set, else the item is an error. The same event sent again (same
    event id, or same lead, type, time and URL) is a duplicate and kept once. The rescoring job finds the
    touched leads through the new activities' ids, so their updated_at stays as it is.
    """
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _activities_ingest_batch(items=items, actor=actor, create_unknown_leads=create_unknown_leads)
        except IntegrityError:
            # A concurrent request inserted one of these events first: the next try sees it as a duplicate.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


_ACTIVITY_URL_MAX = Activity._meta.get_field("url").max_length
_ACTIVITY_EVENT_ID_MAX = Activity._meta.get_field("event_id").max_length
# The stored JSON of an activity without properties, the common case: dumped once, not per item.
_EMPTY_PROPERTIES = json.dumps({})


@dataclass
class _PendingActivity:
    """An item that passed its checks and names a known lead: what will be stored, or found stored."""

    lead_id: int
    type: str
    occurred_at: datetime
    url: str
    properties: str  # as JSON text, what the column stores
    event_id: str | None
    dedupe_key: str


def _activities_ingest_batch(
    *, items: Sequence[ActivityItem], actor: User | None, create_unknown_leads: bool,
) -> list[ActivityOutcome]:
    now = timezone.now()
    outcomes: list[ActivityOutcome | None] = [None] * len(items)
    emails: dict[int, str] = {}
    for index, item in enumerate(items):
        errors: dict[str, list[str]] = {}
        if item.type not in _ACTIVITY_TYPES:
            errors["type"] = [f"“{item.type}” is not one of {', '.join(ActivityType.values)}."]
        if timezone.is_naive(item.occurred_at):
            errors["occurred_at"] = ["Give the time zone, e.g. 2025-03-01T09:30:00Z."]
        elif item.occurred_at > now:
            errors["occurred_at"] = ["An activity cannot happen in the future."]
        if problem := _too_long(item.url or "", _ACTIVITY_URL_MAX):
            errors["url"] = problem
        if problem := _too_long(item.event_id or "", _ACTIVITY_EVENT_ID_MAX):
            errors["event_id"] = problem
        if item.properties is not None and not isinstance(item.properties, dict):
            errors["properties"] = ["Must be an object."]
        if item.lead_id is None:
            if errors:
                # Its e-mail's own error goes with the others.
                try:
                    normalise_email(item.lead_email)
                except ValidationError as exc:
                    errors["lead_email"] = exc.messages
            else:
                # Checked below only if no lead has it: a stored lead's e-mail was checked when it was captured,
                # and the validator costs as much as the rest of an item.
                emails[index] = (item.lead_email or "").strip().lower()
        if errors:
            outcomes[index] = ActivityOutcome(status=ActivityStatus.ERROR, errors=errors)

    # Resolve the leads: one query by id, one by e-mail, one capture batch for the unknown e-mails.
    ids = {item.lead_id for index, item in enumerate(items) if outcomes[index] is None and item.lead_id is not None}
    owner_of = _lead_owners_known(ids) if ids else {}
    known_ids = set(owner_of)
    by_email = _lead_owners_by_email(set(emails.values())) if emails else {}
    lead_of_email = {email: pk for email, (pk, _) in by_email.items()}
    owner_of.update(by_email.values())
    invalid: dict[str, list[str]] = {}
    for email in set(emails.values()) - set(lead_of_email):
        try:
            normalise_email(email)
        except ValidationError as exc:
            invalid[email] = exc.messages
    created_emails: set[str] = set()
    unknown = sorted(set(emails.values()) - set(lead_of_email) - set(invalid))
    if unknown and create_unknown_leads:
        captured = leads_capture_bulk(items=[CaptureItem(email=email) for email in unknown], actor=actor)
        for email, outcome in zip(unknown, captured, strict=True):
            lead_of_email[email] = outcome.lead_id
            created_emails.add(email)

    pending: list[tuple[int, _PendingActivity]] = []
    for index, item in enumerate(items):
        if outcomes[index] is not None:
            continue
        if item.lead_id is not None:
            lead_id = item.lead_id if item.lead_id in known_ids else None
            missing = {"lead_id": [f"No lead has the id {item.lead_id}."]}
        elif emails[index] in invalid:
            outcomes[index] = ActivityOutcome(status=ActivityStatus.ERROR, errors={"lead_email": invalid[emails[index]]})
            continue
        else:
            lead_id = lead_of_email.get(emails[index])
            missing = {"lead_email": ["No lead has this e-mail; send create_unknown_leads=true to create one."]}
        if lead_id is None:
            outcomes[index] = ActivityOutcome(status=ActivityStatus.ERROR, errors=missing)
            continue
        if lead_id in owner_of and _rep_may_not_change(actor, owner_of[lead_id]):
            field_name = "lead_id" if item.lead_id is not None else "lead_email"
            outcomes[index] = ActivityOutcome(status=ActivityStatus.ERROR, errors={field_name: [NOT_YOUR_LEAD]})
            continue
        event_id = (item.event_id or "").strip()
        url = item.url or ""
        pending.append((index, _PendingActivity(
            lead_id=lead_id, type=item.type, occurred_at=item.occurred_at, url=url,
            properties=json.dumps(item.properties) if item.properties else _EMPTY_PROPERTIES,
            event_id=event_id or None,
            dedupe_key=activity_dedupe_key(type=item.type, occurred_at=item.occurred_at, url=url, event_id=event_id),
        )))

    # Each event once: the first of the batch is inserted unless stored already; the rest are duplicates.
    fresh: dict[tuple[int, str], _PendingActivity] = {}
    for _, activity in pending:
        fresh.setdefault((activity.lead_id, activity.dedupe_key), activity)
    inserted, stored = _activities_insert(list(fresh.values()), now=now) if fresh else ({}, {})
    if inserted:
        latest: dict[int, datetime] = {}
        for (lead_id, key) in inserted:
            occurred_at = fresh[(lead_id, key)].occurred_at
            if lead_id not in latest or occurred_at > latest[lead_id]:
                latest[lead_id] = occurred_at
        _leads_touch(latest=latest)
    claimed: set[tuple[int, str]] = set()
    for index, activity in pending:
        key = (activity.lead_id, activity.dedupe_key)
        lead_created = items[index].lead_id is None and emails[index] in created_emails
        if key in inserted and key not in claimed:
            claimed.add(key)
            outcomes[index] = ActivityOutcome(status=ActivityStatus.CREATED, activity_id=inserted[key],
                                              lead_id=activity.lead_id, lead_created=lead_created)
        else:
            outcomes[index] = ActivityOutcome(status=ActivityStatus.DUPLICATE,
                                              activity_id=inserted.get(key) or stored[key],
                                              lead_id=activity.lead_id, lead_created=lead_created)
    return outcomes  # type: ignore[return-value]


def _lead_owners_known(ids: set[int]) -> dict[int, int | None]:
    """The owner of each of these leads that exists, by lead id."""
    # An id beyond bigint names no lead (and would make the array cast fail).
    ids = {pk for pk in ids if -(2**63) <= pk < 2**63}
    if connection.vendor == "postgresql":
        # One array parameter: the ORM's IN list of 5,000 placeholders costs more to build than the query.
        with connection.cursor() as cursor:
            cursor.execute(
                'SELECT l."id", l."owner_id" FROM unnest(%s::bigint[]) AS v("id") CROSS JOIN LATERAL '  # noqa: S608
                f'(SELECT "id", "owner_id" FROM "{Lead._meta.db_table}" WHERE "id" = v."id" LIMIT 1) l',
                [list(ids)],
            )
            return dict(cursor.fetchall())
    return dict(Lead.objects.filter(pk__in=ids).values_list("pk", "owner_id"))


def _lead_owners_by_email(emails: set[str]) -> dict[str, tuple[int, int | None]]:
    """(id, owner id) of the lead with each of these (normalised) e-mails, for those that have one."""
    if connection.vendor == "postgresql":
        # One index probe per e-mail (LIMIT 1 keeps the subquery a probe): with statistics that lag behind the
        # table (no ANALYZE since it grew), `email = ANY(...)` was planned as a scan of every lead.
        with connection.cursor() as cursor:
            cursor.execute(
                'SELECT l."email", l."id", l."owner_id" FROM unnest(%s::varchar[]) AS v("email") '  # noqa: S608
                f'CROSS JOIN LATERAL (SELECT "email", "id", "owner_id" FROM "{Lead._meta.db_table}" '
                'WHERE "email" = v."email" LIMIT 1) l',
                [list(emails)],
            )
            return {email: (pk, owner_id) for email, pk, owner_id in cursor.fetchall()}
    return {email: (pk, owner_id) for email, pk, owner_id in
            Lead.objects.filter(email__in=emails).values_list("email", "pk", "owner_id")}


def _activities_insert(
    activities: list[_PendingActivity], *, now: datetime,
) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """Stores the events not stored yet; returns (inserted, already stored), each id by (lead id, dedupe key).

    On PostgreSQL, one INSERT ... ON CONFLICT DO NOTHING over arrays: the unique (lead, dedupe key) index
    that every insert maintains anyway finds the duplicates, so there is no lookup before it (a join of
    5,000 pairs against the whole table, which the planner turned into a scan of every activity). Only the
    events it skipped are looked up afterwards, one index probe each; a concurrent request inserting the
    same event makes this one wait for it and then skip it.
    """
    if connection.vendor != "postgresql":
        stored = {(lead_id, key): pk for lead_id, key, pk in Activity.objects.filter(
            lead_id__in={a.lead_id for a in activities}, dedupe_key__in={a.dedupe_key for a in activities},
        ).values_list("lead_id", "dedupe_key", "pk")}
        rows = [Activity(lead_id=a.lead_id, type=a.type, occurred_at=a.occurred_at, url=a.url,
                         properties=json.loads(a.properties), created_at=now, event_id=a.event_id,
                         dedupe_key=a.dedupe_key)
                for a in activities if (a.lead_id, a.dedupe_key) not in stored]
        Activity.objects.bulk_create(rows, batch_size=500)
        return {(row.lead_id, row.dedupe_key): row.pk for row in rows}, stored

    table = Activity._meta.db_table
    # psycopg2's own cursor (see _insert_values): with DEBUG on, Django's would keep each 5,000-row statement.
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor
        cursor.execute(
            f'INSERT INTO "{table}" ("lead_id", "type", "occurred_at", "url", "properties", "created_at", '  # noqa: S608
            '"event_id", "dedupe_key") '
            'SELECT v."lead_id", v."type", v."occurred_at", v."url", v."properties"::jsonb, %s, v."event_id", '
            'v."dedupe_key" FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[], %s::varchar[], %s::text[], '
            '%s::varchar[], %s::varchar[]) AS v("lead_id", "type", "occurred_at", "url", "properties", "event_id", '
            '"dedupe_key") '
            'ON CONFLICT ("lead_id", "dedupe_key") DO NOTHING RETURNING "lead_id", "dedupe_key", "id"',
            [now, [a.lead_id for a in activities], [a.type for a in activities],
             [a.occurred_at for a in activities], [a.url for a in activities], [a.properties for a in activities],
             [a.event_id for a in activities], [a.dedupe_key for a in activities]],
        )
        inserted = {(lead_id, key): pk for lead_id, key, pk in cursor.fetchall()}
        skipped = [a for a in activities if (a.lead_id, a.dedupe_key) not in inserted]
        if not skipped:
            return inserted, {}
        # LIMIT 1 keeps the subquery a per-pair index probe whatever the table's (possibly stale) statistics.
        cursor.execute(
            'SELECT v."lead_id", v."key", s."id" FROM unnest(%s::bigint[], %s::varchar[]) AS v("lead_id", "key") '  # noqa: S608
            f'CROSS JOIN LATERAL (SELECT a."id" FROM "{table}" a WHERE a."lead_id" = v."lead_id" '
            'AND a."dedupe_key" = v."key" LIMIT 1) s',
            [[a.lead_id for a in skipped], [a.dedupe_key for a in skipped]],
        )
        return inserted, {(lead_id, key): pk for lead_id, key, pk in cursor.fetchall()}


def _leads_touch(*, latest: dict[int, datetime]) -> None:
    """Moves each lead's last-activity time to its newest activity from this batch, never back.

    Only this unindexed column changes, so on PostgreSQL the new row version stays on its page with no new
    index entry (a HOT update; the lead table keeps free room for it, see migration 0011). Moving the
    indexed updated_at as well made each touched lead an entry in every index of leads_lead, most of an
    activity batch's time. The leads are given in id order: a nested-loop plan then locks them in that order
    in every batch.
    """
    table = Lead._meta.db_table
    items = sorted(latest.items())
    if connection.vendor == "postgresql":
        # One statement over two arrays, whatever the number of leads (on psycopg2's own cursor, as above).
        with connection.cursor() as cursor:
            cursor.cursor.execute(
                f'UPDATE "{table}" SET "last_activity_at" = v."at" '  # noqa: S608 - names from the model
                f'FROM unnest(%s::bigint[], %s::timestamptz[]) AS v("id", "at") WHERE "{table}"."id" = v."id" '
                f'AND ("{table}"."last_activity_at" IS NULL OR "{table}"."last_activity_at" < v."at")',
                [[lead_id for lead_id, _ in items], [at for _, at in items]],
            )
        return
    for start in range(0, len(items), 1000):
        chunk = items[start:start + 1000]
        placeholders = ", ".join(["(%s, %s)"] * len(chunk))
        params: list[Any] = []
        for lead_id, occurred_at in chunk:
            params.extend([lead_id, connection.ops.adapt_datetimefield_value(occurred_at)])
        with connection.cursor() as cursor:
            cursor.execute(
                f'WITH v ("id", "at") AS (VALUES {placeholders}) '  # noqa: S608 - names from the model
                f'UPDATE "{table}" SET "last_activity_at" = v."at" FROM v WHERE "{table}"."id" = v."id" '
                f'AND ("{table}"."last_activity_at" IS NULL OR "{table}"."last_activity_at" < v."at")',
                params,
            )


@transaction.atomic
def activity_record(
    *, lead: Lead, type: str, occurred_at: datetime, url: str = "", properties: dict[str, Any] | None = None,
    event_id: str = "",
) -> Activity:
    """Appends one activity to a lead's timeline and keeps the lead's last-activity time current."""
    [outcome] = activities_ingest(
        items=[ActivityItem(type=type, occurred_at=occurred_at, lead_id=lead.pk, url=url, properties=properties,
                            event_id=event_id)],
        actor=None,
    )
    if outcome.status == ActivityStatus.ERROR:
        raise ValidationError(outcome.errors)
    return Activity.objects.get(pk=outcome.activity_id)
