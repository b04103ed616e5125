"""Routing: which rep a new MQL goes to — round-robin in a team, by territory and persona, within capacity."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Stage
from scoring.models import LeadScore, VersionStatus
from sla.models import Handoff, RoutingSettings, RoutingTurn
from sla.services import lead_route, mqls_route_new
from sla.tasks import route_new_mqls_task
from smarketing.roles import Function, Role
from tests.factories import (
    HandoffFactory,
    LeadFactory,
    PersonaFactory,
    RoutingRuleFactory,
    ScoringVersionFactory,
    TeamFactory,
    UserFactory,
)


@pytest.fixture
def team(db):
    return TeamFactory(name="Sales Europe", function=Function.SALES)


def rep(team, name: str, **fields):
    return UserFactory(email=f"{name.lower()}@smarketing.test", first_name=name, last_name="Rep",
                       role=Role.SALES_REP, team=team, **fields)


def mqls(count: int, **fields) -> list:
    return [LeadFactory(stage=Stage.MQL, **fields) for _ in range(count)]


@pytest.mark.django_db
def test_round_robin_shares_60_leads_among_3_reps_20_each(team, marketer):
    anna, ben, cleo = rep(team, "Anna"), rep(team, "Ben"), rep(team, "Cleo")
    rule = RoutingRuleFactory(team=team, name="Everyone in Europe")

    handoffs = [lead_route(lead=lead, actor=marketer) for lead in mqls(60)]

    assert Counter(h.rep.first_name for h in handoffs) == {"Anna": 20, "Ben": 20, "Cleo": 20}
    # Turns alternate: no rep gets two in a row.
    assert [h.rep for h in handoffs[:6]] == [anna, ben, cleo, anna, ben, cleo]
    assert {h.routing_rule for h in handoffs} == {rule}
    assert {h.handed_off_by for h in handoffs} == {marketer}
    assert sorted(RoutingTurn.objects.filter(rule=rule).values_list("assigned", flat=True)) == [20, 20, 20]


@pytest.mark.django_db
def test_territory_sends_a_lead_to_the_rep_who_covers_its_country(team):
    dach = rep(team, "Dieter", territory=["DE", "AT", "CH"])
    nordics = rep(team, "Nils", territory=["SE", "NO"])
    RoutingRuleFactory(team=team, by_territory=True)

    assert lead_route(lead=LeadFactory(stage=Stage.MQL, country="AT"), actor=None).rep == dach
    assert lead_route(lead=LeadFactory(stage=Stage.MQL, country="se"), actor=None).rep == nordics
    assert lead_route(lead=LeadFactory(stage=Stage.MQL, country="FR"), actor=None) is None
    assert lead_route(lead=LeadFactory(stage=Stage.MQL, country=""), actor=None) is None


@pytest.mark.django_db
def test_a_rule_for_some_countries_takes_only_their_leads_and_the_next_rule_the_rest(team):
    americas = TeamFactory(name="Sales Americas", function=Function.SALES)
    eu_rep, us_rep = rep(team, "Eva"), rep(americas, "Uma")
    europe = RoutingRuleFactory(team=team, countries=["DE", "FR"], position=10)
    rest = RoutingRuleFactory(team=americas, position=20)

    to_europe = lead_route(lead=LeadFactory(stage=Stage.MQL, country="FR"), actor=None)
    to_rest = lead_route(lead=LeadFactory(stage=Stage.MQL, country="US"), actor=None)

    assert (to_europe.rep, to_europe.routing_rule) == (eu_rep, europe)
    assert (to_rest.rep, to_rest.routing_rule) == (us_rep, rest)


@pytest.mark.django_db
def test_a_persona_rule_takes_the_leads_of_that_persona(team):
    enterprise = TeamFactory(name="Enterprise", function=Function.SALES)
    big_deals, generalist = rep(enterprise, "Bea"), rep(team, "Gus")
    buyer = PersonaFactory(name="Technical buyer")
    version = ScoringVersionFactory(status=VersionStatus.ACTIVE)
    by_persona = RoutingRuleFactory(team=enterprise, persona=buyer, position=10)
    RoutingRuleFactory(team=team, position=20)
    technical = LeadFactory(stage=Stage.MQL)
    LeadScore.objects.create(lead=technical, version=version, fit=50, engagement=20, total=70, grade="A",
                             persona=buyer, computed_at=timezone.now())
    unscored = LeadFactory(stage=Stage.MQL)

    first = lead_route(lead=technical, actor=None)
    second = lead_route(lead=unscored, actor=None)

    assert (first.rep, first.routing_rule) == (big_deals, by_persona)
    assert second.rep == generalist


@pytest.mark.django_db
def test_reps_at_capacity_or_away_are_skipped(team):
    full = rep(team, "Fay", capacity=2)
    away = rep(team, "Abe", is_away=True)
    free = rep(team, "Flo", capacity=10)
    HandoffFactory(rep=full, status="pending")
    HandoffFactory(rep=full, status="accepted")
    HandoffFactory(rep=full, status="closed")  # closed handoffs do not count against capacity
    RoutingRuleFactory(team=team)

    reps = {lead_route(lead=lead, actor=None).rep for lead in mqls(5)}

    assert reps == {free}
    assert away not in reps


@pytest.mark.django_db
def test_when_every_rep_is_full_the_lead_waits(team):
    rep(team, "Max", capacity=1)
    RoutingRuleFactory(team=team)
    first, second = mqls(2)

    assert lead_route(lead=first, actor=None) is not None
    assert lead_route(lead=second, actor=None) is None
    assert not Handoff.objects.filter(lead=second).exists()


@pytest.mark.django_db
def test_a_rep_back_from_away_rejoins_the_rotation_without_catching_up_at_once(team):
    anna, ben = rep(team, "Anna"), rep(team, "Ben", is_away=True)
    RoutingRuleFactory(team=team)
    for lead in mqls(4):
        lead_route(lead=lead, actor=None)
    ben.is_away = False
    ben.save()

    got = [lead_route(lead=lead, actor=None).rep for lead in mqls(4)]

    assert got == [ben, anna, ben, anna]


@pytest.mark.django_db
def test_paused_rules_and_other_teams_reps_are_not_used(team):
    other = TeamFactory(name="Partners", function=Function.SALES)
    rep(other, "Otto")
    RoutingRuleFactory(team=team, is_active=False)
    rep(team, "Tina")

    assert lead_route(lead=LeadFactory(stage=Stage.MQL), actor=None) is None


@pytest.mark.django_db
def test_auto_routing_hands_off_new_mqls_only_when_switched_on(team):
    tina = rep(team, "Tina")
    RoutingRuleFactory(team=team)
    waiting = mqls(3)
    LeadFactory(stage=Stage.NEW)
    already = HandoffFactory(rep=tina, lead=LeadFactory(stage=Stage.MQL))

    assert route_new_mqls_task() == {"routed": 0, "unrouted": 0, "conflicts": 0}

    RoutingSettings.objects.create(pk=1, auto_route_new_mqls=True)
    assert route_new_mqls_task() == {"routed": 3, "unrouted": 0, "conflicts": 0}
    assert set(Handoff.objects.exclude(pk=already.pk).values_list("lead_id", flat=True)) == {lead.pk for lead in waiting}
    assert set(Handoff.objects.exclude(pk=already.pk).values_list("handed_off_by", flat=True)) == {None}
    # Level-triggered and idempotent: a second run finds nothing left to do.
    assert route_new_mqls_task() == {"routed": 0, "unrouted": 0, "conflicts": 0}


@pytest.mark.django_db
def test_auto_routing_takes_the_oldest_mqls_first_and_reports_the_unroutable(team):
    rep(team, "Tina", territory=["DE"])
    RoutingRuleFactory(team=team, by_territory=True)
    RoutingSettings.objects.create(pk=1, auto_route_new_mqls=True)
    old = LeadFactory(stage=Stage.MQL, country="DE", stage_entered_at=timezone.now() - timedelta(days=2))
    LeadFactory(stage=Stage.MQL, country="US")
    LeadFactory(stage=Stage.MQL, country="DE")

    run = mqls_route_new(limit=2)

    assert (run.routed, run.unrouted) == (1, 1)
    assert Handoff.objects.get().lead == old
