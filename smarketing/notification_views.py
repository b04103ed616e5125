"""The bell and the notifications page. Everyone who signs in has notifications; each sees only their own."""

from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from smarketing.models import Notification
from smarketing.notifications import notifications_for, notifications_mark_read, notifications_unread_count

PER_PAGE = 30


def notifications(request: HttpRequest) -> HttpResponse:
    page = Paginator(notifications_for(recipient=request.user), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "smarketing/notifications.html",
                  {"page": page, "unread": notifications_unread_count(recipient=request.user)})


@login_not_required
def notification_bell(request: HttpRequest) -> HttpResponse:
    """The bell alone, polled by the top bar so the unread count updates itself."""
    if not request.user.is_authenticated:
        # 286 tells htmx to stop polling: a signed-out tab must not swap the login page into the bell.
        return HttpResponse(status=286)
    return render(request, "smarketing/notifications.html#bell",
                  {"unread": notifications_unread_count(recipient=request.user)})


@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    notifications_mark_read(recipient=request.user)
    return redirect("notifications")


def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Marks one notification read and follows its link (only a path inside the app)."""
    notification = get_object_or_404(Notification, pk=notification_id, recipient=request.user)
    notifications_mark_read(recipient=request.user, notification_ids=[notification.pk])
    if notification.url and url_has_allowed_host_and_scheme(notification.url, allowed_hosts=None):
        return redirect(notification.url)
    return redirect("notifications")
