"""Reads on what every app shares: API tokens and outgoing webhooks."""

from django.db.models import QuerySet

from smarketing.models import ApiToken, WebhookDelivery, WebhookEndpoint


def webhook_wanted(*, event: str) -> bool:
    """Whether any active endpoint receives this event: callers skip building payloads nobody receives."""
    return any(event in events for events in WebhookEndpoint.objects.filter(is_active=True)
               .values_list("events", flat=True))


def api_tokens_for_list() -> QuerySet[ApiToken]:
    return ApiToken.objects.select_related("user", "created_by").order_by("revoked_at", "-created_at", "-id")


def webhook_endpoints_for_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("url", "id")


def webhook_deliveries_for_log(*, endpoint: WebhookEndpoint | None = None) -> QuerySet[WebhookDelivery]:
    deliveries = WebhookDelivery.objects.select_related("endpoint").order_by("-created_at", "-id")
    return deliveries.filter(endpoint=endpoint) if endpoint is not None else deliveries
