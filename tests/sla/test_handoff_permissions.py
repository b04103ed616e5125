"""Who may do what with a handoff, as a matrix of role × action, through the pages and the API alike.

The cast: the rep the lead was handed to (owner), a teammate, a rep of another team, a marketer, the two
managers and an admin.
"""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from leads.models import ContactAttempt, Feedback, ObjectionAnswer, Reason, Stage
from sla.models import Handoff, RoutingRule
from sla.services import handoff_accept, handoff_create
from tests.factories import LeadFactory, ObjectionFactory

CAST = ["sales_rep", "other_rep", "outside_rep", "marketer", "marketing_manager", "sales_manager", "admin"]


@pytest.fixture
def pending(sales_rep, marketer):
    return handoff_create(lead=LeadFactory(stage=Stage.MQL), rep=sales_rep, actor=marketer)


@pytest.fixture
def accepted(pending, sales_rep):
    return handoff_accept(handoff=pending, actor=sales_rep)


def _now() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


# action → (who may, how it is done through the page, whether it happened)
def hand_off(client, ctx):
    lead = LeadFactory(stage=Stage.MQL)
    ctx["lead"] = lead
    return client.post(reverse("sla:handoff_create", args=[lead.pk]), {"rep": ctx["sales_rep"].pk})


def accept(client, ctx):
    return client.post(reverse("sla:handoff_accept", args=[ctx["pending"].pk]))


def reject(client, ctx):
    reason = Reason.objects.get(kind="rejection", label="No budget")
    return client.post(reverse("sla:handoff_reject", args=[ctx["pending"].pk]),
                       {"reason": reason.pk, "text": "No budget", "quality": "2", "disqualify": "0"})


def move_on(client, ctx):
    return client.post(reverse("sla:handoff_move", args=[ctx["accepted"].pk]), {"to": "sql"})


def log_attempt(client, ctx):
    return client.post(reverse("sla:attempt_log", args=[ctx["pending"].lead_id]),
                       {"channel": "call", "outcome": "connected", "occurred_at": _now(), "idempotency_key": "k"})


def give_feedback(client, ctx):
    return client.post(reverse("sla:feedback_give", args=[ctx["pending"].lead_id]), {"quality": "4", "text": "ok"})


def reassign(client, ctx):
    return client.post(reverse("sla:handoff_reassign", args=[ctx["pending"].pk]),
                       {"rep": ctx["other_rep"].pk, "reason": "Holiday"})


def answer_objection(client, ctx):
    objection = ObjectionFactory()
    return client.post(reverse("sla:objection_answer_add", args=[objection.pk]),
                       {"title": "ROI calculator", "url": "https://example.test/roi"})


def configure_routing(client, ctx):
    return client.post(reverse("sla:routing_rule_create"),
                       {"name": "All", "team": ctx["sales_rep"].team_id, "position": 1, "is_active": "on"})


def done(action: str, ctx) -> bool:
    return {
        "hand off": lambda: Handoff.objects.filter(lead=ctx.get("lead")).exists(),
        "accept": lambda: Handoff.objects.get(pk=ctx["pending"].pk).status == "accepted",
        "reject": lambda: Handoff.objects.get(pk=ctx["pending"].pk).status == "rejected",
        "move on": lambda: Handoff.objects.get(pk=ctx["accepted"].pk).lead.stage == Stage.SQL,
        "log attempt": lambda: ContactAttempt.objects.exists(),
        "give feedback": lambda: Feedback.objects.exists(),
        "reassign": lambda: Handoff.objects.get(pk=ctx["pending"].pk).status == "reassigned",
        "answer objection": lambda: ObjectionAnswer.objects.exists(),
        "configure routing": lambda: RoutingRule.objects.exists(),
    }[action]()


OWNER_AND_SALES_MANAGER = {"sales_rep", "sales_manager"}
MATRIX = {
    "hand off": (hand_off, {"marketer", "marketing_manager", "sales_manager", "admin"}),
    "accept": (accept, OWNER_AND_SALES_MANAGER),
    "reject": (reject, OWNER_AND_SALES_MANAGER),
    "move on": (move_on, OWNER_AND_SALES_MANAGER),
    "log attempt": (log_attempt, OWNER_AND_SALES_MANAGER),
    "give feedback": (give_feedback, OWNER_AND_SALES_MANAGER),
    "reassign": (reassign, {"marketing_manager", "sales_manager", "admin"}),
    "answer objection": (answer_objection, {"marketer", "marketing_manager", "admin"}),
    "configure routing": (configure_routing, {"marketing_manager", "sales_manager", "admin"}),
}


@pytest.mark.django_db
@pytest.mark.parametrize("who", CAST)
@pytest.mark.parametrize("action", list(MATRIX))
def test_the_pages_let_each_role_do_only_its_part(action, who, cast, client_for, request):
    act, allowed = MATRIX[action]
    ctx = dict(cast)
    if action in ("accept", "reject", "log attempt", "give feedback", "reassign"):
        ctx["pending"] = request.getfixturevalue("pending")
    if action == "move on":
        ctx["accepted"] = request.getfixturevalue("accepted")

    response = act(client_for(cast[who]), ctx)

    if who in allowed:
        assert response.status_code in (200, 302), response.content[:300]
        assert done(action, ctx), f"{who} should be able to {action}"
    else:
        assert response.status_code == 403
        assert not done(action, ctx), f"{who} must not {action}"


# --- The API applies the same rules -------------------------------------------------------------------------

def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


API_MATRIX = {
    "accept": OWNER_AND_SALES_MANAGER,
    "log attempt": OWNER_AND_SALES_MANAGER,
    "give feedback": OWNER_AND_SALES_MANAGER,
    "hand off": {"marketer", "marketing_manager", "sales_manager", "admin"},
    "reassign": {"marketing_manager", "sales_manager", "admin"},
}


def api_call(action: str, client: APIClient, ctx):
    handoff = ctx["pending"]
    if action == "accept":
        return client.post(reverse("api_handoff_accept", args=[handoff.pk]))
    if action == "log attempt":
        return client.post(reverse("api_lead_attempts", args=[handoff.lead_id]), {
            "channel": "call", "outcome": "connected", "occurred_at": timezone.now().isoformat()},
            format="json", headers={"Idempotency-Key": "api-1"})
    if action == "give feedback":
        return client.post(reverse("api_lead_feedback", args=[handoff.lead_id]), {"quality": 3, "text": "fine"},
                           format="json")
    if action == "hand off":
        ctx["lead"] = LeadFactory(stage=Stage.MQL)
        return client.post(reverse("api_handoff_collection"), {"lead": ctx["lead"].pk,
                                                               "rep": ctx["sales_rep"].email}, format="json")
    return client.post(reverse("api_handoff_reassign", args=[handoff.pk]),
                       {"rep": ctx["other_rep"].email, "reason": "Holiday"}, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize("who", CAST)
@pytest.mark.parametrize("action", list(API_MATRIX))
def test_the_api_lets_each_role_do_only_its_part(action, who, cast, pending):
    ctx = {**cast, "pending": pending}

    response = api_call(action, api(cast[who]), ctx)

    if who in API_MATRIX[action]:
        assert response.status_code in (200, 201), response.json()
        assert done(action, ctx)
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
        assert not done(action, ctx)


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "status"), [("sales_rep", 200), ("other_rep", 200), ("sales_manager", 200),
                                             ("admin", 200), ("marketer", 403), ("marketing_manager", 403)])
def test_the_queue_is_for_sales_and_admins(who, status, cast, client_for):
    assert client_for(cast[who]).get(reverse("sla:queue")).status_code == status
    assert api(cast[who]).get(reverse("api_handoff_collection")).status_code == status
