"""Roles and what each may do: the one source of truth for role-based permissions.

Object-level rules (a sales rep changes only the leads handed to them) live in each app's access
helper; this table answers "may this role do this kind of thing at all".
"""

from django.db import models


class Role(models.TextChoices):
    MARKETER = "marketer", "Marketer"
    SALES_REP = "sales_rep", "Sales rep"
    MARKETING_MANAGER = "marketing_manager", "Marketing manager"
    SALES_MANAGER = "sales_manager", "Sales manager"
    ADMIN = "admin", "Admin"


class Function(models.TextChoices):
    """The side of the agreement a team or a role belongs to."""

    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"


ROLE_FUNCTION: dict[str, str | None] = {
    Role.MARKETER: Function.MARKETING,
    Role.MARKETING_MANAGER: Function.MARKETING,
    Role.SALES_REP: Function.SALES,
    Role.SALES_MANAGER: Function.SALES,
    Role.ADMIN: None,
}

MANAGERS = frozenset({Role.MARKETING_MANAGER, Role.SALES_MANAGER})
EVERYONE = frozenset(Role)


class Action(models.TextChoices):
    LEAD_VIEW = "lead.view", "See leads and companies"
    LEAD_CREATE = "lead.create", "Create leads"
    LEAD_EDIT_ANY = "lead.edit_any", "Edit any lead"
    LEAD_EDIT_OWN = "lead.edit_own", "Edit leads they own"
    LEAD_ASSIGN_OWNER = "lead.assign_owner", "Set a lead's owner"
    LEAD_IMPORT = "lead.import", "Import and export leads"
    QUALIFICATION_EDIT = "qualification.edit", "Edit scoring rules and definitions"
    PERSONA_EDIT = "persona.edit", "Keep the personas both teams agreed on"
    AGREEMENT_SIGN = "agreement.sign", "Sign definitions and SLA versions for their team"
    ROUTING_CONFIGURE = "routing.configure", "Configure routing and reassign leads"
    QUEUE_WORK = "queue.work", "Work a queue of handed-off leads"
    HANDOFF_CREATE = "handoff.create", "Hand MQLs to sales reps, by hand or by routing"
    HANDOFF_WORK = "handoff.work", "Accept, reject and work handed-off leads, log attempts, give feedback"
    QUEUE_VIEW_TEAM = "queue.view_team", "See every rep's queue"
    FEEDBACK_INBOX = "feedback.inbox", "Read sales feedback on leads"
    DASHBOARD_SHARE = "dashboard.share", "Share a read-only dashboard link outside the app"
    CONTENT_EDIT = "content.edit", "Keep the objections list and the content that answers them"
    USERS_MANAGE = "users.manage", "Manage users, tokens and integrations"
    LEAD_PERSONAL_DATA = "lead.personal_data", "Export a lead's personal data and erase it on request"


PERMISSIONS: dict[str, frozenset[str]] = {
    Action.LEAD_VIEW: EVERYONE,
    Action.LEAD_CREATE: EVERYONE,
    Action.LEAD_EDIT_ANY: frozenset({Role.MARKETER, Role.MARKETING_MANAGER, Role.SALES_MANAGER, Role.ADMIN}),
    Action.LEAD_EDIT_OWN: frozenset({Role.SALES_REP}),
    Action.LEAD_ASSIGN_OWNER: frozenset({Role.MARKETER, *MANAGERS, Role.ADMIN}),
    Action.LEAD_IMPORT: frozenset({Role.MARKETER, Role.MARKETING_MANAGER, Role.ADMIN}),
    Action.QUALIFICATION_EDIT: frozenset({Role.MARKETER, *MANAGERS, Role.ADMIN}),
    Action.PERSONA_EDIT: frozenset({*MANAGERS, Role.ADMIN}),
    Action.AGREEMENT_SIGN: MANAGERS,
    Action.ROUTING_CONFIGURE: frozenset({*MANAGERS, Role.ADMIN}),
    Action.QUEUE_WORK: frozenset({Role.SALES_REP, Role.SALES_MANAGER}),
    Action.HANDOFF_CREATE: frozenset({Role.MARKETER, *MANAGERS, Role.ADMIN}),
    # Object-level on top: a rep works only the handoffs made to them; a sales manager works any, for a rep.
    Action.HANDOFF_WORK: frozenset({Role.SALES_REP, Role.SALES_MANAGER}),
    Action.QUEUE_VIEW_TEAM: frozenset({Role.SALES_MANAGER, Role.ADMIN}),
    Action.FEEDBACK_INBOX: frozenset({Role.MARKETER, *MANAGERS, Role.ADMIN}),
    Action.DASHBOARD_SHARE: frozenset({*MANAGERS, Role.ADMIN}),
    Action.CONTENT_EDIT: frozenset({Role.MARKETER, Role.MARKETING_MANAGER, Role.ADMIN}),
    Action.USERS_MANAGE: frozenset({Role.ADMIN}),
    # A data subject's request (GDPR access or erasure) is answered by someone accountable for both teams'
    # data: a manager or an admin, never a marketer or a rep on their own.
    Action.LEAD_PERSONAL_DATA: frozenset({*MANAGERS, Role.ADMIN}),
}


def role_can(role: str, action: str) -> bool:
    return role in PERMISSIONS[action]
