from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(context: template.Context, key: str, label: str) -> str:
    """A column heading that sorts the list by `key`, toggling the direction, keeping the other filters."""
    request = context["request"]
    current = request.GET.get("sort", "")
    params = request.GET.copy()
    params.pop("page", None)
    params["sort"] = f"-{key}" if current == key else key
    arrow = " ▲" if current == key else " ▼" if current == f"-{key}" else ""
    css = "sorted" if arrow else ""
    href = f"?{params.urlencode()}"
    return format_html('<a href="{}" hx-get="{}" class="{}">{}{}</a>', href, href, css, label, arrow)


@register.inclusion_tag("includes/stage_badge.html")
def stage_badge(stage: str, label: str) -> dict:
    return {"stage": stage, "label": label}
