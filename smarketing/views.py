import logging
import sys

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import InterfaceError, OperationalError, connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from smarketing.audit import audit_record
from smarketing.forms import ApiTokenForm, WebhookEndpointForm, add_service_errors
from smarketing.models import ApiToken, WebhookDelivery, WebhookEndpoint
from smarketing.roles import Action
from smarketing.selectors import api_tokens_for_list, webhook_deliveries_for_log, webhook_endpoints_for_list
from smarketing.services import (
    api_token_create,
    api_token_revoke,
    webhook_delivery_retry,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
)

logger = logging.getLogger(__name__)


@login_not_required
@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and docker-compose: the app answers and its database does."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        # The reason goes to the log, not to this public page (it names the database's host and port).
        logger.warning("Health check: the database is unreachable.", exc_info=True)
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's own password change (its validators, the session kept), recorded in the audit log."""

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            audit_record(actor=self.request.user, action="user.password", target=form.user,
                         summary=f"“{form.user}” changed their own password")
        return response


# Seconds a client should wait before retrying while the database is unreachable (a restart takes a few).
RETRY_AFTER_SECONDS = 5


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500. A database that cannot be reached (restarting, failing over, refusing connections) is
    a 503 that says to try again, not a 500; pages get an HTML page and the API its error shape.

    Renders without the database and without context processors: the database may be what failed.
    The next request reconnects by itself (CONN_HEALTH_CHECKS), so the app needs no restart.
    """
    unavailable = isinstance(sys.exc_info()[1], (OperationalError, InterfaceError))
    status = 503 if unavailable else 500
    if request.path.startswith("/api/"):
        message = ("The database is unavailable; try again in a few seconds." if unavailable
                   else "The server failed to handle this request; the error has been logged.")
        code = "service_unavailable" if unavailable else "server_error"
        response: HttpResponse = JsonResponse(
            {"error": {"status": status, "code": code, "message": message, "fields": {}}}, status=status)
    else:
        response = HttpResponse(render_to_string("503.html" if unavailable else "500.html"), status=status)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 for an address no view has: under /api/ in the API's one error shape, elsewhere the page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"status": 404, "code": "not_found", "fields": {},
                                       "message": "Nothing is at this address; the API's addresses are in "
                                                  "/api/v1/schema/."}}, status=404)
    return defaults.page_not_found(request, exception)


# --- Integrations: API tokens and webhooks (admins) -------------------------------------------------------

def _ensure_admin(request: HttpRequest) -> None:
    if not request.user.can(Action.USERS_MANAGE):
        raise PermissionDenied


def api_token_list(request: HttpRequest) -> HttpResponse:
    """The tokens integrations use; a new token's key is shown on this page once, right after creating it."""
    _ensure_admin(request)
    form = ApiTokenForm(request.POST or None, initial={"user": request.user.pk})
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            token, new_key = api_token_create(actor=request.user, name=form.cleaned_data["name"],
                                              user=form.cleaned_data["user"], scope=form.cleaned_data["scope"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            form = ApiTokenForm(initial={"user": request.user.pk})
            messages.success(request, f"Token “{token.name}” created. Copy its key now: it is not shown again.")
    return render(request, "smarketing/api_tokens.html",
                  {"form": form, "tokens": api_tokens_for_list(), "new_key": new_key})


@require_POST
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    _ensure_admin(request)
    token = api_token_revoke(actor=request.user, token=get_object_or_404(ApiToken, pk=token_id))
    messages.success(request, f"Token “{token.name}” revoked: it no longer opens the API.")
    return redirect("api_token_list")


def webhook_list(request: HttpRequest) -> HttpResponse:
    _ensure_admin(request)
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = webhook_endpoint_create(actor=request.user, url=form.cleaned_data["url"],
                                               events=form.cleaned_data["events"],
                                               description=form.cleaned_data["description"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Webhook added. Its signing secret is on its page.")
            return redirect("webhook_detail", endpoint_id=endpoint.pk)
    page = Paginator(webhook_deliveries_for_log(), 25).get_page(request.GET.get("page"))
    return render(request, "smarketing/webhooks.html",
                  {"form": form, "endpoints": webhook_endpoints_for_list(), "page": page})


def webhook_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    _ensure_admin(request)
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    initial = {"url": endpoint.url, "description": endpoint.description, "events": endpoint.events,
               "is_active": endpoint.is_active}
    form = WebhookEndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            webhook_endpoint_update(actor=request.user, endpoint=endpoint, url=form.cleaned_data["url"],
                                    events=form.cleaned_data["events"], description=form.cleaned_data["description"],
                                    is_active=form.cleaned_data["is_active"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Webhook saved.")
            return redirect("webhook_detail", endpoint_id=endpoint.pk)
    page = Paginator(webhook_deliveries_for_log(endpoint=endpoint), 25).get_page(request.GET.get("page"))
    return render(request, "smarketing/webhook_detail.html", {"endpoint": endpoint, "form": form, "page": page})


@require_POST
def webhook_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    _ensure_admin(request)
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    webhook_endpoint_delete(actor=request.user, endpoint=endpoint)
    messages.success(request, f"Webhook {endpoint.url} removed.")
    return redirect("webhook_list")


@require_POST
def webhook_delivery_retry_view(request: HttpRequest, delivery_id: int) -> HttpResponse:
    _ensure_admin(request)
    delivery = webhook_delivery_retry(actor=request.user, delivery=get_object_or_404(WebhookDelivery, pk=delivery_id))
    messages.success(request, "The delivery is queued to be sent again.")
    return redirect("webhook_detail", endpoint_id=delivery.endpoint_id)
