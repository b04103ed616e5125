"""The weekly smarketing meeting, the monthly management meeting and the monthly report."""

from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from dashboards.models import ActionItem, Meeting
from dashboards.periods import local_today, month_start, week_monday
from dashboards.reports import (
    action_items_for,
    meeting_find,
    month_period,
    monthly_report,
    monthly_report_csv_text,
    week_period,
    weekly_agenda,
)
from dashboards.selectors import cached, cached_html
from dashboards.services import action_item_add, action_item_set_done, meeting_note_add
from smarketing.models import User
from smarketing.roles import Action


class ActionItemForm(forms.Form):
    title = forms.CharField(max_length=300, label="What")
    owner = forms.ModelChoiceField(queryset=User.objects.none(), label="Who", empty_label="Choose…")
    due_on = forms.DateField(label="By when", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("first_name", "last_name")


class NoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Note", max_length=5000)


def _ensure_can_view(request: HttpRequest) -> None:
    if not request.user.can(Action.LEAD_VIEW):
        raise PermissionDenied


def _meeting_url(kind: str, start: date) -> str:
    if kind == Meeting.Kind.WEEKLY:
        return reverse("meetings:weekly", args=[start])
    return reverse("meetings:monthly", args=[start])


def meeting_current(request: HttpRequest) -> HttpResponse:
    return redirect("meetings:weekly", monday=week_monday(local_today()))


def _meeting_context(request: HttpRequest, kind: str, start: date) -> dict:
    return {
        "kind": kind, "start": start, "meeting": meeting_find(kind=kind, period_start=start),
        "action_items": action_items_for(kind=kind, period_start=start),
        "action_form": ActionItemForm(), "action_fields_html": _empty_action_fields_html(),
        "note_form": NoteForm(), "today": local_today(),
    }


def _empty_action_fields_html() -> str:
    """The empty fields of a new action item (what, who, by when), rendered at most once a minute (see
    cached()): the people to choose from rarely change, and a newly invited colleague is listed within the
    minute. A form sent back with errors is rendered as it is, with its values and messages."""
    def build() -> str:
        form = ActionItemForm()
        return "".join(render_to_string("includes/field.html", {"field": form[name]})
                       for name in ("title", "owner", "due_on"))

    return mark_safe(cached("meeting-action-fields", (), build))  # noqa: S308 - our own template


def weekly_meeting(request: HttpRequest, monday: date) -> HttpResponse:
    """The weekly smarketing meeting of both teams: its agenda comes from last week's data."""
    _ensure_can_view(request)
    if monday.weekday() != 0:
        return redirect("meetings:weekly", monday=week_monday(monday))
    context = _meeting_context(request, Meeting.Kind.WEEKLY, monday)
    context.update(reviewed=week_period(monday - timedelta(days=7)), agenda_html=_weekly_agenda_html(request, monday),
                   month_first=month_start(monday), previous_start=date.fromordinal(monday.toordinal() - 7),
                   next_start=date.fromordinal(monday.toordinal() + 7))
    return render(request, "dashboards/meeting.html", context)


def monthly_meeting(request: HttpRequest, first: date) -> HttpResponse:
    """The monthly management meeting: the month's report is its agenda."""
    _ensure_can_view(request)
    from dashboards.periods import add_months

    context = _meeting_context(request, Meeting.Kind.MONTHLY, first)
    context.update(report_html=_monthly_report_html(request, first), previous_start=add_months(first, -1),
                   next_start=add_months(first, 1))
    return render(request, "dashboards/meeting.html", context)


def _weekly_agenda_html(request: HttpRequest, monday: date) -> str:
    """The weekly agenda, computed and rendered at most once a minute (see cached()): it holds no form."""
    return cached_html("weekly-agenda-html", (monday,), "dashboards/meeting.html#agenda",
                       lambda: {"agenda": weekly_agenda(monday=monday)}, request=request)


def _monthly_report_html(request: HttpRequest, first: date) -> str:
    """The month's report, computed and rendered at most once a minute (see cached()): it holds no form."""
    return cached_html("monthly-report-html", (first,), "dashboards/monthly_report.html#report",
                       lambda: {"report": monthly_report(first=first)}, request=request)


def _kind(kind: str) -> str:
    if kind not in Meeting.Kind.values:
        raise Http404
    return kind


@require_POST
def note_add(request: HttpRequest, kind: str, start: date) -> HttpResponse:
    kind = _kind(kind)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            meeting_note_add(kind=kind, period_start=start, actor=request.user, body=form.cleaned_data["body"])
            messages.success(request, "Note added.")
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
    else:
        messages.error(request, "Write the note first.")
    return redirect(_meeting_url(kind, start) + "#notes")


@require_POST
def action_add(request: HttpRequest, kind: str, start: date) -> HttpResponse:
    kind = _kind(kind)
    form = ActionItemForm(request.POST)
    if form.is_valid():
        try:
            action_item_add(kind=kind, period_start=start, actor=request.user, title=form.cleaned_data["title"],
                            owner=form.cleaned_data["owner"], due_on=form.cleaned_data["due_on"])
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
    if form.errors:
        if request.htmx:
            context = _meeting_context(request, kind, start)
            context["action_form"] = form
            return render(request, "dashboards/meeting.html#action-items", context)
        messages.error(request, "The action item needs what, who and by when.")
        return redirect(_meeting_url(kind, start) + "#action-items")
    if request.htmx:
        return render(request, "dashboards/meeting.html#action-items", _meeting_context(request, kind, start))
    messages.success(request, "Action item added.")
    return redirect(_meeting_url(kind, start) + "#action-items")


@require_POST
def action_done(request: HttpRequest, item_id: int) -> HttpResponse:
    item = get_object_or_404(ActionItem.objects.select_related("meeting"), pk=item_id)
    action_item_set_done(item=item, actor=request.user, done=request.POST.get("done") == "1")
    kind = request.POST.get("kind") if request.POST.get("kind") in Meeting.Kind.values else item.meeting.kind
    try:
        start = date.fromisoformat(request.POST.get("start", ""))
    except ValueError:
        start = item.meeting.period_start
    if request.htmx:
        return render(request, "dashboards/meeting.html#action-items", _meeting_context(request, kind, start))
    return redirect(_meeting_url(kind, start) + "#action-items")


def monthly_report_page(request: HttpRequest, first: date) -> HttpResponse:
    """The month's report as a printable page."""
    _ensure_can_view(request)
    from dashboards.periods import add_months

    first = month_start(first)
    return render(request, "dashboards/monthly_report.html", {
        "first": first, "period": month_period(first), "report_html": _monthly_report_html(request, first),
        "previous_start": add_months(first, -1), "next_start": add_months(first, 1)})


def monthly_report_csv(request: HttpRequest, first: date) -> HttpResponse:
    _ensure_can_view(request)
    report = monthly_report(first=month_start(first))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="smarketing-report-{first:%Y-%m}.csv"'
    response.write(monthly_report_csv_text(report))
    return response
