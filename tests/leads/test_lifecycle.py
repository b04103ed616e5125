"""The lead lifecycle: who may move a lead from which stage to which, and what every move records.

The rules are written out below as literal data, independently of leads.services.TRANSITIONS, so a
change to the table in the code has to be a change to this test too.
"""

from datetime import UTC, datetime
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.query import QuerySet

from leads.models import Lead, Stage, StageChange
from leads.services import TRANSITIONS, lead_change_stage, stage_targets_for
from tests.factories import LeadFactory

SYSTEM = None  # lead_change_stage's actor when the application itself moves a lead
MARKETING = ("marketer", "marketing_manager", "admin")
SALES = ("sales_rep", "sales_manager", "admin")
ALL_ACTORS = ("marketer", "marketing_manager", "sales_rep", "sales_manager", "admin", "system")

# (from, to, who may make the move). "system" is the application (qualification, SLA recycling).
EXPECTED_TRANSITIONS = [
    ("new", "mql", {*MARKETING, "system"}),
    ("new", "disqualified", {*MARKETING}),
    ("mql", "sal", {*SALES}),
    ("mql", "recycled", {*SALES, *MARKETING}),
    ("mql", "disqualified", {*SALES, *MARKETING}),
    ("sal", "sql", {*SALES}),
    ("sal", "lost", {*SALES}),
    ("sal", "recycled", {*SALES, "system"}),
    ("sal", "disqualified", {*SALES}),
    ("sql", "opportunity", {*SALES}),
    ("sql", "lost", {*SALES}),
    ("sql", "recycled", {*SALES}),
    ("opportunity", "won", {*SALES}),
    ("opportunity", "lost", {*SALES}),
    ("lost", "recycled", {*MARKETING}),
    ("recycled", "mql", {*MARKETING, "system"}),
    ("recycled", "disqualified", {*MARKETING}),
    # Reopening a disqualified lead undoes a judgement: managers and admins only.
    ("disqualified", "new", {"marketing_manager", "sales_manager", "admin"}),
]

ALLOWED = [(f, t, actor) for f, t, actors in EXPECTED_TRANSITIONS for actor in sorted(actors)]
FORBIDDEN_FOR_ROLE = [
    (f, t, actor) for f, t, actors in EXPECTED_TRANSITIONS for actor in ALL_ACTORS if actor not in actors
]
LEGAL_PAIRS = {(f, t) for f, t, _ in EXPECTED_TRANSITIONS}
STAGES = ["new", "mql", "sal", "sql", "opportunity", "won", "lost", "disqualified", "recycled"]
ILLEGAL_PAIRS = [(f, t) for f in STAGES for t in STAGES if f != t and (f, t) not in LEGAL_PAIRS]


@pytest.fixture
def actor_named(request):
    """actor_named("marketer") is that user from conftest's cast; only the one asked for is created."""

    def actor(name: str):
        return SYSTEM if name == "system" else request.getfixturevalue(name)

    return actor


def make_lead(stage: str, owner) -> Lead:
    return LeadFactory(stage=stage, owner=owner,
                       stage_entered_at=datetime(2024, 1, 1, 9, 0, tzinfo=UTC))


def test_the_code_has_exactly_the_transitions_written_here():
    # Role sets are pinned by the behavioural tests below; here only that no move was added or dropped.
    assert {(str(f), str(t)) for f, t in TRANSITIONS} == LEGAL_PAIRS


@pytest.mark.django_db
@pytest.mark.parametrize(("from_stage", "to_stage", "actor_name"), ALLOWED)
def test_an_allowed_move_changes_the_stage_and_records_who_why_and_when(
        from_stage, to_stage, actor_name, actor_named, sales_rep):
    actor = actor_named(actor_name)
    # A sales rep moves only their own leads; the lead belongs to sales_rep in every case.
    lead = make_lead(from_stage, owner=sales_rep)
    at = datetime(2024, 3, 4, 10, 30, tzinfo=UTC)

    # Disqualified and lost take a reason from the agreed list (matched case-insensitively, stored as
    # listed); any other move keeps the words given, trimmed.
    given, stored = {"disqualified": ("  wrong PROFILE ", "Wrong profile"), "lost": (" price ", "Price")}.get(
        to_stage, ("  budget frozen  ", "budget frozen"))
    change = lead_change_stage(lead=lead, to=to_stage, actor=actor, reason=given,
                               note=" spoke on the phone ", at=at)

    assert StageChange.objects.filter(lead=lead).count() == 1
    change.refresh_from_db()
    assert (change.from_stage, change.to_stage) == (from_stage, to_stage)
    assert change.changed_by == actor
    assert change.reason == stored
    assert change.note == "spoke on the phone"
    assert change.changed_at == at
    lead.refresh_from_db()
    assert lead.stage == to_stage
    assert lead.stage_entered_at == at
    assert lead.updated_at == at


@pytest.mark.django_db
@pytest.mark.parametrize(("from_stage", "to_stage", "actor_name"), FORBIDDEN_FOR_ROLE)
def test_a_move_outside_the_role_is_refused_and_changes_nothing(
        from_stage, to_stage, actor_name, actor_named, sales_rep):
    lead = make_lead(from_stage, owner=sales_rep)

    with pytest.raises(ValidationError) as error:
        lead_change_stage(lead=lead, to=to_stage, actor=actor_named(actor_name), reason="because")

    assert "cannot move a lead" in " ".join(error.value.messages)
    lead.refresh_from_db()
    assert lead.stage == from_stage
    assert not StageChange.objects.filter(lead=lead).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("from_stage", "to_stage"), ILLEGAL_PAIRS)
def test_a_move_that_is_not_in_the_lifecycle_is_refused_even_for_an_admin(from_stage, to_stage, admin, sales_rep):
    lead = make_lead(from_stage, owner=sales_rep)

    with pytest.raises(ValidationError) as error:
        lead_change_stage(lead=lead, to=to_stage, actor=admin, reason="because")

    assert error.value.messages == [
        f"A lead cannot move from {Stage(from_stage).label} to {Stage(to_stage).label}."
    ]
    lead.refresh_from_db()
    assert lead.stage == from_stage
    assert not StageChange.objects.filter(lead=lead).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("actor_name", "from_stage", "to_stage", "message"),
    [
        ("marketer", "mql", "sal", "Marketers cannot move a lead from MQL to SAL."),
        ("marketer", "opportunity", "won", "Marketers cannot move a lead from Opportunity to Won."),
        ("marketing_manager", "disqualified", "new", None),  # allowed: control case for the row below
        ("marketer", "disqualified", "new", "Marketers cannot move a lead from Disqualified to New."),
        ("sales_rep", "new", "mql", "Sales reps cannot move a lead from New to MQL."),
        ("sales_rep", "lost", "recycled", "Sales reps cannot move a lead from Lost to Recycled."),
        ("sales_rep", "disqualified", "new", "Sales reps cannot move a lead from Disqualified to New."),
        ("sales_manager", "new", "mql", "Sales managers cannot move a lead from New to MQL."),
        ("marketing_manager", "sal", "sql", "Marketing managers cannot move a lead from SAL to SQL."),
        ("system", "mql", "sal", "The system cannot move a lead from MQL to SAL."),
        ("system", "opportunity", "won", "The system cannot move a lead from Opportunity to Won."),
        ("admin", "new", "won", "A lead cannot move from New to Won."),
        ("sales_manager", "new", "won", "A lead cannot move from New to Won."),
        ("admin", "won", "lost", "A lead cannot move from Won to Lost."),
    ],
)
def test_refusals_say_who_cannot_make_which_move(actor_name, from_stage, to_stage, message, actor_named, sales_rep):
    lead = make_lead(from_stage, owner=sales_rep)
    if message is None:
        lead_change_stage(lead=lead, to=to_stage, actor=actor_named(actor_name), reason="reopened")
        return
    with pytest.raises(ValidationError) as error:
        lead_change_stage(lead=lead, to=to_stage, actor=actor_named(actor_name), reason="because")
    assert error.value.messages == [message]


@pytest.mark.django_db
@pytest.mark.parametrize(("from_stage", "to_stage"), [("mql", "sal"), ("sal", "sql"), ("opportunity", "won")])
def test_a_rep_cannot_move_a_lead_owned_by_another_rep(from_stage, to_stage, sales_rep, other_rep):
    lead = make_lead(from_stage, owner=sales_rep)

    with pytest.raises(PermissionDenied):
        lead_change_stage(lead=lead, to=to_stage, actor=other_rep, reason="taking over")

    lead.refresh_from_db()
    assert lead.stage == from_stage
    assert not StageChange.objects.filter(lead=lead).exists()


@pytest.mark.django_db
def test_a_rep_cannot_move_an_unassigned_lead(sales_rep):
    lead = make_lead("mql", owner=None)

    with pytest.raises(PermissionDenied):
        lead_change_stage(lead=lead, to="sal", actor=sales_rep)


@pytest.mark.django_db
def test_a_sales_manager_moves_a_lead_owned_by_one_of_the_reps(sales_rep, sales_manager):
    lead = make_lead("sal", owner=sales_rep)

    lead_change_stage(lead=lead, to="sql", actor=sales_manager)

    lead.refresh_from_db()
    assert lead.stage == "sql"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("from_stage", "to_stage"),
    [("sal", "lost"), ("opportunity", "lost"), ("mql", "disqualified"), ("sql", "recycled"), ("lost", "recycled")],
)
@pytest.mark.parametrize("reason", ["", "   "])
def test_leaving_the_funnel_needs_a_reason(from_stage, to_stage, reason, admin, sales_rep):
    lead = make_lead(from_stage, owner=sales_rep)

    with pytest.raises(ValidationError) as error:
        lead_change_stage(lead=lead, to=to_stage, actor=admin, reason=reason)

    assert error.value.message_dict == {"reason": [f"Give a reason for moving the lead to {Stage(to_stage).label}."]}
    lead.refresh_from_db()
    assert lead.stage == from_stage
    assert not StageChange.objects.filter(lead=lead).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("from_stage", "to_stage"), [("new", "mql"), ("mql", "sal"), ("sql", "opportunity"),
                                                      ("opportunity", "won"), ("disqualified", "new")])
def test_moves_forward_need_no_reason(from_stage, to_stage, admin, sales_rep):
    lead = make_lead(from_stage, owner=sales_rep)

    change = lead_change_stage(lead=lead, to=to_stage, actor=admin)

    assert change.reason == ""


@pytest.mark.django_db
def test_an_unknown_stage_is_a_field_error(admin):
    lead = make_lead("new", owner=None)

    with pytest.raises(ValidationError) as error:
        lead_change_stage(lead=lead, to="closed", actor=admin)

    assert list(error.value.message_dict) == ["to"]


@pytest.mark.django_db
def test_the_move_starts_from_the_stage_in_the_database_not_a_stale_copy(admin):
    lead = make_lead("new", owner=None)
    stale_copy = Lead.objects.get(pk=lead.pk)
    lead_change_stage(lead=lead, to="mql", actor=admin)

    # The copy still says "new"; new → mql again must be refused because the lead is an MQL now.
    with pytest.raises(ValidationError):
        lead_change_stage(lead=stale_copy, to="mql", actor=admin)
    change = lead_change_stage(lead=stale_copy, to="sal", actor=admin)
    assert change.from_stage == "mql"


@pytest.mark.django_db
def test_the_stage_change_and_the_lead_update_commit_together_or_not_at_all(admin):
    lead = make_lead("new", owner=None)

    # The lead's own UPDATE fails after the StageChange row was inserted: both must be rolled back.
    with mock.patch.object(QuerySet, "update", side_effect=RuntimeError("database went away")), \
            pytest.raises(RuntimeError):
        lead_change_stage(lead=lead, to="mql", actor=admin)

    assert not StageChange.objects.filter(lead=lead).exists()
    lead.refresh_from_db()
    assert lead.stage == "new"


@pytest.mark.django_db
def test_without_at_the_move_is_stamped_now(admin):
    lead = make_lead("new", owner=None)

    change = lead_change_stage(lead=lead, to="mql", actor=admin)

    lead.refresh_from_db()
    assert lead.stage_entered_at == change.changed_at
    assert lead.stage_entered_at > datetime(2024, 1, 1, 9, 0, tzinfo=UTC)


# --- stage_targets_for: what the stage form offers ---------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stage", "actor_name", "targets"),
    [
        ("new", "marketer", ["mql", "disqualified"]),
        ("new", "sales_rep", []),
        ("new", "system", ["mql"]),
        ("mql", "sales_rep", ["sal", "disqualified", "recycled"]),
        ("mql", "marketer", ["disqualified", "recycled"]),
        ("mql", "other_rep", []),  # a teammate's lead: nothing to offer
        ("mql", "admin", ["sal", "disqualified", "recycled"]),
        ("sal", "sales_rep", ["sql", "lost", "disqualified", "recycled"]),
        ("sal", "system", ["recycled"]),
        ("sal", "marketer", []),
        ("sql", "sales_manager", ["opportunity", "lost", "recycled"]),
        ("opportunity", "sales_rep", ["won", "lost"]),
        ("won", "admin", []),
        ("lost", "marketing_manager", ["recycled"]),
        ("recycled", "marketer", ["mql", "disqualified"]),
        ("disqualified", "marketer", []),
        ("disqualified", "sales_manager", ["new"]),
    ],
)
def test_stage_targets_are_the_allowed_moves_in_funnel_order(stage, actor_name, targets, actor_named, sales_rep):
    lead = make_lead(stage, owner=sales_rep)

    assert stage_targets_for(lead=lead, actor=actor_named(actor_name)) == targets


@pytest.mark.django_db
@pytest.mark.parametrize(("from_stage", "to_stage", "kind"), [("new", "disqualified", "Disqualification"),
                                                              ("opportunity", "lost", "Loss")])
def test_disqualifying_or_losing_needs_a_reason_from_the_list(from_stage, to_stage, kind, admin, sales_rep):
    lead = make_lead(from_stage, owner=sales_rep)

    with pytest.raises(ValidationError) as error:
        lead_change_stage(lead=lead, to=to_stage, actor=admin, reason="the moon was full")

    assert error.value.message_dict["reason"][0].startswith(f"Choose a {kind.lower()} reason from the list: ")
    lead.refresh_from_db()
    assert lead.stage == from_stage
