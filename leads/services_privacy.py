"""Erasing a lead's personal data in the leads layer (and the notifications and webhooks that quote it).

The rule: whatever names, reaches or describes the person goes; whatever the funnel and the SLA count
stays. The lead row, its stage changes, activities, attempts and feedback keep their ids, types, stages,
times, owners and reasons from the lists, so every aggregate is the same after the erasure. Handoffs
and the score sit higher up: sla.services_privacy.lead_erase calls this and erases those too.
"""

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from leads.identity import ERASED_EMAIL_DOMAIN
from leads.models import Activity, ContactAttempt, Feedback, Lead, Reason, StageChange
from smarketing.models import AuditEntry, Notification, WebhookDelivery

ERASED_TEXT = "(erased)"


def erased_email(lead_id: int) -> str:
    """The placeholder address of an erased lead: unique per lead, so the e-mail's unique constraint holds."""
    return f"erased-{lead_id}@{ERASED_EMAIL_DOMAIN}"


def _identifiers(lead: Lead) -> list[str]:
    """The strings that identify the person, longest first (a full name is replaced before its parts)."""
    values = {lead.email, lead.full_name, lead.first_name, lead.last_name, lead.phone, lead.job_title}
    return sorted((v for v in values if v and len(v.strip()) >= 3), key=len, reverse=True)


def _scrub(value: Any, identifiers: list[str], placeholder: str) -> Any:
    """The value with every string that contains an identifier replaced by the placeholder, at any depth."""
    if isinstance(value, str):
        lowered = value.lower()
        return placeholder if any(i.lower() in lowered for i in identifiers) else value
    if isinstance(value, list):
        return [_scrub(item, identifiers, placeholder) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item, identifiers, placeholder) for key, item in value.items()}
    return value


def _replace(text: str, identifiers: list[str], placeholder: str) -> str:
    """The text with each identifier replaced in place, so a notification still reads as a sentence."""
    for identifier in identifiers:
        start = text.lower().find(identifier.lower())
        while start != -1:
            text = text[:start] + placeholder + text[start + len(identifier):]
            start = text.lower().find(identifier.lower(), start + len(placeholder))
    return text


def _url_without_personal_data(url: str) -> str:
    """A page's address without its query and fragment (where forms and mail links put e-mails and names)."""
    parts = urlsplit(url)
    kept = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return "" if "@" in kept else kept


# The reasons the code itself writes on a stage change: they say nothing about the person.
SYSTEM_REASONS = frozenset({"created"})


@transaction.atomic
def lead_anonymise(*, lead: Lead, kept_reasons: frozenset[str] = frozenset()) -> Lead:
    """Removes the person from the lead and its history rows; what the funnel and the SLA count stays.

    A stage change's reason stays when the system wrote it, or it is a reason from the lists, or one of
    `kept_reasons` (the ones the layers above write); anything else was typed by someone and may name
    the person.
    """
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    identifiers = _identifiers(lead)
    placeholder = f"Erased lead #{lead.pk}"

    lead.email = erased_email(lead.pk)
    lead.first_name = lead.last_name = lead.phone = lead.job_title = ""
    lead.seniority = lead.country = lead.utm_term = lead.utm_content = ""
    # The company with the country and the seniority would narrow the person down to a few people.
    # Source, campaign and the UTM source, medium and campaign stay: the funnel's breakdowns read them.
    lead.company = None
    lead.properties = {}
    # The fingerprint is a hash of the capture, e-mail included: anyone holding the address could match it.
    lead.capture_fingerprint = None
    lead.do_not_contact = True
    lead.save(update_fields=["email", "first_name", "last_name", "phone", "job_title", "seniority", "country",
                             "utm_term", "utm_content", "company", "properties", "capture_fingerprint",
                             "do_not_contact"])

    # Activities are append-only, except here: the event stays (its type and time count), what it
    # carried about the person goes.
    for activity in Activity.objects.filter(lead=lead).only("pk", "url"):
        Activity.objects.filter(pk=activity.pk).update(url=_url_without_personal_data(activity.url), properties={},
                                                       event_id=None)
    kept = {*SYSTEM_REASONS, *kept_reasons, *Reason.objects.values_list("label", flat=True)}
    StageChange.objects.filter(lead=lead).update(note="")
    StageChange.objects.filter(lead=lead, changed_by__isnull=False).exclude(reason="").exclude(
        reason__in=kept).update(reason=ERASED_TEXT)
    ContactAttempt.objects.filter(lead=lead).update(notes="")
    Feedback.objects.filter(lead=lead).update(text="")

    if identifiers:
        lead_path = reverse("leads:lead_detail", args=[lead.pk])
        for note in Notification.objects.filter(url__startswith=lead_path):
            Notification.objects.filter(pk=note.pk).update(title=_replace(note.title, identifiers, placeholder)[:200],
                                                           body=_replace(note.body, identifiers, placeholder))
        deliveries = WebhookDelivery.objects.filter(Q(payload__data__lead__id=lead.pk)
                                                    | Q(payload__data__lead_id=lead.pk))
        for delivery in deliveries:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                payload=_scrub(delivery.payload, identifiers, placeholder))
        for entry in AuditEntry.objects.filter(target_type=Lead._meta.label_lower, target_id=str(lead.pk)):
            AuditEntry.objects.filter(pk=entry.pk).update(summary=_replace(entry.summary, identifiers, placeholder))
    return lead

