"""The handoff pages through the test client: the queue, the lead page's card and panels, the inbox, objections,
routing — full pages and their HTMX partials, and query counts that do not grow with the rows."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import ContactAttempt, Feedback, Stage
from sla.models import Handoff, RoutingRule, RoutingSettings
from sla.services import Verdict, handoff_accept, handoff_create, handoff_reject
from smarketing.models import Notification
from tests.factories import (
    FeedbackFactory,
    HandoffFactory,
    LeadFactory,
    ObjectionAnswerFactory,
    ObjectionFactory,
    RoutingRuleFactory,
    UserFactory,
)

HTMX = {"HX-Request": "true"}


@pytest.fixture
def handoff(sales_rep, marketer):
    lead = LeadFactory(email="jane.doe@acme.com", first_name="Jane", last_name="Doe", stage=Stage.MQL,
                       company__name="Acme GmbH")
    return handoff_create(lead=lead, rep=sales_rep, actor=marketer, note="Wants SSO; call before Friday.")


def lead_url(handoff) -> str:
    return reverse("leads:lead_detail", args=[handoff.lead_id])


# --- The queue ------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_rep_sees_their_open_handoffs_most_urgent_first(sales_rep, other_rep, client_for):
    now = timezone.now()
    later = HandoffFactory(rep=sales_rep, lead__last_name="Later", first_attempt_due_at=now + timedelta(hours=30))
    overdue = HandoffFactory(rep=sales_rep, lead__last_name="Overdue", first_attempt_due_at=now - timedelta(hours=1))
    soon = HandoffFactory(rep=sales_rep, lead__last_name="Soon", first_attempt_due_at=now + timedelta(hours=1))
    no_sla = HandoffFactory(rep=sales_rep, lead__last_name="Nosla")
    HandoffFactory(rep=other_rep, lead__last_name="Someone else's")
    HandoffFactory(rep=sales_rep, status="closed", lead__last_name="Closed")

    response = client_for(sales_rep).get(reverse("sla:queue"))

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [overdue, soon, later, no_sla]
    counts = response.context["counts"]
    assert (counts.total, counts.pending, counts.overdue, counts.due_soon) == (4, 4, 1, 1)
    html = response.content.decode()
    assert "Someone else" not in html and "Closed" not in html
    assert "overdue" in html


@pytest.mark.django_db
def test_the_queue_filters_by_stage_as_a_partial(sales_rep, marketer, client_for):
    waiting = handoff_create(lead=LeadFactory(stage=Stage.MQL), rep=sales_rep, actor=marketer)
    working = handoff_accept(handoff=handoff_create(lead=LeadFactory(stage=Stage.MQL), rep=sales_rep,
                                                    actor=marketer), actor=sales_rep)
    client = client_for(sales_rep)

    partial = client.get(reverse("sla:queue"), {"stage": "sal"}, headers={**HTMX, "HX-Target": "queue-table"})

    html = partial.content.decode()
    assert "<html" not in html and html.lstrip().startswith('<div id="queue-table"')
    assert f'id="handoff-row-{working.pk}"' in html
    assert f'id="handoff-row-{waiting.pk}"' not in html


@pytest.mark.django_db
def test_a_sales_manager_sees_every_rep_and_can_pick_one(sales_rep, other_rep, sales_manager, client_for):
    mine = HandoffFactory(rep=sales_rep)
    theirs = HandoffFactory(rep=other_rep)
    client = client_for(sales_manager)

    everyone = client.get(reverse("sla:queue"))
    one = client.get(reverse("sla:queue"), {"rep": other_rep.pk})

    assert set(everyone.context["page"].object_list) == {mine, theirs}
    assert list(one.context["page"].object_list) == [theirs]
    assert "Tom Teammate's queue" in one.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["marketer", "marketing_manager"])
def test_marketing_has_no_queue(who, cast, client_for):
    assert client_for(cast[who]).get(reverse("sla:queue")).status_code == 403


@pytest.mark.django_db
def test_accepting_from_the_queue_swaps_the_row(handoff, sales_rep, client_for):
    response = client_for(sales_rep).post(reverse("sla:handoff_accept", args=[handoff.pk]),
                                          headers={**HTMX, "HX-Target": f"handoff-row-{handoff.pk}"})

    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="handoff-row-{handoff.pk}"')
    assert "SAL" in html
    handoff.refresh_from_db()
    assert handoff.status == "accepted"


@pytest.mark.django_db
@pytest.mark.parametrize("headers", [{}, {**HTMX, "HX-Target": "queue-table"}])
def test_the_queue_runs_the_same_queries_for_5_or_40_handoffs(headers, sales_rep, client_for, count_queries):
    client = client_for(sales_rep)
    url = reverse("sla:queue")
    now = timezone.now()

    def add(n: int) -> None:
        for i in range(n):
            HandoffFactory(rep=sales_rep, handed_off_by=UserFactory(), first_attempt_due_at=now + timedelta(hours=i),
                           attempts_due_at=now + timedelta(days=3), attempts_required=3, sla_version_number=1)

    add(5)
    with_5 = count_queries(client, url, headers=headers)
    add(35)

    assert count_queries(client, url, headers=headers) == with_5


@pytest.mark.django_db
def test_the_managers_queue_runs_the_same_queries_for_5_or_40_handoffs(sales_manager, client_for, count_queries):
    client = client_for(sales_manager)
    url = reverse("sla:queue")
    HandoffFactory.create_batch(5)
    with_5 = count_queries(client, url)
    HandoffFactory.create_batch(35)

    assert count_queries(client, url) == with_5


# --- The lead page: the handoff card ----------------------------------------------------------------

@pytest.mark.django_db
def test_the_rep_reads_the_intelligence_as_one_card_with_accept_and_reject(handoff, sales_rep, client_for):
    html = client_for(sales_rep).get(lead_url(handoff)).content.decode()

    assert 'id="handoff-card"' in html
    assert "Wants SSO; call before Friday." in html
    assert "Buyer journey" in html and "Most telling recent activity" in html
    assert reverse("sla:handoff_accept", args=[handoff.pk]) in html
    assert reverse("sla:handoff_reject", args=[handoff.pk]) in html
    # The generic stage form is replaced by the card while the handoff is open.
    assert reverse("leads:lead_stage_change", args=[handoff.lead_id]) not in html


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["other_rep", "marketer", "marketing_manager"])
def test_others_read_the_card_without_its_actions(who, cast, handoff, client_for):
    html = client_for(cast[who]).get(lead_url(handoff)).content.decode()

    assert "Wants SSO; call before Friday." in html
    assert reverse("sla:handoff_accept", args=[handoff.pk]) not in html
    assert reverse("sla:attempt_log", args=[handoff.lead_id]) not in html


@pytest.mark.django_db
def test_marketing_hands_an_mql_off_from_the_lead_page(marketer, sales_rep, client_for):
    lead = LeadFactory(stage=Stage.MQL)
    client = client_for(marketer)
    assert reverse("sla:handoff_create", args=[lead.pk]) in client.get(reverse("leads:lead_detail",
                                                                              args=[lead.pk])).content.decode()

    response = client.post(reverse("sla:handoff_create", args=[lead.pk]), {"rep": sales_rep.pk, "note": "Hot"},
                           follow=True)

    handoff = Handoff.objects.get(lead=lead)
    assert (handoff.rep, handoff.handed_off_by, handoff.note) == (sales_rep, marketer, "Hot")
    assert "Handed to Rita Owner. They have been notified." in response.content.decode()


@pytest.mark.django_db
def test_handing_off_through_htmx_reloads_the_page(marketer, sales_rep, client_for):
    lead = LeadFactory(stage=Stage.MQL)

    response = client_for(marketer).post(reverse("sla:handoff_create", args=[lead.pk]), {"rep": sales_rep.pk},
                                         headers=HTMX)

    assert response["HX-Redirect"] == reverse("leads:lead_detail", args=[lead.pk])


@pytest.mark.django_db
def test_a_handoff_without_a_rep_comes_back_as_the_card_with_the_error(marketer, client_for):
    lead = LeadFactory(stage=Stage.MQL)

    response = client_for(marketer).post(reverse("sla:handoff_create", args=[lead.pk]), {"rep": ""}, headers=HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card handoff-card" id="handoff-card"')
    assert "This field is required." in html
    assert not Handoff.objects.exists()


@pytest.mark.django_db
def test_the_second_of_two_marketers_gets_a_clear_message(handoff, marketing_manager, other_rep, client_for):
    response = client_for(marketing_manager).post(
        reverse("sla:handoff_create", args=[handoff.lead_id]), {"rep": other_rep.pk}, follow=True,
    )

    html = response.content.decode()
    assert "was already handed to Rita Owner by Mia Marketer" in html
    assert Handoff.objects.filter(lead_id=handoff.lead_id).count() == 1


@pytest.mark.django_db
def test_route_by_the_rules_from_the_lead_page(marketer, sales_rep, sales_team, client_for):
    RoutingRuleFactory(team=sales_team, name="Everyone")
    lead = LeadFactory(stage=Stage.MQL)

    response = client_for(marketer).post(reverse("sla:handoff_create", args=[lead.pk]), {"route": "1"}, follow=True)

    assert "Handed to" in response.content.decode() and "by the rule “Everyone”" in response.content.decode()
    assert Handoff.objects.get(lead=lead).routing_rule.name == "Everyone"


@pytest.mark.django_db
def test_rejecting_with_missing_fields_returns_the_card_with_errors_and_the_panel_open(handoff, sales_rep,
                                                                                     client_for):
    response = client_for(sales_rep).post(reverse("sla:handoff_reject", args=[handoff.pk]), {"text": ""},
                                          headers=HTMX)

    html = response.content.decode()
    assert '<details class="action-panel" open>' in html
    assert html.count("This field is required.") >= 3
    handoff.refresh_from_db()
    assert handoff.status == "pending"


@pytest.mark.django_db
def test_the_rep_rejects_with_a_reason_and_marketing_reads_it_in_the_inbox(handoff, sales_rep, marketer,
                                                                           client_for):
    from leads.models import Reason

    reason = Reason.objects.get(kind="rejection", label="No budget")
    response = client_for(sales_rep).post(reverse("sla:handoff_reject", args=[handoff.pk]), {
        "reason": reason.pk, "text": "Hiring freeze until 2026.", "quality": "2", "disqualify": "0",
        "objection": "No budget this year",
    }, headers=HTMX)
    assert response["HX-Redirect"] == lead_url(handoff)

    inbox = client_for(marketer).get(reverse("sla:feedback_inbox")).content.decode()

    assert "Hiring freeze until 2026." in inbox and "No budget this year" in inbox and "★★☆☆☆" in inbox
    assert Notification.objects.filter(recipient=marketer, kind="handoff_rejected").exists()


@pytest.mark.django_db
def test_an_accepted_lead_offers_the_sql_checklist_and_the_moves_on(handoff, sales_rep, client_for):
    handoff_accept(handoff=handoff, actor=sales_rep)

    html = client_for(sales_rep).get(lead_url(handoff)).content.decode()

    assert "Move this lead on" in html
    for label in ("Sales-qualified (SQL)", "Back to nurture", "Disqualify", "Lost"):
        assert label in html


@pytest.mark.django_db
def test_moving_on_with_a_missing_amount_shows_the_error_in_the_open_panel(handoff, sales_rep, client_for):
    handoff_accept(handoff=handoff, actor=sales_rep)
    client = client_for(sales_rep)
    client.post(reverse("sla:handoff_move", args=[handoff.pk]), {"to": "sql"})

    response = client.post(reverse("sla:handoff_move", args=[handoff.pk]), {"to": "opportunity"}, headers=HTMX)

    html = response.content.decode()
    assert "Give the deal" in html and "expected amount" in html
    handoff.lead.refresh_from_db()
    assert handoff.lead.stage == Stage.SQL


# --- The lead page: attempts and feedback panels -------------------------------------------------------

@pytest.mark.django_db
def test_logging_an_attempt_returns_the_attempts_panel_and_refreshes_the_card(handoff, sales_rep, client_for):
    client = client_for(sales_rep)
    form = {"channel": "call", "outcome": "voicemail", "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "notes": "Left a message", "objection": "", "idempotency_key": "k-1"}

    response = client.post(reverse("sla:attempt_log", args=[handoff.lead_id]), form, headers=HTMX)

    html = response.content.decode()
    assert "<html" not in html and html.lstrip().startswith('<section class="card" id="attempts"')
    assert "Attempt logged." in html and "Left a message" in html and "Voicemail" in html
    assert response["HX-Trigger"] == "handoff-changed"
    card = client.get(reverse("sla:handoff_card", args=[handoff.lead_id]), headers=HTMX).content.decode()
    assert "<strong>1</strong>" in card


@pytest.mark.django_db
def test_an_attempt_in_the_future_is_a_form_error(handoff, sales_rep, client_for):
    later = (timezone.localtime() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")

    response = client_for(sales_rep).post(reverse("sla:attempt_log", args=[handoff.lead_id]), {
        "channel": "call", "outcome": "connected", "occurred_at": later, "idempotency_key": "k-2",
    }, headers=HTMX)

    assert "An attempt cannot be in the future." in response.content.decode()
    assert not ContactAttempt.objects.exists()


@pytest.mark.django_db
def test_giving_feedback_returns_the_feedback_panel(handoff, sales_rep, marketer, client_for):
    response = client_for(sales_rep).post(reverse("sla:feedback_give", args=[handoff.lead_id]), {
        "quality": "4", "text": "Great fit, budget approved.", "reason": "", "objection": "",
    }, headers=HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="feedback"')
    assert "Great fit, budget approved." in html and "★★★★☆" in html
    assert Feedback.objects.get().quality == 4
    assert Notification.objects.filter(recipient=marketer, kind="feedback").exists()


@pytest.mark.django_db
def test_the_lead_page_runs_the_same_queries_for_few_or_many_attempts_and_feedback(handoff, sales_rep, client_for,
                                                                                  count_queries):
    from tests.factories import ContactAttemptFactory

    client = client_for(sales_rep)
    url = lead_url(handoff)
    answer = ObjectionAnswerFactory()
    ContactAttemptFactory.create_batch(2, lead=handoff.lead, rep=sales_rep, objection=answer.objection)
    FeedbackFactory.create_batch(2, lead=handoff.lead, author=sales_rep, objection=ObjectionFactory())
    few = count_queries(client, url)
    ContactAttemptFactory.create_batch(20, lead=handoff.lead, rep=sales_rep, objection=ObjectionAnswerFactory().objection)
    FeedbackFactory.create_batch(20, lead=handoff.lead, author=UserFactory(), objection=ObjectionFactory())

    assert count_queries(client, url) == few


# --- Feedback inbox, objections, routing pages ---------------------------------------------------------

@pytest.mark.django_db
def test_the_inbox_filters_unread_and_my_leads_and_marks_read(handoff, marketer, marketing_manager, sales_rep,
                                                              client_for):
    mine = FeedbackFactory(lead=handoff.lead, author=sales_rep, text="On my lead")
    FeedbackFactory(text="On someone else's lead")
    client = client_for(marketer)

    partial = client.get(reverse("sla:feedback_inbox"), {"mine": "1"}, headers={**HTMX, "HX-Target": "inbox"})
    html = partial.content.decode()
    assert html.lstrip().startswith('<div id="inbox"')
    assert "On my lead" in html and "someone else" not in html

    client.post(reverse("sla:feedback_mark_read"), {"feedback": [mine.pk]})
    unread = client.get(reverse("sla:feedback_inbox"), {"show": "unread"})
    assert [f.text for f in unread.context["page"].object_list] == ["On someone else's lead"]
    mine.refresh_from_db()
    assert mine.read_by == marketer


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "status"), [("marketer", 200), ("marketing_manager", 200), ("sales_manager", 200),
                                             ("sales_rep", 403)])
def test_the_inbox_is_for_marketing_and_managers(who, status, cast, client_for):
    assert client_for(cast[who]).get(reverse("sla:feedback_inbox")).status_code == status


@pytest.mark.django_db
def test_objections_are_ranked_and_unanswered_ones_are_content_gaps(marketer, client_for):
    from tests.factories import ContactAttemptFactory

    price = ObjectionFactory(label="Too expensive")
    ContactAttemptFactory.create_batch(3, objection=price)
    FeedbackFactory(objection=price)
    incumbent = ObjectionFactory(label="Happy with the incumbent")
    ContactAttemptFactory(objection=incumbent)
    ObjectionAnswerFactory(objection=incumbent, title="Switching guide")
    ObjectionFactory(label="Never heard")

    response = client_for(marketer).get(reverse("sla:objections"))

    ranked = response.context["objections"]
    assert [(o.label, o.mentions) for o in ranked] == [("Too expensive", 4), ("Happy with the incumbent", 1),
                                                       ("Never heard", 0)]
    assert response.context["gaps"] == 1
    assert "content gap" in response.content.decode()


@pytest.mark.django_db
def test_marketing_links_content_to_an_objection_and_reps_see_it_on_the_lead(handoff, marketer, sales_rep,
                                                                             client_for):
    from sla.services import contact_attempt_log

    objection = ObjectionFactory(label="Security review takes months")
    client_for(marketer).post(reverse("sla:objection_answer_add", args=[objection.pk]), {
        "title": "Security whitepaper", "url": "https://example.test/security.pdf", "note": "Send before the call",
    })
    contact_attempt_log(lead=handoff.lead, actor=sales_rep, channel="call", outcome="connected",
                        occurred_at=timezone.now(), idempotency_key="sec-1", objection="security review takes months")

    html = client_for(sales_rep).get(lead_url(handoff)).content.decode()

    assert "Security review takes months" in html
    assert 'href="https://example.test/security.pdf"' in html and "Send before the call" in html


@pytest.mark.django_db
def test_managers_configure_routing_rules_and_switch_auto_routing(sales_manager, sales_team, client_for):
    client = client_for(sales_manager)

    response = client.post(reverse("sla:routing_rule_create"), {
        "name": "DACH", "team": sales_team.pk, "persona": "", "countries": "de, at ,CH", "by_territory": "on",
        "position": 10, "is_active": "on",
    })
    assert response.status_code == 302
    assert RoutingRule.objects.get().countries == ["AT", "CH", "DE"]

    client.post(reverse("sla:routing_settings"), {"auto_route_new_mqls": "1"})
    assert RoutingSettings.objects.get().auto_route_new_mqls is True
    assert "DACH" in client.get(reverse("sla:routing")).content.decode()


@pytest.mark.django_db
def test_a_routing_rule_with_a_wrong_country_code_is_a_field_error(sales_manager, sales_team, client_for):
    response = client_for(sales_manager).post(reverse("sla:routing_rule_create"), {
        "name": "Odd", "team": sales_team.pk, "countries": "Germany", "position": 10,
    })

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["countries"]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["marketer", "sales_rep"])
def test_routing_is_for_managers(who, cast, client_for):
    assert client_for(cast[who]).get(reverse("sla:routing")).status_code == 403


@pytest.mark.django_db
def test_a_rejected_lead_shows_its_handoff_history(handoff, sales_rep, marketer, client_for):
    from leads.models import Reason

    handoff_reject(handoff=handoff, actor=sales_rep, reason=Reason.objects.get(kind="rejection", label="No budget"),
                   verdict=Verdict(quality=2, text="Freeze"))

    html = client_for(marketer).get(lead_url(handoff)).content.decode()

    assert "Earlier handoffs (1)" in html and "Rejected" in html and "Freeze" in html
