"""The SLA contract's pages, under /sla/ (namespace sla_contract; the handoffs and the queue have their own)."""

from django.urls import path

from sla import contract_views as views

app_name = "sla_contract"

urlpatterns = [
    path("sla/", views.overview, name="overview"),
    path("sla/draft/", views.draft_open, name="draft_open"),
    path("sla/v<int:number>/", views.version_detail, name="version_detail"),
    path("sla/v<int:number>/edit/", views.draft_edit, name="draft_edit"),
    path("sla/v<int:number>/calendar/", views.calendar_edit, name="calendar_edit"),
    path("sla/v<int:number>/closed-days/", views.closed_day_create, name="closed_day_create"),
    path("sla/v<int:number>/closed-days/<int:closed_day_id>/delete/", views.closed_day_delete,
         name="closed_day_delete"),
    path("sla/v<int:number>/sign/", views.sign, name="sign"),
    path("sla/v<int:number>/discard/", views.discard, name="discard"),
    path("sla/breaches/", views.breach_list, name="breach_list"),
    path("sla/goals/", views.goal_list, name="goal_list"),
    path("sla/goals/new/", views.goal_edit, name="goal_create"),
    path("sla/goals/<int:goal_id>/", views.goal_edit, name="goal_edit"),
    path("sla/goals/<int:goal_id>/delete/", views.goal_remove, name="goal_delete"),
    path("sla/calculator/", views.calculator, name="calculator"),
    path("sla/calculator/propose/", views.calculator_propose, name="calculator_propose"),
]
