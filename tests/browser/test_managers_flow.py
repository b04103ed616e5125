"""The two managers in real browsers, each in their own browser context (own session, own CSRF token):
the marketing manager proposes a new SLA version and signs for marketing, the sales manager signs for sales
and it is in force; the sales manager proposes new MQL criteria and signs, the marketing manager signs and
the rescore is queued; then the dashboard filtered by a rep, and the weekly meeting with an action item that
both managers see.

Headless Chromium (Debian's `chromium`) through Playwright, against Django's live server. The Celery broker
is the boundary (the `worker` fixture keeps what the pages queue). SCREENSHOTS=/some/dir keeps screenshots.
"""

from datetime import timedelta

import pytest
from django.utils import dateformat, timezone

from dashboards.models import ActionItem
from scoring.models import Criteria, DefinitionVersion, VersionStatus
from sla.models import SlaVersion
from smarketing.roles import Function, Role
from tests.factories import (
    CriteriaFactory,
    DefinitionVersionFactory,
    LeadFactory,
    SlaVersionFactory,
    StageChangeFactory,
    TeamFactory,
    UserFactory,
)


@pytest.fixture
def organisation(transactional_db):
    marketing = TeamFactory(name="Demand generation", function=Function.MARKETING)
    sales = TeamFactory(name="Sales EMEA", function=Function.SALES)
    max_ = UserFactory(email="max@smarketing.test", first_name="Max", last_name="Marketing",
                       role=Role.MARKETING_MANAGER, team=marketing)
    sam = UserFactory(email="sam@smarketing.test", first_name="Sam", last_name="Salesboss",
                      role=Role.SALES_MANAGER, team=sales)
    rita = UserFactory(email="rita@smarketing.test", first_name="Rita", last_name="Rep", role=Role.SALES_REP,
                       team=sales, manager=sam)
    tom = UserFactory(email="tom@smarketing.test", first_name="Tom", last_name="Teammate", role=Role.SALES_REP,
                      team=sales, manager=sam)
    signed = timezone.now() - timedelta(days=90)
    SlaVersionFactory(number=1, status=VersionStatus.ACTIVE, first_attempt_hours=6, attempts_required=4,
                      attempts_within_days=12, marketing_signed_by=max_, marketing_signed_at=signed,
                      sales_signed_by=sam, sales_signed_at=signed, activated_at=signed)
    definitions = DefinitionVersionFactory(number=1, status=VersionStatus.ACTIVE, activated_at=signed,
                                           marketing_signed_by=max_, marketing_signed_at=signed,
                                           sales_signed_by=sam, sales_signed_at=signed)
    CriteriaFactory(version=definitions, kind=Criteria.Kind.MQL, min_score=50)
    CriteriaFactory(version=definitions, kind=Criteria.Kind.SQL, min_score=70)
    # Today's funnel: Rita's two leads (one accepted), Tom's one (accepted). A minute ago, so in any period.
    moved = timezone.now() - timedelta(minutes=1)
    for owner, name, accepted in ((rita, "Ada", True), (rita, "Bea", False), (tom, "Cem", True)):
        lead = LeadFactory(first_name=name, last_name="Lead", owner=owner, source="webinar",
                           stage="sal" if accepted else "mql")
        StageChangeFactory(lead=lead, from_stage="", to_stage="new", changed_at=moved)
        StageChangeFactory(lead=lead, from_stage="new", to_stage="mql", changed_at=moved)
        if accepted:
            StageChangeFactory(lead=lead, from_stage="mql", to_stage="sal", changed_at=moved)
    return {"rita": rita}


def stage_figures(page) -> dict[str, str]:
    stats = page.locator("#dashboard-panels .funnel-stats .stat")
    return {stats.nth(i).locator(".stat-label").inner_text(): stats.nth(i).locator(".stat-value").inner_text()
            for i in range(stats.count())}


def test_both_managers_sign_an_sla_and_definitions_then_read_the_dashboard_and_plan_the_week(
        organisation, sign_in, worker):
    max_ = sign_in("max@smarketing.test")
    sam = sign_in("sam@smarketing.test")

    # --- The SLA: Max proposes a shorter first-attempt window and signs for marketing.
    page = max_.page
    page.click("nav.mainnav >> text=SLA")
    page.click("button:has-text('Propose a change')")
    page.wait_for_selector("h1:has-text('SLA v2')")
    assert page.locator("h1 .badge").inner_text() == "Draft"
    page.fill("#id_sla-first_attempt_hours", "4")
    page.fill("#id_sla-note", "Webinar leads go cold within a day: first call within 4 business hours.")
    page.click("button:has-text('Save the draft')")
    page.wait_for_selector("text=Draft v2 saved. Both managers sign it again.")
    changed = page.locator("table.compare tr.changed")
    assert changed.count() == 1
    assert changed.first.locator("th, td").all_inner_texts() == [
        "First attempt", "within 6 business hours", "within 4 business hours"]
    page.click("button:has-text('Sign for marketing')")
    page.wait_for_selector("text=Signed for marketing. It takes effect when sales signs too.")
    assert "✔ Max Marketing" in page.locator("dl.facts").inner_text()
    assert page.get_by_text("Marketing has signed; waiting for a sales manager.").is_visible()
    max_.shot("g1-sla-signed-by-marketing")

    # Sam, in his own browser: the SLA page says marketing has signed; he reads the draft and signs for sales.
    page = sam.page
    page.click("nav.mainnav >> text=SLA")
    assert "Draft v2 is waiting for signatures — marketing has signed." in page.locator(".message-info").inner_text()
    page.click("text=Read it side by side with the SLA in force")
    assert page.locator("table.compare tr.changed th").inner_text() == "First attempt"
    page.click("button:has-text('Sign for sales')")
    page.wait_for_selector("text=SLA v2 is signed by both teams and in force from now.")
    assert page.locator("h1 .badge").inner_text() == "In force"
    page.click("nav.mainnav >> text=SLA")
    head = page.locator(".sla-head").inner_text()
    assert "SLA v2" in head and "signed by Max Marketing (marketing) and Sam Salesboss (sales)" in head
    assert page.get_by_text("A first attempt within 4 business hours").is_visible()
    sam.shot("g2-sla-in-force")
    assert list(SlaVersion.objects.order_by("number").values_list("status", flat=True)) == ["superseded", "active"]

    # --- The definitions: Sam asks for a higher MQL bar and signs for sales; the what-if answers by HTMX.
    page.click("nav.mainnav >> text=Qualification")
    page.click("button:has-text('Propose a change to the definitions')")
    page.wait_for_selector("h1:has-text('MQL and SQL definitions v2')")
    assert page.input_value("#id_mql-min_score") == "50"  # the draft starts from the version in force
    page.fill("#id_mql-min_score", "60")
    page.click("button:has-text('Save MQL criteria')")
    page.wait_for_selector("text=MQL criteria saved.")
    page.wait_for_selector("text=Counting leads…", state="detached")  # the what-if panel was swapped in
    page.click("button:has-text('Sign for sales')")
    page.wait_for_selector("text=Signed for your team. It takes effect when the other team signs too.")
    assert page.get_by_text("Sales has signed; waiting for a marketing manager.").is_visible()
    sam.shot("g3-definitions-signed-by-sales")

    page = max_.page
    page.click("nav.mainnav >> text=Qualification")
    page.click(".message-info >> text=Open the draft")
    assert page.input_value("#id_mql-min_score") == "60"
    page.click("button:has-text('Sign for marketing')")
    page.wait_for_selector("text=Signed by both teams: v2 is now in force. Every lead is being rescored.")
    assert "scoring.tasks.rescore_full_task" in worker.names()  # queued after the commit
    page.click("nav.mainnav >> text=Qualification")
    assert page.get_by_text("v2 in force").first.is_visible()
    assert DefinitionVersion.objects.get(status=VersionStatus.ACTIVE).criteria.get(kind="mql").min_score == 60
    max_.shot("g4-definitions-in-force")

    # --- The dashboard: three MQLs and two acceptances today; filtered to Rita by HTMX, two and one.
    page.click("nav.mainnav >> text=Dashboard")
    figures = stage_figures(page)
    assert (figures["Leads"], figures["MQL"], figures["SAL"]) == ("3", "3", "2")
    page.evaluate("window.sameDocument = true")
    page.select_option("#f-rep", label="Rita Rep")
    page.wait_for_selector("#dashboard-panels .chip:text-is('Rep: Rita Rep')")
    assert f"rep={organisation['rita'].pk}" in page.url
    figures = stage_figures(page)
    assert (figures["Leads"], figures["MQL"], figures["SAL"]) == ("2", "2", "1")
    assert page.evaluate("window.sameDocument") is True
    max_.shot("g5-dashboard-rita")

    # --- The weekly meeting: the SLA just signed is on the agenda; Max adds an action item for Rita.
    page.click("nav.mainnav >> text=Meeting")
    page.wait_for_selector("h1:has-text('Weekly smarketing meeting')")
    assert "SLA v2" in page.locator("section:has(h2:text-is('The SLA, both sides'))").inner_text()
    due = timezone.localdate() + timedelta(days=7)
    page.evaluate("window.sameDocument = true")
    page.fill("#id_title", "Call every webinar lead within 4 business hours")
    page.select_option("#id_owner", label="Rita Rep")
    page.fill("#id_due_on", due.isoformat())
    page.click("button:has-text('Add action item')")
    row = page.locator("#action-items tbody tr", has_text="Call every webinar lead within 4 business hours")
    row.wait_for()
    assert page.evaluate("window.sameDocument") is True  # the list was swapped in place (HTMX, CSRF header)
    cells = row.locator("td").all_inner_texts()
    assert cells[1:4] == ["Call every webinar lead within 4 business hours", "Rita Rep", dateformat.format(due, "j M")]
    max_.shot("g6-meeting")

    # Sam opens the same meeting and sees it.
    page = sam.page
    page.click("nav.mainnav >> text=Meeting")
    assert page.locator("#action-items tbody tr").all_inner_texts()[0].count("Rita Rep") == 1
    item = ActionItem.objects.get()
    assert (item.owner, item.due_on) == (organisation["rita"], due)
