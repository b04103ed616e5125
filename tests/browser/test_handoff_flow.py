"""The handoff in a real browser, as the issue's "done means" reads: a marketer hands a lead off, the rep
accepts it, logs three attempts inline, moves it to SQL, opportunity and won; another lead is rejected
with feedback that the marketer then reads.

Headless Chromium (Debian's `chromium`) through Playwright, against Django's live server. Set
SCREENSHOTS=/some/dir to keep a full-page screenshot of each step.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Reason, Stage
from sla.models import Handoff
from smarketing.roles import Function, Role
from tests.factories import ActivityFactory, CompanyFactory, LeadFactory, TeamFactory, UserFactory


@pytest.fixture
def organisation(transactional_db):
    # Transactional tests start from an emptied database: the reason lists are made here.
    for kind, label in (("rejection", "Not a fit for our offer"), ("rejection", "No budget"), ("loss", "Price")):
        Reason.objects.get_or_create(kind=kind, label=label)
    sales = TeamFactory(name="Sales EMEA", function=Function.SALES)
    marketer = UserFactory(email="mia@smarketing.test", first_name="Mia", last_name="Marketer", role=Role.MARKETER)
    rep = UserFactory(email="rita@smarketing.test", first_name="Rita", last_name="Rep", role=Role.SALES_REP,
                      team=sales, territory=["DE"])
    acme = CompanyFactory(name="Acme Robotics", domain="acme-robotics.test", employees=240, industry="Software")
    winner = LeadFactory(email="ada@acme-robotics.test", first_name="Ada", last_name="Lovelace", job_title="CTO",
                         company=acme, stage=Stage.MQL, source="webinar", campaign="Spring webinar")
    ActivityFactory(lead=winner, type="form_submission", url="/demo", properties={"form": "demo-request"})
    ActivityFactory(lead=winner, type="page_view", url="/pricing")
    dud = LeadFactory(email="sam@student.test", first_name="Sam", last_name="Student", stage=Stage.MQL,
                      company=CompanyFactory(name="University"))
    return {"marketer": marketer, "rep": rep, "winner": winner, "dud": dud}


def hand_off(marketer, lead, rep_name: str, note: str) -> None:
    page = marketer.open(f"/leads/{lead.pk}/")
    page.select_option("#handoff_rep", label=page.locator("#handoff_rep option", has_text=rep_name).inner_text())
    page.fill("#handoff_note", note)
    page.click("button:has-text('Hand off')")
    page.wait_for_selector(f"text=Handed to {rep_name}")


@pytest.mark.django_db(transaction=True)
def test_a_lead_goes_from_marketing_to_won_and_another_is_rejected_with_feedback(sign_in, organisation):
    winner, dud = organisation["winner"], organisation["dud"]
    marketer = sign_in("mia@smarketing.test")
    hand_off(marketer, winner, "Rita Rep", "Asked for a demo after the webinar; call before Friday.")
    hand_off(marketer, dud, "Rita Rep", "Student? Please check.")
    marketer.shot("01-marketer-handed-off")

    rep = sign_in("rita@smarketing.test")
    page = rep.page
    assert page.locator("#bell .bell-count").inner_text() == "2"
    queue = rep.open("/queue/")
    assert queue.locator("tr[id^=handoff-row]").count() == 2
    rep.shot("02-rep-queue")

    # Accept: the lead becomes SAL and the card offers the moves on.
    page = rep.open(f"/leads/{winner.pk}/")
    assert page.locator("#handoff-card").get_by_text("call before Friday").is_visible()
    assert page.locator("#handoff-card").get_by_text("Decision", exact=True).is_visible()
    rep.shot("03-rep-reads-the-card")
    page.click("button:has-text('Accept lead')")
    page.wait_for_selector("text=it is yours to work now")

    # Three attempts, inline: the page is not reloaded (the marker set on window survives).
    page.evaluate("window.sameDocument = true")
    for number, (channel, outcome, notes) in enumerate(
        [("call", "no_answer", "Rang twice"), ("email", "connected", "Replied: wants pricing"),
         ("meeting", "meeting_booked", "Demo on Tuesday")], start=1,
    ):
        page.select_option("#attempt_channel", channel)
        page.select_option("#attempt_outcome", outcome)
        page.fill("#attempt_notes", notes)
        page.click("#attempts button[type=submit]")
        page.wait_for_selector(f"#attempts >> text={notes}")
        assert page.locator("#attempts .attempts > li").count() == number
    assert page.evaluate("window.sameDocument") is True
    page.wait_for_selector("#handoff-card .sla-row strong:text-is('3')")
    rep.shot("04-three-attempts")

    # SQL, opportunity, won.
    page.click("summary:has-text('Sales-qualified (SQL)')")
    page.click("button:has-text('Move to SQL')")
    page.wait_for_selector("text=Moved Ada Lovelace to SQL")
    page.click("summary:has-text('Opportunity')")
    page.fill("#move_amount", "24000")
    page.fill("#move_expected_close_on", (timezone.localdate() + timedelta(days=30)).isoformat())
    page.click("button:has-text('Open the opportunity')")
    page.wait_for_selector("text=Moved Ada Lovelace to Opportunity")
    page.click("summary:has-text('Won')")
    assert page.input_value("#won-amount") == "24000.00"
    page.click("button:has-text('Mark as won')")
    page.wait_for_selector("text=Moved Ada Lovelace to Won")
    rep.shot("05-won")
    won = Handoff.objects.get(lead=winner)
    assert (won.status, won.outcome, won.won_amount, won.attempt_count) == ("closed", "won", 24000, 3)

    # The other lead: rejected with a reason, a comment and a rating.
    page = rep.open(f"/leads/{dud.pk}/")
    page.click("summary:has-text('Reject…')")
    page.select_option("#reject_reason", label="Not a fit for our offer")
    page.fill("#reject_text", "A student writing a thesis, no company project.")
    page.check("#handoff-card input[name=quality][value='1']")
    page.click("button:has-text('Reject and tell marketing')")
    page.wait_for_selector("text=Marketing has your feedback")
    rep.shot("06-rejected")

    # The marketer is told, and reads the feedback in the inbox.
    page = marketer.open("/feedback/")
    assert page.get_by_text("A student writing a thesis, no company project.").is_visible()
    assert page.get_by_text("Not a fit for our offer").first.is_visible()
    assert page.locator("#bell .bell-count").inner_text() == "2"  # rejected, and won
    marketer.shot("07-marketer-reads-feedback")
