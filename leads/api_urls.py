from django.urls import path

import smarketing.converters  # noqa: F401  (registers the <id:...> converter)
from leads import api

urlpatterns = [
    path("leads/", api.lead_collection, name="api_lead_collection"),
    path("leads/bulk/", api.lead_bulk, name="api_lead_bulk"),
    path("leads/<id:lead_id>/", api.lead_item, name="api_lead_item"),
    path("leads/<id:lead_id>/stage/", api.lead_stage, name="api_lead_stage"),
    path("activities/bulk/", api.activity_bulk, name="api_activity_bulk"),
]
