"""leads_capture_bulk and activities_ingest: the capture rules set-based, per-item outcomes, replays change nothing."""

from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads import services
from leads.models import Activity, Company, Lead, StageChange
from leads.services import (
    ActivityItem,
    CaptureItem,
    activities_ingest,
    activity_record,
    lead_capture,
    leads_capture_bulk,
)
from tests.factories import LeadFactory


def statuses(outcomes) -> list[str]:
    return [outcome.status for outcome in outcomes]


@pytest.mark.django_db
def test_a_mixed_batch_keeps_every_valid_item_and_names_each_error(marketer):
    LeadFactory(email="known@acme.com", first_name="Known", stage="new")

    outcomes = leads_capture_bulk(items=[
        CaptureItem(email="Jane@Acme.com", fields={"first_name": "Jane", "country": "de"}, company_name="Acme GmbH"),
        CaptureItem(email="not-an-email"),
        CaptureItem(email="known@acme.com", fields={"job_title": "CTO"}),
        CaptureItem(email="bob@initech.io", fields={"country": "Germany"}),
        CaptureItem(email="eve@initech.io", fields={"seniority": "boss"}),
        CaptureItem(email="sam@initech.io", fields={"first_name": "x" * 101}),
    ], actor=marketer)

    assert statuses(outcomes) == ["created", "error", "updated", "error", "error", "error"]
    assert list(outcomes[1].errors) == ["email"]
    assert list(outcomes[3].errors) == ["country"]
    assert list(outcomes[4].errors) == ["seniority"]
    assert list(outcomes[5].errors) == ["first_name"]
    jane = Lead.objects.get(email="jane@acme.com")
    assert (jane.first_name, jane.country, jane.company.name) == ("Jane", "DE", "Acme GmbH")
    assert outcomes[0].lead_id == jane.pk
    assert Lead.objects.get(email="known@acme.com").job_title == "CTO"
    assert Lead.objects.count() == 2
    assert StageChange.objects.filter(lead=jane, from_stage="", to_stage="new", changed_by=marketer).count() == 1


@pytest.mark.django_db
def test_a_replay_of_the_same_batch_changes_nothing(marketer):
    items = [CaptureItem(email=f"p{i}@acme.com", fields={"first_name": f"P{i}"}, properties={"n": i})
             for i in range(5)]
    leads_capture_bulk(items=items, actor=marketer)
    Lead.objects.filter(email="p0@acme.com").update(stage="mql")
    before = list(Lead.objects.order_by("pk").values())

    again = leads_capture_bulk(items=items, actor=marketer)

    assert statuses(again) == ["unchanged"] * 5
    assert list(Lead.objects.order_by("pk").values()) == before  # not even updated_at or the repeat counter
    assert StageChange.objects.count() == 5


@pytest.mark.django_db
def test_a_new_capture_of_a_lead_past_new_is_flagged_not_reset(marketer, sales_rep):
    lead = LeadFactory(email="jane@acme.com", stage="sal", owner=sales_rep, job_title="Head of IT")

    [outcome] = leads_capture_bulk(items=[CaptureItem(email="JANE@acme.com", fields={"phone": "+49 1"})],
                                   actor=marketer)

    assert (outcome.status, outcome.duplicate_attempt) == ("updated", True)
    lead.refresh_from_db()
    assert (lead.stage, lead.owner, lead.job_title, lead.phone) == ("sal", sales_rep, "Head of IT", "+49 1")
    assert lead.duplicate_attempts == 1


@pytest.mark.django_db
def test_the_same_email_twice_in_a_batch_is_one_lead_with_the_later_values(marketer):
    outcomes = leads_capture_bulk(items=[
        CaptureItem(email="jane@acme.com", fields={"first_name": "Jane", "job_title": "Head of IT"}),
        CaptureItem(email="Jane@ACME.com", fields={"job_title": "CTO", "first_name": ""}, properties={"a": 1}),
    ], actor=marketer)

    assert statuses(outcomes) == ["created", "created"]
    assert outcomes[0].lead_id == outcomes[1].lead_id
    assert (outcomes[0].duplicate_of, outcomes[1].duplicate_of) == (None, 0)
    lead = Lead.objects.get()
    assert (lead.first_name, lead.job_title, lead.properties) == ("Jane", "CTO", {"a": 1})
    assert StageChange.objects.count() == 1


@pytest.mark.django_db
def test_skip_policy_leaves_existing_leads_alone(marketer):
    LeadFactory(email="known@acme.com", first_name="Known")

    outcomes = leads_capture_bulk(items=[CaptureItem(email="known@acme.com", fields={"first_name": "Other"}),
                                         CaptureItem(email="new@acme.com")], actor=marketer, existing="skip")

    assert statuses(outcomes) == ["skipped", "created"]
    assert Lead.objects.get(email="known@acme.com").first_name == "Known"


@pytest.mark.django_db
def test_companies_by_domain_never_free_mail_and_company_fields_fill_in(marketer):
    leads_capture_bulk(items=[
        CaptureItem(email="a@acme.com", company_fields={"employees": "250", "industry": "Software"}),
        CaptureItem(email="b@acme.com", company_name="Acme GmbH"),
        CaptureItem(email="c@gmail.com"),
        CaptureItem(email="d@gmail.com", company_name="Initech"),
        CaptureItem(email="e@yahoo.com", company_name="INITECH"),
    ], actor=marketer)

    assert sorted(Company.objects.values_list("name", "domain", "employees", "industry")) == [
        ("Acme GmbH", "acme.com", 250, "Software"), ("Initech", None, None, ""),
    ]
    assert Lead.objects.get(email="c@gmail.com").company is None
    assert Lead.objects.get(email="e@yahoo.com").company.name == "Initech"


@pytest.mark.django_db
def test_a_batch_costs_the_same_number_of_queries_at_any_size(marketer):
    def run(prefix: str, size: int) -> int:
        items = [CaptureItem(email=f"{prefix}{i}@co{i}.test", fields={"first_name": "A"}) for i in range(size)]
        with CaptureQueriesContext(connection) as queries:
            leads_capture_bulk(items=items, actor=marketer)
        return len(queries)

    # 30 rows: SQLite splits an INSERT of leads (30 columns) every 33 rows for its 999-parameter limit.
    assert run("a", 5) == run("b", 30)

    def rerun(prefix: str, size: int) -> int:
        items = [CaptureItem(email=f"{prefix}{i}@co{i}.test", fields={"first_name": "B"}) for i in range(size)]
        with CaptureQueriesContext(connection) as queries:
            leads_capture_bulk(items=items, actor=marketer)
        return len(queries)

    assert rerun("a", 5) == rerun("b", 30)


@pytest.mark.django_db
def test_tabs_line_breaks_backslashes_and_null_spellings_are_stored_as_given(marketer):
    # PostgreSQL stores new leads through COPY's text format, where these characters are syntax.
    title = "Head\tof\nIT \\ R\r\nD"
    properties = {"note": "line one\nline two\t\\N", "empty": "", "none": None}

    outcomes = leads_capture_bulk(items=[
        CaptureItem(email="tab@acme.com", fields={"job_title": title, "last_name": "\\N", "phone": ""},
                    company_name="Acme\tGmbH", properties=properties),
    ], actor=marketer)

    lead = Lead.objects.get(pk=outcomes[0].lead_id)
    assert (lead.job_title, lead.last_name, lead.phone) == (title, "\\N", "")
    assert lead.properties == properties
    assert lead.company.name == "Acme\tGmbH"
    assert lead.capture_fingerprint is not None
    assert StageChange.objects.filter(lead=lead, to_stage="new", changed_by=marketer).count() == 1


@pytest.mark.django_db
def test_lead_capture_is_the_bulk_capture_of_one_item(marketer):
    first = lead_capture(email="jane@acme.com", fields={"first_name": "Jane"}, actor=marketer)
    [outcome] = leads_capture_bulk(items=[CaptureItem(email="jane@acme.com", fields={"first_name": "Jane"})],
                                   actor=marketer)

    assert first.created
    assert (outcome.status, outcome.lead_id) == ("unchanged", first.lead.pk)


# --- Activities ---------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_activities_are_kept_once_per_event_and_move_the_lead(marketer):
    lead = LeadFactory(email="jane@acme.com", last_activity_at=None)
    stale = timezone.now() - timedelta(days=3)
    Lead.objects.filter(pk=lead.pk).update(updated_at=stale)
    at = timezone.now() - timedelta(hours=2)
    later = at + timedelta(minutes=30)

    outcomes = activities_ingest(items=[
        ActivityItem(type="page_view", occurred_at=at, lead_email="Jane@Acme.com", url="/pricing"),
        ActivityItem(type="page_view", occurred_at=at, lead_id=lead.pk, url="/pricing"),  # same event
        ActivityItem(type="download", occurred_at=later, lead_id=lead.pk, url="/guide.pdf", event_id="evt-1"),
        ActivityItem(type="click", occurred_at=later, lead_id=lead.pk, event_id="evt-1"),  # same event id
        ActivityItem(type="dance", occurred_at=at, lead_id=lead.pk),
        ActivityItem(type="click", occurred_at=timezone.now() + timedelta(hours=1), lead_id=lead.pk),
        ActivityItem(type="click", occurred_at=at, lead_email="nobody@acme.com"),
        ActivityItem(type="click", occurred_at=at, lead_id=999_999),
    ], actor=marketer)

    assert statuses(outcomes) == ["created", "duplicate", "created", "duplicate", "error", "error", "error", "error"]
    assert outcomes[1].activity_id == outcomes[0].activity_id
    assert list(outcomes[4].errors) == ["type"]
    assert list(outcomes[5].errors) == ["occurred_at"]
    assert list(outcomes[6].errors) == ["lead_email"]
    assert list(outcomes[7].errors) == ["lead_id"]
    assert Activity.objects.count() == 2
    lead.refresh_from_db()
    assert lead.last_activity_at == later
    # The profile did not change: the rescoring job finds the lead through its new activities instead.
    assert lead.updated_at == stale

    # An older activity arriving late never moves the last-activity time back.
    activities_ingest(items=[ActivityItem(type="click", occurred_at=at - timedelta(days=1), lead_id=lead.pk)],
                      actor=marketer)
    lead.refresh_from_db()
    assert lead.last_activity_at == later


@pytest.mark.django_db
def test_a_replayed_activity_batch_adds_nothing(marketer):
    lead = LeadFactory()
    at = timezone.now() - timedelta(hours=1)
    items = [ActivityItem(type="email_open", occurred_at=at - timedelta(minutes=i), lead_id=lead.pk) for i in range(4)]

    activities_ingest(items=items, actor=marketer)
    again = activities_ingest(items=items, actor=marketer)

    assert statuses(again) == ["duplicate"] * 4
    assert Activity.objects.count() == 4


@pytest.mark.django_db
def test_unknown_emails_become_leads_only_when_asked(marketer):
    at = timezone.now() - timedelta(hours=1)
    item = ActivityItem(type="webinar", occurred_at=at, lead_email="new@initech.io")

    [refused] = activities_ingest(items=[item], actor=marketer)
    [kept] = activities_ingest(items=[item], actor=marketer, create_unknown_leads=True)

    assert refused.status == "error"
    assert (kept.status, kept.lead_created) == ("created", True)
    lead = Lead.objects.get(email="new@initech.io")
    assert (lead.stage, lead.company.domain, lead.last_activity_at) == ("new", "initech.io", at)


@pytest.mark.django_db
def test_an_older_activity_does_not_move_last_activity_back(marketer):
    lead = LeadFactory()
    recent = timezone.now() - timedelta(minutes=5)
    activity_record(lead=lead, type="click", occurred_at=recent)

    activities_ingest(items=[ActivityItem(type="click", occurred_at=recent - timedelta(days=2), lead_id=lead.pk)],
                      actor=marketer)

    lead.refresh_from_db()
    assert lead.last_activity_at == recent


@pytest.mark.django_db
def test_activity_record_returns_the_stored_event_for_a_duplicate(marketer):
    lead = LeadFactory()
    at = timezone.now() - timedelta(minutes=5)

    first = activity_record(lead=lead, type="click", occurred_at=at, url="/a")
    second = activity_record(lead=lead, type="click", occurred_at=at, url="/a")

    assert first.pk == second.pk
    assert Activity.objects.count() == 1


@pytest.mark.django_db
def test_a_capture_stopped_by_a_deadlock_is_tried_again(monkeypatch):
    class DeadlockDetected(Exception):
        pgcode = "40P01"

    real_batch = services._leads_capture_batch
    calls = []

    def deadlocks_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from DeadlockDetected()
        return real_batch(**kwargs)

    monkeypatch.setattr(services, "_leads_capture_batch", deadlocks_once)
    [outcome] = leads_capture_bulk(items=[CaptureItem(email="jane@acme.com")], actor=None)

    assert (outcome.status, len(calls)) == ("created", 2)
    # Any other operational error is not retried.
    monkeypatch.setattr(services, "_leads_capture_batch",
                        lambda **kwargs: (_ for _ in ()).throw(OperationalError("server closed the connection")))
    with pytest.raises(OperationalError, match="server closed"):
        leads_capture_bulk(items=[CaptureItem(email="john@acme.com")], actor=None)
