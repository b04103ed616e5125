"""The sla app's pieces of the lead page: the handoff card and the follow-up panels' data."""

from django import template

from leads.models import Lead
from sla.cards import FollowUp, follow_up
from sla.cards import handoff_card as build_handoff_card

register = template.Library()


@register.inclusion_tag("sla/includes/handoff_card.html", takes_context=True)
def handoff_card(context: template.Context, lead: Lead) -> dict:
    """The handoff card: marketing's intelligence for the rep and the actions this user may take."""
    request = context["request"]
    return {"card": build_handoff_card(user=request.user, lead=lead), "request": request,
            "csrf_token": context.get("csrf_token")}


@register.simple_tag(takes_context=True)
def lead_follow_up(context: template.Context, lead: Lead) -> FollowUp:
    """Contact attempts and feedback of the lead, with the forms this user may use."""
    return follow_up(user=context["request"].user, lead=lead)


@register.filter
def stars(quality: int | None) -> str:
    """A 1–5 quality as filled and empty stars."""
    if not quality:
        return ""
    return "★" * quality + "☆" * (5 - quality)


@register.filter
def get_item(mapping: dict, key: str):
    return mapping.get(key, [])
