"""The lead API (under /api/v1/): the same services and access rules as the pages."""

from django.core.paginator import Paginator
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from leads.filters import LeadFilter
from leads.models import Lead, Seniority, Stage, StageChange
from leads.selectors import lead_get_for_user, leads_for_list
from leads.services import lead_capture, lead_change_stage
from smarketing.roles import Action


class LeadOutputSerializer(serializers.ModelSerializer):
    company = serializers.CharField(source="company.name", default=None)
    company_domain = serializers.CharField(source="company.domain", default=None)
    owner = serializers.EmailField(source="owner.email", default=None)

    class Meta:
        model = Lead
        fields = [
            "id", "email", "first_name", "last_name", "phone", "job_title", "seniority", "country",
            "company", "company_domain", "source", "campaign", "utm_source", "utm_medium", "utm_campaign",
            "utm_term", "utm_content", "owner", "stage", "stage_entered_at", "created_at", "updated_at",
            "last_activity_at", "do_not_contact", "properties", "duplicate_attempts",
        ]


class LeadCaptureSerializer(serializers.Serializer):
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


class StageChangeInputSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=Stage.choices)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class StageChangeOutputSerializer(serializers.ModelSerializer):
    changed_by = serializers.EmailField(source="changed_by.email", default=None)

    class Meta:
        model = StageChange
        fields = ["id", "lead", "from_stage", "to_stage", "changed_at", "changed_by", "reason", "note"]


@api_view(["GET", "POST"])
def lead_collection(request: Request) -> Response:
    if request.method == "GET":
        lead_filter = LeadFilter(request.query_params, queryset=leads_for_list())
        if not lead_filter.is_valid():
            return Response({"error": {"status": 400, "code": "invalid", "message": "Some filters are invalid.",
                                       "fields": lead_filter.errors}}, status=status.HTTP_400_BAD_REQUEST)
        page = Paginator(lead_filter.qs, 100).get_page(request.query_params.get("page"))
        return Response({
            "count": page.paginator.count,
            "page": page.number,
            "pages": page.paginator.num_pages,
            "results": LeadOutputSerializer(page.object_list, many=True).data,
        })
    if not request.user.can(Action.LEAD_CREATE):
        return Response({"error": {"status": 403, "code": "permission_denied",
                                   "message": "Your role cannot create leads.", "fields": {}}}, status=403)
    serializer = LeadCaptureSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = dict(serializer.validated_data)
    email = data.pop("email")
    result = lead_capture(
        email=email, company_name=data.pop("company", ""), company_domain=data.pop("company_domain", ""),
        properties=data.pop("properties", None), fields={**data, "country": data.get("country", "").upper()},
        actor=request.user,
    )
    body = LeadOutputSerializer(result.lead).data
    body["duplicate_attempt"] = result.duplicate_attempt
    return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


@api_view(["GET"])
def lead_item(request: Request, lead_id: int) -> Response:
    lead = lead_get_for_user(user=request.user, lead_id=lead_id)
    return Response(LeadOutputSerializer(lead).data)


@api_view(["POST"])
def lead_stage(request: Request, lead_id: int) -> Response:
    lead = lead_get_for_user(user=request.user, lead_id=lead_id, write=True)
    serializer = StageChangeInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    change = lead_change_stage(lead=lead, actor=request.user, **serializer.validated_data)
    return Response(StageChangeOutputSerializer(change).data, status=status.HTTP_201_CREATED)
