"""The SQL definition in force as a checklist for one lead, criterion by criterion, checked in the database."""

import pytest
from django.utils import timezone

from leads.models import Stage
from scoring.models import Criteria, LeadScore, VersionStatus
from sla.selectors import ChecklistItem, sql_checklist
from tests.factories import CriteriaFactory, DefinitionVersionFactory, LeadFactory, ScoringVersionFactory


@pytest.fixture
def definition(db):
    version = DefinitionVersionFactory(status=VersionStatus.ACTIVE)
    return CriteriaFactory(
        version=version, kind=Criteria.Kind.SQL, min_score=50, min_grade="B", persona_required=True,
        required_fields=["phone", "company"], min_conversions=2, exclude_do_not_contact=True,
        exclude_free_mail=True, excluded_domains=["rival.test"],
    )


@pytest.mark.django_db
def test_each_criterion_is_met_or_not_for_the_lead(definition):
    lead = LeadFactory(email="kim@acme.test", stage=Stage.SAL, phone="")
    LeadScore.objects.create(lead=lead, version=ScoringVersionFactory(), fit=40, engagement=25, total=65, grade="C",
                             conversions=2, computed_at=timezone.now())

    assert sql_checklist(lead=lead) == [
        ChecklistItem("Score of at least 50", True, "now 65"),
        ChecklistItem("Grade B or better", False, "now C"),
        ChecklistItem("Matches a persona", False),
        ChecklistItem("Has a phone", False),
        ChecklistItem("Has a company", True),
        ChecklistItem("At least 2 form submissions", True, "now 2"),
        ChecklistItem("Not marked do-not-contact", True),
        ChecklistItem("A business e-mail, not free mail", True),
        ChecklistItem("Not a competitor's or partner's domain", True),
    ]


@pytest.mark.django_db
def test_an_unscored_lead_from_a_competitor_meets_none_of_the_thresholds(definition):
    lead = LeadFactory(email="spy@rival.test", stage=Stage.SAL, do_not_contact=True, company=None)

    items = {item.label: item.met for item in sql_checklist(lead=lead)}

    assert items["Score of at least 50"] is False
    assert items["Not a competitor's or partner's domain"] is False
    assert items["Not marked do-not-contact"] is False
    assert items["Has a company"] is False


@pytest.mark.django_db
def test_without_a_definition_in_force_there_is_no_checklist():
    assert sql_checklist(lead=LeadFactory()) is None
