"""Sign-in throttling against password guessing: django-axes, counting per account and per address.

django-axes records every failed sign-in (the admin's too) and refuses to check a password while the
account or the address is locked. It compares one count with one limit; LoginThrottleHandler gives it
the two counts we want: LOGIN_FAILURES_PER_ACCOUNT failures on one account from any address, and the
tighter LOGIN_FAILURES_PER_ADDRESS from one address on any accounts, each within AXES_COOLOFF_TIME.
API tokens never go through a password check, so integrations are not affected.
"""

import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

LOCKOUT_MESSAGE = (
    "Sign-in is locked for an hour: there were too many failed attempts for this account or from your network. "
    "Try again later, or ask an admin to unlock it."
)


class LoginThrottleHandler(AxesDatabaseHandler):
    """Locks an address at LOGIN_FAILURES_PER_ADDRESS failures and an account at LOGIN_FAILURES_PER_ACCOUNT."""

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        # One queryset per AXES_LOCKOUT_PARAMETERS entry, in its order: the address's attempts, the account's.
        by_address, by_account = (
            attempts.aggregate(failures=Sum("failures_since_start"))["failures"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        # Axes locks when this count reaches AXES_FAILURE_LIMIT, the account's limit; an address that
        # reached its own, lower limit counts as having reached it.
        if by_address >= settings.LOGIN_FAILURES_PER_ADDRESS:
            return max(by_account, settings.AXES_FAILURE_LIMIT)
        return by_account


def login_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """The account a sign-in is for, as stored: e-mails are kept lower-case, so "Rep@X" and "rep@x" count as one."""
    username = (credentials or {}).get("username")
    if username is None:
        username = request.POST.get("username")
    if not isinstance(username, str) or not username.strip():
        return None
    return username.strip().lower()


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the one the outermost saw.

    Each proxy appends the address it received the request from to X-Forwarded-For, so the entry that many
    places from the end is the client; anything before it was sent by the client and may be forged.
    """
    remote_addr = request.META.get("REMOTE_ADDR") or None
    if settings.TRUSTED_PROXY_COUNT == 0:
        return remote_addr
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < settings.TRUSTED_PROXY_COUNT:
        return remote_addr  # not through our proxies (a health check from inside, say)
    candidate = forwarded[-settings.TRUSTED_PROXY_COUNT]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote_addr


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict | None = None) -> HttpResponse:
    """The sign-in page again, saying why it refuses: 429 Too Many Requests, with when to retry."""
    form = AuthenticationForm(request, initial={"username": login_username(request, credentials) or ""})
    response = render(request, "registration/login.html",
                      {"form": form, "next": request.POST.get("next", ""), "lockout_message": LOCKOUT_MESSAGE},
                      status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response
