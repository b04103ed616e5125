from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("dashboard/", views.funnel, name="funnel"),
    path("dashboard/sla/", views.compliance, name="compliance"),
    path("dashboard/goals/", views.goals, name="goals"),
    path("dashboard/feedback/", views.feedback_loop, name="feedback"),
    path("dashboard/emails/", views.email_preferences, name="email_preferences"),
    path("dashboard/share/", views.share_create, name="share_create"),
    path("dashboard/shared-links/", views.shared_links, name="shared_links"),
    path("dashboard/shared-links/<int:link_id>/revoke/", views.shared_link_revoke_view, name="shared_link_revoke"),
    path("shared/<str:token>/", views.shared, name="shared"),
    path("dashboard/calibration/", views.calibration, name="calibration"),
    path("dashboard/calibration/recompute/", views.calibration_recompute, name="calibration_recompute"),
    path("dashboard/calibration/<int:snapshot_id>/draft/", views.calibration_draft, name="calibration_draft"),
]
