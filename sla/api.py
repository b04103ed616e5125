"""The handoff API (under /api/v1/): handoffs, contact attempts and feedback, through the same services and
access rules as the pages. A conflict (the lead was handed off meanwhile) is a 409 in the common error shape."""

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from leads.api import (
    ErrorSerializer,
    LeadOutputSerializer,
    PageQuerySerializer,
    StrictInputSerializer,
    page_number,
)
from leads.models import ContactAttempt, Feedback, Reason, Stage
from leads.selectors import lead_get_for_user
from leads.selectors_followup import lead_contact_attempts, lead_feedback
from sla.models import Handoff
from sla.selectors import QUEUE_STAGES, handoff_get_for_user, handoffs_for_queue
from sla.services import (
    HandoffConflict,
    Verdict,
    contact_attempt_log,
    feedback_give,
    handoff_accept,
    handoff_create,
    handoff_move_on,
    handoff_reassign,
    handoff_reject,
    lead_route,
)
from sla.services_privacy import lead_erase, lead_export_personal_data
from smarketing.converters import ROW_ID_MAX
from smarketing.models import User
from smarketing.roles import Action, Role

ERRORS = {code: ErrorSerializer for code in (400, 401, 403, 404, 413, 415, 429)}


def _page_of(name: str, serializer: type[serializers.Serializer]):
    return inline_serializer(name, fields={
        "count": serializers.IntegerField(), "page": serializers.IntegerField(), "pages": serializers.IntegerField(),
        "results": serializer(many=True),
    })


def _list_of(name: str, serializer: type[serializers.Serializer]):
    return inline_serializer(name, fields={"results": serializer(many=True)})


def _conflict(error: HandoffConflict) -> Response:
    return Response({"error": {"status": 409, "code": "already_handed_off", "message": " ".join(error.messages),
                               "fields": {}}}, status=status.HTTP_409_CONFLICT)


class HandoffOutputSerializer(serializers.ModelSerializer):
    lead_email = serializers.EmailField(source="lead.email")
    lead_stage = serializers.CharField(source="lead.stage")
    rep = serializers.EmailField(source="rep.email")
    handed_off_by = serializers.EmailField(source="handed_off_by.email", default=None, allow_null=True)
    routing_rule = serializers.CharField(source="routing_rule.name", default=None, allow_null=True)
    rejection_reason = serializers.CharField(source="rejection_reason.label", default=None, allow_null=True)
    outcome = serializers.CharField(help_text="The stage the lead left sales in, once the handoff closed.")

    class Meta:
        model = Handoff
        fields = [
            "id", "lead", "lead_email", "lead_stage", "rep", "handed_off_by", "created_at", "routing_rule", "note",
            "status", "accepted_at", "rejected_at", "rejection_reason", "rejection_comment", "closed_at", "outcome",
            "deal_amount", "expected_close_on", "won_amount", "first_attempt_at", "attempt_count",
            "first_attempt_due_at", "attempts_due_at", "attempts_required", "sla_version_number", "previous",
            "summary",
        ]


class HandoffCreateSerializer(StrictInputSerializer):
    lead = serializers.IntegerField(min_value=1, max_value=ROW_ID_MAX)
    rep = serializers.EmailField(required=False, help_text="Leave out to let the routing rules choose.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class RejectSerializer(StrictInputSerializer):
    reason = serializers.CharField(max_length=120, help_text="A rejection reason from the list, as spelled there.")
    comment = serializers.CharField(max_length=2000)
    quality = serializers.IntegerField(min_value=1, max_value=5)
    disqualify = serializers.BooleanField(default=False)
    disqualification_reason = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    objection = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class MoveSerializer(StrictInputSerializer):
    to = serializers.ChoiceField(choices=[Stage.SQL, Stage.OPPORTUNITY, Stage.WON, Stage.LOST, Stage.RECYCLED,
                                          Stage.DISQUALIFIED])
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True, default=None)
    expected_close_on = serializers.DateField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    quality = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True, default=None)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    objection = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class ReassignSerializer(StrictInputSerializer):
    rep = serializers.EmailField()
    reason = serializers.CharField(max_length=300)


class AttemptSerializer(serializers.ModelSerializer):
    rep = serializers.EmailField(source="rep.email", read_only=True)
    objection = serializers.CharField(source="objection.label", default=None, allow_null=True, read_only=True)

    class Meta:
        model = ContactAttempt
        fields = ["id", "lead", "rep", "channel", "outcome", "notes", "occurred_at", "objection", "idempotency_key",
                  "created_at"]


class AttemptInputSerializer(StrictInputSerializer):
    channel = serializers.ChoiceField(choices=ContactAttempt.Channel.choices)
    outcome = serializers.ChoiceField(choices=ContactAttempt.Outcome.choices)
    occurred_at = serializers.DateTimeField()
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    objection = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    idempotency_key = serializers.CharField(max_length=64, required=False,
                                            help_text="Or send the Idempotency-Key header.")


class FeedbackSerializer(serializers.ModelSerializer):
    author = serializers.EmailField(source="author.email", read_only=True)
    reason = serializers.CharField(source="reason.label", default=None, allow_null=True, read_only=True)
    objection = serializers.CharField(source="objection.label", default=None, allow_null=True, read_only=True)

    class Meta:
        model = Feedback
        fields = ["id", "lead", "author", "kind", "quality", "reason", "text", "objection", "created_at"]


class FeedbackInputSerializer(StrictInputSerializer):
    quality = serializers.IntegerField(min_value=1, max_value=5)
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    objection = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)


def _rep(email: str) -> User:
    rep = User.objects.filter(email=email.strip().lower()).first()
    if rep is None:
        raise serializers.ValidationError({"rep": ["No user has this e-mail."]})
    return rep


def _reason(label: str, kinds: list[str]) -> Reason | None:
    if not label.strip():
        return None
    reason = Reason.objects.filter(kind__in=kinds, is_active=True, label__iexact=label.strip()).first()
    if reason is None:
        raise serializers.ValidationError({"reason": [f"“{label}” is not on the list."]})
    return reason


class HandoffQueueQuerySerializer(PageQuerySerializer):
    rep = serializers.CharField(required=False, allow_blank=True,
                                help_text="A sales manager's view of one rep, by e-mail.")
    # An unknown stage is a 400, never the whole queue as if no stage had been asked for.
    stage = serializers.ChoiceField(choices=list(QUEUE_STAGES), required=False, allow_blank=True)


@extend_schema(methods=["GET"], operation_id="handoffs_queue", parameters=[HandoffQueueQuerySerializer], responses={200: _page_of("HandoffPage", HandoffOutputSerializer), **ERRORS})
@extend_schema(methods=["POST"], operation_id="handoffs_create", request=HandoffCreateSerializer,
               description="Hands an MQL to `rep`, or to the rep the routing rules choose when `rep` is left out. "
                           "409 when the lead was handed off meanwhile; 422 when no rule finds a rep with room.",
               responses={201: HandoffOutputSerializer, 409: ErrorSerializer, 422: ErrorSerializer, **ERRORS})
@api_view(["GET", "POST"])
def handoff_collection(request: Request) -> Response:
    """GET: open handoffs, most urgent first (a rep's own; managers pass ?rep=<e-mail> or see all).
    POST: hand a lead off, to `rep` or by the routing rules."""
    user = request.user
    if request.method == "GET":
        query = page_number(request, HandoffQueueQuerySerializer)
        if user.can(Action.QUEUE_VIEW_TEAM):
            email = query.get("rep", "")
            reps = _rep(email) if email else User.objects.filter(role=Role.SALES_REP)
        elif user.can(Action.QUEUE_WORK):
            reps = user
        else:
            raise PermissionDenied("The queue is for sales.")
        handoffs = handoffs_for_queue(reps=reps, stage=query.get("stage", ""))
        page = Paginator(handoffs, 100).get_page(query["page"])
        return Response({"count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages,
                         "results": HandoffOutputSerializer(page.object_list, many=True).data})
    if not user.can(Action.HANDOFF_CREATE):
        raise PermissionDenied("Only marketing and managers hand leads off to sales.")
    serializer = HandoffCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    lead = lead_get_for_user(user=user, lead_id=data["lead"])
    try:
        if data.get("rep"):
            handoff = handoff_create(lead=lead, rep=_rep(data["rep"]), actor=user, note=data["note"])
        else:
            handoff = lead_route(lead=lead, actor=user)
            if handoff is None:
                return Response({"error": {"status": 422, "code": "unrouted", "fields": {},
                                           "message": "No routing rule matches this lead, or no rep has room."}},
                                status=422)
    except HandoffConflict as error:
        return _conflict(error)
    return Response(HandoffOutputSerializer(handoff).data, status=status.HTTP_201_CREATED)


@extend_schema(operation_id="handoffs_retrieve", responses={200: HandoffOutputSerializer, **ERRORS})
@api_view(["GET"])
def handoff_item(request: Request, handoff_id: int) -> Response:
    return Response(HandoffOutputSerializer(handoff_get_for_user(user=request.user, handoff_id=handoff_id)).data)


@extend_schema(operation_id="handoffs_accept", request=None, responses={200: HandoffOutputSerializer, **ERRORS})
@api_view(["POST"])
def handoff_accept_endpoint(request: Request, handoff_id: int) -> Response:
    handoff = handoff_get_for_user(user=request.user, handoff_id=handoff_id, write=True)
    return Response(HandoffOutputSerializer(handoff_accept(handoff=handoff, actor=request.user)).data)


@extend_schema(operation_id="handoffs_reject", request=RejectSerializer,
               responses={200: HandoffOutputSerializer, **ERRORS})
@api_view(["POST"])
def handoff_reject_endpoint(request: Request, handoff_id: int) -> Response:
    handoff = handoff_get_for_user(user=request.user, handoff_id=handoff_id, write=True)
    serializer = RejectSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    handoff = handoff_reject(
        handoff=handoff, actor=request.user, reason=_reason(data["reason"], [Reason.Kind.REJECTION]),
        verdict=Verdict(quality=data["quality"], text=data["comment"], objection=data["objection"]),
        disqualify=data["disqualify"], disqualification_reason=data["disqualification_reason"],
    )
    return Response(HandoffOutputSerializer(handoff).data)


@extend_schema(operation_id="handoffs_move", request=MoveSerializer,
               responses={200: HandoffOutputSerializer, **ERRORS})
@api_view(["POST"])
def handoff_move_endpoint(request: Request, handoff_id: int) -> Response:
    handoff = handoff_get_for_user(user=request.user, handoff_id=handoff_id, write=True)
    serializer = MoveSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    handoff = handoff_move_on(
        handoff=handoff, actor=request.user, to=data["to"], amount=data["amount"],
        expected_close_on=data["expected_close_on"], reason=data["reason"],
        verdict=Verdict(quality=data["quality"], text=data["comment"], objection=data["objection"]),
    )
    return Response(HandoffOutputSerializer(handoff).data)


@extend_schema(operation_id="handoffs_reassign", request=ReassignSerializer,
               responses={201: HandoffOutputSerializer, 409: ErrorSerializer, **ERRORS})
@api_view(["POST"])
def handoff_reassign_endpoint(request: Request, handoff_id: int) -> Response:
    handoff = handoff_get_for_user(user=request.user, handoff_id=handoff_id)
    serializer = ReassignSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    try:
        successor = handoff_reassign(handoff=handoff, to_rep=_rep(serializer.validated_data["rep"]),
                                     actor=request.user, reason=serializer.validated_data["reason"])
    except HandoffConflict as error:
        return _conflict(error)
    return Response(HandoffOutputSerializer(successor).data, status=status.HTTP_201_CREATED)


@extend_schema(methods=["GET"], operation_id="leads_attempts_list",
               responses={200: _list_of("AttemptList", AttemptSerializer), **ERRORS})
@extend_schema(methods=["POST"], operation_id="leads_attempts_log", request=AttemptInputSerializer,
               parameters=[OpenApiParameter("Idempotency-Key", str, location=OpenApiParameter.HEADER,
                                            description="Or the idempotency_key field: the same key logs once.")],
               responses={201: AttemptSerializer, 200: AttemptSerializer, **ERRORS})
@api_view(["GET", "POST"])
def lead_attempts(request: Request, lead_id: int) -> Response:
    """GET: the lead's contact attempts. POST: log one; the same idempotency key again returns it (200)."""
    lead = lead_get_for_user(user=request.user, lead_id=lead_id)
    if request.method == "GET":
        return Response({"results": AttemptSerializer(lead_contact_attempts(lead=lead), many=True).data})
    serializer = AttemptInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    key = data.get("idempotency_key") or request.headers.get("Idempotency-Key", "")
    if not key:
        raise serializers.ValidationError({"idempotency_key": ["Send a one-time key (field or Idempotency-Key "
                                                               "header) so a retried request logs one attempt."]})
    attempt, created = contact_attempt_log(
        lead=lead, actor=request.user, channel=data["channel"], outcome=data["outcome"],
        occurred_at=data["occurred_at"], notes=data["notes"], objection=data["objection"], idempotency_key=key,
    )
    return Response(AttemptSerializer(attempt).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@extend_schema(methods=["GET"], operation_id="leads_feedback_list",
               responses={200: _list_of("FeedbackList", FeedbackSerializer), **ERRORS})
@extend_schema(methods=["POST"], operation_id="leads_feedback_give", request=FeedbackInputSerializer,
               responses={201: FeedbackSerializer, **ERRORS})
@api_view(["GET", "POST"])
def lead_feedback_endpoint(request: Request, lead_id: int) -> Response:
    lead = lead_get_for_user(user=request.user, lead_id=lead_id)
    if request.method == "GET":
        return Response({"results": FeedbackSerializer(lead_feedback(lead=lead), many=True).data})
    serializer = FeedbackInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    feedback = feedback_give(
        lead=lead, actor=request.user, quality=data["quality"], text=data["text"], objection=data["objection"],
        reason=_reason(data["reason"], [Reason.Kind.REJECTION, Reason.Kind.LOSS, Reason.Kind.DISQUALIFICATION]),
    )
    return Response(FeedbackSerializer(feedback).data, status=status.HTTP_201_CREATED)


# --- A data subject's requests ------------------------------------------------------------------------------

class LeadEraseInputSerializer(StrictInputSerializer):
    confirm_email = serializers.CharField(max_length=320, help_text="The lead's e-mail address, to confirm.")


@extend_schema(operation_id="leads_personal_data", responses={200: OpenApiTypes.OBJECT, **ERRORS},
               description="Everything kept about the lead (profile, company, activities, stage history, "
                           "handoffs, contact attempts, feedback, score breakdown, notes), for a data subject's "
                           "access request. Managers and admins; recorded in the audit log.")
@api_view(["GET"])
def lead_personal_data(request: Request, lead_id: int) -> Response:
    lead = lead_get_for_user(user=request.user, lead_id=lead_id)
    return Response(lead_export_personal_data(lead=lead, actor=request.user))


@extend_schema(operation_id="leads_erase", request=LeadEraseInputSerializer,
               description="Erases the person behind the lead on request: personal fields and notes are removed, "
                           "the lead's history stays anonymised in every figure. Managers and admins; "
                           "`confirm_email` must be the lead's address. Cannot be undone.",
               responses={200: LeadOutputSerializer, **ERRORS})
@api_view(["POST"])
def lead_erase_endpoint(request: Request, lead_id: int) -> Response:
    lead = lead_get_for_user(user=request.user, lead_id=lead_id)
    serializer = LeadEraseInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    lead = lead_erase(lead=lead, actor=request.user, confirm_email=serializer.validated_data["confirm_email"])
    return Response(LeadOutputSerializer(lead_get_for_user(user=request.user, lead_id=lead.pk)).data)
