from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from dashboards import views as dashboard_views
from smarketing import notification_views, views

# A database that cannot be reached answers 503 (an HTML page, or the API's error shape); anything else 500.
handler500 = "smarketing.views.server_error"
handler404 = "smarketing.views.page_not_found"

urlpatterns = [
    path("", dashboard_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("leads.api_urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # The split view loads its start-up script from a URL instead of inline, as our CSP asks; the page's
    # own <style> block (drf-spectacular's template) is the one inline style allowed, on this page only.
    path("api/v1/docs/", csp_update({"style-src": [UNSAFE_INLINE]})(
        SpectacularSwaggerSplitView.as_view(url_name="api_schema")), name="api_docs"),
    path("settings/tokens/", views.api_token_list, name="api_token_list"),
    path("settings/tokens/<int:token_id>/revoke/", views.api_token_revoke_view, name="api_token_revoke"),
    path("settings/webhooks/", views.webhook_list, name="webhook_list"),
    path("settings/webhooks/<int:endpoint_id>/", views.webhook_detail, name="webhook_detail"),
    path("settings/webhooks/<int:endpoint_id>/delete/", views.webhook_delete, name="webhook_delete"),
    path("settings/webhooks/deliveries/<int:delivery_id>/retry/", views.webhook_delivery_retry_view,
         name="webhook_delivery_retry"),
    path("health/", views.health, name="health"),
    path("", include("leads.urls")),
    path("", include("scoring.urls")),
    path("", include("sla.contract_urls")),
    path("", include("dashboards.urls")),
    path("", include("dashboards.meeting_urls")),
    path("", include("sla.urls")),
    path("api/v1/", include("sla.api_urls")),
    path("notifications/", notification_views.notifications, name="notifications"),
    path("notifications/bell/", notification_views.notification_bell, name="notification_bell"),
    path("notifications/read/", notification_views.notifications_read, name="notifications_read"),
    path("notifications/<int:notification_id>/", notification_views.notification_open, name="notification_open"),
]
