"""Who may do what: every role against every URL of the UI and the API, with the answer written down.

One row per action (method, URL name and arguments, the answer of each role); one parametrised test
sends the request as each role and compares. The completeness check fails when a URL pattern has no
row, so a new page or endpoint cannot ship without saying who may use it.

The cast (tests/conftest.py): `sales_rep` owns the lead and its open handoff; `other_rep` is a teammate
who may read it but never change it. The API tokens act as the sales manager, so their scope (read,
write) and revocation are what differs from the manager's own session. Answers:

- ALLOWED: the permission checks let the request through (2xx, a redirect inside the app, or a 400 /
  form error on the data: the request reached the service, which is where a role that may not is refused);
- 403, 404, 401, 410: that status;
- LOGIN: a redirect to the login page (a page asked without a session; a bearer token never opens a page).

Each role's request runs in a savepoint that is rolled back, so every role meets the same world.
"""

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from dashboards.models import ActionItem, CalibrationSnapshot, Meeting, SharedLink
from dashboards.services import shared_link_token
from leads.models import LeadImport, Reason, Stage
from scoring.models import Criteria, VersionStatus
from sla.models import ClosedDay
from smarketing.models import ApiToken, WebhookDelivery, WebhookEvent
from smarketing.services import api_token_create, api_token_revoke
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    CriteriaFactory,
    DefinitionVersionFactory,
    EngagementRuleFactory,
    FeedbackFactory,
    FitRuleFactory,
    GoalFactory,
    HandoffFactory,
    LeadFactory,
    NotificationFactory,
    ObjectionAnswerFactory,
    ObjectionFactory,
    PersonaFactory,
    RoutingRuleFactory,
    ScoringVersionFactory,
    SlaVersionFactory,
    StageChangeFactory,
    WebhookEndpointFactory,
)

ALLOWED, LOGIN = "allowed", "login"
OK, NO, NF, L = ALLOWED, 403, 404, LOGIN

UI_ROLES = ("marketer", "sales_rep", "other_rep", "marketing_manager", "sales_manager", "admin", "anonymous")
TOKEN_ROLES = ("token_read", "token_write", "token_revoked")
ROLES = UI_ROLES + TOKEN_ROLES


@dataclass(frozen=True)
class Row:
    method: str
    name: str
    args: tuple[str, ...]
    answers: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    api: bool = False
    label: str = ""

    @property
    def id(self) -> str:
        return " ".join(filter(None, (self.method, self.name, self.label)))


def ui(method: str, name: str, args: tuple[str, ...], answers: tuple, data: dict | None = None,
       label: str = "") -> Row:
    """A page or form of the UI: seven answers, in UI_ROLES order.

    A bearer token is no session: the pages answer it as they answer anonymous.
    """
    assert len(answers) == len(UI_ROLES), name
    by_role = dict(zip(UI_ROLES, answers, strict=True))
    return Row(method, name, args, {**by_role, **dict.fromkeys(TOKEN_ROLES, by_role["anonymous"])}, data or {},
               label=label)


def api(method: str, name: str, args: tuple[str, ...], answers: tuple, data: dict | None = None,
        label: str = "") -> Row:
    """An API endpoint: ten answers, in ROLES order (anonymous gets 403, a revoked token 401)."""
    assert len(answers) == len(ROLES), name
    return Row(method, name, args, dict(zip(ROLES, answers, strict=True)), data or {}, api=True, label=label)


# Arguments name objects of the world built below (`lead`, `handoff`, ...) or are literals (`=scoring`).
ATTEMPT = {"channel": "call", "outcome": "no_answer", "occurred_at": "2026-01-05T10:00", "notes": "Left a message",
           "idempotency_key": "matrix-attempt-1"}
FEEDBACK = {"quality": "3", "text": "Knows what they want."}
API_ATTEMPT = {"channel": "call", "outcome": "no_answer", "occurred_at": "2026-01-05T10:00:00Z",
               "idempotency_key": "matrix-attempt-api"}

#                                                                  mkt  rep  oth  mm   sm   adm  anon
MATRIX: list[Row] = [
    # --- Home, account, notifications -----------------------------------------------------------------
    ui("GET", "home", (),                                         (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "login", (),                                        (OK, OK, OK, OK, OK, OK, OK)),
    ui("POST", "logout", (),                                      (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "password_change", (),                              (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "password_change_done", (),                         (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "health", (),                                       (OK, OK, OK, OK, OK, OK, OK)),
    ui("GET", "notifications", (),                                (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "notification_bell", (),                            (OK, OK, OK, OK, OK, OK, 286)),
    ui("POST", "notifications_read", (),                          (OK, OK, OK, OK, OK, OK, L)),
    # A notification opens for its recipient (the rep) only.
    ui("GET", "notification_open", ("notification",),             (NF, OK, NF, NF, NF, NF, L)),
    # --- Integrations (admins) ------------------------------------------------------------------------
    ui("GET", "api_token_list", (),                               (NO, NO, NO, NO, NO, OK, L)),
    ui("POST", "api_token_list", (),                              (NO, NO, NO, NO, NO, OK, L),
       {"name": "CRM sync", "user": "@sales_rep", "scope": "read"}),
    ui("POST", "api_token_revoke", ("token_read",),               (NO, NO, NO, NO, NO, OK, L)),
    ui("GET", "webhook_list", (),                                 (NO, NO, NO, NO, NO, OK, L)),
    ui("GET", "webhook_detail", ("webhook",),                     (NO, NO, NO, NO, NO, OK, L)),
    ui("POST", "webhook_delete", ("webhook",),                    (NO, NO, NO, NO, NO, OK, L)),
    ui("POST", "webhook_delivery_retry", ("delivery",),           (NO, NO, NO, NO, NO, OK, L)),
    ui("GET", "admin:index", (),                                  (L, L, L, L, L, OK, L)),
    # --- Leads and companies --------------------------------------------------------------------------
    ui("GET", "leads:lead_list", (),                              (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "leads:lead_create", (),                            (OK, OK, OK, OK, OK, OK, L)),
    ui("POST", "leads:lead_create", (),                           (OK, OK, OK, OK, OK, OK, L),
       {"email": "new.person@example.org", "first_name": "New"}),
    # Capturing the e-mail of an existing lead updates it: a rep may do so only for a lead they own.
    ui("POST", "leads:lead_create", (),                           (OK, OK, NO, OK, OK, OK, L),
       {"email": "lena.lead@example.org", "first_name": "Overwritten"}, label="existing lead"),
    ui("GET", "leads:lead_detail", ("lead",),                     (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "leads:lead_edit", ("lead",),                       (OK, OK, NO, OK, OK, OK, L)),
    ui("POST", "leads:lead_edit", ("lead",),                      (OK, OK, NO, OK, OK, OK, L),
       {"email": "lena.lead@example.org", "first_name": "Lena", "last_name": "Changed"}),
    ui("POST", "leads:lead_stage_change", ("lead",),              (OK, OK, NO, OK, OK, OK, L),
       {"to": "recycled", "reason": "Not now"}),
    # A data subject's requests: managers and admins (smarketing.roles: LEAD_PERSONAL_DATA).
    ui("GET", "sla:lead_personal_data", ("lead",),              (NO, NO, NO, OK, OK, OK, L)),
    ui("GET", "sla:lead_erase", ("lead",),                      (NO, NO, NO, OK, OK, OK, L)),
    ui("POST", "sla:lead_erase", ("lead",),                     (NO, NO, NO, OK, OK, OK, L),
       {"confirm_email": "lena.lead@example.org"}),
    ui("GET", "leads:lead_import", (),                            (OK, NO, NO, OK, NO, OK, L)),
    ui("GET", "leads:lead_import_detail", ("lead_import",),       (OK, NO, NO, OK, NO, OK, L)),
    ui("GET", "leads:lead_import_report", ("lead_import",),       (OK, NO, NO, OK, NO, OK, L)),
    ui("GET", "leads:lead_export", (),                            (OK, NO, NO, OK, NO, OK, L)),
    ui("GET", "leads:company_list", (),                           (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "leads:company_detail", ("company",),               (OK, OK, OK, OK, OK, OK, L)),
    # --- Handoffs, attempts, feedback (object level: only the rep it was handed to, or a sales manager) --
    ui("GET", "sla:queue", (),                                    (NO, OK, OK, NO, OK, OK, L)),
    ui("POST", "sla:handoff_create", ("mql",),                    (OK, NO, NO, OK, OK, OK, L),
       {"rep": "@other_rep", "note": "Asked for a demo"}),
    ui("GET", "sla:handoff_card", ("lead",),                      (OK, OK, OK, OK, OK, OK, L)),
    ui("POST", "sla:attempt_log", ("lead",),                      (NO, OK, NO, NO, OK, NO, L), ATTEMPT),
    ui("POST", "sla:feedback_give", ("lead",),                    (NO, OK, NO, NO, OK, NO, L), FEEDBACK),
    ui("POST", "sla:handoff_accept", ("handoff",),                (NO, OK, NO, NO, OK, NO, L)),
    ui("POST", "sla:handoff_reject", ("handoff",),                (NO, OK, NO, NO, OK, NO, L),
       {"reason": "@rejection", "quality": "2", "text": "Wrong person"}),
    ui("POST", "sla:handoff_move", ("accepted_handoff",),         (NO, OK, NO, NO, OK, NO, L), {"to": "sql"}),
    ui("POST", "sla:handoff_reassign", ("handoff",),              (NO, NO, NO, OK, OK, OK, L),
       {"rep": "@other_rep", "reason": "Rita is away"}),
    ui("GET", "sla:feedback_inbox", (),                           (OK, NO, NO, OK, OK, OK, L)),
    ui("POST", "sla:feedback_mark_read", (),                      (OK, NO, NO, OK, OK, OK, L),
       {"feedback": "@feedback"}),
    ui("GET", "sla:objections", (),                               (OK, OK, OK, OK, OK, OK, L)),
    ui("POST", "sla:objection_add", (),                           (OK, NO, NO, OK, NO, OK, L), {"label": "No budget"}),
    ui("POST", "sla:objection_toggle", ("objection",),            (OK, NO, NO, OK, NO, OK, L)),
    ui("POST", "sla:objection_answer_add", ("objection",),        (OK, NO, NO, OK, NO, OK, L),
       {"title": "ROI calculator", "url": "https://example.org/roi", "note": ""}),
    ui("POST", "sla:objection_answer_delete", ("objection_answer",), (OK, NO, NO, OK, NO, OK, L)),
    ui("GET", "sla:routing", (),                                  (NO, NO, NO, OK, OK, OK, L)),
    ui("POST", "sla:routing_settings", (),                        (NO, NO, NO, OK, OK, OK, L),
       {"auto_route_new_mqls": "1"}),
    ui("GET", "sla:rep_room_edit", ("sales_rep",),                (NO, NO, NO, OK, OK, OK, L)),
    ui("POST", "sla:rep_room_edit", ("sales_rep",),               (NO, NO, NO, OK, OK, OK, L),
       {"capacity": "10", "territory": "DE", "manager": "@sales_manager"}),
    ui("GET", "sla:routing_rule_create", (),                      (NO, NO, NO, OK, OK, OK, L)),
    ui("GET", "sla:routing_rule_edit", ("routing_rule",),         (NO, NO, NO, OK, OK, OK, L)),
    ui("POST", "sla:routing_rule_delete", ("routing_rule",),      (NO, NO, NO, OK, OK, OK, L)),
    # --- Qualification ----------------------------------------------------------------------------------
    ui("GET", "scoring:overview", (),                             (OK, OK, OK, OK, OK, OK, L)),
    ui("POST", "scoring:rescore_start", (),                       (OK, NO, NO, OK, OK, OK, L)),
    ui("GET", "scoring:rescore_progress", (),                     (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "scoring:persona_create", (),                       (OK, OK, OK, OK, OK, OK, L)),
    ui("POST", "scoring:persona_create", (),                      (NO, NO, NO, OK, OK, OK, L),
       {"name": "Platform lead", "title_keywords": "platform", "priority": "100"}),
    ui("GET", "scoring:persona_edit", ("persona",),               (OK, OK, OK, OK, OK, OK, L)),
    ui("POST", "scoring:draft_open", ("=scoring",),               (OK, NO, NO, OK, OK, OK, L)),
    ui("GET", "scoring:version_detail", ("=scoring", "scoring_draft"), (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "scoring:version_what_if", ("=scoring", "scoring_draft"), (OK, OK, OK, OK, OK, OK, L)),
    ui("POST", "scoring:sign", ("=definitions", "definition_draft"), (NO, NO, NO, OK, OK, NO, L)),
    ui("POST", "scoring:comment", ("=scoring", "scoring_draft"),  (OK, OK, OK, OK, OK, OK, L), {"body": "Looks right"}),
    ui("POST", "scoring:fit_rule_create", ("scoring_draft",),     (OK, NO, NO, OK, OK, OK, L),
       {"fit-label": "Engineers", "fit-field": "job_title", "fit-operator": "contains", "fit-value": "engineer",
        "fit-points": "5"}),
    ui("POST", "scoring:fit_rule_edit", ("scoring_draft", "fit_rule"), (OK, NO, NO, OK, OK, OK, L),
       {"fit-label": "Engineers", "fit-field": "job_title", "fit-operator": "contains", "fit-value": "engineer",
        "fit-points": "7"}),
    ui("POST", "scoring:engagement_rule_create", ("scoring_draft",), (OK, NO, NO, OK, OK, OK, L),
       {"eng-label": "Views", "eng-activity_type": "page_view", "eng-points": "1"}),
    ui("POST", "scoring:engagement_rule_edit", ("scoring_draft", "engagement_rule"), (OK, NO, NO, OK, OK, OK, L),
       {"eng-label": "Views", "eng-activity_type": "page_view", "eng-points": "2"}),
    ui("POST", "scoring:rule_delete", ("scoring_draft", "=fit", "fit_rule"), (OK, NO, NO, OK, OK, OK, L)),
    ui("POST", "scoring:grades_edit", ("scoring_draft",),         (OK, NO, NO, OK, OK, OK, L),
       {"a": "40", "b": "25", "c": "10"}),
    ui("POST", "scoring:criteria_edit", ("definition_draft", "=mql"), (OK, NO, NO, OK, OK, OK, L),
       {"mql-min_score": "30"}),
    # --- The SLA contract -------------------------------------------------------------------------------
    ui("GET", "sla_contract:overview", (),                        (OK, OK, OK, OK, OK, OK, L)),
    ui("POST", "sla_contract:draft_open", (),                     (NO, NO, NO, OK, OK, NO, L)),
    ui("GET", "sla_contract:version_detail", ("sla_draft",),      (OK, OK, OK, OK, OK, OK, L)),
    ui("POST", "sla_contract:draft_edit", ("sla_draft",),         (NO, NO, NO, OK, OK, NO, L)),
    ui("POST", "sla_contract:calendar_edit", ("sla_draft",),      (NO, NO, NO, OK, OK, NO, L)),
    ui("POST", "sla_contract:closed_day_create", ("sla_draft",),  (NO, NO, NO, OK, OK, NO, L),
       {"closed-day": "2026-12-31", "closed-label": "Year end"}),
    ui("POST", "sla_contract:closed_day_delete", ("sla_draft", "closed_day"), (NO, NO, NO, OK, OK, NO, L)),
    ui("POST", "sla_contract:sign", ("sla_draft",),               (NO, NO, NO, OK, OK, NO, L)),
    ui("POST", "sla_contract:discard", ("sla_draft",),            (NO, NO, NO, OK, OK, NO, L)),
    ui("GET", "sla_contract:breach_list", (),                     (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "sla_contract:goal_list", (),                       (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "sla_contract:goal_create", (),                     (NO, NO, NO, OK, OK, NO, L)),
    ui("GET", "sla_contract:goal_edit", ("goal",),                (NO, NO, NO, OK, OK, NO, L)),
    ui("POST", "sla_contract:goal_delete", ("goal",),             (NO, NO, NO, OK, OK, NO, L)),
    ui("GET", "sla_contract:calculator", (),                      (OK, OK, OK, OK, OK, OK, L)),
    ui("POST", "sla_contract:calculator_propose", (),             (NO, NO, NO, OK, OK, NO, L),
       {"revenue_quota": "100000", "average_deal": "10000", "win_rate": "25", "sql_to_opportunity": "50",
        "mql_to_sql": "30", "lead_to_mql": "10", "marketing_share": "60", "reps": "2"}),
    # --- Dashboards and meetings ------------------------------------------------------------------------
    ui("GET", "dashboards:funnel", (),                            (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "dashboards:compliance", (),                        (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "dashboards:goals", (),                             (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "dashboards:feedback", (),                          (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "dashboards:email_preferences", (),                 (OK, OK, OK, OK, OK, OK, L)),
    ui("POST", "dashboards:share_create", (),                     (NO, NO, NO, OK, OK, OK, L),
       {"query": "period=this_month", "days": "7"}),
    ui("GET", "dashboards:shared_links", (),                      (NO, NO, NO, OK, OK, OK, L)),
    ui("POST", "dashboards:shared_link_revoke", ("shared_link",), (NO, NO, NO, OK, OK, OK, L)),
    ui("GET", "dashboards:shared", ("shared_token",),             (OK, OK, OK, OK, OK, OK, OK)),
    ui("GET", "dashboards:calibration", (),                       (OK, OK, OK, OK, OK, OK, L)),
    ui("POST", "dashboards:calibration_recompute", (),            (OK, NO, NO, OK, OK, OK, L)),
    ui("POST", "dashboards:calibration_draft", ("snapshot",),     (OK, NO, NO, OK, OK, OK, L)),
    ui("GET", "meetings:current", (),                             (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "meetings:weekly", ("monday",),                     (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "meetings:monthly", ("month",),                     (OK, OK, OK, OK, OK, OK, L)),
    ui("POST", "meetings:note_add", ("=weekly", "monday"),        (OK, OK, OK, OK, OK, OK, L), {"body": "Good week"}),
    ui("POST", "meetings:action_add", ("=weekly", "monday"),      (OK, OK, OK, OK, OK, OK, L),
       {"title": "Fix the form", "owner": "@marketer", "due_on": "2026-12-01"}),
    ui("POST", "meetings:action_done", ("action_item",),          (OK, OK, OK, OK, OK, OK, L), {"done": "1"}),
    ui("GET", "meetings:monthly_report", ("month",),              (OK, OK, OK, OK, OK, OK, L)),
    ui("GET", "meetings:monthly_report_csv", ("month",),          (OK, OK, OK, OK, OK, OK, L)),
    # --- API: leads and activities ----------------------------------------------------------- (+ t_r t_w t_x)
    api("GET", "api_lead_collection", (),                 (OK, OK, OK, OK, OK, OK, NO, OK, OK, 401)),
    api("POST", "api_lead_collection", (),                (OK, OK, OK, OK, OK, OK, NO, NO, OK, 401),
        {"email": "api.person@example.org"}),
    api("POST", "api_lead_collection", (),                (OK, OK, NO, OK, OK, OK, NO, NO, OK, 401),
        {"email": "lena.lead@example.org", "phone": "+49 30 0000"}, label="existing lead"),
    api("POST", "api_lead_bulk", (),                      (OK, OK, OK, OK, OK, OK, NO, NO, OK, 401),
        {"leads": [{"email": "bulk.person@example.org"}]}),
    api("GET", "api_lead_item", ("lead",),                (OK, OK, OK, OK, OK, OK, NO, OK, OK, 401)),
    api("PATCH", "api_lead_item", ("lead",),              (OK, OK, NO, OK, OK, OK, NO, NO, OK, 401),
        {"job_title": "CTO"}),
    api("GET", "api_lead_item", ("missing",),             (NF, NF, NF, NF, NF, NF, NO, NF, NF, 401)),
    api("POST", "api_lead_stage", ("lead",),              (OK, OK, NO, OK, OK, OK, NO, NO, OK, 401),
        {"to": "recycled", "reason": "Not now"}),
    api("GET", "api_lead_personal_data", ("lead",),       (NO, NO, NO, OK, OK, OK, NO, OK, OK, 401)),
    api("POST", "api_lead_erase", ("lead",),              (NO, NO, NO, OK, OK, OK, NO, NO, OK, 401),
        {"confirm_email": "lena.lead@example.org"}),
    api("POST", "api_activity_bulk", (),                  (OK, OK, OK, OK, OK, OK, NO, NO, OK, 401),
        {"activities": [{"lead_id": "@lead", "type": "page_view", "occurred_at": "2026-01-05T10:00:00Z",
                         "url": "/pricing"}]}),
    # The schema and its docs page describe the API to anyone (they hold no data); a revoked token is refused.
    api("GET", "api_schema", (),                          (OK, OK, OK, OK, OK, OK, OK, OK, OK, 401)),
    api("GET", "api_docs", (),                            (OK, OK, OK, OK, OK, OK, OK, OK, OK, 401)),
    # --- API: handoffs, attempts, feedback --------------------------------------------------------------
    api("GET", "api_handoff_collection", (),              (NO, OK, OK, NO, OK, OK, NO, OK, OK, 401)),
    api("POST", "api_handoff_collection", (),             (OK, NO, NO, OK, OK, OK, NO, NO, OK, 401),
        {"lead": "@mql", "rep": "@other_rep.email"}),
    api("GET", "api_handoff_item", ("handoff",),          (OK, OK, OK, OK, OK, OK, NO, OK, OK, 401)),
    api("POST", "api_handoff_accept", ("handoff",),       (NO, OK, NO, NO, OK, NO, NO, NO, OK, 401)),
    api("POST", "api_handoff_reject", ("handoff",),       (NO, OK, NO, NO, OK, NO, NO, NO, OK, 401),
        {"reason": "@rejection.label", "quality": 2, "text": "Wrong person"}),
    api("POST", "api_handoff_move", ("accepted_handoff",), (NO, OK, NO, NO, OK, NO, NO, NO, OK, 401), {"to": "sql"}),
    api("POST", "api_handoff_reassign", ("handoff",),     (NO, NO, NO, OK, OK, OK, NO, NO, OK, 401),
        {"rep": "@other_rep.email", "reason": "Rita is away"}),
    api("GET", "api_lead_attempts", ("lead",),            (OK, OK, OK, OK, OK, OK, NO, OK, OK, 401)),
    api("POST", "api_lead_attempts", ("lead",),           (NO, OK, NO, NO, OK, NO, NO, NO, OK, 401), API_ATTEMPT),
    api("GET", "api_lead_feedback", ("lead",),            (OK, OK, OK, OK, OK, OK, NO, OK, OK, 401)),
    api("POST", "api_lead_feedback", ("lead",),           (NO, OK, NO, NO, OK, NO, NO, NO, OK, 401),
        {"quality": 3, "text": "Knows what they want."}),
]


# --- The world every request meets ----------------------------------------------------------------------

def _world(cast: dict) -> dict:
    rep, marketer, sm = cast["sales_rep"], cast["marketer"], cast["sales_manager"]
    company = CompanyFactory(name="Acme", domain="acme.example")
    lead = LeadFactory(email="lena.lead@example.org", first_name="Lena", company=company, owner=rep,
                       stage=Stage.MQL)
    StageChangeFactory(lead=lead, from_stage="", to_stage=Stage.NEW)
    StageChangeFactory(lead=lead, from_stage=Stage.NEW, to_stage=Stage.MQL)
    ActivityFactory(lead=lead)
    handoff = HandoffFactory(lead=lead, rep=rep, handed_off_by=marketer)
    accepted_lead = LeadFactory(email="sal.lead@example.org", owner=rep, stage=Stage.SAL)
    accepted = HandoffFactory(lead=accepted_lead, rep=rep, status="accepted", accepted_at=timezone.now())
    mql = LeadFactory(email="fresh.mql@example.org", stage=Stage.MQL)
    rejection = Reason.objects.create(kind=Reason.Kind.REJECTION, label="Wrong person")
    objection = ObjectionFactory()
    scoring_active = ScoringVersionFactory(status=VersionStatus.ACTIVE)
    scoring_draft = ScoringVersionFactory()
    definitions_active = DefinitionVersionFactory(status=VersionStatus.ACTIVE)
    CriteriaFactory(version=definitions_active)
    definition_draft = DefinitionVersionFactory()
    CriteriaFactory(version=definition_draft, kind=Criteria.Kind.MQL)
    CriteriaFactory(version=definition_draft, kind=Criteria.Kind.SQL)
    SlaVersionFactory(status=VersionStatus.ACTIVE)
    sla_draft = SlaVersionFactory()
    endpoint = WebhookEndpointFactory()
    token_read, read_key = api_token_create(actor=cast["admin"], name="Read", user=sm, scope=ApiToken.Scope.READ)
    _, write_key = api_token_create(actor=cast["admin"], name="Write", user=sm, scope=ApiToken.Scope.WRITE)
    revoked, revoked_key = api_token_create(actor=cast["admin"], name="Old", user=sm, scope=ApiToken.Scope.WRITE)
    api_token_revoke(actor=cast["admin"], token=revoked)
    shared_link = SharedLink.objects.create(created_by=cast["marketing_manager"],
                                            expires_at=timezone.now() + timedelta(days=7))
    monday = timezone.localdate() - timedelta(days=timezone.localdate().weekday() + 7)
    meeting = Meeting.objects.create(kind=Meeting.Kind.WEEKLY, period_start=monday)

    return {
        "lead": lead, "company": company, "handoff": handoff, "accepted_handoff": accepted, "mql": mql,
        "rejection": rejection, "objection": objection, "objection_answer": ObjectionAnswerFactory(objection=objection),
        "feedback": FeedbackFactory(lead=lead, author=rep),
        "notification": NotificationFactory(recipient=rep),
        "lead_import": LeadImport.objects.create(created_by=marketer, file=ContentFile(b"email\n", name="x.csv"),
                                                 original_name="x.csv", encoding="utf-8", delimiter=",",
                                                 header=["email"], mapping=["email"]),
        "persona": PersonaFactory(), "routing_rule": RoutingRuleFactory(),
        "scoring_draft": scoring_draft, "definition_draft": definition_draft,
        "fit_rule": FitRuleFactory(version=scoring_draft), "engagement_rule": EngagementRuleFactory(version=scoring_draft),
        "sla_draft": sla_draft, "closed_day": ClosedDay.objects.create(calendar=sla_draft.calendar, day="2026-12-24"),
        "goal": GoalFactory(), "webhook": endpoint,
        "delivery": WebhookDelivery.objects.create(endpoint=endpoint, event=WebhookEvent.LEAD_MQL,
                                                   event_id="00000000-0000-0000-0000-000000000001", payload={},
                                                   status="failed", next_attempt_at=timezone.now()),
        "token_read": token_read, "keys": {"token_read": read_key, "token_write": write_key,
                                            "token_revoked": revoked_key},
        "shared_link": shared_link,
        "shared_token": shared_link_token(shared_link),
        "snapshot": CalibrationSnapshot.objects.create(outcome="acceptance", outcomes=0,
                                                       scoring_version_number=scoring_active.number),
        "monday": monday, "month": monday.replace(day=1),
        "action_item": ActionItem.objects.create(meeting=meeting, title="Call back", owner=marketer,
                                                 due_on=monday + timedelta(days=7)),
        "missing": 999999,
        **cast,
    }


def _resolve(value: Any, world: dict) -> Any:
    """`@name` is a world object's pk, `@name.attr` its attribute; lists and dicts are resolved inside."""
    if isinstance(value, str) and value.startswith("@"):
        name, _, attr = value[1:].partition(".")
        target = world[name]
        return getattr(target, attr) if attr else target.pk
    if isinstance(value, list):
        return [_resolve(item, world) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item, world) for key, item in value.items()}
    return value


def _url(row: Row, world: dict) -> str:
    args = []
    for arg in row.args:
        if arg.startswith("="):
            args.append(arg[1:])
        else:
            value = world[arg]
            args.append(getattr(value, "number", None) or getattr(value, "pk", value))
    return reverse(row.name, args=args)


def _answer(response) -> Any:
    status = response.status_code
    if status in (301, 302):
        location = response["Location"]
        login_pages = (reverse("login"), reverse("admin:login"))
        return LOGIN if location.startswith(login_pages) and "next=" in location else ALLOWED
    if status in (200, 201, 204, 400, 409):
        return ALLOWED
    return status


def _request(row: Row, role: str, world: dict):
    client = Client()
    headers: dict[str, str] = {}
    if role in TOKEN_ROLES:
        headers["Authorization"] = f"Bearer {world['keys'][role]}"
    elif role != "anonymous":
        client.force_login(world[role])
    url = _url(row, world)
    data = _resolve(row.data, world)
    if row.api:
        return client.generic(row.method, url, data=json.dumps(data) if data else "",
                              content_type="application/json", headers=headers)
    if row.method == "GET":
        return client.get(url, headers=headers)
    return client.post(url, data=data, headers=headers)


@pytest.mark.parametrize("row", MATRIX, ids=[row.id for row in MATRIX])
def test_who_may_do_what(row: Row, cast: dict, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    world = _world(cast)
    got = {}
    for role in ROLES:
        # A savepoint per role: what one role changed is undone before the next one asks.
        with transaction.atomic():
            got[role] = _answer(_request(row, role, world))
            transaction.set_rollback(True)
    wrong = {role: f"expected {row.answers[role]}, got {got[role]}" for role in ROLES if got[role] != row.answers[role]}
    assert not wrong, wrong


# --- Completeness: every URL pattern has a row ----------------------------------------------------------

def _url_names(resolver=None, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                names.add("admin:index")  # Django's own admin: staff only, behind its own login
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _url_names(pattern, inner)
        elif isinstance(pattern, URLPattern):
            # A URL without a name could not have a row: it shows up as missing, so it cannot hide.
            names.add(f"{namespace}{pattern.name}" if pattern.name else f"{namespace}<unnamed {pattern.pattern}>")
    return names


def test_every_url_has_a_row_in_the_matrix():
    missing = _url_names() - {row.name for row in MATRIX}
    assert not missing, f"Add these URLs to the permission matrix: {sorted(missing)}"

