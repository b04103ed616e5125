"""Fit rules: every operator on lead fields, company fields, custom properties, the e-mail domain, the
persona and the do-not-contact flag, compared case-insensitively, with negative points allowed.

Each case is one rule and one lead built by hand; the expected points are the rule's points or 0.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from scoring.models import FitRule
from scoring.services import fit_rule_save
from tests.factories import CompanyFactory, FitRuleFactory, LeadFactory, PersonaFactory, ScoringVersionFactory
from tests.scoring.conftest import score

ON_SQLITE = connection.vendor == "sqlite"


def fit_of(scoring_version, rule_kwargs: dict, **lead_kwargs) -> int:
    rule = FitRuleFactory(version=scoring_version, **rule_kwargs)
    lead = LeadFactory(**lead_kwargs)
    (lead_score,) = score(scoring_version, lead)
    # The rule's points are in the breakdown under its key exactly when it gave any.
    assert (lead_score.breakdown.get(rule.key) or 0) == lead_score.fit
    return lead_score.fit


# --- text fields of the lead ---------------------------------------------------------------------

@pytest.mark.parametrize("job_title, expected", [
    ("CTO", 20), ("cto", 20), ("  CTO", 0), ("CTO Office", 0), ("", 0),
])
def test_equals_compares_the_whole_text_case_insensitively(scoring_version, job_title, expected):
    assert fit_of(scoring_version, dict(field="job_title", operator="equals", value="Cto", points=20),
                  job_title=job_title) == expected


@pytest.mark.parametrize("seniority, expected", [
    ("director", 15), ("vp", 15), ("c_level", 15), ("manager", 0), ("", 0),
])
def test_one_of_matches_any_listed_value(scoring_version, seniority, expected):
    rule = dict(field="seniority", operator="one_of", value="Director, VP ,c_level", points=15)
    assert fit_of(scoring_version, rule, seniority=seniority) == expected


@pytest.mark.parametrize("job_title, expected", [
    ("Senior Software Engineer", 10), ("ENGINEERING lead", 10), ("Sales manager", 0), ("", 0),
])
def test_contains_finds_the_text_anywhere(scoring_version, job_title, expected):
    assert fit_of(scoring_version, dict(field="job_title", operator="contains", value="engineer", points=10),
                  job_title=job_title) == expected


@pytest.mark.parametrize("job_title, expected", [("R&D 50% lead", 7), ("R&D 500 lead", 0), ("r_d lead", 0)])
def test_contains_takes_percent_and_underscore_literally(scoring_version, job_title, expected):
    # "%" and "_" are LIKE wildcards; a rule about "50%" must not match "500".
    assert fit_of(scoring_version, dict(field="job_title", operator="contains", value="50%", points=7),
                  job_title=job_title) == expected


def test_contains_underscore_is_not_a_wildcard(scoring_version):
    assert fit_of(scoring_version, dict(field="utm_campaign", operator="contains", value="q1_", points=4),
                  utm_campaign="Q1X-promo") == 0


@pytest.mark.parametrize("job_title, expected", [
    ("Head of Engineering", 12), ("head of it", 12), ("Deputy head of IT", 0), ("Head", 0),
])
def test_starts_with_matches_only_at_the_start(scoring_version, job_title, expected):
    assert fit_of(scoring_version, dict(field="job_title", operator="starts_with", value="Head of", points=12),
                  job_title=job_title) == expected


@pytest.mark.parametrize("phone, expected_empty, expected_not_empty", [("", 5, 0), ("+49 30 1234", 0, 3)])
def test_is_empty_and_is_not_empty_on_a_lead_field(scoring_version, phone, expected_empty, expected_not_empty):
    FitRuleFactory(version=scoring_version, field="phone", operator="is_empty", value="", points=5)
    FitRuleFactory(version=scoring_version, field="phone", operator="is_not_empty", value="", points=3)
    (lead_score,) = score(scoring_version, LeadFactory(phone=phone))
    assert lead_score.fit == expected_empty + expected_not_empty


# --- company fields ----------------------------------------------------------------------------------

@pytest.mark.parametrize("employees, expected", [
    (49, 0), (50, 15), (120, 15), (500, 15), (501, 0), (None, 0),
])
def test_company_employees_between_includes_both_bounds(scoring_version, employees, expected):
    rule = dict(field="company.employees", operator="between", value="50", value_to="500", points=15)
    assert fit_of(scoring_version, rule, company=CompanyFactory(employees=employees)) == expected


def test_company_rule_gives_nothing_to_a_lead_without_company(scoring_version):
    rule = dict(field="company.employees", operator="between", value="0", value_to="1000000", points=15)
    assert fit_of(scoring_version, rule, company=None) == 0


@pytest.mark.parametrize("industry, expected", [("Software", 10), ("FINTECH", 10), ("Retail", 0), ("", 0)])
def test_company_industry_one_of(scoring_version, industry, expected):
    rule = dict(field="company.industry", operator="one_of", value="software, Fintech", points=10)
    assert fit_of(scoring_version, rule, company=CompanyFactory(industry=industry)) == expected


def test_company_employees_equals_and_one_of_compare_numbers(scoring_version):
    FitRuleFactory(version=scoring_version, field="company.employees", operator="equals", value="120", points=1)
    FitRuleFactory(version=scoring_version, field="company.employees", operator="one_of", value="10, 120", points=2)
    hit, miss = LeadFactory(company=CompanyFactory(employees=120)), LeadFactory(company=CompanyFactory(employees=12))
    assert [s.fit for s in score(scoring_version, hit, miss)] == [3, 0]


def test_company_industry_is_empty_for_a_lead_without_company(scoring_version):
    rule = dict(field="company.industry", operator="is_empty", value="", points=-5)
    assert fit_of(scoring_version, rule, company=None) == -5


# --- custom properties ---------------------------------------------------------------------------

@pytest.mark.parametrize("properties, expected", [
    ({"budget": 2000}, 10),
    ({"budget": 1000}, 10),
    ({"budget": 5000.0}, 10),
    ({"budget": "3000"}, 10),
    ({"budget": " 4000 "}, 10),
    ({"budget": 999}, 0),
    ({"budget": 6000}, 0),
    ({"budget": "n/a"}, 0),
    ({"budget": ""}, 0),
    ({"budget": None}, 0),
    ({}, 0),
])
def test_property_between_counts_numbers_and_ignores_what_is_not_one(scoring_version, properties, expected):
    rule = dict(field="properties.budget", operator="between", value="1000", value_to="5000", points=10)
    assert fit_of(scoring_version, rule, properties=properties) == expected


@pytest.mark.parametrize("budget", ["1000-5000", "-", "1.2.3"])
def test_property_between_treats_a_range_or_a_dash_as_not_a_number(scoring_version, budget):
    rule = dict(field="properties.budget", operator="between", value="0", value_to="5000", points=10)
    assert fit_of(scoring_version, rule, properties={"budget": budget}) == 0


@pytest.mark.parametrize("properties, expected", [
    ({"plan": "Enterprise"}, 8), ({"plan": "ENTERPRISE"}, 8), ({"plan": "Team"}, 0), ({}, 0),
])
def test_property_equals_is_case_insensitive(scoring_version, properties, expected):
    rule = dict(field="properties.plan", operator="equals", value="enterprise", points=8)
    assert fit_of(scoring_version, rule, properties=properties) == expected


@pytest.mark.parametrize("properties, expected", [
    ({"budget": 10}, 5), ({"budget": "n/a"}, 5), ({"budget": ""}, 0), ({}, 0),
])
def test_property_is_not_empty(scoring_version, properties, expected):
    rule = dict(field="properties.budget", operator="is_not_empty", value="", points=5)
    assert fit_of(scoring_version, rule, properties=properties) == expected


def test_property_name_with_a_space(scoring_version):
    rule = dict(field="properties.Team size", operator="starts_with", value="10", points=6)
    assert fit_of(scoring_version, rule, properties={"Team size": "10-50"}) == 6


# --- e-mail domain, persona, do-not-contact ------------------------------------------------------------

@pytest.mark.parametrize("email, expected", [
    ("ann@gmail.com", -10), ("bob@yahoo.com", -10), ("cy@acme.test", 0), ("dee@gmail.com.evil.test", 0),
])
def test_email_domain_one_of_takes_points_for_free_mail(scoring_version, email, expected):
    rule = dict(field="email_domain", operator="one_of", value="Gmail.com, yahoo.com", points=-10)
    assert fit_of(scoring_version, rule, email=email) == expected


def test_email_domain_equals(scoring_version):
    rule = dict(field="email_domain", operator="equals", value="rivalsoft.com", points=-50)
    assert fit_of(scoring_version, rule, email="spy@rivalsoft.com") == -50


def test_persona_equals_gives_points_to_the_leads_of_that_persona(scoring_version):
    PersonaFactory(name="Technical buyer", title_keywords=["cto"])
    FitRuleFactory(version=scoring_version, field="persona", operator="equals", value="technical BUYER", points=20)
    FitRuleFactory(version=scoring_version, field="persona", operator="is_empty", value="", points=-3)
    cto, clerk = LeadFactory(job_title="CTO"), LeadFactory(job_title="Clerk")
    assert [s.fit for s in score(scoring_version, cto, clerk)] == [20, -3]


def test_persona_one_of_and_is_not_empty(scoring_version):
    PersonaFactory(name="Technical buyer", title_keywords=["cto"])
    PersonaFactory(name="Marketing leader", title_keywords=["cmo"])
    PersonaFactory(name="Founder", title_keywords=["founder"])
    FitRuleFactory(version=scoring_version, field="persona", operator="one_of",
                   value="Technical buyer, Marketing leader, No such persona", points=10)
    FitRuleFactory(version=scoring_version, field="persona", operator="is_not_empty", value="", points=1)
    leads = [LeadFactory(job_title=title) for title in ("CTO", "CMO", "Founder", "Clerk")]
    assert [s.fit for s in score(scoring_version, *leads)] == [11, 11, 1, 0]


def test_persona_equals_an_unknown_name_gives_nobody_points(scoring_version):
    PersonaFactory(name="Technical buyer", title_keywords=["cto"])
    rule = dict(field="persona", operator="equals", value="Nobody", points=20)
    assert fit_of(scoring_version, rule, job_title="CTO") == 0


@pytest.mark.parametrize("value, do_not_contact, expected", [
    ("true", True, -40), ("true", False, 0), ("yes", True, -40), ("false", False, -40), ("false", True, 0),
])
def test_do_not_contact_equals(scoring_version, value, do_not_contact, expected):
    rule = dict(field="do_not_contact", operator="equals", value=value, points=-40)
    assert fit_of(scoring_version, rule, do_not_contact=do_not_contact) == expected


# --- negative points and sums --------------------------------------------------------------------------

def test_negative_points_make_fit_negative_and_grade_d(scoring_version):
    FitRuleFactory(version=scoring_version, field="job_title", operator="contains", value="student", points=-30)
    FitRuleFactory(version=scoring_version, field="country", operator="equals", value="de", points=10)
    (lead_score,) = score(scoring_version, LeadFactory(job_title="Working student", country="DE"))
    assert (lead_score.fit, lead_score.total, lead_score.grade) == (-20, -20, "D")


def test_every_matching_rule_adds_its_points(scoring_version):
    rules = [
        FitRuleFactory(version=scoring_version, field="job_title", operator="contains", value="cto", points=20),
        FitRuleFactory(version=scoring_version, field="seniority", operator="equals", value="c_level", points=15),
        FitRuleFactory(version=scoring_version, field="company.industry", operator="equals", value="software",
                       points=10),
        FitRuleFactory(version=scoring_version, field="phone", operator="is_not_empty", value="", points=5),
        FitRuleFactory(version=scoring_version, field="country", operator="equals", value="FR", points=7),
    ]
    lead = LeadFactory(job_title="CTO", seniority="c_level", phone="", country="DE",
                       company=CompanyFactory(industry="Software"))
    (lead_score,) = score(scoring_version, lead)
    assert lead_score.fit == 45
    assert {k: v for k, v in lead_score.breakdown.items() if v} == {
        rules[0].key: 20, rules[1].key: 15, rules[2].key: 10,
    }


# --- rules that cannot be compiled are refused when saved ---------------------------------------------

@pytest.mark.parametrize("field, operator, value, value_to, error_field", [
    ("nonsense", "equals", "x", "", "field"),
    ("properties.bad'name", "equals", "x", "", "field"),
    ("company.employees", "between", "fifty", "500", "value"),
    ("company.employees", "between", "50", "", "value_to"),
    ("properties.budget", "between", "1000", "lots", "value_to"),
    ("company.employees", "contains", "5", "", "operator"),
    ("do_not_contact", "one_of", "true", "", "operator"),
    ("persona", "starts_with", "Tech", "", "operator"),
    ("job_title", "equals", "  ", "", "value"),
])
def test_a_rule_that_cannot_be_compiled_is_refused_on_its_field(marketer, field, operator, value, value_to,
                                                                  error_field):
    draft = ScoringVersionFactory()
    rule = FitRule(version=draft, label="x", field=field, operator=operator, value=value, value_to=value_to, points=1)
    with pytest.raises(ValidationError) as raised:
        fit_rule_save(rule=rule, actor=marketer)
    assert error_field in raised.value.error_dict
    assert not FitRule.objects.filter(version=draft).exists()
