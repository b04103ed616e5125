"""A sales rep changes only their own leads, also through a capture (form, API, bulk) or activities."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import PermissionDenied

from leads.models import Activity, Lead
from leads.services import (
    NOT_YOUR_LEAD,
    ActivityItem,
    CaptureItem,
    CaptureStatus,
    activities_ingest,
    lead_capture,
    leads_capture_bulk,
)
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ritas_lead(sales_rep):
    return LeadFactory(email="jane@acme.com", first_name="Jane", phone="+49 1", owner=sales_rep)


def test_a_rep_may_not_overwrite_another_reps_lead_by_capturing_its_email(ritas_lead, other_rep):
    with pytest.raises(PermissionDenied):
        lead_capture(email="JANE@acme.com", fields={"first_name": "Mallory", "phone": "+1 555"}, actor=other_rep)

    ritas_lead.refresh_from_db()
    assert (ritas_lead.first_name, ritas_lead.phone, ritas_lead.duplicate_attempts) == ("Jane", "+49 1", 0)


def test_the_owner_and_marketing_may_update_by_capture(ritas_lead, sales_rep, marketer):
    lead_capture(email="jane@acme.com", fields={"job_title": "CTO"}, actor=sales_rep)
    lead_capture(email="jane@acme.com", fields={"phone": "+49 2"}, actor=marketer)

    ritas_lead.refresh_from_db()
    assert (ritas_lead.job_title, ritas_lead.phone, ritas_lead.owner_id) == ("CTO", "+49 2", ritas_lead.owner_id)


def test_in_a_bulk_capture_only_the_other_reps_lead_is_refused(ritas_lead, other_rep):
    outcomes = leads_capture_bulk(actor=other_rep, items=[
        CaptureItem(email="jane@acme.com", fields={"first_name": "Mallory"}),
        CaptureItem(email="new@beta.example", fields={"first_name": "New"}),
    ])

    assert [o.status for o in outcomes] == [CaptureStatus.ERROR, CaptureStatus.CREATED]
    assert outcomes[0].errors == {"email": [NOT_YOUR_LEAD]}
    assert Lead.objects.get(email="new@beta.example").owner == other_rep
    assert Lead.objects.get(email="jane@acme.com").first_name == "Jane"


def test_a_rep_may_not_add_activities_to_another_reps_lead(ritas_lead, sales_rep, other_rep):
    at = datetime(2026, 1, 5, 10, tzinfo=UTC)
    refused = activities_ingest(actor=other_rep, items=[
        ActivityItem(type="page_view", occurred_at=at, lead_id=ritas_lead.pk, url="/pricing"),
        ActivityItem(type="page_view", occurred_at=at, lead_email="jane@acme.com", url="/demo"),
    ])
    kept = activities_ingest(actor=sales_rep, items=[
        ActivityItem(type="page_view", occurred_at=at, lead_id=ritas_lead.pk, url="/pricing"),
    ])

    assert [o.errors for o in refused] == [{"lead_id": [NOT_YOUR_LEAD]}, {"lead_email": [NOT_YOUR_LEAD]}]
    assert [o.status for o in kept] == ["created"]
    assert list(Activity.objects.values_list("url", flat=True)) == ["/pricing"]
