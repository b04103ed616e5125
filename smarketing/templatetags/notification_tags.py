"""The bell in the top bar: the signed-in user's unread notifications."""

from django import template

from smarketing.notifications import notifications_unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context: template.Context) -> int:
    user = context["request"].user
    return notifications_unread_count(recipient=user) if user.is_authenticated else 0
