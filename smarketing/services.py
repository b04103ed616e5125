"""Writes on what every app shares: API tokens and outgoing webhooks."""

import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from smarketing import webhooks
from smarketing.audit import audit_record
from smarketing.models import ApiToken, User, WebhookDelivery, WebhookEndpoint, WebhookEvent
from smarketing.roles import Action
from smarketing.tasks import enqueue

TOKEN_PREFIX = "smk_"  # noqa: S105 - a marker that says "this is a Smarketing key", not a secret
# last_used_at is written at most this often per token: a busy integration must not turn every read
# into a write on one hot row.
TOKEN_LAST_USED_PRECISION = timedelta(minutes=1)


def _ensure_can_manage(actor: User) -> None:
    if not actor.can(Action.USERS_MANAGE):
        raise PermissionDenied("Only an admin manages API tokens and webhooks.")


def api_token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# --- API tokens -----------------------------------------------------------------------------------------

@transaction.atomic
def api_token_create(*, actor: User, name: str, user: User, scope: str) -> tuple[ApiToken, str]:
    """Creates a token acting as `user`; returns it with its key, which is never shown again (only its hash is kept)."""
    _ensure_can_manage(actor)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Name the token after what will use it."}, code="required")
    if scope not in ApiToken.Scope.values:
        raise ValidationError({"scope": "Choose read or write."}, code="invalid")
    if not user.is_active:
        raise ValidationError({"user": "A token cannot act as a deactivated user."}, code="inactive")
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(name=name, user=user, scope=scope, prefix=key[:12], key_hash=api_token_hash(key),
                                    created_by=actor)
    audit_record(actor=actor, action="api_token.create", target=token,
                 summary=f"Created API token “{name}” ({scope}) acting as {user.email}")
    return token, key


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """Revokes a token at once: the next request that sends it is refused."""
    _ensure_can_manage(actor)
    now = timezone.now()
    if ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=now):
        audit_record(actor=actor, action="api_token.revoke", target=token, summary=f"Revoked API token “{token.name}”")
    token.refresh_from_db()
    return token


def api_token_use(*, key: str) -> ApiToken | None:
    """The active token with this key (and its user), recording when it was last used; None if there is none."""
    if not key.startswith(TOKEN_PREFIX):
        return None
    token = (ApiToken.objects.select_related("user")
             .filter(key_hash=api_token_hash(key), revoked_at=None, user__is_active=True).first())
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or token.last_used_at < now - TOKEN_LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# --- Webhook endpoints ------------------------------------------------------------------------------------

def _clean_events(events: Sequence[str]) -> list[str]:
    unknown = set(events) - set(WebhookEvent.values)
    if unknown:
        raise ValidationError({"events": f"Unknown events: {', '.join(sorted(unknown))}."}, code="invalid")
    if not events:
        raise ValidationError({"events": "Choose at least one event."}, code="required")
    return [event for event in WebhookEvent.values if event in events]


@transaction.atomic
def webhook_endpoint_create(*, actor: User, url: str, events: Sequence[str], description: str = "") -> WebhookEndpoint:
    """Registers a URL for some events, with a new signing secret."""
    _ensure_can_manage(actor)
    endpoint = WebhookEndpoint.objects.create(url=url.strip(), events=_clean_events(events),
                                              description=description.strip(), secret=secrets.token_hex(32),
                                              created_by=actor)
    audit_record(actor=actor, action="webhook.create", target=endpoint, summary=f"Added webhook {endpoint.url}")
    return endpoint


@transaction.atomic
def webhook_endpoint_update(
    *, actor: User, endpoint: WebhookEndpoint, url: str, events: Sequence[str], description: str, is_active: bool,
) -> WebhookEndpoint:
    """Changes where and what an endpoint receives, or pauses it; its secret stays."""
    _ensure_can_manage(actor)
    endpoint.url = url.strip()
    endpoint.events = _clean_events(events)
    endpoint.description = description.strip()
    endpoint.is_active = is_active
    endpoint.save(update_fields=["url", "events", "description", "is_active"])
    audit_record(actor=actor, action="webhook.update", target=endpoint,
                 summary=f"Changed webhook {endpoint.url} ({'active' if is_active else 'paused'})")
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, actor: User, endpoint: WebhookEndpoint) -> None:
    """Removes an endpoint and its delivery log."""
    _ensure_can_manage(actor)
    audit_record(actor=actor, action="webhook.delete", target=endpoint, summary=f"Removed webhook {endpoint.url}")
    endpoint.delete()


# --- Emitting and delivering ------------------------------------------------------------------------------

# Attempts per delivery, and the wait before the n-th retry: 30 s × 2^(n-1), so 30 s, 1, 2, 4, 8, 16 and
# 32 minutes: about an hour in all, shorter than the broker's visibility timeout (2 h) so a delayed
# retry is never delivered twice by the broker itself.
WEBHOOK_MAX_ATTEMPTS = 8
WEBHOOK_BACKOFF_SECONDS = 30
# While one worker is sending, the delivery is not due for anyone else; longer than the HTTP timeout.
WEBHOOK_LEASE = timedelta(seconds=webhooks.TIMEOUT_SECONDS * 3)
# A retry message may arrive a moment before the time it was meant for; it still counts as due.
_DUE_TOLERANCE = timedelta(seconds=5)
# Delivery ids per enqueued message: a qualification run that makes 10,000 MQLs sends 20 messages.
_ENQUEUE_CHUNK = 500


def webhook_backoff_seconds(attempts: int) -> int:
    """How long to wait after the given number of failed attempts."""
    return WEBHOOK_BACKOFF_SECONDS * 2 ** (attempts - 1)


def webhook_emit(*, event: str, payload: dict[str, Any]) -> list[WebhookDelivery]:
    """Records a delivery of one event to every active endpoint that wants it, sent after commit."""
    return webhooks_emit(event=event, payloads=[payload])


@transaction.atomic
def webhooks_emit(*, event: str, payloads: Sequence[dict[str, Any]]) -> list[WebhookDelivery]:
    """Records deliveries of many events of one kind; sending starts after commit and never blocks the caller.

    A failing receiver cannot slow the action that caused the event: here we only write rows and, after
    commit, hand their ids to Celery. If the broker is down, the periodic sweep sends them later.
    """
    if event not in WebhookEvent.values:
        raise ValueError(f"{event!r} is not a WebhookEvent")
    endpoints = [e for e in WebhookEndpoint.objects.filter(is_active=True).only("pk", "events") if event in e.events]
    if not endpoints or not payloads:
        return []
    now = timezone.now()
    deliveries = []
    for payload in payloads:
        event_id = uuid.uuid4()
        body = {"id": str(event_id), "event": event, "created_at": now.isoformat(), "data": payload}
        # Through JSON once, so what is stored is exactly what is sent (dates as strings, no Decimals).
        body = json.loads(json.dumps(body, cls=DjangoJSONEncoder))
        deliveries.extend(WebhookDelivery(endpoint_id=endpoint.pk, event=event, event_id=event_id, payload=body,
                                          next_attempt_at=now) for endpoint in endpoints)
    WebhookDelivery.objects.bulk_create(deliveries, batch_size=1000)
    ids = [delivery.pk for delivery in deliveries]
    for start in range(0, len(ids), _ENQUEUE_CHUNK):
        transaction.on_commit(partial(enqueue, "smarketing.tasks.deliver_webhooks_task",
                                      delivery_ids=ids[start:start + _ENQUEUE_CHUNK]))
    return deliveries


@dataclass(frozen=True)
class DeliveryAttempt:
    status: str
    # Seconds until the next attempt when this one failed and another is due; None otherwise.
    retry_in: int | None = None


def webhook_delivery_attempt(*, delivery_id: int) -> DeliveryAttempt | None:
    """Sends one delivery if it is due, and records the outcome; None if it was not due (sent, or in flight).

    Not one transaction: the HTTP call must not hold a database transaction open. A conditional update
    claims the delivery instead, so two workers holding the same message send it once.
    """
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING],
        next_attempt_at__lte=now + _DUE_TOLERANCE,
    ).update(next_attempt_at=now + WEBHOOK_LEASE, attempts=F("attempts") + 1)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    status_code = None
    if not endpoint.is_active:
        error = "The endpoint is paused."
    else:
        body = json.dumps(delivery.payload, separators=(",", ":")).encode()
        headers = webhooks.signed_headers(secret=endpoint.secret, timestamp=int(time.time()), body=body,
                                          event=delivery.event, delivery_id=str(delivery.event_id))
        try:
            status_code = webhooks.http_post(endpoint.url, body, headers)
        except (OSError, ValueError) as exc:  # refused, reset, timed out, DNS, a URL urllib cannot use
            reason = getattr(exc, "reason", exc)  # urllib wraps the socket's error in a URLError
            error = f"{type(reason).__name__}: {reason}"
        else:
            error = "" if 200 <= status_code < 300 else f"The receiver answered HTTP {status_code}."

    done = timezone.now()
    if not error:
        status, retry_in, next_at = WebhookDelivery.Status.SUCCEEDED, None, done
    elif delivery.attempts >= WEBHOOK_MAX_ATTEMPTS or not endpoint.is_active:
        status, retry_in, next_at = WebhookDelivery.Status.FAILED, None, done
    else:
        retry_in = webhook_backoff_seconds(delivery.attempts)
        status, next_at = WebhookDelivery.Status.RETRYING, done + timedelta(seconds=retry_in)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status, next_attempt_at=next_at, last_status_code=status_code, last_error=error[:500],
        delivered_at=done if status == WebhookDelivery.Status.SUCCEEDED else None,
    )
    return DeliveryAttempt(status=status, retry_in=retry_in)


def webhook_deliveries_overdue(*, limit: int = 1000) -> list[int]:
    """Deliveries whose attempt is a minute overdue: their message was lost (broker down, worker killed)."""
    return list(WebhookDelivery.objects.filter(
        status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING],
        next_attempt_at__lte=timezone.now() - timedelta(minutes=1),
    ).order_by("next_attempt_at").values_list("pk", flat=True)[:limit])


@transaction.atomic
def webhook_delivery_retry(*, actor: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """Sends a failed delivery again, with a fresh round of attempts."""
    _ensure_can_manage(actor)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.Status.PENDING, attempts=0,
                                                          next_attempt_at=timezone.now())
    transaction.on_commit(partial(enqueue, "smarketing.tasks.deliver_webhooks_task", delivery_ids=[delivery.pk]))
    delivery.refresh_from_db()
    return delivery
