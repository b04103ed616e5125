"""The feedback loop on hand-built feedback: objections heard and without content, reasons by period and
dimension, quality ratings, the written feedback grouped by reason and searched."""

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse
from freezegun import freeze_time

from dashboards.periods import period_resolve
from dashboards.selectors import (
    Filters,
    feedback_quality,
    feedback_reasons,
    feedback_texts,
    objections_heard,
    objections_without_content,
)
from leads.models import ContactAttempt, Feedback, Objection, ObjectionAnswer, Reason
from tests.factories import LeadFactory

NOW = "2026-03-18 12:00:00"


def at(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


@pytest.fixture
def feedback_history(db, sales_rep):
    price = Objection.objects.create(label="Too expensive")
    timing = Objection.objects.create(label="Bad timing")
    Objection.objects.create(label="Never heard")
    ObjectionAnswer.objects.create(objection=price, title="ROI calculator", url="https://example.test/roi")
    webinar = LeadFactory(source="webinar", campaign="spring", first_name="Wendy", last_name="Webinar")
    event = LeadFactory(source="event", campaign="", first_name="Evan", last_name="Event")
    for n, (lead, objection, when) in enumerate([(webinar, price, at(3)), (event, price, at(4)), (event, timing, at(5)),
                                                 (webinar, price, at(25, 2))]):
        ContactAttempt.objects.create(lead=lead, rep=sales_rep, channel="call", outcome="connected",
                                      occurred_at=when, objection=objection, idempotency_key=f"k{n}")
    wrong = Reason.objects.create(kind=Reason.Kind.REJECTION, label="Wrong person (test)")
    lost = Reason.objects.create(kind=Reason.Kind.LOSS, label="Went with a competitor (test)")
    for lead, kind, reason, quality, text, when, objection in [
        (webinar, "rejection", wrong, 2, "Student, not a buyer", at(3), None),
        (event, "rejection", wrong, 1, "Wrong person at the booth", at(6), timing),
        (event, "loss", lost, 3, "Chose the cheaper tool", at(7), None),
        (webinar, "rejection", wrong, 2, "Intern", at(24, 2), None),
        (webinar, "general", None, 5, "", at(4), None),
    ]:
        feedback = Feedback.objects.create(lead=lead, author=sales_rep, kind=kind, reason=reason, quality=quality,
                                           text=text, objection=objection)
        Feedback.objects.filter(pk=feedback.pk).update(created_at=when)
    return {"webinar": webinar, "event": event}


def first_week():
    return period_resolve("custom", start="2026-03-02", end="2026-03-08", today=date(2026, 3, 18))


@freeze_time(NOW)
def test_objections_are_ranked_by_how_often_they_were_heard(feedback_history):
    heard = objections_heard(period=first_week(), filters=Filters())

    # Price: two attempts this week, one the week before; timing: an attempt and a piece of feedback.
    # A tie on this period goes to the one heard more before.
    assert [(item.label, item.heard, item.previous, item.answers) for item in heard] == [
        ("Too expensive", 2, 1, 1), ("Bad timing", 2, 0, 0)]
    assert [(label, count) for _, label, count in objections_without_content()] == [("Bad timing", 2),
                                                                                     ("Never heard", 0)]


@freeze_time(NOW)
def test_reasons_are_counted_per_period_and_split_by_source(feedback_history):
    report = feedback_reasons(period=first_week(), filters=Filters(), by="source", weeks=4)

    reasons = {(item.kind, item.reason): (item.count, item.previous, item.by_value) for item in report.reasons}
    assert reasons == {
        ("rejection", "Wrong person (test)"): (2, 1, {"webinar": 1, "event": 1}),
        ("loss", "Went with a competitor (test)"): (1, 0, {"event": 1}),
    }
    # Weeks of 23 Feb, 2 Mar, 9 Mar, 16 Mar.
    assert report.weekly["rejection"] == [1, 2, 0, 0]
    assert report.weekly["loss"] == [0, 1, 0, 0]


@freeze_time(NOW)
def test_quality_ratings_average_per_source(feedback_history):
    rows = {row.label: (row.ratings, row.average, row.low) for row in
            feedback_quality(period=first_week(), filters=Filters(), by="source")}

    assert rows == {"webinar": (2, 3.5, 1), "event": (2, 2.0, 1)}


@freeze_time(NOW)
def test_written_feedback_is_grouped_by_reason_and_searchable(feedback_history):
    grouped = feedback_texts(filters=Filters())
    assert {reason: [f.text for f in items] for reason, items in grouped.items()} == {
        "Went with a competitor (test)": ["Chose the cheaper tool"],
        "Wrong person (test)": ["Wrong person at the booth", "Student, not a buyer", "Intern"],
    }
    searched = feedback_texts(filters=Filters(source="event"), search="booth")
    assert [f.text for items in searched.values() for f in items] == ["Wrong person at the booth"]


@freeze_time(NOW)
def test_the_page_and_its_search_partial(feedback_history, marketer, client_for):
    client = client_for(marketer)
    url = reverse("dashboards:feedback") + "?period=custom&start=2026-03-02&end=2026-03-08"

    html = client.get(url).content.decode()
    assert "Objections most heard" in html and "none yet" in html and "Wrong person at the booth" in html

    partial = client.get(url + "&q=intern", headers={"HX-Request": "true", "HX-Target": "feedback-texts"})
    text = partial.content.decode()
    assert "<html" not in text and "Intern" in text and "booth" not in text


@freeze_time(NOW)
def test_the_feedback_page_runs_the_same_queries_for_few_or_many_rows(feedback_history, sales_rep, marketer,
                                                                      client_for, count_queries):
    client = client_for(marketer)
    url = reverse("dashboards:feedback") + "?period=custom&start=2026-03-02&end=2026-03-08&by=campaign"
    few = count_queries(client, url)
    reason = Reason.objects.create(kind=Reason.Kind.LOSS, label="Another reason (test)")
    for n in range(12):
        lead = LeadFactory(source=f"source-{n}", campaign=f"campaign-{n}")
        objection = Objection.objects.create(label=f"Objection {n}")
        ContactAttempt.objects.create(lead=lead, rep=sales_rep, channel="call", outcome="connected",
                                      occurred_at=at(3), objection=objection, idempotency_key=f"many{n}")
        feedback = Feedback.objects.create(lead=lead, author=sales_rep, kind="loss", reason=reason, quality=2,
                                           text=f"Words {n}")
        Feedback.objects.filter(pk=feedback.pk).update(created_at=at(4))

    assert count_queries(client, url) == few
