"""The home page: what needs me today, for a rep, for marketing and for a manager."""

import pytest
from django.urls import reverse

from smarketing.roles import Role
from tests.factories import LeadFactory, UserFactory


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["marketer", "sales_rep", "other_rep", "marketing_manager", "sales_manager", "admin"])
def test_every_role_has_a_home_page(who, cast, client_for):
    response = client_for(cast[who]).get(reverse("home"))

    assert response.status_code == 200
    assert "<html" in response.content.decode()


@pytest.mark.django_db
def test_a_rep_sees_their_open_leads_longest_waiting_first_and_their_counts(sales_rep, other_rep, client_for):
    older = LeadFactory(email="older@acme.com", owner=sales_rep, stage="mql", stage_entered_at="2024-01-01T09:00Z")
    newer = LeadFactory(email="newer@acme.com", owner=sales_rep, stage="sal", stage_entered_at="2024-02-01T09:00Z")
    LeadFactory(email="closed@acme.com", owner=sales_rep, stage="won")
    LeadFactory(email="new@acme.com", owner=sales_rep, stage="new")
    LeadFactory(email="teammate@acme.com", owner=other_rep, stage="mql")

    response = client_for(sales_rep).get(reverse("home"))

    assert [lead.email for lead in response.context["my_leads"]] == [older.email, newer.email]
    assert response.context["my_counts"] == {"mql": 1, "sal": 1, "sql": 0, "opportunity": 0}
    html = response.content.decode()
    assert "teammate@acme.com" not in html
    assert f"/leads/?owner={sales_rep.pk}&stage=mql" in html


@pytest.mark.django_db
def test_a_rep_with_nothing_to_do_is_told_so(sales_rep, client_for):
    assert "Nothing waiting for you." in client_for(sales_rep).get(reverse("home")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["marketer", "marketing_manager", "sales_manager", "admin"])
def test_marketing_and_managers_see_the_funnel_and_unassigned_mqls(who, cast, client_for, sales_rep):
    LeadFactory(email="waiting@acme.com", stage="mql", owner=None, stage_entered_at="2024-01-01T09:00Z")
    LeadFactory(email="handed@acme.com", stage="mql", owner=sales_rep)
    LeadFactory(email="fresh@acme.com", stage="new", duplicate_attempts=0)
    LeadFactory(email="again@acme.com", stage="sal", owner=sales_rep, duplicate_attempts=2)

    response = client_for(cast[who]).get(reverse("home"))

    assert [lead.email for lead in response.context["mqls_to_review"]] == ["waiting@acme.com"]
    assert response.context["stage_counts"] == {"new": 1, "mql": 2, "sal": 1, "sql": 0, "opportunity": 0,
                                                "won": 0, "lost": 0, "disqualified": 0, "recycled": 0}
    assert response.context["lead_total"] == 4
    assert response.context["duplicates_flagged"] == 1
    assert "my_leads" not in response.context


@pytest.mark.django_db
def test_the_newest_leads_show_at_most_eight(marketer, client_for):
    LeadFactory.create_batch(10)

    response = client_for(marketer).get(reverse("home"))

    assert len(response.context["recent_leads"]) == 8


@pytest.mark.django_db
def test_an_empty_home_page_says_what_to_do_first(marketer, client_for):
    html = client_for(marketer).get(reverse("home")).content.decode()

    assert "No leads yet." in html
    assert "No unassigned MQLs." in html


def _reps(n: int) -> list:
    return UserFactory.create_batch(n, role=Role.SALES_REP)


@pytest.mark.django_db
def test_a_rep_s_home_runs_the_same_queries_for_few_or_many_leads(sales_rep, client_for, count_queries):
    client = client_for(sales_rep)
    url = reverse("home")
    LeadFactory.create_batch(3, owner=sales_rep, stage="mql")
    few = count_queries(client, url)
    LeadFactory.create_batch(20, owner=sales_rep, stage="sal")
    LeadFactory.create_batch(20, owner=sales_rep, stage="opportunity")

    assert count_queries(client, url) == few


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["marketer", "sales_manager"])
def test_marketing_s_home_runs_the_same_queries_for_few_or_many_leads(who, cast, client_for, count_queries):
    client = client_for(cast[who])
    url = reverse("home")
    for owner in _reps(3):
        LeadFactory(owner=owner, stage="sal")
    LeadFactory.create_batch(2, stage="mql", owner=None)
    few = count_queries(client, url)
    for owner in _reps(20):
        LeadFactory(owner=owner, stage="sal", duplicate_attempts=1)
    LeadFactory.create_batch(20, stage="mql", owner=None)

    assert count_queries(client, url) == few


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["marketing_manager", "sales_manager"])
def test_managers_see_this_week_s_meeting_and_its_open_items(who, cast, client_for):
    from datetime import date

    from dashboards.services import action_item_add

    action_item_add(kind="weekly", period_start=date(2024, 1, 1), actor=cast["marketer"], title="Old item",
                    owner=cast["sales_rep"], due_on=date(2024, 1, 5))

    response = client_for(cast[who]).get(reverse("home"))

    html = response.content.decode()
    assert "This week’s meeting" in html and "1</strong> open action item." in html
    assert "manager" not in client_for(cast["marketer"]).get(reverse("home")).context
