from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("dashboard/", views.funnel, name="funnel"),
    path("dashboard/feedback/", views.feedback_loop, name="feedback"),
    path("dashboard/emails/", views.email_preferences, name="email_preferences"),
    path("dashboard/calibration/", views.calibration, name="calibration"),
    path("dashboard/calibration/recompute/", views.calibration_recompute, name="calibration_recompute"),
    path("dashboard/calibration/<int:snapshot_id>/draft/", views.calibration_draft, name="calibration_draft"),
]
