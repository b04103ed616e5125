"""Persona matching (scoring.models.Persona): every criterion a persona sets must hold; the most
specific matching persona wins; a tie goes to the lower priority number, then to the older persona."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from scoring.demo import PERSONAS
from scoring.models import Persona
from scoring.selectors import lead_score_explained
from scoring.services import persona_save
from smarketing.models import AuditEntry
from tests.factories import CompanyFactory, LeadFactory, PersonaFactory
from tests.scoring.conftest import score


def persona_of(scoring_version, lead):
    (lead_score,) = score(scoring_version, lead)
    return lead_score.persona


@pytest.fixture
def technical_buyer(db):
    """Sets all five criteria."""
    return PersonaFactory(name="Technical buyer", title_keywords=["cto", "vp engineering"],
                          seniorities=["director", "vp", "c_level"], company_size_min=50, company_size_max=500,
                          industries=["Software", "fintech"], countries=["DE", "at"])


def ideal_lead(**overrides):
    company = overrides.pop("company", None) or CompanyFactory(employees=120, industry="software")
    fields = dict(job_title="VP Engineering", seniority="vp", country="DE", company=company)
    return LeadFactory(**{**fields, **overrides})


def test_a_lead_meeting_every_criterion_matches(scoring_version, technical_buyer):
    assert persona_of(scoring_version, ideal_lead()) == technical_buyer


@pytest.mark.parametrize("overrides", [
    dict(job_title="Engineer"),
    dict(seniority="manager"),
    dict(country="FR"),
    dict(company=CompanyFactory.build(employees=49, industry="Software")),
    dict(company=CompanyFactory.build(employees=501, industry="Software")),
    dict(company=CompanyFactory.build(employees=None, industry="Software")),
    dict(company=CompanyFactory.build(employees=120, industry="Retail")),
], ids=["title", "seniority", "country", "too-small", "too-big", "size-unknown", "industry"])
def test_failing_any_one_criterion_means_no_match(scoring_version, technical_buyer, overrides):
    if "company" in overrides:
        overrides["company"].save()
    assert persona_of(scoring_version, ideal_lead(**overrides)) is None


def test_no_company_fails_the_company_criteria(scoring_version, technical_buyer):
    lead = LeadFactory(job_title="CTO", seniority="c_level", country="DE", company=None)
    assert persona_of(scoring_version, lead) is None


def test_criteria_compare_case_insensitively(scoring_version, technical_buyer):
    lead = ideal_lead(job_title="Our cto", country="at", company=CompanyFactory(employees=50, industry="FINTECH"))
    assert persona_of(scoring_version, lead) == technical_buyer


def test_the_more_specific_persona_wins(scoring_version):
    broad = PersonaFactory(name="Any engineer", title_keywords=["engineer"], priority=1)
    narrow = PersonaFactory(name="Senior engineer", title_keywords=["engineer"], seniorities=["director"],
                            priority=99)
    director = LeadFactory(job_title="Engineering director", seniority="director")
    engineer = LeadFactory(job_title="Engineer", seniority="individual")
    assert [s.persona for s in score(scoring_version, director, engineer)] == [narrow, broad]


def test_a_tie_goes_to_the_lower_priority_number(scoring_version):
    PersonaFactory(name="Engineers", title_keywords=["engineer"], priority=20)
    preferred = PersonaFactory(name="Germans", title_keywords=[], countries=["DE"], priority=10)
    assert persona_of(scoring_version, LeadFactory(job_title="Engineer", country="DE")) == preferred


def test_a_tie_in_priority_goes_to_the_older_persona(scoring_version):
    older = PersonaFactory(name="Engineers", title_keywords=["engineer"], priority=10)
    PersonaFactory(name="Germans", title_keywords=[], countries=["DE"], priority=10)
    assert persona_of(scoring_version, LeadFactory(job_title="Engineer", country="DE")) == older


def test_a_persona_with_no_criteria_matches_nobody(scoring_version):
    PersonaFactory(name="Everyone", title_keywords=[])
    assert persona_of(scoring_version, LeadFactory(job_title="CTO")) is None


def test_an_inactive_persona_is_ignored(scoring_version):
    PersonaFactory(name="Retired", title_keywords=["cto"], seniorities=["c_level"], is_active=False)
    active = PersonaFactory(name="Current", title_keywords=["cto"])
    assert persona_of(scoring_version, LeadFactory(job_title="CTO", seniority="c_level")) == active


def test_a_title_keyword_matches_a_word_not_part_of_one(scoring_version):
    for persona in PERSONAS:
        PersonaFactory(**persona)
    director = LeadFactory(job_title="Marketing Director", seniority="director",
                           company=CompanyFactory(employees=200))
    assert persona_of(scoring_version, director).name == "Marketing leader"


def test_only_a_minimum_company_size(scoring_version):
    persona = PersonaFactory(name="Enterprise", title_keywords=[], company_size_min=1000)
    big, small = LeadFactory(company=CompanyFactory(employees=1000)), LeadFactory(company=CompanyFactory(employees=999))
    assert [s.persona for s in score(scoring_version, big, small)] == [persona, None]


def test_lead_score_explained_shows_the_persona_and_why(scoring_version, technical_buyer):
    lead = ideal_lead(company=CompanyFactory(employees=1200, industry="Software"))
    technical_buyer.company_size_max = 5000
    technical_buyer.save()
    score(scoring_version, lead)
    explained = lead_score_explained(lead=lead)
    assert explained.score.persona == technical_buyer
    assert explained.persona_reasons == [
        "job title “VP Engineering” contains “vp engineering”",
        "seniority is VP",
        "1,200 employees is within 50–5000",
        "industry is Software",
        "country is DE",
    ]


def test_no_persona_no_reasons(scoring_version, technical_buyer):
    lead = LeadFactory(job_title="Clerk")
    score(scoring_version, lead)
    explained = lead_score_explained(lead=lead)
    assert (explained.score.persona, explained.persona_reasons) == (None, [])


# --- who keeps personas -------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["marketing_manager", "sales_manager", "admin"])
def test_managers_of_both_teams_and_admin_save_personas(cast, role):
    persona = persona_save(persona=Persona(name="Ops lead", title_keywords=["operations"]), actor=cast[role])
    assert Persona.objects.get(pk=persona.pk).title_keywords == ["operations"]
    entry = AuditEntry.objects.get(action="persona.create")
    assert (entry.actor, entry.target_id) == (cast[role], str(persona.pk))


@pytest.mark.parametrize("role", ["marketer", "sales_rep", "other_rep", "outside_rep"])
def test_others_cannot_save_personas(cast, role):
    with pytest.raises(PermissionDenied):
        persona_save(persona=Persona(name="Ops lead", title_keywords=["operations"]), actor=cast[role])
    assert not Persona.objects.exists()


def test_company_size_range_must_not_be_upside_down(marketing_manager):
    with pytest.raises(ValidationError) as raised:
        persona_save(persona=Persona(name="Odd", company_size_min=500, company_size_max=50), actor=marketing_manager)
    assert "company_size_max" in raised.value.error_dict
