"""The weekly meeting: its agenda from the data, notes, action items that carry over until done; the monthly
meeting and report (page and CSV)."""

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse
from freezegun import freeze_time

from dashboards.models import ActionItem, Meeting
from dashboards.reports import action_items_for
from dashboards.services import action_item_add, action_item_set_done
from tests.factories import LeadFactory, StageChangeFactory

NOW = "2026-03-18 12:00:00"  # Wednesday; this week's meeting is on Monday 16 March
WEEK_1, WEEK_2, WEEK_3 = date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)


@freeze_time(NOW)
def test_open_action_items_carry_over_until_done(marketer, sales_rep):
    with freeze_time("2026-03-02 10:00:00"):
        item = action_item_add(kind="weekly", period_start=WEEK_1, actor=marketer, title="Fix the webinar form",
                               owner=sales_rep, due_on=date(2026, 3, 6))
    assert [i.title for i in action_items_for(kind="weekly", period_start=WEEK_2)] == ["Fix the webinar form"]

    with freeze_time("2026-03-10 09:00:00"):
        action_item_set_done(item=item, actor=sales_rep, done=True)

    # Shown (done) at the meeting of the week it was finished in, gone from the next one.
    assert [i.is_done for i in action_items_for(kind="weekly", period_start=WEEK_2)] == [True]
    assert action_items_for(kind="weekly", period_start=WEEK_3) == []
    # A meeting before it was agreed never shows it; the monthly meeting keeps its own items.
    assert action_items_for(kind="weekly", period_start=date(2026, 2, 23)) == []
    assert action_items_for(kind="monthly", period_start=date(2026, 3, 1)) == []


@freeze_time(NOW)
def test_an_action_item_needs_what_who_and_a_date_not_before_the_meeting(marketer, sales_rep):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        action_item_add(kind="weekly", period_start=WEEK_3, actor=marketer, title=" ", owner=None,
                        due_on=date(2026, 3, 1))

    assert set(error.value.message_dict) == {"title", "owner", "due_on"}
    assert not Meeting.objects.exists()


@freeze_time(NOW)
def test_the_meeting_page_builds_its_agenda_from_last_week(marketer, sales_rep, client_for):
    lead = LeadFactory(first_name="Rejected", last_name="Lead", stage="recycled")
    StageChangeFactory(lead=lead, from_stage="", to_stage="new", changed_at=datetime(2026, 3, 9, 9, tzinfo=UTC))
    StageChangeFactory(lead=lead, from_stage="new", to_stage="mql", changed_at=datetime(2026, 3, 10, 9, tzinfo=UTC))
    from leads.models import Reason
    reason = Reason.objects.filter(kind=Reason.Kind.REJECTION).first()
    from sla.models import Handoff
    Handoff.objects.create(lead=lead, rep=sales_rep, status="rejected", rejected_at=datetime(2026, 3, 11, 9, tzinfo=UTC),
                           rejection_reason=reason, rejection_comment="Student project")

    response = client_for(marketer).get(reverse("meetings:current"), follow=True)

    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("meetings:weekly", args=[WEEK_3])
    assert "Weekly smarketing meeting · 16 March 2026" in html
    assert "Rejected Lead" in html and "Student project" in html
    assert "1 rejected last week" in html
    assert "No action items yet." in html


@freeze_time(NOW)
def test_adding_an_action_item_through_htmx_returns_the_list(marketer, sales_rep, client_for):
    url = reverse("meetings:action_add", args=["weekly", WEEK_3])

    response = client_for(marketer).post(url, {"title": "Call back the rejected leads", "owner": sales_rep.pk,
                                               "due_on": "2026-03-20"}, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert "<html" not in html and 'id="action-items"' in html
    assert "Call back the rejected leads" in html
    item = ActionItem.objects.get()
    assert (item.meeting.kind, item.meeting.period_start, item.owner, item.created_by) == (
        "weekly", WEEK_3, sales_rep, marketer)

    done = client_for(sales_rep).post(reverse("meetings:action_done", args=[item.pk]),
                                      {"done": "1", "kind": "weekly", "start": "2026-03-16"},
                                      headers={"HX-Request": "true"})
    assert "✓ Done" in done.content.decode()


@freeze_time(NOW)
def test_notes_are_added_to_the_meeting(marketer, client_for):
    client = client_for(marketer)
    client.post(reverse("meetings:note_add", args=["weekly", WEEK_3]), {"body": "Sales asks for phone numbers."})

    html = client.get(reverse("meetings:weekly", args=[WEEK_3])).content.decode()

    assert "Sales asks for phone numbers." in html


@freeze_time(NOW)
def test_the_monthly_meeting_and_report_with_its_csv(marketer, client_for):
    lead = LeadFactory(source="webinar")
    StageChangeFactory(lead=lead, from_stage="", to_stage="new", changed_at=datetime(2026, 2, 3, 9, tzinfo=UTC))
    StageChangeFactory(lead=lead, from_stage="new", to_stage="mql", changed_at=datetime(2026, 2, 4, 9, tzinfo=UTC))
    client = client_for(marketer)

    meeting = client.get(reverse("meetings:monthly", args=[date(2026, 2, 1)])).content.decode()
    report = client.get(reverse("meetings:monthly_report", args=[date(2026, 2, 1)])).content.decode()
    csv = client.get(reverse("meetings:monthly_report_csv", args=[date(2026, 2, 1)]))

    assert "Monthly management meeting · February 2026" in meeting and "Closed loop by source" in meeting
    assert "Monthly report · February 2026" in report
    rows = csv.content.decode().splitlines()
    assert csv["Content-Type"].startswith("text/csv")
    assert "funnel: entered,Leads,1,0" in rows and "funnel: entered,MQL,1,0" in rows


@freeze_time(NOW)
def test_the_meeting_page_runs_the_same_queries_for_few_or_many_items(marketer, sales_rep, client_for,
                                                                      count_queries):
    client = client_for(marketer)
    url = reverse("meetings:weekly", args=[WEEK_3])
    action_item_add(kind="weekly", period_start=WEEK_2, actor=marketer, title="One", owner=sales_rep,
                    due_on=date(2026, 3, 20))
    client.post(reverse("meetings:note_add", args=["weekly", WEEK_3]), {"body": "A note"})
    few = count_queries(client, url)
    for n in range(10):
        action_item_add(kind="weekly", period_start=WEEK_3, actor=marketer, title=f"Item {n}", owner=sales_rep,
                        due_on=date(2026, 3, 20))
        client.post(reverse("meetings:note_add", args=["weekly", WEEK_3]), {"body": f"Note {n}"})

    assert count_queries(client, url) == few
