"""The audit log: every change to definitions, scoring, SLAs, routing and users says who, what and when.

The services' writes (the pages and the API call them) and the Django admin's, which writes rows itself.
"""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from scoring.models import Criteria, EngagementRule, FitRule
from scoring.services import (
    criteria_save,
    definition_draft_create,
    engagement_rule_save,
    fit_rule_save,
    rule_delete,
    scoring_draft_create,
    scoring_grades_save,
    version_sign,
)
from sla.contract_services import (
    calendar_update,
    closed_day_add,
    closed_day_remove,
    sla_draft_create,
    sla_draft_discard,
    sla_draft_update,
    sla_sign,
)
from sla.models import RoutingRule
from sla.services import routing_rule_delete, routing_rule_save, routing_settings_update
from smarketing.models import AuditEntry, Team, User
from smarketing.roles import Function, Role
from tests.factories import PASSWORD, TeamFactory, UserFactory


def log(since: int = 0) -> list[tuple[str, str, str]]:
    """(action, actor's e-mail, summary) of each entry after id `since`, oldest first."""
    return [(e.action, e.actor.email if e.actor else "", e.summary)
            for e in AuditEntry.objects.filter(id__gt=since).select_related("actor").order_by("id")]


def last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.fixture
def admin_client(admin) -> Client:
    client = Client()
    client.force_login(admin)
    return client


@pytest.mark.django_db
def test_each_entry_has_who_what_and_when(marketer):
    before = timezone.now()

    draft = scoring_draft_create(actor=marketer)

    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.target_type, entry.target_id) == (
        marketer, "scoring.draft", "scoring.scoringversion", str(draft.pk))
    assert entry.summary == f"Scoring draft v{draft.number} opened"
    assert before <= entry.at <= timezone.now()


@pytest.mark.django_db
def test_scoring_rules_and_versions_are_audited(marketer, marketing_manager, sales_manager):
    draft = scoring_draft_create(actor=marketer)
    fit = fit_rule_save(rule=FitRule(version=draft, label="CTO", field="job_title", operator="contains",
                                     value="cto", points=20), actor=marketer)
    fit.points = 25
    fit_rule_save(rule=fit, actor=marketer)
    engagement_rule_save(rule=EngagementRule(version=draft, label="Demo form", activity_type="form_submission",
                                             points=30), actor=marketer)
    scoring_grades_save(version=draft, actor=marketer, a=70, b=40, c=20)
    rule_delete(rule=fit, actor=marketer)
    version_sign(version=draft, actor=marketing_manager)
    version_sign(version=draft, actor=sales_manager)

    assert [(action, who) for action, who, _ in log()] == [
        ("scoring.draft", marketer.email),
        ("fit_rule.create", marketer.email),
        ("fit_rule.update", marketer.email),
        ("engagement_rule.create", marketer.email),
        ("scoring.grades", marketer.email),
        ("rule.delete", marketer.email),
        ("version.sign", marketing_manager.email),
        ("version.sign", sales_manager.email),
        ("version.activate", sales_manager.email),
    ]
    summaries = [summary for _, _, summary in log()]
    assert "→ +25" in summaries[2]  # what the rule became
    assert summaries[4] == "Grades A ≥ 70, B ≥ 40, C ≥ 20"


@pytest.mark.django_db
def test_definitions_are_audited(marketer, marketing_manager, sales_manager):
    draft = definition_draft_create(actor=marketer)
    mql = draft.criteria.get(kind=Criteria.Kind.MQL)
    mql.min_score = 50
    criteria_save(criteria=mql, actor=marketer)
    version_sign(version=draft, actor=sales_manager)
    version_sign(version=draft, actor=marketing_manager)

    assert [(action, who) for action, who, _ in log()] == [
        ("definition.draft", marketer.email),
        ("definition.criteria", marketer.email),
        ("version.sign", sales_manager.email),
        ("version.sign", marketing_manager.email),
        ("version.activate", marketing_manager.email),
    ]
    assert all(entry.target_id == str(draft.pk) for entry in AuditEntry.objects.all())


@pytest.mark.django_db
def test_sla_versions_are_audited(marketing_manager, sales_manager):
    draft = sla_draft_create(actor=sales_manager)
    sla_draft_update(version=draft, actor=sales_manager, changes={"first_attempt_hours": 4})
    calendar_update(calendar=draft.calendar, actor=sales_manager, changes={"holiday_country": "DE"})
    closed = closed_day_add(calendar=draft.calendar, actor=sales_manager, day=date(2026, 12, 24), label="Xmas Eve")
    closed_day_remove(closed_day=closed, actor=sales_manager)
    sla_sign(version=draft, actor=sales_manager)
    sla_sign(version=draft, actor=marketing_manager)
    second = sla_draft_create(actor=marketing_manager)
    sla_draft_discard(version=second, actor=marketing_manager)

    assert [(action, who) for action, who, _ in log()] == [
        ("sla.draft", sales_manager.email),
        ("sla.update", sales_manager.email),
        ("sla.calendar", sales_manager.email),
        ("sla.closed_day", sales_manager.email),
        ("sla.closed_day", sales_manager.email),
        ("sla.sign", sales_manager.email),
        ("sla.sign", marketing_manager.email),
        ("sla.activate", marketing_manager.email),
        ("sla.draft", marketing_manager.email),
        ("sla.discard", marketing_manager.email),
    ]
    assert "first_attempt_hours" in log()[1][2]


@pytest.mark.django_db
def test_routing_rules_and_settings_are_audited_with_what_changed(sales_manager, sales_team):
    rule = routing_rule_save(actor=sales_manager, name="DACH", team=sales_team, countries=["de", "at"],
                             by_territory=False, position=10)
    routing_rule_save(actor=sales_manager, rule=rule, name="DACH", countries=["DE", "AT", "CH"])
    routing_settings_update(actor=sales_manager, auto_route_new_mqls=True)
    routing_rule_delete(actor=sales_manager, rule=rule)

    assert log() == [
        ("routing.rule_create", sales_manager.email, "Added routing rule “DACH”: name: DACH; team: Sales EMEA; "
                                                     "countries: AT, DE; by territory: False; position: 10"),
        ("routing.rule_update", sales_manager.email, "Changed routing rule “DACH”: countries: AT, CH, DE"),
        ("routing.settings", sales_manager.email, "Auto-routing of new MQLs on"),
        ("routing.rule_delete", sales_manager.email, "Deleted routing rule “DACH”"),
    ]


# --- The admin: users and their roles, teams, routing ---------------------------------------------


def user_form(user: User, **changes) -> dict:
    """The admin's change form for `user` as it shows, with `changes` typed in."""
    form = {"email": user.email, "first_name": user.first_name, "last_name": user.last_name, "role": user.role,
            "team": user.team_id or "", "manager": user.manager_id or "", "territory": "[]",
            "capacity": user.capacity, "is_active": "on", "date_joined_0": "2026-01-05",
            "date_joined_1": "09:00:00", "initial-date_joined_0": "2026-01-05",
            "initial-date_joined_1": "09:00:00"}
    form.update(changes)
    return {name: value for name, value in form.items() if value is not None}


@pytest.mark.django_db
def test_a_role_change_in_the_admin_is_audited_with_old_and_new(admin_client, admin, sales_rep):
    sales_rep.date_joined = timezone.make_aware(timezone.datetime(2026, 1, 5, 9))
    sales_rep.save()

    response = admin_client.post(reverse("admin:smarketing_user_change", args=[sales_rep.pk]),
                                 user_form(sales_rep, role=Role.SALES_MANAGER, capacity=40))

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    sales_rep.refresh_from_db()
    assert sales_rep.role == Role.SALES_MANAGER
    entry = AuditEntry.objects.get(action="admin.user.update")
    assert (entry.actor, entry.target_type, entry.target_id) == (admin, "smarketing.user", str(sales_rep.pk))
    assert entry.summary == ("Changed user “Rita Owner” in the admin: role: Sales rep → Sales manager; "
                             "capacity: 25 → 40")


@pytest.mark.django_db
def test_adding_a_user_in_the_admin_is_audited_without_the_password(admin_client, admin):
    response = admin_client.post(reverse("admin:smarketing_user_add"), {
        "email": "new.rep@smarketing.test", "role": Role.SALES_REP, "password1": "an0ther-Str0ng!pw",
        "password2": "an0ther-Str0ng!pw", "usable_password": "true",
    })

    assert response.status_code == 302
    user = User.objects.get(email="new.rep@smarketing.test")
    entry = AuditEntry.objects.get(action="admin.user.create")
    assert (entry.actor, entry.target_id) == (admin, str(user.pk))
    assert entry.summary == ("Added user “new.rep@smarketing.test” in the admin: e-mail address: "
                             "new.rep@smarketing.test; role: Sales rep; password set")
    assert "an0ther" not in entry.summary


@pytest.mark.django_db
def test_a_password_set_in_the_admin_is_audited(admin_client, admin, sales_rep):
    response = admin_client.post(f"/admin/smarketing/user/{sales_rep.pk}/password/",
                                 {"password1": "an0ther-Str0ng!pw", "password2": "an0ther-Str0ng!pw",
                                  "usable_password": "true", "set-password": ""})

    assert response.status_code == 302
    sales_rep.refresh_from_db()
    assert sales_rep.check_password("an0ther-Str0ng!pw")
    assert log() == [("admin.user.password", admin.email, "Set a new password for “Rita Owner” in the admin")]


@pytest.mark.django_db
def test_a_weak_password_in_the_admin_is_refused_and_not_audited(admin_client, sales_rep):
    response = admin_client.post(f"/admin/smarketing/user/{sales_rep.pk}/password/",
                                 {"password1": "password", "password2": "password", "usable_password": "true"})

    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    assert log() == []


@pytest.mark.django_db
def test_deleting_users_in_the_admin_is_audited_one_by_one(admin_client, admin):
    first = UserFactory(email="leaver.one@smarketing.test", first_name="Lee", last_name="One")
    second = UserFactory(email="leaver.two@smarketing.test", first_name="Lee", last_name="Two")

    response = admin_client.post(reverse("admin:smarketing_user_changelist"), {
        "action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(pk__in=[first.pk, second.pk]).exists()
    assert sorted(log()) == [
        ("admin.user.delete", admin.email, "Deleted user “Lee One” in the admin"),
        ("admin.user.delete", admin.email, "Deleted user “Lee Two” in the admin"),
    ]


@pytest.mark.django_db
def test_teams_and_routing_rules_changed_in_the_admin_are_audited(admin_client, admin):
    team = TeamFactory(name="Sales APAC", function=Function.SALES)
    stamp = timezone.make_aware(timezone.datetime(2026, 1, 5, 9))
    rule = RoutingRule.objects.create(name="APAC", team=team, position=10, created_at=stamp, updated_at=stamp)

    admin_client.post(reverse("admin:smarketing_team_change", args=[team.pk]),
                      {"name": "Sales Asia-Pacific", "function": Function.SALES})
    admin_client.post(reverse("admin:sla_routingrule_change", args=[rule.pk]), {
        "name": "APAC", "team": team.pk, "persona": "", "countries": '["JP"]', "by_territory": "on",
        "position": 10, "is_active": "on",
        "created_at_0": "2026-01-05", "created_at_1": "09:00:00", "updated_at_0": "2026-01-05",
        "updated_at_1": "09:00:00", "rep_turns-TOTAL_FORMS": 0, "rep_turns-INITIAL_FORMS": 0})

    assert Team.objects.get(pk=team.pk).name == "Sales Asia-Pacific"
    assert log() == [
        ("admin.team.update", admin.email, "Changed team “Sales Asia-Pacific” in the admin: "
                                           "name: Sales APAC → Sales Asia-Pacific"),
        ("admin.routingrule.update", admin.email, "Changed routing rule “APAC” in the admin: countries: — → JP"),
    ]


@pytest.mark.django_db
def test_changing_one_s_own_password_is_audited(client, marketer):
    client.force_login(marketer)

    client.post(reverse("password_change"), {"old_password": PASSWORD, "new_password1": "an0ther-Str0ng!pw",
                                             "new_password2": "an0ther-Str0ng!pw"})

    assert log() == [("user.password", marketer.email, "“Mia Marketer” changed their own password")]


@pytest.mark.django_db
def test_the_audit_log_is_readable_in_the_admin_and_nobody_edits_it(admin_client, marketer):
    scoring_draft_create(actor=marketer)
    entry = AuditEntry.objects.get()

    listing = admin_client.get(reverse("admin:smarketing_auditentry_changelist"))

    assert listing.status_code == 200
    html = listing.content.decode()
    assert "scoring.draft" in html and "Scoring draft v" in html and "Mia Marketer" in html
    assert admin_client.get(reverse("admin:smarketing_auditentry_add")).status_code == 403
    admin_client.post(reverse("admin:smarketing_auditentry_delete", args=[entry.pk]), {"post": "yes"})
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
