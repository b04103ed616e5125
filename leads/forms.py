from django import forms

from leads.models import Lead, Stage
from smarketing.models import User
from smarketing.roles import Role


class LeadForm(forms.ModelForm):
    """The lead's profile. The company is typed by name; its domain comes from the e-mail."""

    company_name = forms.CharField(label="Company", max_length=200, required=False)
    owner = forms.ModelChoiceField(
        queryset=User.objects.filter(role__in=[Role.SALES_REP, Role.SALES_MANAGER], is_active=True),
        required=False, empty_label="No owner",
    )

    class Meta:
        model = Lead
        fields = [
            "email", "first_name", "last_name", "job_title", "seniority", "phone", "country",
            "source", "campaign", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
            "owner", "do_not_contact",
        ]
        widgets = {"country": forms.TextInput(attrs={"placeholder": "DE", "size": 2})}

    def __init__(self, *args, can_assign_owner: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.company_id:
            self.fields["company_name"].initial = self.instance.company.name
        if not can_assign_owner:
            del self.fields["owner"]
        # Uniqueness of the e-mail is a rule of the capture service (a repeat updates the lead).
        self.fields["email"].validators = []

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise forms.ValidationError("Use the two-letter country code, e.g. DE or US.")
        return country

    def validate_unique(self) -> None:
        # The capture service decides what a repeat e-mail means.
        pass


class StageChangeForm(forms.Form):
    to = forms.ChoiceField(label="Move to", choices=[], error_messages={
        "required": "Choose a stage this lead can move to.", "invalid_choice": "Choose a stage this lead can move to."})
    reason = forms.CharField(max_length=200, required=False,
                             widget=forms.TextInput(attrs={"list": "stage-reasons", "autocomplete": "off"}),
                             help_text="Disqualified and lost take a reason from the list.")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, targets: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].choices = [("", "Choose a stage…"), *((value, Stage(value).label) for value in targets)]


class LeadEraseForm(forms.Form):
    """The confirmation of an erasure: the lead's e-mail address, typed (sla.services_privacy.lead_erase checks it)."""

    confirm_email = forms.CharField(label="Type the lead's e-mail address to confirm", max_length=320,
                                    widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
