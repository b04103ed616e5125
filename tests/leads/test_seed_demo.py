"""seed_demo: a believable organisation whose data keeps the invariants the rest of the app relies on."""

import hashlib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Max
from django.http import HttpRequest
from django.utils import timezone
from freezegun import freeze_time

from leads.demo import (
    ACTIVITY_COLUMNS,
    COMPANY_COLUMNS,
    DEMO_PASSWORD,
    LEAD_COLUMNS,
    STAGE_CHANGE_COLUMNS,
    DemoPlan,
    chunk_rows,
    companies_for,
    company_rows,
    demo_seed,
    unique_email,
)
from leads.identity import FREE_MAIL_DOMAINS
from leads.models import Activity, ActivityType, Company, Lead, Reason, Stage, StageChange
from leads.services import REASON_LIST_OF, REASON_REQUIRED, SYSTEM, TRANSITIONS
from smarketing.models import Team, User
from smarketing.roles import Role

LEADS, ACTIVITIES = 300, 3_000
TODAY = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
ANCHOR = datetime(2026, 3, 10, tzinfo=UTC)  # the demo's "now": the start of today


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", leads=LEADS, activities=ACTIVITIES, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def seeded(db):
    with freeze_time(TODAY):
        return seed(seed=7)


def digest() -> str:
    """What two runs must agree on: every lead, its history and its activities."""
    text = hashlib.sha256()
    for row in Lead.objects.order_by("id").values_list(
        "id", "email", "stage", "owner_id", "company__domain", "created_at", "last_activity_at", "properties"
    ):
        text.update(repr(row).encode())
    for row in StageChange.objects.order_by("id").values_list("lead_id", "to_stage", "changed_at", "changed_by_id"):
        text.update(repr(row).encode())
    for row in Activity.objects.order_by("id").values_list("lead_id", "type", "occurred_at", "url"):
        text.update(repr(row).encode())
    return text.hexdigest()


def test_sizes_are_exactly_as_asked(seeded):
    assert Lead.objects.count() == 300
    assert Activity.objects.count() == 3_000
    assert Company.objects.count() > 0


def test_every_stage_and_every_activity_type_is_present(seeded):
    assert set(Lead.objects.values_list("stage", flat=True)) == set(Stage.values)
    assert set(Activity.objects.values_list("type", flat=True)) == set(ActivityType.values)


def test_one_login_per_role_with_the_demo_password(seeded):
    counts = dict(User.objects.values_list("role").annotate(n=Count("id")))
    assert counts == {
        Role.ADMIN: 1, Role.MARKETING_MANAGER: 1, Role.MARKETER: 2, Role.SALES_MANAGER: 1, Role.SALES_REP: 6,
    }
    for email in ("alex.admin@demo.smarketing.io", "maya.marketing@demo.smarketing.io",
                  "leo.marketer@demo.smarketing.io", "sam.sales@demo.smarketing.io", "rita.rep@demo.smarketing.io"):
        # django-axes throttles every sign-in by its request, so authenticate() needs one.
        assert authenticate(HttpRequest(), username=email, password=DEMO_PASSWORD) is not None, email
        assert email in seeded  # the printed table of logins
    assert DEMO_PASSWORD in seeded
    assert User.objects.get(role=Role.ADMIN).is_superuser


def test_sales_reps_have_territories_capacity_and_the_sales_manager(seeded):
    sales_manager = User.objects.get(role=Role.SALES_MANAGER)
    reps = User.objects.filter(role=Role.SALES_REP)
    assert reps.count() == 6
    for rep in reps:
        assert rep.territory and all(len(code) == 2 and code.isupper() for code in rep.territory)
        assert rep.capacity > 0
        assert rep.manager == sales_manager
        assert rep.team.function == "sales"
    assert set(Team.objects.values_list("function", flat=True)) == {"marketing", "sales"}
    dach = User.objects.get(email="rita.rep@demo.smarketing.io")
    assert {"DE", "AT", "CH"} <= set(dach.territory)


def test_each_lead_history_starts_at_creation_and_ends_at_its_stage(seeded):
    history = defaultdict(list)
    for change in StageChange.objects.order_by("lead_id", "changed_at", "id"):
        history[change.lead_id].append(change)
    leads = {lead.id: lead for lead in Lead.objects.all()}
    assert set(history) == set(leads)
    for lead_id, changes in history.items():
        lead = leads[lead_id]
        created = changes[0]
        assert (created.from_stage, created.to_stage, created.reason) == ("", Stage.NEW, "created")
        assert created.changed_at == lead.created_at
        for before, after in zip(changes, changes[1:], strict=False):
            assert before.changed_at < after.changed_at, lead_id
            assert after.from_stage == before.to_stage, lead_id
        assert changes[-1].to_stage == lead.stage
        assert changes[-1].changed_at == lead.stage_entered_at


def test_every_move_is_one_the_movers_role_may_make_with_a_reason_where_needed(seeded):
    roles = dict(User.objects.values_list("id", "role"))
    owners = dict(Lead.objects.values_list("id", "owner_id"))
    listed = defaultdict(set)
    for kind, label in Reason.objects.filter(is_active=True).values_list("kind", "label"):
        listed[kind].add(label)
    reps_by_lead = defaultdict(set)
    for change in StageChange.objects.exclude(from_stage=""):
        allowed = TRANSITIONS[(change.from_stage, change.to_stage)]
        actor = SYSTEM if change.changed_by_id is None else roles[change.changed_by_id]
        assert actor in allowed, (change.from_stage, change.to_stage, actor)
        if change.to_stage in REASON_REQUIRED:
            assert change.reason, (change.from_stage, change.to_stage)
        if change.to_stage in REASON_LIST_OF:
            assert change.reason in listed[REASON_LIST_OF[change.to_stage]], change.reason
        if actor == Role.SALES_REP:
            reps_by_lead[change.lead_id].add(change.changed_by_id)
    assert reps_by_lead
    for lead_id, reps in reps_by_lead.items():
        # One rep works a lead; if it is still owned, by them (a recycled lead is back with marketing).
        assert len(reps) == 1
        assert owners[lead_id] in (None, *reps)


def test_leads_that_sales_works_have_an_owning_rep(seeded):
    reps = set(User.objects.filter(role=Role.SALES_REP).values_list("id", flat=True))
    worked = Lead.objects.filter(stage__in=[Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON, Stage.LOST])
    assert worked.exists()
    assert set(worked.values_list("owner_id", flat=True)) <= reps
    assert not Lead.objects.filter(stage=Stage.NEW).exclude(owner=None).exists()
    mqls = Lead.objects.filter(stage=Stage.MQL)
    assert mqls.exclude(owner=None).exists() and mqls.filter(owner=None).exists()


def test_times_lie_in_the_last_90_days(seeded):
    window_start = ANCHOR - timedelta(days=90)
    for model, field in ((Lead, "created_at"), (StageChange, "changed_at"), (Activity, "occurred_at")):
        times = model.objects.values_list(field, flat=True)
        # The generated history ends before today; only the qualification run at load time (leads the
        # agreement makes MQL now) may add stage changes of today.
        assert window_start <= min(times) and max(times) <= timezone.now(), model
    generated = StageChange.objects.exclude(reason__startswith="meets MQL")
    assert max(generated.values_list("changed_at", flat=True)) < ANCHOR


def test_last_activity_at_is_the_latest_activity(seeded):
    leads = Lead.objects.annotate(latest=Max("activities__occurred_at"))
    assert leads.exclude(last_activity_at=None).exists()
    for lead in leads:
        assert lead.last_activity_at == lead.latest, lead.id


def test_emails_and_domains_are_lower_case_unique_and_fit_the_company(seeded):
    emails = list(Lead.objects.values_list("email", flat=True))
    assert all(email == email.lower() for email in emails)
    assert len(set(emails)) == len(emails)
    domains = list(Company.objects.values_list("domain", flat=True))
    assert all(domain == domain.lower() and not domain.startswith("www.") for domain in domains)
    assert len(set(domains)) == len(domains)
    free_mail = 0
    for email, domain in Lead.objects.values_list("email", "company__domain"):
        if domain is None:
            assert email.rsplit("@", 1)[1] in FREE_MAIL_DOMAINS
            free_mail += 1
        else:
            assert email.endswith("@" + domain)
    assert free_mail > 0


def test_leads_carry_marketing_context(seeded):
    assert Lead.objects.exclude(utm_source="").exists()
    assert Lead.objects.exclude(campaign="").exists()
    assert Lead.objects.exclude(seniority="").exclude(job_title="").exists()
    assert Lead.objects.filter(do_not_contact=True).exists()
    assert Lead.objects.filter(properties__has_key="budget").exists()
    assert Activity.objects.filter(url="/pricing").exists()
    assert Activity.objects.filter(url__startswith="/blog/").exists()


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_data():
    with freeze_time(TODAY):
        seed(seed=3)
        first = digest()
        seed(seed=3, reset=True)
        assert digest() == first
        seed(seed=4, reset=True)
        assert digest() != first


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="worker processes generate only for PostgreSQL")
def test_worker_processes_generate_the_same_data_as_one_process(monkeypatch):
    monkeypatch.setattr("leads.demo.LEAD_CHUNK", 40)  # eight chunks for the two workers to share
    with freeze_time(TODAY):
        demo_seed(leads=LEADS, activities=ACTIVITIES, seed=5, workers=0)
        alone = digest()
        demo_seed(leads=LEADS, activities=ACTIVITIES, seed=5, workers=2, reset=True)
        assert digest() == alone


@pytest.mark.django_db
def test_a_populated_database_is_left_alone_with_if_empty(marketer):
    out = seed(if_empty=True)
    assert "no demo data loaded" in out
    assert not Lead.objects.exists()
    assert list(User.objects.all()) == [marketer]


def test_if_empty_after_a_seed_only_prints_the_logins(seeded):
    before = digest()
    out = seed(if_empty=True)
    assert digest() == before
    assert "sam.sales@demo.smarketing.io" in out and DEMO_PASSWORD in out


def test_a_populated_database_needs_reset(seeded):
    with pytest.raises(CommandError, match="--reset"):
        seed()


def test_reset_replaces_everything(seeded):
    out = StringIO()
    call_command("seed_demo", leads=40, activities=100, reset=True, stdout=out)
    assert Lead.objects.count() == 40
    assert Activity.objects.count() == 100
    assert User.objects.count() == 11
    # The next lead the application creates gets a fresh id.
    assert Lead.objects.create(email="after.seed@example.com").id == 41


def test_rows_need_no_escaping_in_copy_text_format():
    # COPY text format reads tab, newline and backslash as syntax; the generator promises none in a value.
    plan = DemoPlan(seed=11, leads=LEADS, activities=ACTIVITIES, companies=companies_for(LEADS),
                    anchor=int(ANCHOR.timestamp()), postgresql=True)
    leads, stage_changes, activities = chunk_rows(plan, 0)
    for rows, columns in ((company_rows(plan, 0), COMPANY_COLUMNS), (leads, LEAD_COLUMNS),
                          (stage_changes, STAGE_CHANGE_COLUMNS), (activities, ACTIVITY_COLUMNS)):
        assert rows
        for line in rows:
            assert line.count("\t") == len(columns) - 1, line
            assert "\n" not in line and "\r" not in line and "\\" not in line.replace("\\N", ""), line


def test_a_repeated_address_gets_the_lead_id():
    seen: set[str] = set()
    assert unique_email("anna.mueller@acme.de", 12, seen) == "anna.mueller@acme.de"
    assert unique_email("anna.mueller@acme.de", 40, seen) == "anna.mueller.40@acme.de"
    assert unique_email("ben@acme.de", 41, seen) == "ben@acme.de"


@pytest.mark.django_db
def test_activities_need_leads():
    with pytest.raises(CommandError, match="need leads"):
        call_command("seed_demo", leads=0, activities=10, stdout=StringIO())
