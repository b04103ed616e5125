"""The intelligence summary frozen on a handoff, checked against a lead built by hand."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from leads.models import Reason, Stage
from scoring.models import LeadScore, VersionStatus
from sla.selectors import activity_signal, handoff_summary_build
from sla.services import handoff_create
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    EngagementRuleFactory,
    FitRuleFactory,
    HandoffFactory,
    LeadFactory,
    PersonaFactory,
    ScoringVersionFactory,
)

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
def ada(db, other_rep):
    """A CTO at a 250-person software company who asked for a demo after two pricing visits."""
    company = CompanyFactory(name="Acme Robotics", domain="acme-robotics.test", industry="Software", employees=250,
                             country="DE", annual_revenue=Decimal("12000000"))
    lead = LeadFactory(
        email="ada@acme-robotics.test", first_name="Ada", last_name="Lovelace", job_title="CTO", seniority="c_level",
        country="DE", company=company, stage=Stage.MQL, source="paid_search", campaign="Google Ads – Lead scoring",
        utm_source="google", utm_medium="cpc", utm_campaign="lead-scoring-emea", phone="+49 30 1234",
    )
    persona = PersonaFactory(name="Technical buyer", title_keywords=["cto"], seniorities=["c_level"],
                             company_size_min=50, pains="Tool sprawl")
    version = ScoringVersionFactory(status=VersionStatus.ACTIVE, number=1)
    decision_maker = FitRuleFactory(version=version, label="Decision maker", points=15)
    free_mail = FitRuleFactory(version=version, label="Free-mail address", points=-10)
    pricing = EngagementRuleFactory(version=version, label="Visited pricing", points=8)
    blog = EngagementRuleFactory(version=version, label="Read the blog", points=1)
    LeadScore.objects.create(
        lead=lead, version=version, fit=5, engagement=17, total=22, grade="C", persona=persona, conversions=1,
        breakdown_json=json.dumps({decision_maker.key: 15, free_mail.key: -10, pricing.key: 16, blog.key: 1,
                                   "eng:999": 0}),
        computed_at=NOW,
    )
    ActivityFactory(lead=lead, type="form_submission", url="/demo", occurred_at=ago(1),
                    properties={"form": "demo-request"})
    ActivityFactory(lead=lead, type="page_view", url="/pricing", occurred_at=ago(2))
    ActivityFactory(lead=lead, type="page_view", url="/pricing", occurred_at=ago(3))
    ActivityFactory(lead=lead, type="download", url="/resources/ebooks/the-mql-handbook.pdf", occurred_at=ago(5))
    ActivityFactory(lead=lead, type="page_view", url="/blog/lead-scoring-101", occurred_at=ago(6))
    ActivityFactory(lead=lead, type="email_open", url="Newsletter – August", occurred_at=ago(7))
    ActivityFactory(lead=lead, type="webinar", url="Webinar: old news", occurred_at=ago(120))  # outside 90 days
    HandoffFactory(lead=lead, rep=other_rep, status="rejected", created_at=ago(40), outcome="recycled",
                   rejection_reason=Reason.objects.get(kind="rejection", label="No budget"),
                   rejection_comment="Come back in Q3.")
    return lead


@pytest.mark.django_db
def test_the_summary_says_who_the_lead_is_and_why_the_persona_matched(ada):
    summary = handoff_summary_build(lead=ada, at=NOW)

    assert summary["person"] == {"name": "Ada Lovelace", "job_title": "CTO", "seniority": "C-level", "country": "DE",
                                 "email": "ada@acme-robotics.test", "phone": "+49 30 1234"}
    assert summary["persona"] == {
        "name": "Technical buyer", "pains": "Tool sprawl",
        "reasons": ["job title “CTO” contains “cto”", "seniority is C-level", "250 employees is within 50–∞"],
    }
    assert summary["company"] == {"name": "Acme Robotics", "domain": "acme-robotics.test", "industry": "Software",
                                  "employees": 250, "country": "DE", "annual_revenue": "12000000.00"}
    assert summary["source"] == {"source": "paid_search", "campaign": "Google Ads – Lead scoring",
                                 "utm": {"utm_source": "google", "utm_medium": "cpc",
                                         "utm_campaign": "lead-scoring-emea"}}


@pytest.mark.django_db
def test_the_summary_gives_the_score_with_its_top_contributors_biggest_first(ada):
    score = handoff_summary_build(lead=ada, at=NOW)["score"]

    assert (score["total"], score["fit"], score["engagement"], score["grade"], score["version"]) == (22, 5, 17, "C", 1)
    assert score["top"] == [{"label": "Visited pricing", "points": 16}, {"label": "Decision maker", "points": 15},
                            {"label": "Free-mail address", "points": -10}, {"label": "Read the blog", "points": 1}]


@pytest.mark.django_db
def test_pricing_visits_and_a_demo_request_put_the_lead_in_the_decision_stage(ada):
    journey = handoff_summary_build(lead=ada, at=NOW)["journey"]

    assert journey == {
        "stage": "decision", "label": "Decision",
        "signals": ["Page view: /pricing (2×)", "Form submission: /demo"],
        "counts": {"awareness": 2, "consideration": 1, "decision": 3},
    }


@pytest.mark.django_db
def test_the_most_telling_activities_and_the_content_consumed_are_listed_newest_first(ada):
    summary = handoff_summary_build(lead=ada, at=NOW)

    assert [(a["label"], a["url"], a["detail"], a["at"]) for a in summary["telling_activities"]] == [
        ("Form submission", "/demo", "demo request", ago(1).isoformat()),
        ("Page view", "/pricing", "", ago(2).isoformat()),
        ("Page view", "/pricing", "", ago(3).isoformat()),
        ("Download", "/resources/ebooks/the-mql-handbook.pdf", "", ago(5).isoformat()),
    ]
    assert [(c["title"], c["type"], c["times"]) for c in summary["content"]] == [
        ("The MQL handbook", "Download", 1), ("Blog: Lead scoring 101", "Page view", 1),
    ]
    assert summary["activity"]["total_90d"] == 6
    assert summary["activity"]["counts"] == {"Page view": 3, "Form submission": 1, "Download": 1, "E-mail open": 1}


@pytest.mark.django_db
def test_a_shared_cache_of_rule_labels_gives_the_same_summary(ada):
    labels: dict = {}

    cached = [handoff_summary_build(lead=ada, at=NOW, rule_labels=labels) for _ in range(2)]

    assert cached[0] == cached[1] == handoff_summary_build(lead=ada, at=NOW)
    assert len(labels) == 1


@pytest.mark.django_db
def test_the_summary_recalls_earlier_handoffs_and_how_they_ended(ada, other_rep):
    [previous] = handoff_summary_build(lead=ada, at=NOW)["previous_handoffs"]

    assert previous == {"rep": "Tom Teammate", "at": ago(40).isoformat(), "status": "rejected",
                        "status_label": "Rejected", "outcome": "recycled", "outcome_label": "Recycled",
                        "reason": "No budget", "comment": "Come back in Q3."}


@pytest.mark.django_db
def test_the_summary_is_frozen_when_the_handoff_is_made(ada, sales_rep, marketer):
    handoff = handoff_create(lead=ada, rep=sales_rep, actor=marketer)
    frozen = dict(handoff.summary)

    ActivityFactory(lead=ada, type="meeting_booked", url="/demo/book")
    handoff.refresh_from_db()

    assert handoff.summary == frozen
    assert all(a["type"] != "meeting_booked" for a in handoff.summary["telling_activities"])


@pytest.mark.django_db
def test_a_lead_with_nothing_known_gets_an_honest_empty_summary(sales_rep):
    lead = LeadFactory(stage=Stage.MQL, company=None, source="", campaign="")

    summary = handoff_summary_build(lead=lead, at=NOW)

    assert (summary["persona"], summary["score"], summary["company"]) == (None, None, None)
    assert summary["journey"]["stage"] == "awareness" and summary["journey"]["signals"] == []
    assert (summary["telling_activities"], summary["content"], summary["previous_handoffs"]) == ([], [], [])


@pytest.mark.parametrize(("activity_type", "url", "expected"), [
    ("meeting_booked", "/demo/book", ("decision", True)),
    ("form_submission", "/contact", ("decision", True)),
    ("form_submission", "/resources/roi-calculator", ("consideration", True)),
    ("form_submission", "/newsletter", ("awareness", True)),
    ("page_view", "/pricing#plans", ("decision", True)),
    ("page_view", "/customers/northwind", ("consideration", False)),
    ("page_view", "/blog/mql-vs-sql", ("awareness", False)),
    ("download", "/resources/whitepaper.pdf", ("consideration", True)),
    ("webinar", "Webinar: Scoring", ("consideration", True)),
    ("email_open", "Newsletter – August", ("awareness", False)),
    ("other", "chat: pricing question", ("decision", True)),
])
def test_each_activity_signals_a_buyer_journey_stage(activity_type, url, expected):
    assert activity_signal(activity_type, url) == expected
