from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from scoring.forms import CommentForm, CriteriaForm, EngagementRuleForm, FitRuleForm, GradesForm, PersonaForm
from scoring.models import (
    Criteria,
    DefinitionVersion,
    EngagementRule,
    FitRule,
    Persona,
    ScoringVersion,
    VersionStatus,
)
from scoring.selectors import definition_versions, rescore_run_latest, scoring_versions, version_in, what_if
from scoring.services import (
    criteria_save,
    definition_draft_create,
    engagement_rule_save,
    ensure_can_edit_qualification,
    fit_rule_save,
    persona_save,
    rule_delete,
    scoring_draft_create,
    scoring_grades_save,
    version_comment,
    version_sign,
)
from smarketing.forms import add_service_errors
from smarketing.roles import Action, Function
from smarketing.tasks import enqueue

VERSION_MODELS = {"scoring": ScoringVersion, "definitions": DefinitionVersion}


def _ensure_can_view(request: HttpRequest) -> None:
    if not request.user.can(Action.LEAD_VIEW):
        raise PermissionDenied


def overview(request: HttpRequest) -> HttpResponse:
    """The agreement in force: personas, scoring, definitions, drafts under discussion, the last rescore."""
    _ensure_can_view(request)
    scoring = scoring_versions()
    definitions = definition_versions()
    active_scoring = version_in(scoring, VersionStatus.ACTIVE)
    active_definition = version_in(definitions, VersionStatus.ACTIVE)
    context = {
        "personas": Persona.objects.all(),
        "active_scoring": active_scoring,
        "draft_scoring": version_in(scoring, VersionStatus.DRAFT),
        "active_definition": active_definition,
        "draft_definition": version_in(definitions, VersionStatus.DRAFT),
        "criteria": list(active_definition.criteria.all()) if active_definition else [],
        "scoring_history": scoring[:8],
        "definition_history": definitions[:8],
        "run": rescore_run_latest(),
        "can_edit": request.user.can(Action.QUALIFICATION_EDIT),
        "can_edit_personas": request.user.can(Action.PERSONA_EDIT),
    }
    return render(request, "scoring/overview.html", context)


def rescore_progress(request: HttpRequest) -> HttpResponse:
    _ensure_can_view(request)
    return render(request, "scoring/overview.html#rescore-progress", {"run": rescore_run_latest()})


@require_POST
def rescore_start(request: HttpRequest) -> HttpResponse:
    if not request.user.can(Action.QUALIFICATION_EDIT):
        raise PermissionDenied
    if enqueue("scoring.tasks.rescore_full_task", reason=f"started by {request.user}"):
        messages.success(request, "A full rescore has started; its progress shows below.")
    else:
        messages.warning(request, "The job queue is not answering; the scheduled rescore will run when it is back.")
    return redirect("scoring:overview")


def persona_edit(request: HttpRequest, persona_id: int | None = None) -> HttpResponse:
    _ensure_can_view(request)
    persona = get_object_or_404(Persona, pk=persona_id) if persona_id else Persona()
    form = PersonaForm(request.POST or None, instance=persona)
    if request.method == "POST" and form.is_valid():
        try:
            persona_save(persona=form.save(commit=False), actor=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Persona “{persona.name}” saved. Leads are re-matched by the rescore.")
            return redirect("scoring:overview")
    can_edit = request.user.can(Action.PERSONA_EDIT)
    return render(request, "scoring/persona_form.html", {"form": form, "persona": persona, "can_edit": can_edit})


@require_POST
def draft_open(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in VERSION_MODELS:
        raise Http404
    opener = scoring_draft_create if kind == "scoring" else definition_draft_create
    draft = opener(actor=request.user)
    return redirect("scoring:version_detail", kind=kind, number=draft.number)


def _version(kind: str, number: int):
    model = VERSION_MODELS.get(kind)
    if model is None:
        raise Http404
    return get_object_or_404(model, number=number)


def _version_context(request: HttpRequest, kind: str, version) -> dict:
    user = request.user
    editable = version.is_draft and user.can(Action.QUALIFICATION_EDIT)
    context = {
        "kind": kind,
        "version": version,
        "editable": editable,
        "comments": version.comments.select_related("author"),
        "comment_form": CommentForm(),
        "can_sign_marketing": version.is_draft and user.can(Action.AGREEMENT_SIGN)
        and user.function == Function.MARKETING and not version.marketing_signed_at,
        "can_sign_sales": version.is_draft and user.can(Action.AGREEMENT_SIGN)
        and user.function == Function.SALES and not version.sales_signed_at,
    }
    if kind == "scoring":
        # ?edit=fit-12 / ?edit=eng-3 puts that rule in the section's form instead of a blank one.
        edit_kind, _, edit_id = request.GET.get("edit", "").partition("-")
        fit_rules, engagement_rules = list(version.fit_rules.all()), list(version.engagement_rules.all())
        editing_fit = next((r for r in fit_rules if edit_kind == "fit" and str(r.pk) == edit_id), None)
        editing_eng = next((r for r in engagement_rules if edit_kind == "eng" and str(r.pk) == edit_id), None)
        context.update(
            fit_rules=fit_rules,
            engagement_rules=engagement_rules,
            fit_form=FitRuleForm(prefix="fit", instance=editing_fit),
            engagement_form=EngagementRuleForm(prefix="eng", instance=editing_eng),
            grades_form=GradesForm(initial={"a": version.grade_a_min_fit, "b": version.grade_b_min_fit,
                                            "c": version.grade_c_min_fit}),
        )
    else:
        context["criteria_forms"] = [
            (criteria, CriteriaForm(instance=criteria, prefix=criteria.kind))
            for criteria in version.criteria.all()
        ]
    return context


def version_detail(request: HttpRequest, kind: str, number: int) -> HttpResponse:
    _ensure_can_view(request)
    version = _version(kind, number)
    return render(request, f"scoring/{kind}_version.html", _version_context(request, kind, version))


def version_what_if(request: HttpRequest, kind: str, number: int) -> HttpResponse:
    _ensure_can_view(request)
    version = _version(kind, number)
    result = what_if(draft_scoring=version if kind == "scoring" and version.is_draft else None,
                     draft_definition=version if kind == "definitions" and version.is_draft else None)
    return render(request, "scoring/what_if.html", {"what_if": result, "version": version, "kind": kind})


def _refuse_unless_draft(request: HttpRequest, version: ScoringVersion) -> HttpResponse | None:
    """A rule posted to a version that was signed meanwhile: say why, on the version's page."""
    if version.is_draft:
        return None
    messages.error(request, f"v{version.number} is no longer a draft, so it cannot change. "
                            "Open a new draft to propose changes.")
    url = reverse("scoring:version_detail", kwargs={"kind": "scoring", "number": version.number})
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _rules_response(request: HttpRequest, version: ScoringVersion, section: str, **forms) -> HttpResponse:
    context = _version_context(request, "scoring", version)
    context.update({name: form for name, form in forms.items() if form is not None})
    response = render(request, f"scoring/scoring_version.html#{section}", context)
    return trigger_client_event(response, "draftChanged")


# The two kinds of rule differ only in their model, form, service and the page section they redraw.
_RULE_KINDS = {
    "fit": (FitRule, FitRuleForm, "fit", fit_rule_save, "fit-rules", "fit_form"),
    "engagement": (EngagementRule, EngagementRuleForm, "eng", engagement_rule_save, "engagement-rules",
                   "engagement_form"),
}


def _rule_edit(request: HttpRequest, number: int, rule_id: int | None, kind: str) -> HttpResponse:
    model, form_class, prefix, save, section, form_name = _RULE_KINDS[kind]
    version = _version("scoring", number)
    if refused := _refuse_unless_draft(request, version):
        return refused
    rule = get_object_or_404(model, pk=rule_id, version=version) if rule_id else model(version=version)
    form = form_class(request.POST, instance=rule, prefix=prefix)
    if form.is_valid():
        try:
            save(rule=form.save(commit=False), actor=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            form = None
    if not request.htmx:
        if form is not None:
            messages.error(request, "The rule was not saved: " + "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect("scoring:version_detail", kind="scoring", number=number)
    return _rules_response(request, version, section, **{form_name: form})


@require_POST
def fit_rule_edit(request: HttpRequest, number: int, rule_id: int | None = None) -> HttpResponse:
    return _rule_edit(request, number, rule_id, "fit")


@require_POST
def engagement_rule_edit(request: HttpRequest, number: int, rule_id: int | None = None) -> HttpResponse:
    return _rule_edit(request, number, rule_id, "engagement")


@require_POST
def rule_remove(request: HttpRequest, number: int, rule_kind: str, rule_id: int) -> HttpResponse:
    version = _version("scoring", number)
    if refused := _refuse_unless_draft(request, version):
        return refused
    model = {"fit": FitRule, "engagement": EngagementRule}.get(rule_kind)
    if model is None:
        raise Http404
    rule_delete(rule=get_object_or_404(model, pk=rule_id, version=version), actor=request.user)
    if not request.htmx:
        return redirect("scoring:version_detail", kind="scoring", number=number)
    return _rules_response(request, version, "fit-rules" if rule_kind == "fit" else "engagement-rules")


@require_POST
def grades_edit(request: HttpRequest, number: int) -> HttpResponse:
    # Who may, before what was sent: a role that may not edit gets a 403, not a form error.
    ensure_can_edit_qualification(request.user)
    version = _version("scoring", number)
    form = GradesForm(request.POST)
    if form.is_valid():
        try:
            scoring_grades_save(version=version, actor=request.user, **form.cleaned_data)
            messages.success(request, "Grade thresholds saved.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, "Give whole numbers for the grade thresholds.")
    return redirect("scoring:version_detail", kind="scoring", number=number)


@require_POST
def criteria_edit(request: HttpRequest, number: int, criteria_kind: str) -> HttpResponse:
    ensure_can_edit_qualification(request.user)
    version = _version("definitions", number)
    criteria = get_object_or_404(Criteria, version=version, kind=criteria_kind)
    form = CriteriaForm(request.POST, instance=criteria, prefix=criteria_kind)
    if form.is_valid():
        try:
            criteria_save(criteria=form.save(commit=False), actor=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{criteria.get_kind_display()} criteria saved.")
            return redirect("scoring:version_detail", kind="definitions", number=number)
    context = _version_context(request, "definitions", version)
    context["criteria_forms"] = [(c, form if c.pk == criteria.pk else f) for c, f in context["criteria_forms"]]
    return render(request, "scoring/definitions_version.html", context, status=400)


@require_POST
def sign(request: HttpRequest, kind: str, number: int) -> HttpResponse:
    version = _version(kind, number)
    try:
        version = version_sign(version=version, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if version.status == VersionStatus.ACTIVE:
            messages.success(request, f"Signed by both teams: v{version.number} is now in force. Every lead is being rescored.")
        else:
            messages.success(request, "Signed for your team. It takes effect when the other team signs too.")
    return redirect("scoring:version_detail", kind=kind, number=version.number)


@require_POST
def comment(request: HttpRequest, kind: str, number: int) -> HttpResponse:
    _ensure_can_view(request)
    version = _version(kind, number)
    form = CommentForm(request.POST)
    if form.is_valid():
        version_comment(version=version, actor=request.user, body=form.cleaned_data["body"])
    else:
        messages.error(request, "Write a comment first.")
    return redirect("scoring:version_detail", kind=kind, number=number)
