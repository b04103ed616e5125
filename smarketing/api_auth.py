"""API tokens in DRF: authentication, scope and per-token throttling.

Its own module because DRF imports authentication classes while rest_framework.views is still loading:
this module must not import that (smarketing.api does, for the exception handler).
"""

from rest_framework import authentication, exceptions, permissions, throttling

from smarketing.models import ApiToken
from smarketing.services import api_token_use


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer smk_...`: the request acts as the token's user, with the token's scope."""

    keyword = "bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() != self.keyword:
            return None  # not ours: the browser session may still sign the request in
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the header as “Authorization: Bearer <token>”.")
        token = api_token_use(key=header[1])
        if token is None:
            raise exceptions.AuthenticationFailed("This API token is unknown or has been revoked.")
        return token.user, token

    def authenticate_header(self, request) -> str | None:
        # 401 with a challenge for a caller that sent a token; a browser without a session keeps its 403.
        return 'Bearer realm="api"' if request.META.get("HTTP_AUTHORIZATION") else None


class TokenScopePermission(permissions.BasePermission):
    """A read-only token may read; writing needs a write token. A browser session is not limited here."""

    message = "This API token may only read; ask an admin for a token with write scope."

    def has_permission(self, request, view) -> bool:
        if isinstance(request.auth, ApiToken) and request.method not in permissions.SAFE_METHODS:
            return request.auth.scope == ApiToken.Scope.WRITE
        return True


class ApiTokenRateThrottle(throttling.SimpleRateThrottle):
    """Requests per token (API_TOKEN_THROTTLE_RATE, e.g. 600/min); browser sessions are not counted here."""

    scope = "api_token"

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
