from django import forms
from django.core.exceptions import ValidationError

from smarketing.models import ApiToken, User, WebhookEvent


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Puts a service's ValidationError on the form: next to its field where it names one."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “Website forms” or “HubSpot sync”.")
    user = forms.ModelChoiceField(
        queryset=None, label="Acts as",
        help_text="The token has this user's role: a marketer's token may capture leads, a rep's only its own.",
    )
    scope = forms.ChoiceField(choices=[], widget=forms.RadioSelect, initial="read")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(is_active=True).order_by("email")
        self.fields["scope"].choices = ApiToken.Scope.choices


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https",
                         help_text="Receives a signed JSON POST for each event.")
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(choices=[], widget=forms.CheckboxSelectMultiple)
    is_active = forms.BooleanField(label="Active", required=False, initial=True,
                                   help_text="A paused endpoint receives nothing.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = WebhookEvent.choices
