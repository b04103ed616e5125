"""Versions are agreements: a draft takes effect only with a marketing manager's and a sales manager's
signatures; any change after a signature asks both to sign again; only drafts change."""

from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from scoring.models import (
    Criteria,
    DefinitionVersion,
    EngagementRule,
    FitRule,
    ScoringVersion,
    VersionComment,
    VersionStatus,
)
from scoring.services import (
    criteria_save,
    definition_draft_create,
    engagement_rule_save,
    fit_rule_save,
    rule_delete,
    scoring_draft_create,
    scoring_grades_save,
    version_comment,
    version_sign,
)
from smarketing.models import AuditEntry
from smarketing.roles import Role
from tests.factories import (
    CriteriaFactory,
    DefinitionVersionFactory,
    EngagementRuleFactory,
    FitRuleFactory,
    ScoringVersionFactory,
    UserFactory,
)


def fresh(version):
    return type(version).objects.get(pk=version.pk)


@pytest.fixture
def draft(marketer):
    return scoring_draft_create(actor=marketer)


def test_a_draft_needs_both_signatures_to_take_effect(draft, marketing_manager, sales_manager):
    version_sign(version=draft, actor=marketing_manager)
    assert fresh(draft).status == VersionStatus.DRAFT
    assert fresh(draft).marketing_signed_by == marketing_manager
    version_sign(version=draft, actor=sales_manager)
    signed = fresh(draft)
    assert (signed.status, signed.sales_signed_by) == (VersionStatus.ACTIVE, sales_manager)
    assert signed.activated_at is not None


def test_sales_may_sign_first(draft, marketing_manager, sales_manager):
    version_sign(version=draft, actor=sales_manager)
    assert fresh(draft).status == VersionStatus.DRAFT
    version_sign(version=draft, actor=marketing_manager)
    assert fresh(draft).status == VersionStatus.ACTIVE


@pytest.mark.parametrize("role", ["marketer", "sales_rep", "other_rep", "outside_rep", "admin"])
def test_only_managers_sign(cast, draft, role):
    with pytest.raises(PermissionDenied):
        version_sign(version=draft, actor=cast[role])
    unsigned = fresh(draft)
    assert (unsigned.marketing_signed_at, unsigned.sales_signed_at, unsigned.status) == (None, None, "draft")


def test_one_side_cannot_sign_twice(draft, marketing_manager, marketing_team):
    second_manager = UserFactory(role=Role.MARKETING_MANAGER, team=marketing_team)
    version_sign(version=draft, actor=marketing_manager)
    with pytest.raises(ValidationError) as raised:
        version_sign(version=draft, actor=second_manager)
    assert raised.value.code == "already_signed"
    with pytest.raises(ValidationError):
        version_sign(version=draft, actor=marketing_manager)
    assert fresh(draft).status == VersionStatus.DRAFT
    assert fresh(draft).marketing_signed_by == marketing_manager


def test_two_sales_managers_do_not_make_an_agreement(draft, sales_manager, sales_team):
    version_sign(version=draft, actor=sales_manager)
    with pytest.raises(ValidationError):
        version_sign(version=draft, actor=UserFactory(role=Role.SALES_MANAGER, team=sales_team))
    assert fresh(draft).status == VersionStatus.DRAFT


def test_taking_effect_supersedes_the_version_in_force(marketer, marketing_manager, sales_manager):
    v1 = ScoringVersionFactory(number=1, status=VersionStatus.ACTIVE)
    v2 = scoring_draft_create(actor=marketer)
    assert v2.number == 2
    version_sign(version=v2, actor=marketing_manager)
    assert fresh(v1).status == VersionStatus.ACTIVE
    version_sign(version=v2, actor=sales_manager)
    assert (fresh(v1).status, fresh(v2).status) == (VersionStatus.SUPERSEDED, VersionStatus.ACTIVE)
    # The history is kept: both rows exist, one in force.
    assert list(ScoringVersion.objects.order_by("number").values_list("number", "status")) == [
        (1, "superseded"), (2, "active"),
    ]


def test_signed_definitions_supersede_too(marketer, marketing_manager, sales_manager):
    v1 = DefinitionVersionFactory(number=1, status=VersionStatus.ACTIVE)
    v2 = definition_draft_create(actor=marketer)
    version_sign(version=v2, actor=sales_manager)
    version_sign(version=v2, actor=marketing_manager)
    assert (fresh(v1).status, fresh(v2).status) == ("superseded", "active")


def test_taking_effect_starts_a_full_rescore_after_commit(draft, marketing_manager, sales_manager,
                                                          django_capture_on_commit_callbacks):
    with mock.patch("scoring.services.enqueue") as enqueue:
        with django_capture_on_commit_callbacks(execute=True):
            version_sign(version=draft, actor=marketing_manager)
        enqueue.assert_not_called()
        with django_capture_on_commit_callbacks(execute=True):
            version_sign(version=draft, actor=sales_manager)
    enqueue.assert_called_once_with("scoring.tasks.rescore_full_task", reason=f"ScoringVersion v{draft.number} took effect")


def test_signing_is_audited(draft, marketing_manager, sales_manager):
    version_sign(version=draft, actor=marketing_manager)
    version_sign(version=draft, actor=sales_manager)
    entries = AuditEntry.objects.filter(target_id=str(draft.pk), action__startswith="version.").order_by("id")
    assert [(e.action, e.actor) for e in entries] == [
        ("version.sign", marketing_manager), ("version.sign", sales_manager), ("version.activate", sales_manager),
    ]


# --- a change after a signature asks both teams to sign again ---------------------------------------

def _add_fit_rule(draft, actor):
    fit_rule_save(rule=FitRule(version=draft, label="CTO", field="job_title", operator="contains", value="cto",
                               points=10), actor=actor)


def _edit_engagement_rule(draft, actor):
    rule = EngagementRuleFactory(version=draft)
    rule.points = 7
    engagement_rule_save(rule=rule, actor=actor)


def _delete_rule(draft, actor):
    rule_delete(rule=FitRuleFactory(version=draft), actor=actor)


def _change_grades(draft, actor):
    scoring_grades_save(version=draft, actor=actor, a=70, b=40, c=10)


@pytest.mark.parametrize("change", [_add_fit_rule, _edit_engagement_rule, _delete_rule, _change_grades])
def test_changing_a_signed_draft_clears_the_signatures(draft, marketer, marketing_manager, sales_manager, change):
    version_sign(version=draft, actor=marketing_manager)
    change(fresh(draft), marketer)
    changed = fresh(draft)
    assert (changed.marketing_signed_by, changed.marketing_signed_at) == (None, None)
    # Sales signing now does not make it take effect: marketing has to sign what changed.
    version_sign(version=changed, actor=sales_manager)
    assert fresh(draft).status == VersionStatus.DRAFT
    version_sign(version=fresh(draft), actor=marketing_manager)
    assert fresh(draft).status == VersionStatus.ACTIVE


def test_changing_signed_criteria_clears_the_signatures(marketer, sales_manager):
    draft = definition_draft_create(actor=marketer)
    version_sign(version=draft, actor=sales_manager)
    mql = draft.criteria.get(kind="mql")
    mql.min_score = 70
    criteria_save(criteria=mql, actor=marketer)
    assert fresh(draft).sales_signed_at is None


# --- only drafts change -------------------------------------------------------------------------------

@pytest.fixture
def active_scoring(db):
    version = ScoringVersionFactory(number=1, status=VersionStatus.ACTIVE)
    FitRuleFactory(version=version, label="Old rule", points=5)
    EngagementRuleFactory(version=version, label="Old engagement")
    return version


@pytest.mark.parametrize("change", [_add_fit_rule, _edit_engagement_rule, _delete_rule, _change_grades])
def test_a_version_in_force_cannot_change(active_scoring, marketer, change):
    before = (list(active_scoring.fit_rules.values_list("label", "points")),
              list(active_scoring.engagement_rules.values_list("label", "points")))
    with pytest.raises(ValidationError) as raised:
        change(active_scoring, marketer)
    assert raised.value.code == "not_draft"
    after_fit = [r for r in active_scoring.fit_rules.values_list("label", "points") if r[0] == "Old rule"]
    assert after_fit == before[0]
    assert fresh(active_scoring).grade_a_min_fit == 60


def test_criteria_in_force_cannot_change(marketer):
    criteria = CriteriaFactory(version=DefinitionVersionFactory(status=VersionStatus.ACTIVE), min_score=50)
    criteria.min_score = 10
    with pytest.raises(ValidationError):
        criteria_save(criteria=criteria, actor=marketer)
    assert Criteria.objects.get(pk=criteria.pk).min_score == 50


def test_a_version_in_force_cannot_be_signed_again(active_scoring, marketing_manager):
    with pytest.raises(ValidationError):
        version_sign(version=active_scoring, actor=marketing_manager)


# --- drafts: who opens them, what they start from -----------------------------------------------------

def test_a_draft_starts_as_a_copy_of_the_version_in_force(active_scoring, marketer):
    active_scoring.grade_a_min_fit = 70
    active_scoring.save()
    draft = scoring_draft_create(actor=marketer)
    assert (draft.number, draft.status, draft.grade_a_min_fit) == (2, "draft", 70)
    assert list(draft.fit_rules.values_list("label", "points")) == [("Old rule", 5)]
    assert list(draft.engagement_rules.values_list("label", flat=True)) == ["Old engagement"]
    # The copy is the draft's own: the rules in force are untouched by edits to it.
    assert FitRule.objects.filter(version=active_scoring).count() == 1


def test_there_is_only_one_draft_at_a_time(marketer, marketing_manager):
    first = scoring_draft_create(actor=marketer)
    assert scoring_draft_create(actor=marketing_manager) == first
    assert definition_draft_create(actor=marketer) == definition_draft_create(actor=marketing_manager)


def test_first_definitions_draft_asks_for_five_conversions_for_an_mql(marketer):
    draft = definition_draft_create(actor=marketer)
    assert dict(draft.criteria.values_list("kind", "min_conversions")) == {"mql": 5, "sql": 0}


def test_a_definitions_draft_copies_the_criteria_in_force(marketer):
    active = DefinitionVersionFactory(number=1, status=VersionStatus.ACTIVE)
    CriteriaFactory(version=active, kind="mql", min_score=55, excluded_domains=["rival.com"], min_conversions=2)
    CriteriaFactory(version=active, kind="sql", min_score=80, persona_required=True)
    draft = definition_draft_create(actor=marketer)
    assert list(draft.criteria.order_by("kind").values_list("kind", "min_score", "min_conversions",
                                                            "persona_required", "excluded_domains")) == [
        ("mql", 55, 2, False, ["rival.com"]), ("sql", 80, 0, True, []),
    ]
    assert active.criteria.count() == 2


@pytest.mark.parametrize("role", ["sales_rep", "other_rep", "outside_rep"])
def test_reps_cannot_open_or_edit_drafts(cast, role):
    with pytest.raises(PermissionDenied):
        scoring_draft_create(actor=cast[role])
    with pytest.raises(PermissionDenied):
        definition_draft_create(actor=cast[role])
    draft = ScoringVersionFactory()
    with pytest.raises(PermissionDenied):
        _add_fit_rule(draft, cast[role])
    assert not ScoringVersion.objects.exclude(pk=draft.pk).exists()
    assert not DefinitionVersion.objects.exists()
    assert not FitRule.objects.exists()


def test_unknown_required_field_is_refused(marketer):
    draft = definition_draft_create(actor=marketer)
    mql = draft.criteria.get(kind="mql")
    mql.required_fields = ["phone", "shoe_size"]
    with pytest.raises(ValidationError) as raised:
        criteria_save(criteria=mql, actor=marketer)
    assert "required_fields" in raised.value.error_dict


def test_engagement_rule_needs_url_text_and_property_minimum(marketer):
    draft = ScoringVersionFactory()
    with pytest.raises(ValidationError) as raised:
        engagement_rule_save(rule=EngagementRule(version=draft, label="x", activity_type="page_view",
                                                 url_match="contains", url_value=" ", points=1), actor=marketer)
    assert "url_value" in raised.value.error_dict
    with pytest.raises(ValidationError) as raised:
        engagement_rule_save(rule=EngagementRule(version=draft, label="x", activity_type="page_view",
                                                 property_key="seconds_on_site", points=1), actor=marketer)
    assert "property_min" in raised.value.error_dict


def test_rule_changes_are_recorded_with_who(marketer):
    draft = ScoringVersionFactory()
    _add_fit_rule(draft, marketer)
    entry = AuditEntry.objects.get(action="fit_rule.create")
    assert (entry.actor, entry.target_id) == (marketer, str(draft.pk))
    assert "CTO" in entry.summary


def test_anyone_may_comment_on_a_draft(cast):
    draft = ScoringVersionFactory()
    version_comment(version=draft, actor=cast["sales_rep"], body="  Too many students get points.  ")
    assert list(VersionComment.objects.values_list("author", "body", "scoring_version")) == [
        (cast["sales_rep"].pk, "Too many students get points.", draft.pk),
    ]
    with pytest.raises(ValidationError):
        version_comment(version=draft, actor=cast["marketer"], body="   ")
