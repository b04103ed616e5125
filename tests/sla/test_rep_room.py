"""A manager sets a rep's capacity, territory, manager and "away" on the routing page; routing reads them."""

import pytest

from leads.models import Stage
from sla.services import lead_route
from smarketing.models import AuditEntry
from smarketing.roles import Function, Role
from tests.factories import HandoffFactory, LeadFactory, RoutingRuleFactory, TeamFactory, UserFactory


@pytest.fixture
def team(db):
    return TeamFactory(name="Sales Europe", function=Function.SALES)


@pytest.fixture
def ines(team):
    return UserFactory(email="ines@smarketing.test", first_name="Ines", last_name="Rep", role=Role.SALES_REP,
                       team=team, capacity=25, territory=["FR"])


@pytest.fixture
def sales_boss(team):
    return UserFactory(email="boss@smarketing.test", first_name="Bea", last_name="Boss", role=Role.SALES_MANAGER,
                       team=team)


def test_a_sales_manager_sets_capacity_territory_manager_and_away(client_for, ines, sales_boss):
    response = client_for(sales_boss).post(f"/routing/reps/{ines.pk}/", {
        "capacity": "3", "territory": "de, at;CH", "is_away": "on", "manager": str(sales_boss.pk)})

    assert response.status_code == 302 and response["Location"] == "/routing/"
    ines.refresh_from_db()
    assert (ines.capacity, ines.territory, ines.is_away, ines.manager) == (3, ["AT", "CH", "DE"], True, sales_boss)
    entry = AuditEntry.objects.get(action="routing.rep_update")
    assert entry.actor == sales_boss
    assert "capacity 25 → 3" in entry.summary and "territory ['FR'] → ['AT', 'CH', 'DE']" in entry.summary


def test_wrong_values_are_shown_next_to_their_field_and_nothing_changes(client_for, ines, sales_boss):
    response = client_for(sales_boss).post(f"/routing/reps/{ines.pk}/", {"capacity": "-1", "territory": "Germany"})

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["capacity"] == ["Ensure this value is greater than or equal to 0."]
    assert form.errors["territory"] == ["Use two-letter country codes; not: GERMANY."]
    ines.refresh_from_db()
    assert (ines.capacity, ines.territory) == (25, ["FR"])
    assert not AuditEntry.objects.filter(action="routing.rep_update").exists()


def test_only_managers_may_and_only_reps_are_edited(client_for, ines, sales_boss, team):
    other_rep = UserFactory(email="other@smarketing.test", role=Role.SALES_REP, team=team)
    marketer = UserFactory(email="m@smarketing.test", role=Role.MARKETER)

    assert client_for(other_rep).get(f"/routing/reps/{ines.pk}/").status_code == 403
    assert client_for(marketer).post(f"/routing/reps/{ines.pk}/", {"capacity": "1"}).status_code == 403
    assert client_for(sales_boss).get(f"/routing/reps/{marketer.pk}/").status_code == 404
    page = client_for(sales_boss).get(f"/routing/reps/{ines.pk}/")
    assert page.status_code == 200 and b'value="FR"' in page.content


def test_routing_follows_the_new_capacity_and_away(ines, sales_boss, team, client_for):
    RoutingRuleFactory(team=team, position=1)
    HandoffFactory(rep=ines)
    client_for(sales_boss).post(f"/routing/reps/{ines.pk}/", {"capacity": "1", "territory": "FR"})

    lead = LeadFactory(stage=Stage.MQL)
    assert lead_route(lead=lead, actor=sales_boss) is None  # Ines is full: the lead waits

    client_for(sales_boss).post(f"/routing/reps/{ines.pk}/", {"capacity": "5", "territory": "FR", "is_away": "on"})
    assert lead_route(lead=lead, actor=sales_boss) is None  # away

    client_for(sales_boss).post(f"/routing/reps/{ines.pk}/", {"capacity": "5", "territory": "FR"})
    assert lead_route(lead=lead, actor=sales_boss).rep == ines
