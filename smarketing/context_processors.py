from django.http import HttpRequest
from django.urls import reverse

from smarketing.roles import Action, Role


def navigation(request: HttpRequest) -> dict:
    """The top navigation: only the sections the signed-in user's role uses."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = [
        ("home", "Home", reverse("home"), True),
        ("queue", "My queue" if user.role == Role.SALES_REP else "Queues", reverse("sla:queue"),
         user.can(Action.QUEUE_WORK) or user.can(Action.QUEUE_VIEW_TEAM)),
        ("dashboard", "Dashboard", reverse("dashboards:funnel"), user.can(Action.LEAD_VIEW)),
        ("meeting", "Meeting", reverse("meetings:current"), user.can(Action.LEAD_VIEW)),
        ("leads", "Leads", reverse("leads:lead_list"), user.can(Action.LEAD_VIEW)),
        ("companies", "Companies", reverse("leads:company_list"), user.can(Action.LEAD_VIEW)),
        ("qualification", "Qualification", reverse("scoring:overview"), user.can(Action.LEAD_VIEW)),
        ("sla", "SLA", reverse("sla_contract:overview"), user.can(Action.LEAD_VIEW)),
        ("feedback", "Feedback", reverse("sla:feedback_inbox"), user.can(Action.FEEDBACK_INBOX)),
        ("routing", "Routing", reverse("sla:routing"), user.can(Action.ROUTING_CONFIGURE)),
        ("integrations", "Integrations", reverse("api_token_list"), user.can(Action.USERS_MANAGE)),
        ("admin", "Admin", reverse("admin:index"), user.is_staff),
    ]
    match = request.resolver_match
    url_name = match.url_name if match else ""
    active = _SECTION_OF_APP.get(match.app_name if match else "") or next(
        (key for prefix, key in _SECTION_OF_URL if url_name.startswith(prefix)), ""
    )
    if match and match.app_name == "sla":
        active = next((key for prefix, key in _SECTION_OF_SLA_URL if url_name.startswith(prefix)), "")
    return {"nav_items": [(key, label, url) for key, label, url, shown in items if shown], "nav_active": active}


# Which navigation section a page belongs to, by the prefix of its URL name.
_SECTION_OF_URL = [("home", "home"), ("lead", "leads"), ("company", "companies"), ("api_token", "integrations"),
                   ("webhook", "integrations")]
_SECTION_OF_APP = {"scoring": "qualification", "sla_contract": "sla"}
_SECTION_OF_APP.update({"dashboards": "dashboard", "meetings": "meeting"})  # issue 7: the dashboards and meetings
# The handoff pages (namespace sla) by URL name: the queue, marketing's feedback and objections, routing.
_SECTION_OF_SLA_URL = [("queue", "queue"), ("feedback", "feedback"), ("objection", "feedback"), ("routing", "routing")]
