"""The scoring app's pieces of other apps' pages: the lead's score card and the account score."""

from django import template

from leads.models import Company, Lead
from scoring.selectors import company_account_score, lead_score_explained

register = template.Library()


@register.inclusion_tag("scoring/includes/score_card.html")
def lead_score_card(lead: Lead) -> dict:
    return {"lead": lead, "explained": lead_score_explained(lead=lead)}


@register.inclusion_tag("scoring/includes/account_score.html")
def account_score(company: Company) -> dict:
    return {"account": company_account_score(company=company)}
