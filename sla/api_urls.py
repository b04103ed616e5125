from django.urls import path

import smarketing.converters  # noqa: F401  (registers the <id:...> converter)
from sla import api

urlpatterns = [
    path("handoffs/", api.handoff_collection, name="api_handoff_collection"),
    path("handoffs/<id:handoff_id>/", api.handoff_item, name="api_handoff_item"),
    path("handoffs/<id:handoff_id>/accept/", api.handoff_accept_endpoint, name="api_handoff_accept"),
    path("handoffs/<id:handoff_id>/reject/", api.handoff_reject_endpoint, name="api_handoff_reject"),
    path("handoffs/<id:handoff_id>/move/", api.handoff_move_endpoint, name="api_handoff_move"),
    path("handoffs/<id:handoff_id>/reassign/", api.handoff_reassign_endpoint, name="api_handoff_reassign"),
    path("leads/<id:lead_id>/attempts/", api.lead_attempts, name="api_lead_attempts"),
    path("leads/<id:lead_id>/feedback/", api.lead_feedback_endpoint, name="api_lead_feedback"),
    path("leads/<id:lead_id>/personal-data/", api.lead_personal_data, name="api_lead_personal_data"),
    path("leads/<id:lead_id>/erase/", api.lead_erase_endpoint, name="api_lead_erase"),
]
