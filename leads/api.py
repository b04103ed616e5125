"""The lead and activity API (under /api/v1/): the same services and access rules as the pages."""

from datetime import datetime

from django.core.paginator import Paginator
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from leads.filters import LeadFilter
from leads.models import ActivityType, Lead, Seniority, Stage, StageChange
from leads.selectors import lead_get_for_user, leads_for_list
from leads.services import (
    ActivityItem,
    CaptureItem,
    CaptureStatus,
    activities_ingest,
    lead_capture,
    lead_change_stage,
    lead_update,
    leads_capture_bulk,
)
from smarketing.converters import ROW_ID_MAX
from smarketing.roles import Action

# Items per bulk request: big enough that an integration needs few requests, small enough that one
# request is one short transaction (1,000 leads ≈ 0.3 s, 5,000 activities ≈ 0.4 s on PostgreSQL).
BULK_LEADS_MAX = 1000
BULK_ACTIVITIES_MAX = 5000


class ErrorSerializer(serializers.Serializer):
    """The one shape of every 4xx (documentation only: smarketing.api.exception_handler writes it)."""

    error = inline_serializer("ErrorBody", fields={
        "status": serializers.IntegerField(),
        "code": serializers.CharField(),
        "message": serializers.CharField(),
        "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
    })


ERRORS = {code: ErrorSerializer for code in (400, 401, 403, 404, 413, 415, 429)}


class StrictInputSerializer(serializers.Serializer):
    """A request body that names a field the operation does not take is a 400 naming that field, never silently
    dropped: a `stage` sent to PATCH /leads/<id>/ would otherwise answer 200 as if the move had been made."""

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        errors = {str(name): ["This field is not accepted here."] for name in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if errors and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **errors}) from None
            raise
        if errors:
            raise serializers.ValidationError(errors)
        return value


class LeadOutputSerializer(serializers.ModelSerializer):
    company = serializers.CharField(source="company.name", default=None, allow_null=True)
    company_domain = serializers.CharField(source="company.domain", default=None, allow_null=True)
    owner = serializers.EmailField(source="owner.email", default=None, allow_null=True)

    class Meta:
        model = Lead
        fields = [
            "id", "email", "first_name", "last_name", "phone", "job_title", "seniority", "country",
            "company", "company_domain", "source", "campaign", "utm_source", "utm_medium", "utm_campaign",
            "utm_term", "utm_content", "owner", "stage", "stage_entered_at", "created_at", "updated_at",
            "last_activity_at", "do_not_contact", "properties", "duplicate_attempts",
        ]


class LeadCaptureOutputSerializer(LeadOutputSerializer):
    duplicate_attempt = serializers.BooleanField(help_text="The lead was already past `new`: flagged, not reset.")

    class Meta(LeadOutputSerializer.Meta):
        fields = [*LeadOutputSerializer.Meta.fields, "duplicate_attempt"]


class LeadCaptureSerializer(StrictInputSerializer):
    email = serializers.CharField(max_length=320)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)
    job_title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    seniority = serializers.ChoiceField(choices=Seniority.choices, required=False, allow_blank=True)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, allow_blank=True,
                                     error_messages={"invalid": "Use a two-letter country code, e.g. DE."})
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    company_domain = serializers.CharField(max_length=253, required=False, allow_blank=True)
    source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    campaign = serializers.CharField(max_length=200, required=False, allow_blank=True)
    utm_source = serializers.CharField(max_length=200, required=False, allow_blank=True)
    utm_medium = serializers.CharField(max_length=200, required=False, allow_blank=True)
    utm_campaign = serializers.CharField(max_length=200, required=False, allow_blank=True)
    utm_term = serializers.CharField(max_length=200, required=False, allow_blank=True)
    utm_content = serializers.CharField(max_length=200, required=False, allow_blank=True)
    do_not_contact = serializers.BooleanField(required=False)
    properties = serializers.DictField(required=False)


class LeadBulkItemSerializer(LeadCaptureSerializer):
    company_employees = serializers.IntegerField(min_value=0, max_value=2_147_483_647, required=False, allow_null=True)
    company_industry = serializers.CharField(max_length=100, required=False, allow_blank=True)
    company_annual_revenue = serializers.DecimalField(max_digits=15, decimal_places=2, required=False,
                                                      allow_null=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A CRM sends null for a value it does not have: in a bulk item a null text is the same as leaving it
        # out (see _lead_item_shape), and the schema says so.
        for name, field in self.fields.items():
            if name != "email" and isinstance(field, serializers.CharField | serializers.ChoiceField):
                field.allow_null = True


def _capture_item(data: dict) -> CaptureItem:
    data = dict(data)
    company_fields = {name: data.pop(f"company_{name}") for name in ("employees", "industry", "annual_revenue")
                      if f"company_{name}" in data}
    return CaptureItem(
        email=data.pop("email"), company_name=data.pop("company", ""), company_domain=data.pop("company_domain", ""),
        properties=data.pop("properties", None), company_fields=company_fields, fields=data,
    )


class LeadUpdateSerializer(StrictInputSerializer):
    """What an integration may edit on a lead: its profile. Stage, owner and score have their own paths."""

    email = serializers.CharField(max_length=320, required=False)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)
    job_title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    seniority = serializers.ChoiceField(choices=Seniority.choices, required=False, allow_blank=True)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, allow_blank=True,
                                     error_messages={"invalid": "Use a two-letter country code, e.g. DE."})
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    campaign = serializers.CharField(max_length=200, required=False, allow_blank=True)
    do_not_contact = serializers.BooleanField(required=False)


class StageChangeInputSerializer(StrictInputSerializer):
    to = serializers.ChoiceField(choices=Stage.choices)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class StageChangeOutputSerializer(serializers.ModelSerializer):
    changed_by = serializers.EmailField(source="changed_by.email", default=None, allow_null=True)

    class Meta:
        model = StageChange
        fields = ["id", "lead", "from_stage", "to_stage", "changed_at", "changed_by", "reason", "note"]


# In a query string an empty value (`?page=`) is read as not given, as DRF and the pages' forms read it; the
# schema says so.
@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "maxLength": 0}]})
class PageField(serializers.IntegerField):
    pass


@extend_schema_field({"oneOf": [{"type": "boolean"}, {"type": "string", "maxLength": 0}]})
class QueryFlagField(serializers.BooleanField):
    pass


class PageQuerySerializer(serializers.Serializer):
    """?page=N of a list: a number from 1 (past the last page answers the last one)."""

    page = PageField(min_value=1, required=False)


def page_number(request: Request, query: type[serializers.Serializer] = PageQuerySerializer) -> dict:
    """The list's query parameters, checked (a 400 with field errors for a bad one); `page` defaults to 1."""
    serializer = query(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return {"page": 1, **serializer.validated_data}


class LeadListQuerySerializer(PageQuerySerializer):
    # The page's filter reads anything but true/false as "either"; an integration's typo is a 400 instead.
    unassigned = QueryFlagField(required=False, help_text="true: leads without an owner; false: with one.")


def _or_empty(schema: dict) -> dict:
    # The filters are the lead page's form: an empty value (`?stage=`) means "any", as when a form sends it.
    return {"oneOf": [schema, {"type": "string", "maxLength": 0}]}


LEAD_FILTERS = [
    OpenApiParameter("q", str, description="Search in name, e-mail and company."),
    OpenApiParameter("stage", _or_empty({"type": "string", "enum": Stage.values})),
    OpenApiParameter("owner", _or_empty({"type": "integer"}), description="The owner's user id."),
    OpenApiParameter("source", str), OpenApiParameter("campaign", str),
    OpenApiParameter("country", _or_empty({"type": "string", "maxLength": 2})),
    OpenApiParameter("created_after", _or_empty({"type": "string", "format": "date"})),
    OpenApiParameter("created_before", _or_empty({"type": "string", "format": "date"})),
    OpenApiParameter("sort", str, description="name, email, company, stage, source, created, activity, score; "
                                              "a leading - sorts descending."),
    LeadListQuerySerializer,
]


def _ensure_can_create(request: Request) -> None:
    if not request.user.can(Action.LEAD_CREATE):
        raise PermissionDenied("Your role cannot create leads.")


@extend_schema(methods=["GET"], operation_id="leads_list", parameters=LEAD_FILTERS, responses={
    200: inline_serializer("LeadPage", fields={
        "count": serializers.IntegerField(), "page": serializers.IntegerField(),
        "pages": serializers.IntegerField(), "results": LeadOutputSerializer(many=True),
    }), **ERRORS})
@extend_schema(methods=["POST"], operation_id="leads_capture", request=LeadCaptureSerializer,
               description="Creates a lead, or updates the one with this e-mail (201 created, 200 updated). "
                           "Blank values never erase known ones; a lead past `new` is flagged, not reset.",
               responses={200: LeadCaptureOutputSerializer, 201: LeadCaptureOutputSerializer, **ERRORS})
@api_view(["GET", "POST"])
def lead_collection(request: Request) -> Response:
    if request.method == "GET":
        lead_filter = LeadFilter(request.query_params, queryset=leads_for_list())
        if not lead_filter.is_valid():
            return Response({"error": {"status": 400, "code": "invalid", "message": "Some filters are invalid.",
                                       "fields": lead_filter.errors}}, status=status.HTTP_400_BAD_REQUEST)
        query = page_number(request, LeadListQuerySerializer)
        page = Paginator(lead_filter.qs, 100).get_page(query["page"])
        return Response({
            "count": page.paginator.count,
            "page": page.number,
            "pages": page.paginator.num_pages,
            "results": LeadOutputSerializer(page.object_list, many=True).data,
        })
    _ensure_can_create(request)
    serializer = LeadCaptureSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    item = _capture_item(serializer.validated_data)
    result = lead_capture(email=item.email, fields=item.fields, company_name=item.company_name,
                          company_domain=item.company_domain, properties=item.properties, actor=request.user)
    body = LeadOutputSerializer(result.lead).data
    body["duplicate_attempt"] = result.duplicate_attempt
    return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


@extend_schema(methods=["GET"], operation_id="leads_retrieve", responses={200: LeadOutputSerializer, **ERRORS})
@extend_schema(methods=["PATCH"], operation_id="leads_update", request=LeadUpdateSerializer,
               description="Edits a lead's profile; a sales rep edits only their own leads.",
               responses={200: LeadOutputSerializer, **ERRORS})
@api_view(["GET", "PATCH"])
def lead_item(request: Request, lead_id: int) -> Response:
    if request.method == "GET":
        lead = lead_get_for_user(user=request.user, lead_id=lead_id)
        return Response(LeadOutputSerializer(lead).data)
    lead = lead_get_for_user(user=request.user, lead_id=lead_id, write=True)
    serializer = LeadUpdateSerializer(data=request.data, partial=True)
    serializer.is_valid(raise_exception=True)
    changes = dict(serializer.validated_data)
    company_name = changes.pop("company", None)
    if "country" in changes:
        changes["country"] = changes["country"].upper()
    lead = lead_update(lead=lead, actor=request.user, changes=changes, company_name=company_name)
    return Response(LeadOutputSerializer(lead_get_for_user(user=request.user, lead_id=lead.pk)).data)


@extend_schema(operation_id="leads_change_stage", request=StageChangeInputSerializer,
               description="Moves the lead by the lifecycle rules of the UI (who may make which move, reasons).",
               responses={201: StageChangeOutputSerializer, **ERRORS})
@api_view(["POST"])
def lead_stage(request: Request, lead_id: int) -> Response:
    lead = lead_get_for_user(user=request.user, lead_id=lead_id, write=True)
    serializer = StageChangeInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    change = lead_change_stage(lead=lead, actor=request.user, **serializer.validated_data)
    return Response(StageChangeOutputSerializer(change).data, status=status.HTTP_201_CREATED)


# --- Bulk ingest ------------------------------------------------------------------------------------------

class ParsedJSONField(serializers.JSONField):
    """A value the request's JSON parser already decoded: any JSON value, taken as it is.

    DRF's JSONField checks a value by encoding it again (json.dumps), which at 5,000 bulk items is a tenth of
    the request; what the parser decoded is JSON by construction. Each item's shape is checked in the view.
    """

    def to_internal_value(self, data: object) -> object:
        return data


class LeadBulkInputSerializer(StrictInputSerializer):
    # Items are checked one by one in the view (each gets its own errors); here only the envelope.
    # allow_null: a null item is that item's error ("Expected an object"), like any other item that is not one.
    leads = serializers.ListField(child=ParsedJSONField(allow_null=True), min_length=1, max_length=BULK_LEADS_MAX,
                                  help_text=f"Up to {BULK_LEADS_MAX} leads; each item as in POST /leads/.")


# Documentation of the items (the view validates each with LeadBulkItemSerializer).
class _LeadBulkDocSerializer(serializers.Serializer):
    leads = LeadBulkItemSerializer(many=True, max_length=BULK_LEADS_MAX)


class BulkItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's position in the request, from 0.")
    status = serializers.ChoiceField(choices=CaptureStatus.choices)
    id = serializers.IntegerField(allow_null=True, help_text="The lead's id.")
    duplicate_attempt = serializers.BooleanField()
    duplicate_of = serializers.IntegerField(allow_null=True, help_text="An earlier item with the same e-mail.")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class LeadBulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = serializers.IntegerField()
    results = BulkItemResultSerializer(many=True)


def _tally(results: list[dict], statuses: list[str]) -> dict[str, int]:
    counts = dict.fromkeys(statuses, 0)
    for result in results:
        counts[result["status"]] += 1
    return counts


# --- Shape checks for bulk items ---------------------------------------------------------------------------
# A DRF serializer costs ~0.5 ms per 20-field item: half the time of a 1,000-lead request. Bulk items are
# checked for shape here (types, unknown fields) in a few microseconds; their values (lengths, country,
# seniority, e-mail) are checked by the capture service, the one place for those rules, per item. The
# serializers above still describe the items in the OpenAPI schema.

_LEAD_TEXT = frozenset(name for name, f in LeadBulkItemSerializer().fields.items()
                       if isinstance(f, serializers.CharField | serializers.ChoiceField))
_TRUE_STRINGS = {"true": True, "false": False, "1": True, "0": False}


def _lead_item_shape(raw: object) -> tuple[dict, dict[str, list[str]]]:
    if not isinstance(raw, dict):
        return {}, {"non_field_errors": ["Expected an object with the lead's fields."]}
    data: dict = {}
    errors: dict[str, list[str]] = {}
    for name, value in raw.items():
        if name in _LEAD_TEXT:
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                errors[name] = ["Not a valid string."]
            else:
                data[name] = str(value)
        elif name == "do_not_contact":
            flag = _TRUE_STRINGS.get(str(value).lower()) if not isinstance(value, bool) else value
            if flag is None:
                errors[name] = ["Must be a valid boolean."]
            else:
                data[name] = flag
        elif name == "properties":
            if not isinstance(value, dict):
                errors[name] = ["Expected an object."]
            else:
                data[name] = value
        elif name in {"company_employees", "company_annual_revenue"}:
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float | str)):
                errors[name] = ["A valid number is required."]
            elif value is not None:
                data[name] = value
        else:
            errors[name] = ["This field is not part of a lead."]
    if not str(data.get("email", "")).strip() and "email" not in errors:
        errors["email"] = ["This field is required."]
    return data, errors


def _activity_item_shape(raw: object) -> tuple[dict, dict[str, list[str]]]:
    if not isinstance(raw, dict):
        return {}, {"non_field_errors": ["Expected an object with the activity's fields."]}
    errors: dict[str, list[str]] = {}
    unknown = set(raw) - {"lead_id", "lead_email", "type", "occurred_at", "url", "properties", "event_id"}
    for name in sorted(unknown):
        errors[name] = ["This field is not part of an activity."]
    lead_id = raw.get("lead_id")
    if lead_id is not None and (isinstance(lead_id, bool) or not isinstance(lead_id, int)):
        errors["lead_id"] = ["A valid integer is required."]
    elif lead_id is not None and not 1 <= lead_id <= ROW_ID_MAX:
        # Beyond a 64-bit integer the database would fail on the query; no lead has such an id anyway.
        errors["lead_id"] = ["No lead has this id."]
    texts = {}
    for name in ("lead_email", "type", "url", "event_id"):
        value = raw.get(name)
        if value is not None and not isinstance(value, str):
            errors[name] = ["Not a valid string."]
        texts[name] = value or ""
    if isinstance(texts["lead_email"], str) and len(texts["lead_email"]) > 320:
        # Checked even when lead_id names the lead: an item is valid as a whole or answered with its errors.
        errors["lead_email"] = ["Ensure this field has no more than 320 characters."]
    if lead_id is None and not texts["lead_email"] and "lead_email" not in errors:
        errors["lead_email"] = ["Name the lead by lead_id or lead_email."]
    if not texts["type"] and "type" not in errors:
        errors["type"] = ["This field is required."]
    occurred_at = None
    try:
        occurred_at = datetime.fromisoformat(raw["occurred_at"])
    except KeyError:
        errors["occurred_at"] = ["This field is required."]
    except (TypeError, ValueError):
        errors["occurred_at"] = ["Use an ISO 8601 date-time with a time zone, e.g. 2025-03-01T09:30:00Z."]
    properties = raw.get("properties")
    if properties is not None and not isinstance(properties, dict):
        errors["properties"] = ["Expected an object."]
    return {"lead_id": lead_id, "occurred_at": occurred_at, "properties": properties, **texts}, errors


@extend_schema(
    operation_id="leads_bulk_upsert", request=_LeadBulkDocSerializer,
    description=(
        f"Creates or updates up to {BULK_LEADS_MAX} leads by e-mail, by the same rules as POST /leads/. "
        "The answer lists each item's outcome in order: `created`, `updated`, `unchanged` (the same data as "
        "the lead's last capture: a replayed request changes nothing) or `error` with its field errors. "
        "Valid items are kept even when others fail."
    ),
    responses={200: LeadBulkResultSerializer, **ERRORS},
)
@api_view(["POST"])
def lead_bulk(request: Request) -> Response:
    _ensure_can_create(request)
    envelope = LeadBulkInputSerializer(data=request.data)
    envelope.is_valid(raise_exception=True)
    raw_items = envelope.validated_data["leads"]
    items: list[CaptureItem] = []
    positions: list[int] = []
    results: list[dict] = [{}] * len(raw_items)
    for index, raw in enumerate(raw_items):
        data, errors = _lead_item_shape(raw)
        if errors:
            results[index] = {"index": index, "status": CaptureStatus.ERROR.value, "id": None,
                              "duplicate_attempt": False, "duplicate_of": None, "errors": errors}
            continue
        items.append(_capture_item(data))
        positions.append(index)
    outcomes = leads_capture_bulk(items=items, actor=request.user) if items else []
    for index, outcome in zip(positions, outcomes, strict=True):
        results[index] = {
            "index": index, "status": outcome.status.value if hasattr(outcome.status, "value") else outcome.status,
            "id": outcome.lead_id, "duplicate_attempt": outcome.duplicate_attempt,
            "duplicate_of": positions[outcome.duplicate_of] if outcome.duplicate_of is not None else None,
            "errors": outcome.errors,
        }
    counts = _tally(results, ["created", "updated", "unchanged", "skipped", "error"])
    return Response({"created": counts["created"], "updated": counts["updated"], "unchanged": counts["unchanged"],
                     "errors": counts["error"], "results": results})


class ActivityItemSerializer(StrictInputSerializer):
    lead_id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=ROW_ID_MAX,
                                       help_text="The lead, by id…")
    # null is the same as leaving a field out (see _activity_item_shape).
    lead_email = serializers.CharField(max_length=320, required=False, allow_blank=True, allow_null=True,
                                       help_text="…or by e-mail.")
    type = serializers.ChoiceField(choices=ActivityType.choices)
    occurred_at = serializers.DateTimeField(help_text="With a time zone, e.g. 2025-03-01T09:30:00Z.")
    url = serializers.CharField(max_length=2000, required=False, allow_blank=True, allow_null=True, default="")
    properties = serializers.DictField(required=False, allow_null=True)
    event_id = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True, default="",
                                     help_text="Your id for the event: the same id twice is kept once.")

    def validate(self, attrs: dict) -> dict:
        if attrs.get("lead_id") is None and not attrs.get("lead_email"):
            raise serializers.ValidationError({"lead_email": ["Name the lead by lead_id or lead_email."]})
        return attrs


class ActivityBulkInputSerializer(StrictInputSerializer):
    activities = serializers.ListField(child=ParsedJSONField(allow_null=True), min_length=1,
                                       max_length=BULK_ACTIVITIES_MAX)
    create_unknown_leads = serializers.BooleanField(
        default=False, help_text="Create a lead for an e-mail no lead has (else that item is an error).")


class _ActivityBulkDocSerializer(serializers.Serializer):
    activities = ActivityItemSerializer(many=True, max_length=BULK_ACTIVITIES_MAX)
    create_unknown_leads = serializers.BooleanField(default=False)


class ActivityItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "duplicate", "error"])
    id = serializers.IntegerField(allow_null=True, help_text="The activity's id (the stored one for a duplicate).")
    lead_id = serializers.IntegerField(allow_null=True)
    lead_created = serializers.BooleanField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ActivityBulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    errors = serializers.IntegerField()
    results = ActivityItemResultSerializer(many=True)


@extend_schema(
    operation_id="activities_bulk_ingest", request=_ActivityBulkDocSerializer,
    description=(
        f"Records up to {BULK_ACTIVITIES_MAX} activities, each naming its lead by `lead_id` or `lead_email`. "
        "The same event twice (same `event_id`, or same lead, type, time and URL) is kept once and answered "
        "`duplicate`; an unknown e-mail is created as a lead with `create_unknown_leads`, else an `error`."
    ),
    responses={200: ActivityBulkResultSerializer, **ERRORS},
)
@api_view(["POST"])
def activity_bulk(request: Request) -> Response:
    _ensure_can_create(request)
    envelope = ActivityBulkInputSerializer(data=request.data)
    envelope.is_valid(raise_exception=True)
    raw_items = envelope.validated_data["activities"]
    items: list[ActivityItem] = []
    positions: list[int] = []
    results: list[dict] = [{}] * len(raw_items)
    for index, raw in enumerate(raw_items):
        data, errors = _activity_item_shape(raw)
        if errors:
            results[index] = {"index": index, "status": "error", "id": None, "lead_id": None, "lead_created": False,
                              "errors": errors}
            continue
        items.append(ActivityItem(
            type=data["type"], occurred_at=data["occurred_at"], lead_id=data.get("lead_id"),
            lead_email=data.get("lead_email", ""), url=data["url"], properties=data.get("properties"),
            event_id=data["event_id"],
        ))
        positions.append(index)
    outcomes = activities_ingest(items=items, actor=request.user,
                                 create_unknown_leads=envelope.validated_data["create_unknown_leads"]) if items else []
    for index, outcome in zip(positions, outcomes, strict=True):
        results[index] = {"index": index, "status": str(outcome.status), "id": outcome.activity_id,
                          "lead_id": outcome.lead_id, "lead_created": outcome.lead_created, "errors": outcome.errors}
    counts = _tally(results, ["created", "duplicate", "error"])
    return Response({"created": counts["created"], "duplicates": counts["duplicate"], "errors": counts["error"],
                     "results": results})
