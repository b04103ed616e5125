from django.urls import path

from leads import import_views, views

app_name = "leads"

urlpatterns = [
    path("leads/", views.lead_list, name="lead_list"),
    path("leads/new/", views.lead_create, name="lead_create"),
    path("leads/import/", import_views.lead_import_upload, name="lead_import"),
    path("leads/import/<int:import_id>/", import_views.lead_import_detail, name="lead_import_detail"),
    path("leads/import/<int:import_id>/rejected-rows.csv", import_views.lead_import_report, name="lead_import_report"),
    path("leads/export.csv", import_views.lead_export, name="lead_export"),
    path("leads/<int:lead_id>/", views.lead_detail, name="lead_detail"),
    path("leads/<int:lead_id>/edit/", views.lead_edit, name="lead_edit"),
    path("leads/<int:lead_id>/stage/", views.lead_stage_change, name="lead_stage_change"),
    path("companies/", views.company_list, name="company_list"),
    path("companies/<int:company_id>/", views.company_detail, name="company_detail"),
]
