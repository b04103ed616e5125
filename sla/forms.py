"""Forms of the handoff card, the follow-up panels and routing. They check shape; services decide."""

import uuid

from django import forms
from django.utils import timezone

from leads.models import ContactAttempt, Reason, Stage
from scoring.models import Persona
from sla.models import RoutingRule
from sla.selectors import sales_reps_with_load
from smarketing.models import Team, User
from smarketing.roles import Function, Role

QUALITY_CHOICES = [(5, "5 · excellent"), (4, "4 · good"), (3, "3 · fair"), (2, "2 · poor"), (1, "1 · wrong lead")]
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class RepChoiceField(forms.ModelChoiceField):
    """A rep with their load, so whoever hands off sees who has room."""

    def label_from_instance(self, rep) -> str:
        load = f"{rep.open_handoffs}/{rep.capacity} open"
        away = " · away" if rep.is_away else ""
        team = f" · {rep.team}" if rep.team_id else ""
        return f"{rep}{team} · {load}{away}"


def _reps_field(label: str = "Sales rep") -> RepChoiceField:
    return RepChoiceField(queryset=sales_reps_with_load(), label=label, empty_label="Choose a rep…")


def _reasons(kind: str):
    return Reason.objects.filter(kind=kind, is_active=True).order_by("position", "label")


def _objection_field() -> forms.CharField:
    return forms.CharField(
        label="Objection heard", max_length=120, required=False,
        widget=forms.TextInput(attrs={"list": "objections", "autocomplete": "off",
                                      "placeholder": "Pick from the list or type a new one"}),
    )


def _quality_field(required: bool = True) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(label="Lead quality", choices=QUALITY_CHOICES, coerce=int, required=required,
                                  empty_value=None, widget=forms.RadioSelect(attrs={"class": "quality"}))


class HandoffForm(forms.Form):
    rep = _reps_field()
    note = forms.CharField(label="Note to the rep", required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 3, "placeholder":
                                                        "What should the rep know first? e.g. asked about SSO"}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "handoff_%s")
        super().__init__(*args, **kwargs)
        self.fields["rep"] = _reps_field()


class RejectForm(forms.Form):
    reason = forms.ModelChoiceField(queryset=Reason.objects.none(), label="Why not for sales",
                                    empty_label="Choose a reason…")
    text = forms.CharField(label="Comment for marketing", max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2, "placeholder": "e.g. Student project, no budget"}))
    quality = _quality_field()
    disqualify = forms.TypedChoiceField(
        label="Then", choices=[("0", "Back to nurture (recycled)"), ("1", "Disqualify")], coerce=lambda v: v == "1",
        initial="0", widget=forms.RadioSelect,
    )
    disqualification_reason = forms.ModelChoiceField(queryset=Reason.objects.none(), required=False,
                                                     label="Disqualification reason", to_field_name="label",
                                                     empty_label="Only when disqualifying…")
    objection = _objection_field()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "reject_%s")
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = _reasons(Reason.Kind.REJECTION)
        self.fields["disqualification_reason"].queryset = _reasons(Reason.Kind.DISQUALIFICATION)


class MoveOnForm(forms.Form):
    """One form behind the card's "move on" actions; each action shows the fields it needs."""

    to = forms.ChoiceField(choices=[(s, Stage(s).label) for s in (Stage.SQL, Stage.OPPORTUNITY, Stage.WON,
                                                                     Stage.LOST, Stage.RECYCLED, Stage.DISQUALIFIED)])
    amount = forms.DecimalField(label="Amount", max_digits=14, decimal_places=2, min_value=0, required=False,
                                widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))
    expected_close_on = forms.DateField(label="Expected close", required=False,
                                        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    reason = forms.CharField(label="Reason", max_length=200, required=False)
    quality = _quality_field(required=False)
    text = forms.CharField(label="Comment for marketing", required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))
    objection = _objection_field()
    note = forms.CharField(label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "move_%s")
        super().__init__(*args, **kwargs)
        self.fields["expected_close_on"].widget.attrs["min"] = timezone.localdate().isoformat()


class ReassignForm(forms.Form):
    rep = _reps_field("New rep")
    reason = forms.CharField(label="Why", max_length=300,
                             widget=forms.TextInput(attrs={"placeholder": "e.g. Rita is on leave until Monday"}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "reassign_%s")
        super().__init__(*args, **kwargs)
        self.fields["rep"] = _reps_field("New rep")


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class AttemptForm(forms.Form):
    channel = forms.ChoiceField(choices=ContactAttempt.Channel.choices, initial=ContactAttempt.Channel.CALL)
    outcome = forms.ChoiceField(choices=[("", "What came of it…"), *ContactAttempt.Outcome.choices])
    occurred_at = forms.DateTimeField(
        label="When", input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    notes = forms.CharField(required=False, max_length=4000,
                            widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What was said, what's next"}))
    objection = _objection_field()
    # One key per rendered form: the same form sent twice logs one attempt.
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "attempt_%s")
        super().__init__(*args, **kwargs)
        now = timezone.localtime().replace(second=0, microsecond=0)
        self.fields["occurred_at"].initial = now
        self.fields["occurred_at"].widget.attrs["max"] = now.strftime(DATETIME_LOCAL)
        self.fields["idempotency_key"].initial = new_idempotency_key()


class FeedbackForm(forms.Form):
    quality = _quality_field()
    reason = forms.ModelChoiceField(queryset=Reason.objects.none(), required=False, label="Reason (optional)",
                                    empty_label="No particular reason")
    text = forms.CharField(label="Your feedback", required=False, max_length=4000,
                           widget=forms.Textarea(attrs={"rows": 2, "placeholder":
                                                        "What should marketing know about leads like this one?"}))
    objection = _objection_field()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "feedback_%s")
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = Reason.objects.filter(
            is_active=True, kind__in=[Reason.Kind.REJECTION, Reason.Kind.LOSS],
        ).order_by("kind", "position", "label")


class ObjectionAnswerForm(forms.Form):
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"placeholder": "e.g. ROI calculator"}))
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https",
                         widget=forms.URLInput(attrs={"placeholder": "https://…"}))
    note = forms.CharField(max_length=500, required=False,
                           widget=forms.TextInput(attrs={"placeholder": "When to send it, in a sentence"}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "answer_%s")
        super().__init__(*args, **kwargs)


class ObjectionForm(forms.Form):
    label = forms.CharField(label="New objection", max_length=120,
                            widget=forms.TextInput(attrs={"placeholder": "e.g. Already use a competitor"}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "objection_%s")
        super().__init__(*args, **kwargs)


class RoutingRuleForm(forms.ModelForm):
    countries = forms.CharField(
        required=False, label="Countries",
        help_text="ISO codes separated by commas, e.g. DE, AT, CH. Empty: any country.",
    )

    class Meta:
        model = RoutingRule
        fields = ["name", "team", "persona", "countries", "by_territory", "position", "is_active"]
        labels = {"is_active": "Active: routing uses this rule", "position": "Order (lower goes first)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(function=Function.SALES)
        self.fields["persona"].queryset = Persona.objects.filter(is_active=True)
        self.fields["persona"].empty_label = "Any persona, or none"
        if self.instance.pk:
            self.initial["countries"] = ", ".join(self.instance.countries or [])

    def clean_countries(self) -> list[str]:
        return _country_codes(self.cleaned_data["countries"])


def _country_codes(text: str) -> list[str]:
    codes = [code.strip().upper() for code in text.replace(";", ",").split(",")]
    codes = [code for code in codes if code]
    wrong = [code for code in codes if len(code) != 2 or not code.isalpha()]
    if wrong:
        raise forms.ValidationError(f"Use two-letter country codes; not: {', '.join(wrong)}.")
    return sorted(set(codes))


class RepRoomForm(forms.Form):
    """What routing reads of a rep, edited by a manager on the routing page."""

    capacity = forms.IntegerField(min_value=0, max_value=1000, label="Capacity",
                                  help_text="Most open handoffs at once; routing skips the rep at this number.")
    territory = forms.CharField(required=False, label="Territory",
                                help_text="ISO country codes separated by commas, e.g. DE, AT, CH.")
    is_away = forms.BooleanField(required=False, label="Away: routing skips this rep")
    manager = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label="Sales manager",
                                     empty_label="Nobody (escalates to any sales manager)",
                                     help_text="Whom this rep's SLA breaches escalate to.")

    def __init__(self, *args, rep: User, **kwargs):
        kwargs.setdefault("initial", {"capacity": rep.capacity, "territory": ", ".join(rep.territory or []),
                                      "is_away": rep.is_away, "manager": rep.manager_id})
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = User.objects.filter(role=Role.SALES_MANAGER, is_active=True).order_by(
            "first_name", "last_name")

    def clean_territory(self) -> list[str]:
        return _country_codes(self.cleaned_data["territory"])
