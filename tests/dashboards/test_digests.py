"""The weekly digest (HTML and text, Monday morning in the organisation's zone, each user once, opt-out) and
the monthly report to managers on the first working day."""

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.urls import reverse
from freezegun import freeze_time

from dashboards.models import DigestPreference
from dashboards.services import digests_send_due
from smarketing.roles import Role
from tests.factories import LeadFactory, StageChangeFactory, UserFactory


@pytest.fixture
def last_week(db):
    lead = LeadFactory(source="webinar")
    StageChangeFactory(lead=lead, from_stage="", to_stage="new", changed_at=datetime(2026, 3, 10, 9, tzinfo=UTC))
    StageChangeFactory(lead=lead, from_stage="new", to_stage="mql", changed_at=datetime(2026, 3, 11, 9, tzinfo=UTC))


def test_the_digest_goes_to_every_active_user_on_monday_morning_once(last_week, marketer, sales_rep, client_for):
    UserFactory(email="gone@smarketing.test", is_active=False)
    with freeze_time("2026-03-16 06:30:00"):  # Monday, before 07:00 UTC
        assert digests_send_due()["weekly"] == 0
    with freeze_time("2026-03-16 07:05:00"):
        # The marketer, the rep and the rep's manager (the sales_rep fixture brings them).
        assert digests_send_due()["weekly"] == 3
        assert digests_send_due()["weekly"] == 0  # the hourly job runs again: nobody gets it twice

    weekly = [message for message in mail.outbox if message.subject.startswith("Smarketing weekly")]
    assert sorted(message.to[0] for message in weekly) == ["marketer@smarketing.test", "rep@smarketing.test",
                                                           "sm@smarketing.test"]
    message = weekly[0]
    assert message.subject == "Smarketing weekly: the week of 9 Mar"
    assert "Leads: 1 (" in message.body and "MQL: 1 (" in message.body
    assert "/meetings/week/2026-03-16/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "Open this week’s meeting" in html and "/dashboard/emails/" in html


def test_a_user_who_opted_out_gets_no_digest(last_week, marketer, sales_rep, client_for):
    client_for(marketer).post(reverse("dashboards:email_preferences"), {"monthly_report": "on"})
    assert DigestPreference.objects.get(user=marketer).weekly_digest is False

    with freeze_time("2026-03-17 10:00:00"):  # a scheduler down on Monday catches up on Tuesday
        digests_send_due()

    weekly = [message.to[0] for message in mail.outbox if message.subject.startswith("Smarketing weekly")]
    assert sorted(weekly) == ["rep@smarketing.test", "sm@smarketing.test"]


def test_the_monthly_report_goes_to_managers_on_the_first_working_day(last_week, marketing_manager, sales_manager,
                                                                      sales_rep):
    # 1 August 2026 is a Saturday: the first working day is Monday the 3rd.
    with freeze_time("2026-08-01 09:00:00"):
        assert digests_send_due()["monthly"] == 0
    with freeze_time("2026-08-03 07:30:00"):
        mail.outbox.clear()
        assert digests_send_due()["monthly"] == 2

    reports = [message for message in mail.outbox if message.subject.startswith("Smarketing monthly report")]
    assert sorted(message.to[0] for message in reports) == ["mm@smarketing.test", "sm@smarketing.test"]
    assert reports[0].subject == "Smarketing monthly report: July 2026"
    assert reports[0].attachments[0][0] == "smarketing-report-2026-07.csv"
    assert sales_rep.role == Role.SALES_REP and all(m.to[0] != sales_rep.email for m in reports)
