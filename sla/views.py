"""Pages of the handoff: the rep's queue, the handoff card's actions, attempts and feedback on the lead page,
the feedback inbox, objections and the content that answers them, and routing."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from leads.forms import LeadEraseForm
from leads.models import Feedback, Lead, Objection, ObjectionAnswer, Stage
from leads.selectors import lead_get_for_user
from leads.selectors_followup import feedback_counts, feedback_for_inbox, objections_ranked
from leads.services_followup import (
    feedback_mark_read,
    objection_answer_create,
    objection_answer_delete,
    objection_create,
    objection_update,
)
from sla.cards import follow_up, handoff_card
from sla.forms import (
    AttemptForm,
    FeedbackForm,
    HandoffForm,
    MoveOnForm,
    ObjectionAnswerForm,
    ObjectionForm,
    ReassignForm,
    RejectForm,
    RepRoomForm,
    RoutingRuleForm,
)
from sla.models import Handoff, RoutingRule
from sla.selectors import (
    QUEUE_STAGES,
    handed_off_lead_ids,
    handoff_get_for_user,
    handoffs_for_queue,
    queue_counts,
    routing_rules,
    routing_settings,
    sales_reps_with_load,
)
from sla.services import (
    HandoffConflict,
    Verdict,
    contact_attempt_log,
    feedback_give,
    handoff_accept,
    handoff_create,
    handoff_move_on,
    handoff_reassign,
    handoff_reject,
    lead_route,
    rep_room_update,
    routing_rule_delete,
    routing_rule_save,
    routing_settings_update,
)
from sla.services_privacy import lead_erase, lead_export_personal_data
from smarketing.forms import add_service_errors
from smarketing.models import User
from smarketing.roles import Action, Role

QUEUE_PER_PAGE = 50
INBOX_PER_PAGE = 30


def _lead_page(lead_id: int) -> str:
    return reverse("leads:lead_detail", args=[lead_id])


def _card_response(request: HttpRequest, lead: Lead, **forms) -> HttpResponse:
    """The handoff card again, with a form's errors: what an HTMX action answers when it fails."""
    html = render_to_string("sla/includes/handoff_card.html",
                            {"card": handoff_card(user=request.user, lead=lead, **forms)}, request=request)
    return HttpResponse(html)


def _done(request: HttpRequest, lead_id: int, message: str) -> HttpResponse:
    """After an action that changes the lead's stage: reload the lead page (the stage, history, panels)."""
    messages.success(request, message)
    if request.htmx:
        return HttpResponseClientRedirect(_lead_page(lead_id))
    return redirect("leads:lead_detail", lead_id=lead_id)


def _failed(request: HttpRequest, lead: Lead, error: ValidationError, **forms) -> HttpResponse:
    if request.htmx:
        for form in forms.values():
            add_service_errors(form, error)
        return _card_response(request, lead, **forms)
    messages.error(request, " ".join(error.messages))
    return redirect("leads:lead_detail", lead_id=lead.pk)


# --- The rep's queue ----------------------------------------------------------------------------------

def queue(request: HttpRequest) -> HttpResponse:
    """My leads: open handoffs, overdue first, then by the nearest deadline. Managers pick a rep or see all."""
    user = request.user
    if not (user.can(Action.QUEUE_WORK) or user.can(Action.QUEUE_VIEW_TEAM)):
        raise PermissionDenied("The queue is for sales.")
    team_view = user.can(Action.QUEUE_VIEW_TEAM)
    reps_load = list(sales_reps_with_load()) if team_view else []
    chosen: User | None = None
    if team_view:
        rep_id = request.GET.get("rep", "")
        chosen = next((rep for rep in reps_load if str(rep.pk) == rep_id), None)
        reps = chosen if chosen is not None else User.objects.filter(role=Role.SALES_REP)
    else:
        reps = user
    stage = request.GET.get("stage", "")
    stage = stage if stage in QUEUE_STAGES else ""
    page = Paginator(handoffs_for_queue(reps=reps, stage=stage), QUEUE_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page, "counts": queue_counts(reps=reps), "stage": stage, "team_view": team_view,
        "reps_load": reps_load, "chosen": chosen, "stages": [(s, Stage(s).label) for s in QUEUE_STAGES],
        "can_accept": user.can(Action.HANDOFF_WORK),
    }
    template = "sla/queue.html#queue-table" if request.htmx and request.htmx.target == "queue-table" \
        else "sla/queue.html"
    return render(request, template, context)


# --- The handoff card ---------------------------------------------------------------------------------

def handoff_card_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The card alone, for HTMX to refresh after an attempt changes its counters."""
    lead = lead_get_for_user(user=request.user, lead_id=lead_id)
    return _card_response(request, lead)


@require_POST
def handoff_create_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = lead_get_for_user(user=request.user, lead_id=lead_id)
    if not request.user.can(Action.HANDOFF_CREATE):
        raise PermissionDenied("Only marketing and managers hand leads off to sales.")
    form = HandoffForm(request.POST)
    try:
        if request.POST.get("route"):
            handoff = lead_route(lead=lead, actor=request.user)
            if handoff is None:
                raise ValidationError("No routing rule matches this lead, or no rep it names has room. "
                                      "Choose a rep by hand.", code="unrouted")
        elif form.is_valid():
            handoff = handoff_create(lead=lead, rep=form.cleaned_data["rep"], actor=request.user,
                                     note=form.cleaned_data["note"])
        else:
            return _card_response(request, lead, handoff_form=form) if request.htmx else \
                _failed(request, lead, ValidationError("Choose a rep."))
    except HandoffConflict as conflict:
        messages.error(request, " ".join(conflict.messages))
        if request.htmx:
            return HttpResponseClientRedirect(_lead_page(lead.pk))
        return redirect("leads:lead_detail", lead_id=lead.pk)
    except ValidationError as error:
        return _failed(request, lead, error, handoff_form=form)
    rule = f" by the rule “{handoff.routing_rule}”" if handoff.routing_rule_id else ""
    return _done(request, lead.pk, f"Handed to {handoff.rep}{rule}. They have been notified.")


@require_POST
def handoff_accept_view(request: HttpRequest, handoff_id: int) -> HttpResponse:
    handoff = handoff_get_for_user(user=request.user, handoff_id=handoff_id, write=True)
    try:
        handoff = handoff_accept(handoff=handoff, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        if request.htmx and request.htmx.target and request.htmx.target.startswith("handoff-row"):
            return _queue_row(request, handoff_id)
        return redirect("leads:lead_detail", lead_id=handoff.lead_id)
    if request.htmx and request.htmx.target and request.htmx.target.startswith("handoff-row"):
        return _queue_row(request, handoff.pk)
    return _done(request, handoff.lead_id, f"Accepted {handoff.lead}: it is yours to work now (SAL).")


def _queue_row(request: HttpRequest, handoff_id: int) -> HttpResponse:
    handoff = handoffs_for_queue(reps=User.objects.all()).filter(pk=handoff_id).first() or \
        get_object_or_404(Handoff, pk=handoff_id)
    return render(request, "sla/queue.html#queue-row", {
        "handoff": handoff, "can_accept": True, "row_done": True,
        "team_view": request.user.can(Action.QUEUE_VIEW_TEAM),
    })


@require_POST
def handoff_reject_view(request: HttpRequest, handoff_id: int) -> HttpResponse:
    handoff = handoff_get_for_user(user=request.user, handoff_id=handoff_id, write=True)
    form = RejectForm(request.POST)
    if not form.is_valid():
        if request.htmx:
            return _card_response(request, handoff.lead, reject_form=form, open_panel="reject")
        return _failed(request, handoff.lead, ValidationError("Give a reason, a comment and the lead's quality."))
    data = form.cleaned_data
    disqualification = data["disqualification_reason"]
    try:
        handoff_reject(
            handoff=handoff, actor=request.user, reason=data["reason"],
            verdict=Verdict(quality=data["quality"], text=data["text"], objection=data["objection"]),
            disqualify=data["disqualify"], disqualification_reason=disqualification.label if disqualification else "",
        )
    except ValidationError as error:
        if request.htmx:
            add_service_errors(form, error)
            return _card_response(request, handoff.lead, reject_form=form, open_panel="reject")
        return _failed(request, handoff.lead, error)
    return _done(request, handoff.lead_id, f"Rejected {handoff.lead}. Marketing has your feedback.")


@require_POST
def handoff_move_view(request: HttpRequest, handoff_id: int) -> HttpResponse:
    handoff = handoff_get_for_user(user=request.user, handoff_id=handoff_id, write=True)
    form = MoveOnForm(request.POST)
    if not form.is_valid():
        if request.htmx:
            return _card_response(request, handoff.lead, move_form=form)
        return _failed(request, handoff.lead, ValidationError("Check the fields of this move."))
    data = form.cleaned_data
    try:
        handoff = handoff_move_on(
            handoff=handoff, actor=request.user, to=data["to"], amount=data["amount"],
            expected_close_on=data["expected_close_on"], reason=data["reason"], note=data["note"],
            verdict=Verdict(quality=data["quality"], text=data["text"], objection=data["objection"]),
        )
    except ValidationError as error:
        if request.htmx:
            add_service_errors(form, error)
            return _card_response(request, handoff.lead, move_form=form)
        return _failed(request, handoff.lead, error)
    return _done(request, handoff.lead_id, f"Moved {handoff.lead} to {Stage(data['to']).label}.")


@require_POST
def handoff_reassign_view(request: HttpRequest, handoff_id: int) -> HttpResponse:
    handoff = handoff_get_for_user(user=request.user, handoff_id=handoff_id)
    if not request.user.can(Action.ROUTING_CONFIGURE):
        raise PermissionDenied("Only managers reassign leads.")
    form = ReassignForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("Choose the new rep and say why.")
        successor = handoff_reassign(handoff=handoff, to_rep=form.cleaned_data["rep"], actor=request.user,
                                     reason=form.cleaned_data["reason"])
    except ValidationError as error:
        if request.htmx:
            if hasattr(error, "error_dict") or form.is_valid():
                add_service_errors(form, error)
            return _card_response(request, handoff.lead, reassign_form=form, open_panel="reassign")
        return _failed(request, handoff.lead, error)
    return _done(request, handoff.lead_id, f"Reassigned {handoff.lead} to {successor.rep}. Both reps know.")


# --- Contact attempts and feedback on the lead page ---------------------------------------------------

@require_POST
def attempt_log_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Logs an attempt inline; the same form sent twice (double click, resubmit) logs it once."""
    lead = lead_get_for_user(user=request.user, lead_id=lead_id)
    form = AttemptForm(request.POST)
    logged = False
    if form.is_valid():
        data = form.cleaned_data
        try:
            contact_attempt_log(lead=lead, actor=request.user, channel=data["channel"], outcome=data["outcome"],
                                occurred_at=data["occurred_at"], notes=data["notes"], objection=data["objection"],
                                idempotency_key=data["idempotency_key"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            logged = True
    if not request.htmx:
        if logged:
            messages.success(request, "Attempt logged.")
        else:
            messages.error(request, " ".join(f"{field}: {' '.join(errs)}" for field, errs in form.errors.items()))
        return redirect("leads:lead_detail", lead_id=lead.pk)
    follow = follow_up(user=request.user, lead=lead, attempt_form=None if logged else form)
    follow.logged = logged
    response = render(request, "leads/lead_detail.html#attempts", {"lead": lead, "follow": follow})
    if logged:
        # The handoff card shows the attempt count and the deadlines: it refreshes itself on this event.
        response["HX-Trigger"] = "handoff-changed"
    return response


@require_POST
def feedback_give_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = lead_get_for_user(user=request.user, lead_id=lead_id)
    form = FeedbackForm(request.POST)
    saved = False
    if form.is_valid():
        data = form.cleaned_data
        try:
            feedback_give(lead=lead, actor=request.user, quality=data["quality"], text=data["text"],
                          reason=data["reason"], objection=data["objection"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            saved = True
    if not request.htmx:
        if saved:
            messages.success(request, "Thanks: marketing will read your feedback.")
        else:
            messages.error(request, "Rate the lead and say what you think of it.")
        return redirect("leads:lead_detail", lead_id=lead.pk)
    follow = follow_up(user=request.user, lead=lead, feedback_form=None if saved else form)
    follow.feedback_saved = saved
    return render(request, "leads/lead_detail.html#feedback", {"lead": lead, "follow": follow})


# --- Marketing's feedback inbox -----------------------------------------------------------------------

def feedback_inbox(request: HttpRequest) -> HttpResponse:
    if not request.user.can(Action.FEEDBACK_INBOX):
        raise PermissionDenied("The feedback inbox is for marketing and managers.")
    show = request.GET.get("show", "")
    kind = request.GET.get("kind", "")
    kind = kind if kind in Feedback.Kind.values else ""
    mine = request.GET.get("mine") == "1"
    feedback = feedback_for_inbox(unread_only=show == "unread", kind=kind,
                                  lead_ids=handed_off_lead_ids(by=request.user) if mine else None)
    page = Paginator(feedback, INBOX_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "show": show, "kind": kind, "mine": mine, "kinds": Feedback.Kind.choices,
               "counts": feedback_counts()}
    template = "sla/feedback_inbox.html#inbox" if request.htmx and request.htmx.target == "inbox" \
        else "sla/feedback_inbox.html"
    return render(request, template, context)


@require_POST
def feedback_mark_read_view(request: HttpRequest) -> HttpResponse:
    ids = [int(value) for value in request.POST.getlist("feedback") if value.isdigit()]
    marked = feedback_mark_read(feedback_ids=ids, actor=request.user)
    messages.success(request, f"Marked {marked} as read.")
    return redirect(request.POST.get("next") or reverse("sla:feedback_inbox"))


# --- Objections and the content that answers them -----------------------------------------------------

def objections(request: HttpRequest) -> HttpResponse:
    if not request.user.can(Action.LEAD_VIEW):
        raise PermissionDenied
    ranked = list(objections_ranked())
    can_edit = request.user.can(Action.CONTENT_EDIT)
    for objection in ranked:
        objection.answer_form = ObjectionAnswerForm(auto_id=f"answer{objection.pk}_%s") if can_edit else None
    context = {"objections": ranked, "can_edit": can_edit, "objection_form": ObjectionForm() if can_edit else None,
               "gaps": sum(1 for o in ranked if o.is_active and not o.answer_count and o.mentions)}
    return render(request, "sla/objections.html", context)


@require_POST
def objection_add_view(request: HttpRequest) -> HttpResponse:
    form = ObjectionForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("Name the objection.")
        objection = objection_create(actor=request.user, label=form.cleaned_data["label"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Added “{objection}”.")
    return redirect("sla:objections")


@require_POST
def objection_toggle_view(request: HttpRequest, objection_id: int) -> HttpResponse:
    objection = get_object_or_404(Objection, pk=objection_id)
    objection_update(objection=objection, actor=request.user, is_active=not objection.is_active)
    messages.success(request, f"“{objection}” is {'back on' if objection.is_active else 'off'} the list.")
    return redirect("sla:objections")


@require_POST
def objection_answer_add_view(request: HttpRequest, objection_id: int) -> HttpResponse:
    objection = get_object_or_404(Objection, pk=objection_id)
    form = ObjectionAnswerForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(" ".join(f"{form.fields[f].label}: {' '.join(e)}" for f, e in form.errors.items()))
        objection_answer_create(objection=objection, actor=request.user, **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Reps now see “{form.cleaned_data['title']}” next to “{objection}”.")
    return redirect(f"{reverse('sla:objections')}#objection-{objection.pk}")


@require_POST
def objection_answer_delete_view(request: HttpRequest, answer_id: int) -> HttpResponse:
    answer = get_object_or_404(ObjectionAnswer.objects.select_related("objection"), pk=answer_id)
    objection_answer_delete(answer=answer, actor=request.user)
    messages.success(request, f"Removed “{answer.title}”.")
    return redirect(f"{reverse('sla:objections')}#objection-{answer.objection_id}")


# --- Routing ------------------------------------------------------------------------------------------

def routing(request: HttpRequest) -> HttpResponse:
    if not request.user.can(Action.ROUTING_CONFIGURE):
        raise PermissionDenied("Only managers configure routing.")
    return render(request, "sla/routing.html", {
        "rules": routing_rules(), "settings": routing_settings(), "reps": sales_reps_with_load(),
    })


def routing_rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    if not request.user.can(Action.ROUTING_CONFIGURE):
        raise PermissionDenied("Only managers configure routing.")
    rule = get_object_or_404(RoutingRule, pk=rule_id) if rule_id else None
    form = RoutingRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        try:
            saved = routing_rule_save(actor=request.user, rule=rule, **{
                name: form.cleaned_data[name] for name in form.Meta.fields
            })
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Saved the rule “{saved}”.")
            return redirect("sla:routing")
    return render(request, "sla/routing_rule_form.html", {"form": form, "rule": rule})


@require_POST
def routing_rule_delete_view(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(RoutingRule, pk=rule_id)
    routing_rule_delete(actor=request.user, rule=rule)
    messages.success(request, f"Deleted the rule “{rule.name}”. Handoffs it made keep their history.")
    return redirect("sla:routing")


def rep_room_edit(request: HttpRequest, rep_id: int) -> HttpResponse:
    if not request.user.can(Action.ROUTING_CONFIGURE):
        raise PermissionDenied("Only managers configure routing.")
    rep = get_object_or_404(sales_reps_with_load(), pk=rep_id)
    form = RepRoomForm(request.POST or None, rep=rep)
    if request.method == "POST" and form.is_valid():
        try:
            rep_room_update(actor=request.user, rep=rep, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Saved {rep}: capacity {rep.capacity}"
                             f"{', away' if rep.is_away else ''}.")
            return redirect("sla:routing")
    return render(request, "sla/rep_room_form.html", {"form": form, "rep": rep})


@require_POST
def routing_settings_view(request: HttpRequest) -> HttpResponse:
    settings = routing_settings_update(actor=request.user,
                                       auto_route_new_mqls=request.POST.get("auto_route_new_mqls") == "1")
    messages.success(request, "Auto-routing is on: new MQLs go to a rep every minute." if
                     settings.auto_route_new_mqls else "Auto-routing is off: marketing hands MQLs off by hand.")
    return redirect("sla:routing")


# --- A data subject's requests: a copy of their data, and erasure ------------------------------------------

def lead_personal_data(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Everything kept about the lead, as a JSON file to hand to the person who asked for it."""
    lead = lead_get_for_user(user=request.user, lead_id=lead_id)
    document = lead_export_personal_data(lead=lead, actor=request.user)
    response = JsonResponse(document, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="lead-{lead.pk}-personal-data.json"'
    return response


def lead_erase_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Erasure on request, after a confirmation page that says what goes and what stays."""
    lead = lead_get_for_user(user=request.user, lead_id=lead_id)
    if not request.user.can(Action.LEAD_PERSONAL_DATA):
        raise PermissionDenied("Only a manager or an admin erases a lead's personal data.")
    form = LeadEraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lead_erase(lead=lead, actor=request.user, confirm_email=form.cleaned_data["confirm_email"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"The personal data of lead #{lead.pk} was erased. Its history stays, "
                                      "anonymised, in the funnel and the SLA figures.")
            return redirect("leads:lead_detail", lead_id=lead.pk)
    status = 400 if form.errors else 200
    return render(request, "leads/lead_erase.html", {"lead": lead, "form": form}, status=status)
