"""The qualification pages through the test client: full pages, HTMX fragments, and who may do what."""

from unittest import mock

import pytest
from django.urls import reverse

from scoring.models import (
    Criteria,
    DefinitionVersion,
    EngagementRule,
    FitRule,
    Persona,
    RescoreRun,
    ScoringVersion,
    VersionComment,
    VersionStatus,
)
from scoring.tasks import rescore_chunk_task, rescore_full_task
from tests.factories import (
    CriteriaFactory,
    DefinitionVersionFactory,
    EngagementRuleFactory,
    FitRuleFactory,
    LeadFactory,
    PersonaFactory,
    ScoringVersionFactory,
)
from tests.scoring.conftest import activity, score

HTMX = {"HX-Request": "true"}
EDITORS = ["marketer", "marketing_manager", "sales_manager", "admin"]
NOT_EDITORS = ["sales_rep", "other_rep", "outside_rep"]


def field_block(page: str, name: str) -> str:
    """The rendered `<div class="field…">` that holds the input called `name` (its label, input and errors)."""
    blocks = [block for block in page.split('<div class="field')[1:] if f'name="{name}"' in block]
    assert len(blocks) == 1, f"no single field {name}"
    return blocks[0]


@pytest.fixture
def draft(db):
    """Scoring draft v2 with one fit rule and one engagement rule; v1 is in force."""
    ScoringVersionFactory(number=1, status=VersionStatus.ACTIVE)
    version = ScoringVersionFactory(number=2)
    FitRuleFactory(version=version, label="Is a CTO", field="job_title", operator="contains", value="cto", points=30)
    EngagementRuleFactory(version=version, label="Visited pricing", url_match="contains", url_value="/pricing",
                          points=8)
    return version


def fit_post(**overrides) -> dict:
    values = {"label": "Decision maker", "field": "seniority", "custom_property": "", "operator": "one_of",
              "value": "director, vp", "value_to": "", "points": "15"}
    values.update(overrides)
    return {f"fit-{key}": value for key, value in values.items()}


def engagement_post(**overrides) -> dict:
    values = {"label": "Webinar", "activity_type": "webinar", "url_match": "", "url_value": "", "property_key": "",
              "property_min": "", "points": "12", "cap": "36", "half_life_days": "60"}
    values.update(overrides)
    return {f"eng-{key}": value for key, value in values.items()}


# --- overview and progress ------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["marketer", "sales_rep", "marketing_manager", "sales_manager", "admin"])
def test_everyone_sees_the_overview(cast, client_for, role):
    ScoringVersionFactory(number=1, status=VersionStatus.ACTIVE)
    PersonaFactory(name="Technical buyer")
    response = client_for(cast[role]).get(reverse("scoring:overview"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" in page
    assert "Technical buyer" in page
    assert "v1 in force" in page
    proposes = "Propose a change to scoring" in page
    assert proposes == (role in EDITORS)


def test_overview_needs_a_login(db, client):
    response = client.get(reverse("scoring:overview"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_rescore_progress_partial_polls_while_running(client_for, marketer, scoring_version):
    RescoreRun.objects.create(kind="full", version=scoring_version, chunks_total=4, chunks_done=1,
                              reason="ScoringVersion v1 took effect")
    response = client_for(marketer).get(reverse("scoring:rescore_progress"), headers=HTMX)
    page = response.content.decode()
    assert "<html" not in page
    assert page.lstrip().startswith('<div id="rescore-progress"')
    assert 'hx-trigger="every 2s"' in page
    assert 'aria-valuenow="25"' in page
    assert "1 of 4 chunks" in page


def test_rescore_progress_partial_stops_polling_when_finished(client_for, marketer, scoring_version):
    RescoreRun.objects.create(kind="full", version=scoring_version, chunks_total=2, chunks_done=2,
                              finished_at=scoring_version.created_at, leads_scored=1234, leads_qualified=5)
    page = client_for(marketer).get(reverse("scoring:rescore_progress"), headers=HTMX).content.decode()
    assert "every 2s" not in page
    assert 'aria-valuenow="100"' in page
    assert "1,234 leads scored under scoring v1, 5 became MQL" in page


@pytest.mark.parametrize("role, status", [("marketer", 302), ("admin", 302), ("sales_rep", 403)])
def test_starting_a_rescore(cast, client_for, role, status):
    with mock.patch("scoring.views.enqueue", return_value=True) as enqueue:
        response = client_for(cast[role]).post(reverse("scoring:rescore_start"))
    assert response.status_code == status
    assert enqueue.call_count == (1 if status == 302 else 0)


# --- personas -------------------------------------------------------------------------------------

PERSONA_POST = {"name": "Technical buyer", "description": "", "pains": "", "goals": "",
                "title_keywords": "CTO, VP Engineering", "seniorities": ["director", "vp"],
                "company_size_min": "50", "company_size_max": "500", "industries": "Software",
                "countries": "de, at", "priority": "10", "is_active": "on"}


@pytest.mark.parametrize("role", ["marketing_manager", "sales_manager", "admin"])
def test_managers_and_admin_create_personas(cast, client_for, role):
    response = client_for(cast[role]).post(reverse("scoring:persona_create"), PERSONA_POST)
    assert response.status_code == 302
    persona = Persona.objects.get()
    assert (persona.title_keywords, persona.seniorities, persona.countries, persona.company_size_max) == (
        ["CTO", "VP Engineering"], ["director", "vp"], ["DE", "AT"], 500)


@pytest.mark.parametrize("role", ["marketer", "sales_rep", "other_rep", "outside_rep"])
def test_others_get_403_on_posting_a_persona(cast, client_for, role):
    response = client_for(cast[role]).post(reverse("scoring:persona_create"), PERSONA_POST)
    assert response.status_code == 403
    assert not Persona.objects.exists()


@pytest.mark.parametrize("role, can_edit", [("marketer", False), ("sales_manager", True)])
def test_persona_page_is_read_only_for_non_managers(cast, client_for, role, can_edit):
    persona = PersonaFactory(name="Technical buyer")
    page = client_for(cast[role]).get(reverse("scoring:persona_edit", args=[persona.pk])).content.decode()
    assert ("Save persona" in page) == can_edit
    assert ("<fieldset disabled>" in page) == (not can_edit)


def test_editing_a_persona(client_for, marketing_manager):
    persona = PersonaFactory(name="Technical buyer", title_keywords=["cto"])
    response = client_for(marketing_manager).post(reverse("scoring:persona_edit", args=[persona.pk]),
                                                  {**PERSONA_POST, "title_keywords": "CIO"})
    assert response.status_code == 302
    persona.refresh_from_db()
    assert persona.title_keywords == ["CIO"]


@pytest.mark.parametrize("changes, error_field, message", [
    ({"countries": "Germany"}, "countries", "Use two-letter country codes: GERMANY."),
    ({"company_size_min": "500", "company_size_max": "50"}, "company_size_max", "must not be below"),
])
def test_a_wrong_persona_shows_the_error_next_to_the_field(client_for, sales_manager, changes, error_field, message):
    response = client_for(sales_manager).post(reverse("scoring:persona_create"), {**PERSONA_POST, **changes})
    assert response.status_code == 200
    block = field_block(response.content.decode(), error_field)
    assert block.startswith(" has-error")
    assert message in block
    assert not Persona.objects.exists()


# --- drafts ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, model", [("scoring", ScoringVersion), ("definitions", DefinitionVersion)])
def test_opening_a_draft(client_for, marketer, kind, model):
    response = client_for(marketer).post(reverse("scoring:draft_open", args=[kind]))
    draft = model.objects.get(status=VersionStatus.DRAFT)
    assert response.status_code == 302
    assert response["Location"] == reverse("scoring:version_detail", args=[kind, draft.number])


def test_a_rep_cannot_open_a_draft(client_for, sales_rep):
    assert client_for(sales_rep).post(reverse("scoring:draft_open", args=["scoring"])).status_code == 403
    assert not ScoringVersion.objects.exists()


def test_unknown_version_kind_is_404(client_for, marketer):
    assert client_for(marketer).post(reverse("scoring:draft_open", args=["sla"])).status_code == 404
    assert client_for(marketer).get(reverse("scoring:version_detail", args=["sla", 1])).status_code == 404


@pytest.mark.parametrize("role, editable", [("marketer", True), ("sales_rep", False)])
def test_draft_page(cast, client_for, draft, role, editable):
    page = client_for(cast[role]).get(reverse("scoring:version_detail", args=["scoring", 2])).content.decode()
    assert "<html" in page
    assert "Is a CTO" in page and "Visited pricing" in page
    assert ("Add a fit rule" in page) == editable
    assert 'id="what-if"' in page


def test_editing_a_rule_puts_it_in_the_form(client_for, marketer, draft):
    rule = draft.fit_rules.get()
    url = reverse("scoring:version_detail", args=["scoring", 2]) + f"?edit=fit-{rule.pk}"
    page = client_for(marketer).get(url).content.decode()
    assert "Edit “Is a CTO”" in page
    assert reverse("scoring:fit_rule_edit", args=[2, rule.pk]) in page


# --- rules through HTMX -----------------------------------------------------------------------------

def assert_fragment(response, section: str) -> str:
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert page.lstrip().startswith(f'<section class="card" id="{section}">')
    assert "draftChanged" in response["HX-Trigger"]
    return page


def test_adding_a_fit_rule_returns_the_fit_rules_fragment(client_for, marketer, draft):
    response = client_for(marketer).post(reverse("scoring:fit_rule_create", args=[2]), fit_post(), headers=HTMX)
    page = assert_fragment(response, "fit-rules")
    assert "Decision maker" in page and "2 rules" in page
    rule = draft.fit_rules.get(label="Decision maker")
    assert (rule.field, rule.operator, rule.value, rule.points) == ("seniority", "one_of", "director, vp", 15)


def test_adding_a_custom_property_rule(client_for, marketer, draft):
    post = fit_post(label="Budget", field="properties.", custom_property="budget", operator="between",
                    value="1000", value_to="5000", points="10")
    assert_fragment(client_for(marketer).post(reverse("scoring:fit_rule_create", args=[2]), post, headers=HTMX),
                    "fit-rules")
    assert draft.fit_rules.get(label="Budget").field == "properties.budget"


def test_editing_a_fit_rule(client_for, marketer, draft):
    rule = draft.fit_rules.get()
    post = fit_post(label="Is a CTO", field="job_title", operator="contains", value="cto", points="25")
    response = client_for(marketer).post(reverse("scoring:fit_rule_edit", args=[2, rule.pk]), post, headers=HTMX)
    assert "+25" in assert_fragment(response, "fit-rules")
    rule.refresh_from_db()
    assert rule.points == 25


def test_removing_a_fit_rule(client_for, marketer, draft):
    rule = draft.fit_rules.get()
    response = client_for(marketer).post(reverse("scoring:rule_delete", args=[2, "fit", rule.pk]), headers=HTMX)
    page = assert_fragment(response, "fit-rules")
    assert "No fit rules." in page
    assert not FitRule.objects.filter(pk=rule.pk).exists()


def test_adding_and_removing_an_engagement_rule(client_for, marketer, draft):
    client = client_for(marketer)
    response = client.post(reverse("scoring:engagement_rule_create", args=[2]), engagement_post(), headers=HTMX)
    assert "<td>Webinar</td>" in assert_fragment(response, "engagement-rules")
    rule = draft.engagement_rules.get(label="Webinar")
    assert (rule.activity_type, rule.points, rule.cap, rule.half_life_days) == ("webinar", 12, 36, 60)
    response = client.post(reverse("scoring:rule_delete", args=[2, "engagement", rule.pk]), headers=HTMX)
    assert "<td>Webinar</td>" not in assert_fragment(response, "engagement-rules")
    assert not EngagementRule.objects.filter(pk=rule.pk).exists()


def test_without_htmx_a_rule_post_redirects_to_the_page(client_for, marketer, draft):
    response = client_for(marketer).post(reverse("scoring:fit_rule_create", args=[2]), fit_post())
    assert response.status_code == 302
    assert response["Location"] == reverse("scoring:version_detail", args=["scoring", 2])
    assert draft.fit_rules.filter(label="Decision maker").exists()


@pytest.mark.parametrize("overrides, field_name, message", [
    (dict(field="shoe_size"), "fit-field", "Select a valid choice"),
    (dict(field="properties.", custom_property=""), "fit-custom_property", "Name the custom property."),
    (dict(field="properties.", custom_property="bad'name"), "fit-field", "is not a field a rule can test"),
    (dict(field="company.employees", operator="between", value="fifty", value_to="500"), "fit-value",
     "Give a number."),
    (dict(field="company.employees", operator="between", value="50", value_to="lots"), "fit-value_to",
     "Give a number."),
    (dict(field="company.employees", operator="contains", value="5"), "fit-operator", "A number field uses"),
])
def test_a_rule_that_cannot_work_shows_the_error_next_to_its_field(client_for, marketer, draft, overrides,
                                                                    field_name, message):
    response = client_for(marketer).post(reverse("scoring:fit_rule_create", args=[2]), fit_post(**overrides),
                                         headers=HTMX)
    page = response.content.decode()
    assert "<html" not in page
    block = field_block(page, field_name)
    assert block.startswith(" has-error")
    assert message in block
    assert draft.fit_rules.count() == 1


@pytest.mark.parametrize("role", EDITORS)
def test_editors_may_change_rules(cast, client_for, draft, role):
    client = client_for(cast[role])
    assert client.post(reverse("scoring:fit_rule_create", args=[2]), fit_post(), headers=HTMX).status_code == 200
    assert client.post(reverse("scoring:engagement_rule_create", args=[2]), engagement_post(),
                       headers=HTMX).status_code == 200
    rule = draft.fit_rules.get(label="Is a CTO")
    assert client.post(reverse("scoring:rule_delete", args=[2, "fit", rule.pk]), headers=HTMX).status_code == 200
    assert sorted(draft.fit_rules.values_list("label", flat=True)) == ["Decision maker"]
    assert draft.engagement_rules.count() == 2


@pytest.mark.parametrize("role", NOT_EDITORS)
def test_reps_get_403_on_rules(cast, client_for, draft, role):
    client = client_for(cast[role])
    rule = draft.fit_rules.get()
    assert client.post(reverse("scoring:fit_rule_create", args=[2]), fit_post(), headers=HTMX).status_code == 403
    assert client.post(reverse("scoring:fit_rule_edit", args=[2, rule.pk]), fit_post(points="99"),
                       headers=HTMX).status_code == 403
    assert client.post(reverse("scoring:engagement_rule_create", args=[2]), engagement_post(),
                       headers=HTMX).status_code == 403
    assert client.post(reverse("scoring:rule_delete", args=[2, "fit", rule.pk]), headers=HTMX).status_code == 403
    assert client.post(reverse("scoring:grades_edit", args=[2]), {"a": "1", "b": "1", "c": "1"}).status_code == 403
    assert list(draft.fit_rules.values_list("label", "points")) == [("Is a CTO", 30)]
    assert draft.engagement_rules.count() == 1
    assert ScoringVersion.objects.get(pk=draft.pk).grade_a_min_fit == 60


def test_a_rule_posted_to_a_draft_signed_meanwhile_is_not_saved(client_for, marketer, draft):
    # The marketer's page still shows the draft; both managers signed it in the meantime.
    ScoringVersion.objects.filter(number=1).update(status=VersionStatus.SUPERSEDED)
    ScoringVersion.objects.filter(pk=draft.pk).update(status=VersionStatus.ACTIVE)
    client_for(marketer).post(reverse("scoring:fit_rule_create", args=[2]), fit_post(), headers=HTMX)
    assert list(draft.fit_rules.values_list("label", flat=True)) == ["Is a CTO"]


def test_a_rule_posted_to_a_draft_signed_meanwhile_says_why(client_for, marketer, draft):
    ScoringVersion.objects.filter(number=1).update(status=VersionStatus.SUPERSEDED)
    ScoringVersion.objects.filter(pk=draft.pk).update(status=VersionStatus.ACTIVE)
    client = client_for(marketer)
    response = client.post(reverse("scoring:fit_rule_create", args=[2]), fit_post(), headers=HTMX)
    # HTMX is sent to the version's page, which says why nothing changed.
    version_url = reverse("scoring:version_detail", args=["scoring", 2])
    assert response.headers["HX-Redirect"] == version_url
    assert "v2 is no longer a draft, so it cannot change." in client.get(version_url).content.decode()


def test_grades_edit(client_for, marketer, draft):
    client = client_for(marketer)
    assert client.post(reverse("scoring:grades_edit", args=[2]), {"a": "70", "b": "40", "c": "20"}).status_code == 302
    assert ScoringVersion.objects.filter(pk=draft.pk).values_list(
        "grade_a_min_fit", "grade_b_min_fit", "grade_c_min_fit").get() == (70, 40, 20)
    client.post(reverse("scoring:grades_edit", args=[2]), {"a": "10", "b": "40", "c": "20"})
    assert ScoringVersion.objects.get(pk=draft.pk).grade_a_min_fit == 70


# --- definitions draft ----------------------------------------------------------------------------

@pytest.fixture
def definitions_draft(db):
    version = DefinitionVersionFactory(number=1)
    CriteriaFactory(version=version, kind="mql", min_score=50)
    CriteriaFactory(version=version, kind="sql", min_score=80)
    return version


def test_saving_mql_criteria(client_for, marketer, definitions_draft):
    post = {"mql-min_score": "60", "mql-min_fit": "", "mql-min_engagement": "", "mql-min_grade": "B",
            "mql-required_fields": ["phone", "company"], "mql-min_conversions": "3",
            "mql-exclude_free_mail": "on", "mql-excluded_domains": "rival.com, partner.test"}
    response = client_for(marketer).post(reverse("scoring:criteria_edit", args=[1, "mql"]), post)
    assert response.status_code == 302
    mql = Criteria.objects.get(version=definitions_draft, kind="mql")
    assert (mql.min_score, mql.min_grade, mql.required_fields, mql.min_conversions, mql.exclude_free_mail,
            mql.exclude_do_not_contact, mql.excluded_domains) == (
        60, "B", ["phone", "company"], 3, True, False, ["rival.com", "partner.test"])


def test_wrong_criteria_come_back_with_the_error(client_for, marketer, definitions_draft):
    response = client_for(marketer).post(reverse("scoring:criteria_edit", args=[1, "mql"]),
                                         {"mql-min_score": "lots", "mql-min_conversions": "0"})
    assert response.status_code == 400
    assert field_block(response.content.decode(), "mql-min_score").startswith(" has-error")
    assert Criteria.objects.get(version=definitions_draft, kind="mql").min_score == 50


def test_a_rep_cannot_save_criteria(client_for, sales_rep, definitions_draft):
    response = client_for(sales_rep).post(reverse("scoring:criteria_edit", args=[1, "mql"]),
                                          {"mql-min_score": "1", "mql-min_conversions": "0"})
    assert response.status_code == 403
    assert Criteria.objects.get(version=definitions_draft, kind="mql").min_score == 50


# --- what-if, signatures, comments ------------------------------------------------------------------

def test_what_if_partial(client_for, sales_rep, scoring_version):
    FitRuleFactory(version=scoring_version, field="job_title", operator="contains", value="cto", points=40)
    active = DefinitionVersionFactory(number=1, status=VersionStatus.ACTIVE)
    CriteriaFactory(version=active, kind="mql", min_score=50)
    draft = DefinitionVersionFactory(number=2)
    CriteriaFactory(version=draft, kind="mql", min_score=40)
    cto = LeadFactory(first_name="Carla", last_name="Cto", job_title="CTO")
    score(scoring_version, cto)
    response = client_for(sales_rep).get(reverse("scoring:version_what_if", args=["definitions", 2]), headers=HTMX)
    page = response.content.decode()
    assert "<html" not in page
    assert page.lstrip().startswith('<div id="what-if"')
    assert 'hx-trigger="draftChanged from:body"' in page
    assert "<td>Meet the MQL criteria</td><td class=\"num\">0</td><td class=\"num\"><strong>1</strong></td>" in page
    assert "Carla Cto" in page


@pytest.mark.parametrize("role, button", [
    ("marketing_manager", "Sign for marketing"), ("sales_manager", "Sign for sales"),
    ("marketer", None), ("sales_rep", None), ("admin", None),
])
def test_sign_buttons(cast, client_for, draft, role, button):
    page = client_for(cast[role]).get(reverse("scoring:version_detail", args=["scoring", 2])).content.decode()
    buttons = [b for b in ("Sign for marketing", "Sign for sales") if b in page]
    assert buttons == ([button] if button else [])


def test_no_marketing_button_once_marketing_signed(client_for, marketing_manager, draft):
    client = client_for(marketing_manager)
    assert client.post(reverse("scoring:sign", args=["scoring", 2])).status_code == 302
    page = client.get(reverse("scoring:version_detail", args=["scoring", 2])).content.decode()
    assert "Sign for marketing" not in page
    assert "✔ Max Marketing" in page


@pytest.mark.parametrize("who", ["marketer", "sales_rep", "marketing_manager"])
def test_a_half_signed_draft_says_whose_signature_it_waits_for(cast, client_for, marketing_manager, draft, who):
    client_for(marketing_manager).post(reverse("scoring:sign", args=["scoring", 2]))
    page = client_for(cast[who]).get(reverse("scoring:version_detail", args=["scoring", 2])).content.decode()
    assert "Marketing has signed; waiting for a sales manager." in page
    assert "Waiting for the managers of both teams" not in page


def test_signing_through_the_pages(client_for, marketing_manager, sales_manager, draft):
    with mock.patch("scoring.services.enqueue"):
        client_for(marketing_manager).post(reverse("scoring:sign", args=["scoring", 2]))
        assert ScoringVersion.objects.get(pk=draft.pk).status == VersionStatus.DRAFT
        response = client_for(sales_manager).post(reverse("scoring:sign", args=["scoring", 2]), follow=True)
    signed = ScoringVersion.objects.get(pk=draft.pk)
    assert (signed.status, signed.marketing_signed_by, signed.sales_signed_by) == (
        VersionStatus.ACTIVE, marketing_manager, sales_manager)
    assert "v2 is now in force" in response.content.decode()
    assert ScoringVersion.objects.get(number=1).status == VersionStatus.SUPERSEDED


@pytest.mark.parametrize("role", ["marketer", "sales_rep", "other_rep", "outside_rep", "admin"])
def test_others_get_403_on_signing(cast, client_for, draft, role):
    assert client_for(cast[role]).post(reverse("scoring:sign", args=["scoring", 2])).status_code == 403
    unsigned = ScoringVersion.objects.get(pk=draft.pk)
    assert (unsigned.marketing_signed_at, unsigned.sales_signed_at) == (None, None)


def test_signing_twice_for_one_side_shows_a_message(client_for, marketing_manager, draft):
    client = client_for(marketing_manager)
    client.post(reverse("scoring:sign", args=["scoring", 2]))
    response = client.post(reverse("scoring:sign", args=["scoring", 2]), follow=True)
    assert "Marketing has already signed this draft." in response.content.decode()


def test_commenting(client_for, sales_rep, draft):
    client = client_for(sales_rep)
    assert client.post(reverse("scoring:comment", args=["scoring", 2]), {"body": "Why 30 for a CTO?"}).status_code == 302
    assert list(VersionComment.objects.values_list("author", "body")) == [(sales_rep.pk, "Why 30 for a CTO?")]
    page = client.get(reverse("scoring:version_detail", args=["scoring", 2])).content.decode()
    assert "Why 30 for a CTO?" in page
    client.post(reverse("scoring:comment", args=["scoring", 2]), {"body": ""})
    assert VersionComment.objects.count() == 1


# --- scores on the lead pages -------------------------------------------------------------------------

def test_lead_page_shows_the_score_card_with_its_breakdown(client_for, sales_rep, scoring_version):
    FitRuleFactory(version=scoring_version, label="Is a CTO", field="job_title", operator="contains", value="cto",
                   points=30)
    FitRuleFactory(version=scoring_version, label="Free-mail address", field="email_domain", operator="equals",
                   value="gmail.com", points=-10)
    EngagementRuleFactory(version=scoring_version, label="Visited pricing", url_match="contains",
                          url_value="/pricing", points=8)
    PersonaFactory(name="Technical buyer", title_keywords=["cto"])
    lead = LeadFactory(job_title="CTO", email="carla@gmail.com")
    activity(lead, url="/pricing")
    score(scoring_version, lead)
    page = client_for(sales_rep).get(reverse("leads:lead_detail", args=[lead.pk])).content.decode()
    assert '<span class="score-big">28</span>' in page
    assert "fit 20 + engagement 8" in page
    assert "<span>Fit · Is a CTO</span><span class=\"up\">+30</span>" in page
    assert "<span>Fit · Free-mail address</span><span class=\"down\">-10</span>" in page
    assert "<span>Engagement · Visited pricing</span><span class=\"up\">+8</span>" in page
    assert "Persona: <strong>Technical buyer</strong>" in page
    assert "job title “CTO” contains “cto”" in page


def test_lead_page_before_scoring(client_for, sales_rep):
    page = client_for(sales_rep).get(reverse("leads:lead_detail", args=[LeadFactory().pk])).content.decode()
    assert "Not scored yet." in page


def test_lead_list_shows_scores_in_a_constant_number_of_queries(client_for, marketer, scoring_version,
                                                                count_queries):
    FitRuleFactory(version=scoring_version, field="job_title", operator="contains", value="head", points=17)
    client = client_for(marketer)
    url = reverse("leads:lead_list")
    first = [LeadFactory() for _ in range(5)]
    score(scoring_version, *first)
    page = client.get(url).content.decode()
    assert page.count('<strong>17</strong> <span class="grade-inline grade-C">C</span>') == 5
    with_five = count_queries(client, url)
    more = [LeadFactory() for _ in range(35)]
    score(scoring_version, *more)
    assert count_queries(client, url) == with_five
    page = client.get(url).content.decode()
    assert page.count('<strong>17</strong> <span class="grade-inline grade-C">C</span>') == 40




@pytest.mark.parametrize("overrides, field_name, message", [
    pytest.param(dict(url_match="contains", url_value=""), "eng-url_value", "Give the URL text to match."),
    pytest.param(dict(property_key="seconds_on_site", property_min=""), "eng-property_min",
                 "Give the minimum value of the property."),
    pytest.param(dict(half_life_days="0"), "eng-half_life_days", ""),
], ids=["url", "property-min", "half-life-0"])
def test_an_engagement_rule_that_cannot_work_shows_the_error_next_to_its_field(client_for, marketer, draft,
                                                                               overrides, field_name, message):
    response = client_for(marketer).post(reverse("scoring:engagement_rule_create", args=[2]),
                                         engagement_post(**overrides), headers=HTMX)
    page = response.content.decode()
    assert "is violated" not in page
    block = field_block(page, field_name)
    assert block.startswith(" has-error")
    assert message in block
    assert draft.engagement_rules.count() == 1


def test_sorting_by_score_puts_the_hottest_leads_first(client_for, marketer, scoring_version):
    FitRuleFactory(version=scoring_version, field="job_title", operator="equals", value="cto", points=50)
    FitRuleFactory(version=scoring_version, field="job_title", operator="equals", value="analyst", points=10)
    hot, warm = LeadFactory(job_title="CTO", last_name="Hot"), LeadFactory(job_title="Analyst", last_name="Warm")
    cold = LeadFactory(job_title="Clerk", last_name="Unscored")
    score(scoring_version, hot, warm)
    response = client_for(marketer).get(reverse("leads:lead_list") + "?sort=-score")
    assert [lead.pk for lead in response.context["page"].object_list] == [hot.pk, warm.pk, cold.pk]


def test_a_rule_of_another_version_cannot_be_reached_through_the_draft(client_for, marketer, draft):
    in_force_rule = FitRuleFactory(version=ScoringVersion.objects.get(number=1), label="In force")
    client = client_for(marketer)
    assert client.post(reverse("scoring:rule_delete", args=[2, "fit", in_force_rule.pk]),
                       headers=HTMX).status_code == 404
    assert client.post(reverse("scoring:fit_rule_edit", args=[2, in_force_rule.pk]), fit_post(points="-99"),
                       headers=HTMX).status_code == 404
    in_force_rule.refresh_from_db()
    assert (in_force_rule.label, in_force_rule.points) == ("In force", 10)


def test_starting_a_rescore_while_the_queue_is_down_says_so(client_for, marketer):
    with mock.patch("scoring.views.enqueue", return_value=False):
        response = client_for(marketer).post(reverse("scoring:rescore_start"), follow=True)
    assert "The job queue is not answering" in response.content.decode()


@pytest.mark.parametrize("role, editable", [("marketer", True), ("sales_rep", False)])
def test_definitions_draft_page(cast, client_for, definitions_draft, role, editable):
    page = client_for(cast[role]).get(reverse("scoring:version_detail", args=["definitions", 1])).content.decode()
    assert "MQL and SQL definitions v1" in page
    assert ("Save MQL criteria" in page) == editable
    assert ("<fieldset disabled>" in page) == (not editable)
    assert 'id="what-if"' in page


def test_a_marketer_changes_a_rule_sees_the_what_if_has_it_signed_and_watches_mqls_change(
        client_for, marketer, marketing_manager, sales_manager, scoring_version, django_capture_on_commit_callbacks):
    """In force: +40 for an engineer; MQL at score ≥ 50. The marketer adds +15 for a phone number:
    the engineer with a phone (40 → 55) becomes an MQL, the one without (40) does not."""
    FitRuleFactory(version=scoring_version, label="Engineer", field="job_title", operator="contains",
                   value="engineer", points=40)
    definition = DefinitionVersionFactory(number=1, status=VersionStatus.ACTIVE)
    CriteriaFactory(version=definition, min_score=50)
    with_phone = LeadFactory(job_title="Engineer", phone="+49 30 1234")
    without_phone = LeadFactory(job_title="Engineer", phone="")
    score(scoring_version, with_phone, without_phone)

    marketing = client_for(marketer)
    marketing.post(reverse("scoring:draft_open", args=["scoring"]))
    post = fit_post(label="Has a phone", field="phone", operator="is_not_empty", value="", points="15")
    assert marketing.post(reverse("scoring:fit_rule_create", args=[2]), post, headers=HTMX).status_code == 200
    what_if_page = marketing.get(reverse("scoring:version_what_if", args=["scoring", 2]), headers=HTMX)
    assert ("<td>Become MQL at the next rescore</td><td class=\"num\">0</td><td class=\"num\"><strong>1</strong>"
            in what_if_page.content.decode())

    with mock.patch("scoring.services.enqueue") as enqueue, django_capture_on_commit_callbacks(execute=True):
        client_for(marketing_manager).post(reverse("scoring:sign", args=["scoring", 2]))
        client_for(sales_manager).post(reverse("scoring:sign", args=["scoring", 2]))
    # What the broker would run: the full rescore the signature asked for.
    assert enqueue.call_args.args == ("scoring.tasks.rescore_full_task",)
    with mock.patch("scoring.tasks.group") as fan_out:
        run_id = rescore_full_task(**enqueue.call_args.kwargs)
        for chunk in fan_out.call_args.args[0]:
            rescore_chunk_task(**chunk.kwargs)

    progress = marketing.get(reverse("scoring:rescore_progress"), headers=HTMX).content.decode()
    assert "2 leads scored under scoring v2, 1 became MQL" in progress
    assert RescoreRun.objects.get(pk=run_id).finished_at is not None
    lead_page = marketing.get(reverse("leads:lead_detail", args=[with_phone.pk])).content.decode()
    assert '<span class="score-big">55</span>' in lead_page
    assert "<span>Fit · Has a phone</span><span class=\"up\">+15</span>" in lead_page
    with_phone.refresh_from_db()
    without_phone.refresh_from_db()
    assert (with_phone.stage, without_phone.stage) == ("mql", "new")
