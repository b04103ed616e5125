from django import forms

from leads.models import Seniority
from scoring.compiler import field_choices
from scoring.models import Criteria, EngagementRule, FitRule, Grade, Persona
from scoring.services import REQUIRED_FIELD_CHOICES


class CommaListField(forms.CharField):
    """A list typed as comma-separated words (title keywords, industries, countries, domains)."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value) -> list[str]:
        return [item.strip() for item in (value or "").split(",") if item.strip()]


class PersonaForm(forms.ModelForm):
    title_keywords = CommaListField(required=False, help_text="Any of these words in the job title, e.g. CTO, VP Engineering, head of IT.")
    seniorities = forms.MultipleChoiceField(choices=Seniority.choices, required=False,
                                            widget=forms.CheckboxSelectMultiple)
    industries = CommaListField(required=False, help_text="Company industries, e.g. Software, Fintech.")
    countries = CommaListField(required=False, help_text="Two-letter codes, e.g. DE, AT, CH.")

    class Meta:
        model = Persona
        fields = ["name", "description", "pains", "goals", "title_keywords", "seniorities", "company_size_min",
                  "company_size_max", "industries", "countries", "priority", "is_active"]
        widgets = {name: forms.Textarea(attrs={"rows": 3}) for name in ("description", "pains", "goals")}

    def clean_countries(self) -> list[str]:
        countries = [c.upper() for c in self.cleaned_data["countries"]]
        wrong = [c for c in countries if len(c) != 2 or not c.isalpha()]
        if wrong:
            raise forms.ValidationError(f"Use two-letter country codes: {', '.join(wrong)}.")
        return countries


class FitRuleForm(forms.ModelForm):
    field = forms.ChoiceField(choices=field_choices)
    custom_property = forms.CharField(required=False, max_length=100, label="Custom property name",
                                      help_text="Only when the field is a custom property, e.g. budget.")

    class Meta:
        model = FitRule
        fields = ["label", "field", "operator", "value", "value_to", "points"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [("", "Choose a field…"), *field_choices(), ("properties.", "a custom property…")]
        if self.instance.pk and self.instance.field.startswith("properties."):
            self.initial["field"] = "properties."
            self.initial["custom_property"] = self.instance.field.removeprefix("properties.")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("field") == "properties.":
            name = (cleaned.get("custom_property") or "").strip()
            if not name:
                self.add_error("custom_property", "Name the custom property.")
            cleaned["field"] = f"properties.{name}"
        return cleaned


class EngagementRuleForm(forms.ModelForm):
    class Meta:
        model = EngagementRule
        fields = ["label", "activity_type", "url_match", "url_value", "property_key", "property_min", "points",
                  "cap", "half_life_days"]

    def clean(self):
        # Said next to the field here, before the model's check constraints would say it in their words.
        cleaned = super().clean()
        if cleaned.get("property_key") and cleaned.get("property_min") is None and "property_min" not in self.errors:
            self.add_error("property_min", "Give the minimum value of the property.")
        if cleaned.get("half_life_days") == 0:
            self.add_error("half_life_days", "A half-life is at least one day; leave it empty for no decay.")
        return cleaned


class GradesForm(forms.Form):
    a = forms.IntegerField(label="Grade A from fit")
    b = forms.IntegerField(label="Grade B from fit")
    c = forms.IntegerField(label="Grade C from fit")


class CriteriaForm(forms.ModelForm):
    required_fields = forms.MultipleChoiceField(choices=[(f, f.replace("_", " ")) for f in REQUIRED_FIELD_CHOICES],
                                                required=False, widget=forms.CheckboxSelectMultiple)
    excluded_domains = CommaListField(required=False, help_text="Competitors and partners, e.g. rival.com.")
    min_grade = forms.ChoiceField(choices=[("", "any grade"), *Grade.choices], required=False,
                                  label="Grade at least")

    class Meta:
        model = Criteria
        fields = ["min_score", "min_fit", "min_engagement", "min_grade", "persona_required", "required_fields",
                  "min_conversions", "exclude_free_mail", "exclude_do_not_contact", "excluded_domains"]


class CommentForm(forms.Form):
    body = forms.CharField(label="Comment", widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What do you think of this draft?"}))
