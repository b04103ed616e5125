"""Numbers for people: thousands separators, percentages with one decimal, durations in words, changes
with their sign, and small inline-SVG charts (each drawn beside a table that says the same)."""

from decimal import Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from dashboards.selectors import filter_chips as filter_chips_of

register = template.Library()


@register.simple_tag
def filter_chips(filters) -> list[tuple[str, str]]:
    """{% filter_chips filters as chips %}: (dimension, display name) of each active dashboard filter."""
    return filter_chips_of(filters)


@register.filter
def num(value) -> str:
    """12,345 — a count with thousands separators; an em dash when there is none."""
    if value is None or value == "":
        return "—"
    return intcomma(int(round(float(value))))


@register.filter
def money(value) -> str:
    if value is None:
        return "—"
    return intcomma(int(round(Decimal(value))))


@register.filter
def pct(value) -> str:
    """12.3 % — one decimal; an em dash when the rate is undefined (nothing to divide by)."""
    if value is None:
        return "—"
    return f"{float(value):,.1f} %"


@register.filter
def change(value) -> str:
    """+12.3 % or −4.0 %: a relative change."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return f"{sign}{abs(float(value)):,.1f} %"


@register.filter
def points(value) -> str:
    """+2.5 pp: a change of a rate, in percentage points."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return f"{sign}{abs(float(value)):,.1f} pp"


@register.filter
def trend_class(value, lower_is_better: bool = False) -> str:
    if value is None or abs(float(value)) < 0.05:
        return "flat"
    better = (value < 0) if lower_is_better else (value > 0)
    return "up" if better else "down"


@register.filter
def duration(seconds) -> str:
    """45 min, 5.2 h, 2.3 days: a duration as people say it."""
    if seconds is None or seconds == "":
        return "—"
    seconds = float(seconds)
    if seconds < 60:
        return "0 min" if seconds <= 0 else "under 1 min"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@register.simple_tag
def bar_chart(values, labels, title: str, height: int = 64, css: str = "") -> SafeString:
    """A small column chart as inline SVG: one column per value, each with its label and value as a tooltip.

    The chart is decoration for sighted readers (aria-hidden); the table beside it carries the numbers.
    """
    values = [float(v or 0) for v in values]
    width_each, gap = 14, 4
    width = max(1, len(values)) * (width_each + gap)
    top = max(values) if values and max(values) > 0 else 1.0
    bars = []
    for index, (value, label) in enumerate(zip(values, labels, strict=False)):
        bar_height = 0 if value <= 0 else max(2, round((height - 4) * value / top))
        bars.append((index * (width_each + gap), height - bar_height, width_each, bar_height, label, intcomma(int(value))))
    rects = format_html_join(
        "", '<rect x="{}" y="{}" width="{}" height="{}" rx="2"><title>{}: {}</title></rect>', bars,
    )
    return format_html(
        '<svg class="chart {}" viewBox="0 0 {} {}" width="100%" height="{}" preserveAspectRatio="none" '
        'aria-hidden="true" focusable="false" data-title="{}">{}</svg>',
        css, width, height, height, title, rects,
    )


@register.simple_tag
def meter(value, maximum=100, marker=None) -> SafeString:
    """A horizontal bar filled to value/maximum, with an optional marker (the pace expected by now)."""
    share = 0.0 if not maximum or value is None else max(0.0, min(1.0, float(value) / float(maximum)))
    mark = ""
    if marker is not None and maximum:
        position = max(0.0, min(1.0, float(marker) / float(maximum)))
        mark = format_html('<span class="meter-mark" style="left:{}%"></span>', f"{100 * position:.1f}")
    return format_html('<span class="meter" aria-hidden="true"><span class="meter-fill" style="width:{}%"></span>{}</span>',
                       f"{100 * share:.1f}", mark)


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters changed (None or "" removes one)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def stage_entered(flow, stage: str) -> int:
    """How many moves into `stage` a Flow holds."""
    return flow.entered(stage)


@register.filter
def lookup(mapping, key):
    """mapping[key] in a template; 0 for a missing count."""
    if isinstance(mapping, dict):
        return mapping.get(key, 0)
    return 0


@register.filter
def index(sequence, position: int):
    try:
        return sequence[position]
    except (IndexError, TypeError):
        return None
