"""What the leads layer holds about one person, for a data subject's access request (GDPR art. 15).

The handoffs and the score live higher up; sla.services_privacy adds them to this record.
"""

from typing import Any

from leads.models import Activity, ContactAttempt, Feedback, Lead, StageChange

PROFILE_FIELDS = (
    "email", "first_name", "last_name", "phone", "job_title", "seniority", "country", "source", "campaign",
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "stage", "stage_entered_at",
    "created_at", "updated_at", "last_activity_at", "do_not_contact", "properties", "duplicate_attempts",
    "last_duplicate_attempt_at",
)


def _person(user) -> str | None:
    return str(user) if user is not None else None


def lead_personal_record(*, lead: Lead) -> dict[str, Any]:
    """Everything the leads layer keeps about the lead: profile, company, activities, stages, attempts, feedback."""
    company = lead.company
    return {
        "lead_id": lead.pk,
        "profile": {**{name: getattr(lead, name) for name in PROFILE_FIELDS}, "owner": _person(lead.owner)},
        "company": None if company is None else {
            "name": company.name, "domain": company.domain, "employees": company.employees,
            "industry": company.industry, "country": company.country, "annual_revenue": company.annual_revenue,
        },
        "activities": [
            {"type": a.type, "occurred_at": a.occurred_at, "url": a.url, "properties": a.properties,
             "event_id": a.event_id}
            for a in Activity.objects.filter(lead=lead).order_by("occurred_at", "id")
        ],
        "stage_history": [
            {"from": c.from_stage, "to": c.to_stage, "at": c.changed_at, "by": _person(c.changed_by),
             "reason": c.reason, "note": c.note}
            for c in StageChange.objects.filter(lead=lead).select_related("changed_by").order_by("changed_at", "id")
        ],
        "contact_attempts": [
            {"channel": a.channel, "outcome": a.outcome, "occurred_at": a.occurred_at, "by": _person(a.rep),
             "notes": a.notes, "objection": a.objection.label if a.objection else None}
            for a in ContactAttempt.objects.filter(lead=lead).select_related("rep", "objection")
            .order_by("occurred_at", "id")
        ],
        "feedback": [
            {"kind": f.kind, "quality": f.quality, "reason": f.reason.label if f.reason else None, "text": f.text,
             "objection": f.objection.label if f.objection else None, "by": _person(f.author), "at": f.created_at}
            for f in Feedback.objects.filter(lead=lead).select_related("author", "reason", "objection")
            .order_by("created_at", "id")
        ],
    }
