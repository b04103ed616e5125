"""factory_boy factories for the models the tests build. Every factory makes a valid row with no arguments."""

from datetime import timedelta

import factory
from django.utils import timezone

from leads.import_services import lead_import_run
from leads.models import Activity, ActivityType, Company, Lead, LeadImport, Stage, StageChange
from scoring.models import (
    Criteria,
    DefinitionVersion,
    EngagementRule,
    FitRule,
    Persona,
    ScoringVersion,
    VersionStatus,
)
from smarketing.models import Team, User
from smarketing.roles import Function, Role

PASSWORD = "pw-Str0ng!x"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    function = Function.SALES


class UserFactory(factory.django.DjangoModelFactory):
    """A user who signs in with their e-mail and PASSWORD; pass role= for anything but a marketer."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@smarketing.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.MARKETER
    password = factory.django.Password(PASSWORD)
    is_active = True


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.Sequence(lambda n: f"company{n}.test")
    employees = 120
    industry = "Software"
    country = "DE"


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"lead{n}@prospect.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    job_title = "Head of Operations"
    country = "DE"
    company = factory.SubFactory(CompanyFactory)
    source = "webinar"
    campaign = "spring-launch"
    stage = Stage.NEW


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    lead = factory.SubFactory(LeadFactory)
    type = ActivityType.PAGE_VIEW
    occurred_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    url = factory.Sequence(lambda n: f"/blog/post-{n}/")


class StageChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StageChange

    lead = factory.SubFactory(LeadFactory)
    from_stage = Stage.NEW
    to_stage = Stage.MQL
    changed_at = factory.LazyFunction(timezone.now)
    changed_by = None
    reason = "fit and engagement over threshold"


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "smarketing.WebhookEndpoint"

    url = factory.Sequence(lambda n: f"https://hooks.example.test/{n}")
    events = factory.LazyFunction(lambda: ["lead.mql", "lead.won"])
    secret = factory.Sequence(lambda n: f"whsec-{n:04d}" + "0" * 52)
    is_active = True


# --- Qualification (scoring app) --------------------------------------------------------------------


class PersonaFactory(factory.django.DjangoModelFactory):
    """A persona that sets one criterion (a title keyword), so it matches someone."""

    class Meta:
        model = Persona

    name = factory.Sequence(lambda n: f"Persona {n}")
    title_keywords = factory.LazyFunction(lambda: ["engineer"])


class ScoringVersionFactory(factory.django.DjangoModelFactory):
    """A draft scoring version with no rules; pass status=VersionStatus.ACTIVE for one in force."""

    class Meta:
        model = ScoringVersion

    number = factory.Sequence(lambda n: n + 1)
    status = VersionStatus.DRAFT


class FitRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FitRule

    version = factory.SubFactory(ScoringVersionFactory)
    label = factory.Sequence(lambda n: f"Fit rule {n}")
    field = "job_title"
    operator = "contains"
    value = "engineer"
    points = 10


class EngagementRuleFactory(factory.django.DjangoModelFactory):
    """Points per page view, no cap, no decay (tests that check decay set half_life_days)."""

    class Meta:
        model = EngagementRule

    version = factory.SubFactory(ScoringVersionFactory)
    label = factory.Sequence(lambda n: f"Engagement rule {n}")
    activity_type = ActivityType.PAGE_VIEW
    points = 1
    half_life_days = None


class DefinitionVersionFactory(factory.django.DjangoModelFactory):
    """A draft definition version without criteria; pass status=VersionStatus.ACTIVE for one in force."""

    class Meta:
        model = DefinitionVersion

    number = factory.Sequence(lambda n: n + 1)
    status = VersionStatus.DRAFT


class CriteriaFactory(factory.django.DjangoModelFactory):
    """MQL criteria that every lead meets unless a test sets a threshold or an exclusion."""

    class Meta:
        model = Criteria

    version = factory.SubFactory(DefinitionVersionFactory)
    kind = Criteria.Kind.MQL
    min_conversions = 0
    exclude_free_mail = False
    exclude_do_not_contact = False


# --- The SLA contract (sla app) --------------------------------------------------------------------


class BusinessCalendarFactory(factory.django.DjangoModelFactory):
    """Mon–Fri 9–17 in Berlin with German public holidays."""

    class Meta:
        model = "sla.BusinessCalendar"

    time_zone = "Europe/Berlin"
    working_weekdays = factory.LazyFunction(lambda: [0, 1, 2, 3, 4])
    holiday_country = "DE"


class SlaVersionFactory(factory.django.DjangoModelFactory):
    """A draft SLA (6 business hours, 4 attempts in 12 working days); status=VersionStatus.ACTIVE for one in force."""

    class Meta:
        model = "sla.SlaVersion"

    number = factory.Sequence(lambda n: n + 1)
    status = VersionStatus.DRAFT
    calendar = factory.SubFactory(BusinessCalendarFactory)
    mqls_per_month = 20
    first_attempt_hours = 6
    attempts_required = 4
    attempts_within_days = 12
    activated_at = factory.LazyAttribute(
        lambda o: timezone.now() - timedelta(days=365) if o.status != VersionStatus.DRAFT else None)


class GoalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "sla.Goal"

    title = factory.Sequence(lambda n: f"Goal {n}")
    metric = "new_opportunities"
    target = 10
    period_start = factory.LazyFunction(lambda: timezone.localdate().replace(day=1))
    period_end = factory.LazyAttribute(lambda o: (o.period_start.replace(day=28) + timedelta(days=4)).replace(day=1)
                                       - timedelta(days=1))


class HandoffFactory(factory.django.DjangoModelFactory):
    """A pending handoff of an MQL to a sales rep, made now, without SLA deadlines unless given."""

    class Meta:
        model = "sla.Handoff"

    lead = factory.SubFactory(LeadFactory, stage=Stage.MQL)
    rep = factory.SubFactory(UserFactory, role=Role.SALES_REP)
    status = "pending"
    created_at = factory.LazyFunction(timezone.now)


# --- Handoffs and sales follow-up (routing, attempts, feedback, objections, notifications) --------------


class RoutingRuleFactory(factory.django.DjangoModelFactory):
    """A rule for a sales team that takes any lead and shares it among the whole team (no territory)."""

    class Meta:
        model = "sla.RoutingRule"

    name = factory.Sequence(lambda n: f"Rule {n}")
    team = factory.SubFactory(TeamFactory, function=Function.SALES)
    by_territory = False
    position = factory.Sequence(lambda n: (n + 1) * 10)


class ObjectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "leads.Objection"

    label = factory.Sequence(lambda n: f"Objection {n}")


class ObjectionAnswerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "leads.ObjectionAnswer"

    objection = factory.SubFactory(ObjectionFactory)
    title = factory.Sequence(lambda n: f"Answer {n}")
    url = factory.Sequence(lambda n: f"https://example.test/content/{n}")


class ContactAttemptFactory(factory.django.DjangoModelFactory):
    """A call nobody answered, an hour ago, by a rep."""

    class Meta:
        model = "leads.ContactAttempt"

    lead = factory.SubFactory(LeadFactory)
    rep = factory.SubFactory(UserFactory, role=Role.SALES_REP)
    channel = "call"
    outcome = "no_answer"
    occurred_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    idempotency_key = factory.Sequence(lambda n: f"attempt-key-{n}")


class FeedbackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "leads.Feedback"

    lead = factory.SubFactory(LeadFactory)
    author = factory.SubFactory(UserFactory, role=Role.SALES_REP)
    kind = "general"
    quality = 3
    text = "Decent fit, slow to answer."


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "smarketing.Notification"

    recipient = factory.SubFactory(UserFactory)
    kind = "other"
    title = factory.Sequence(lambda n: f"Notification {n}")
    email_wanted = False


def import_every_part(lead_import: LeadImport) -> LeadImport:
    """What the Celery workers do with a started import: every part run (here one after the other)."""
    for part in range(LeadImport.objects.get(pk=lead_import.pk).parts):
        lead_import_run(import_id=lead_import.pk, part=part)
    return LeadImport.objects.get(pk=lead_import.pk)
