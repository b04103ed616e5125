"""The demo organisation's qualification agreement: personas, scoring v1 and definitions v1, signed."""

from django.db import transaction
from django.utils import timezone

from leads.models import ActivityType, Seniority
from scoring.models import (
    Criteria,
    DefinitionVersion,
    EngagementRule,
    FitRule,
    Persona,
    ScoringVersion,
    VersionStatus,
)

PERSONAS = [
    dict(name="Technical buyer", priority=10,
         description="Leads engineering or IT at a mid-size or large company and owns the tooling budget.",
         pains="Tool sprawl, slow onboarding of new engineers, audits.",
         goals="Fewer tools that integrate; measurable delivery speed.",
         title_keywords=["cto", "vp engineering", "head of engineering", "it director", "engineering manager"],
         seniorities=[Seniority.MANAGER, Seniority.DIRECTOR, Seniority.VP, Seniority.C_LEVEL],
         company_size_min=50),
    dict(name="Marketing leader", priority=20,
         description="Runs demand generation and is measured on pipeline.",
         pains="Leads that sales ignores; no attribution.", goals="Pipeline sourced by marketing; a shared funnel.",
         title_keywords=["marketing", "cmo", "demand gen", "growth"],
         seniorities=[Seniority.MANAGER, Seniority.DIRECTOR, Seniority.VP, Seniority.C_LEVEL]),
    dict(name="Founder of a small company", priority=30,
         description="Decides alone and fast; price-sensitive.", pains="No time.", goals="Something that just works.",
         title_keywords=["founder", "owner", "ceo"], company_size_max=49),
]

FIT_RULES = [
    ("Matches the technical buyer persona", "persona", "equals", "Technical buyer", "", 20),
    ("Matches the marketing leader persona", "persona", "equals", "Marketing leader", "", 15),
    ("Decision maker", "seniority", "one_of", "director, vp, c_level, owner", "", 15),
    ("Company of 50–5,000 people", "company.employees", "between", "50", "5000", 15),
    ("Target industry", "company.industry", "one_of", "Software, Fintech, E-commerce, Healthcare", "", 10),
    ("Has a phone number", "phone", "is_not_empty", "", "", 5),
    ("Budget stated on a form", "properties.budget", "is_not_empty", "", "", 5),
    ("Student or intern", "job_title", "contains", "student", "", -30),
    ("Free-mail address", "email_domain", "one_of", "gmail.com, yahoo.com, hotmail.com, outlook.com", "", -10),
]

ENGAGEMENT_RULES = [
    ("Visited pricing", ActivityType.PAGE_VIEW, "contains", "/pricing", "", None, 8, 40, 30),
    ("Visited the demo page", ActivityType.PAGE_VIEW, "contains", "/demo", "", None, 10, 40, 30),
    ("Read the blog", ActivityType.PAGE_VIEW, "starts_with", "/blog", "", None, 1, 10, 14),
    ("Long visit", ActivityType.PAGE_VIEW, "", "", "seconds_on_site", 120, 3, 15, 30),
    ("Submitted a form", ActivityType.FORM_SUBMISSION, "", "", "", None, 10, 50, 60),
    ("Downloaded content", ActivityType.DOWNLOAD, "", "", "", None, 6, 30, 45),
    ("Attended a webinar", ActivityType.WEBINAR, "", "", "", None, 12, 36, 60),
    ("Booked a meeting", ActivityType.MEETING_BOOKED, "", "", "", None, 25, 50, None),
    ("Clicked an e-mail", ActivityType.EMAIL_CLICK, "", "", "", None, 2, 16, 21),
    ("Opened an e-mail", ActivityType.EMAIL_OPEN, "", "", "", None, 1, 8, 14),
]


@transaction.atomic
def agreement_seed(*, marketing_manager, sales_manager) -> tuple[ScoringVersion, DefinitionVersion]:
    """Creates the personas and the first signed scoring and definition versions (no-op if present)."""
    now = timezone.now()
    for persona in PERSONAS:
        Persona.objects.get_or_create(name=persona["name"], defaults=persona)
    signed = dict(status=VersionStatus.ACTIVE, created_by=marketing_manager, marketing_signed_by=marketing_manager,
                  marketing_signed_at=now, sales_signed_by=sales_manager, sales_signed_at=now, activated_at=now,
                  note="The first agreement of the demo organisation.")
    scoring, created = ScoringVersion.objects.get_or_create(number=1, defaults=signed)
    if created:
        FitRule.objects.bulk_create(
            FitRule(version=scoring, label=label, field=field, operator=operator, value=value, value_to=value_to,
                    points=points)
            for label, field, operator, value, value_to, points in FIT_RULES
        )
        EngagementRule.objects.bulk_create(
            EngagementRule(version=scoring, label=label, activity_type=activity_type, url_match=url_match,
                           url_value=url_value, property_key=property_key, property_min=property_min,
                           points=points, cap=cap, half_life_days=half_life)
            for label, activity_type, url_match, url_value, property_key, property_min, points, cap, half_life
            in ENGAGEMENT_RULES
        )
    definition, created = DefinitionVersion.objects.get_or_create(number=1, defaults=signed)
    if created:
        Criteria.objects.create(version=definition, kind=Criteria.Kind.MQL, min_score=60, min_grade="C",
                                min_conversions=2, required_fields=["company"], exclude_free_mail=True,
                                excluded_domains=["rivalsoft.com"])
        Criteria.objects.create(version=definition, kind=Criteria.Kind.SQL, min_score=80, min_grade="B",
                                persona_required=True, required_fields=["phone", "company", "job_title"],
                                min_conversions=0, exclude_free_mail=True)
    return scoring, definition
