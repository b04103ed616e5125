from django.urls import path

from leads import api

urlpatterns = [
    path("leads/", api.lead_collection, name="api_lead_collection"),
    path("leads/bulk/", api.lead_bulk, name="api_lead_bulk"),
    path("leads/<int:lead_id>/", api.lead_item, name="api_lead_item"),
    path("leads/<int:lead_id>/stage/", api.lead_stage, name="api_lead_stage"),
    path("leads/<int:lead_id>/personal-data/", api.lead_personal_data, name="api_lead_personal_data"),
    path("leads/<int:lead_id>/erase/", api.lead_erase_endpoint, name="api_lead_erase"),
    path("activities/bulk/", api.activity_bulk, name="api_activity_bulk"),
]
