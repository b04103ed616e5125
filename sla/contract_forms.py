"""Forms of the SLA pages. They check shape; the rules live in sla.contract_services."""

import zoneinfo

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from scoring.models import Persona
from sla.contract_selectors import quarter_of
from sla.models import WEEKDAY_NAMES, BusinessCalendar, Goal, SlaVersion
from sla.models.contract import holiday_country_choices
from smarketing.models import Team


def _time_zone_choices() -> list[tuple[str, str]]:
    zones = sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    return [(zone, zone.replace("_", " ")) for zone in ["UTC", *zones]]


class SlaDraftForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("first_attempt_hours", "attempts_required", "attempts_within_days", "stale_after_days"):
            self.fields[name].validators.append(MinValueValidator(1))
            self.fields[name].widget.attrs["min"] = 1
        self.fields["min_acceptance_rate"].validators.append(MaxValueValidator(100))
        self.fields["min_acceptance_rate"].widget.attrs["max"] = 100

    personas = forms.ModelMultipleChoiceField(
        queryset=Persona.objects.filter(is_active=True), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="The agreed buyer personas this SLA covers.",
    )

    class Meta:
        model = SlaVersion
        fields = [
            "mqls_per_month", "mql_basis", "pipeline_value_per_month", "min_acceptance_rate",
            "first_attempt_hours", "attempts_required", "attempts_within_days", "auto_recycle", "stale_after_days",
            "personas", "personas_text", "responsibilities_text", "protocol_text", "review_on", "note",
        ]
        labels = {
            "mqls_per_month": "MQLs per month", "mql_basis": "Counted",
            "pipeline_value_per_month": "Pipeline value per month", "min_acceptance_rate": "Minimum acceptance rate (%)",
            "first_attempt_hours": "First attempt within (business hours)", "attempts_required": "Contact attempts (K)",
            "attempts_within_days": "… within (working days, D)", "auto_recycle": "Recycle unanswered leads automatically",
            "stale_after_days": "Flag accepted leads idle for (days)", "personas": "Personas",
            "review_on": "Review date", "note": "What changes and why",
        }
        widgets = {
            "review_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "personas_text": forms.Textarea(attrs={"rows": 3}),
            "responsibilities_text": forms.Textarea(attrs={"rows": 5}),
            "protocol_text": forms.Textarea(attrs={"rows": 6}),
            "note": forms.Textarea(attrs={"rows": 2}),
        }


class CalendarForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=_time_zone_choices)
    working_weekdays = forms.TypedMultipleChoiceField(
        label="Working days", coerce=int, choices=list(enumerate(WEEKDAY_NAMES)), widget=forms.CheckboxSelectMultiple,
    )
    holiday_country = forms.ChoiceField(label="Public holidays of", required=False,
                                        choices=lambda: [("", "— none —"), *holiday_country_choices()])
    holiday_subdivision = forms.CharField(label="Region (optional)", required=False, max_length=10,
                                          help_text="A state with its own holidays, e.g. BY for Bavaria.")

    class Meta:
        model = BusinessCalendar
        fields = ["time_zone", "working_weekdays", "opens_at", "closes_at", "holiday_country", "holiday_subdivision"]
        labels = {"opens_at": "Opens", "closes_at": "Closes"}
        widgets = {
            "opens_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "closes_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }


class ClosedDayForm(forms.Form):
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    label = forms.CharField(max_length=100, required=False, widget=forms.TextInput(attrs={"placeholder": "e.g. Team offsite"}))


class GoalForm(forms.ModelForm):
    teams = forms.ModelMultipleChoiceField(queryset=Team.objects.all(), widget=forms.CheckboxSelectMultiple,
                                           help_text="The team or teams that own the goal.")

    class Meta:
        model = Goal
        fields = ["title", "metric", "target", "period_start", "period_end", "teams", "description"]
        labels = {"period_start": "From", "period_end": "Until"}
        help_texts = {"target": "A count or an amount; for a rate, a percentage (e.g. 30 for 30%)."}
        widgets = {
            "period_start": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "period_end": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.pk and not self.is_bound:
            quarter_start, quarter_end = quarter_of(timezone.localdate())
            # A new goal starts as this quarter's (a model form's initial holds None for the empty instance).
            self.initial["period_start"] = self.initial.get("period_start") or quarter_start
            self.initial["period_end"] = self.initial.get("period_end") or quarter_end


WINDOW_CHOICES = [(30, "last 30 days"), (90, "last 90 days"), (180, "last 180 days"), (365, "last 12 months")]


class CalculatorForm(forms.Form):
    """The calculator's inputs: prefilled from the organisation's own rates, all editable."""

    window = forms.TypedChoiceField(label="Rates from", choices=WINDOW_CHOICES, coerce=int, initial=90)
    revenue_quota = forms.DecimalField(label="Revenue quota per month", min_value=1, max_digits=14, decimal_places=2)
    average_deal = forms.DecimalField(label="Average deal size", min_value=1, max_digits=14, decimal_places=2)
    win_rate = forms.FloatField(label="Win rate (%)", min_value=0.1, max_value=100)
    sql_to_opportunity = forms.FloatField(label="SQL → opportunity (%)", min_value=0.1, max_value=100)
    mql_to_sql = forms.FloatField(label="MQL → SQL (%)", min_value=0.1, max_value=100)
    lead_to_mql = forms.FloatField(label="Lead → MQL (%)", min_value=0.1, max_value=100)
    marketing_share = forms.FloatField(label="Pipeline sourced by marketing (%)", min_value=0, max_value=100)
    reps = forms.IntegerField(label="Sales reps", min_value=1, max_value=10_000)
