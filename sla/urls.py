from django.urls import path

from sla import views

app_name = "sla"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("leads/<int:lead_id>/handoff/", views.handoff_create_view, name="handoff_create"),
    path("leads/<int:lead_id>/handoff/card/", views.handoff_card_view, name="handoff_card"),
    path("leads/<int:lead_id>/attempts/", views.attempt_log_view, name="attempt_log"),
    path("leads/<int:lead_id>/feedback/", views.feedback_give_view, name="feedback_give"),
    path("handoffs/<int:handoff_id>/accept/", views.handoff_accept_view, name="handoff_accept"),
    path("handoffs/<int:handoff_id>/reject/", views.handoff_reject_view, name="handoff_reject"),
    path("handoffs/<int:handoff_id>/move/", views.handoff_move_view, name="handoff_move"),
    path("handoffs/<int:handoff_id>/reassign/", views.handoff_reassign_view, name="handoff_reassign"),
    path("feedback/", views.feedback_inbox, name="feedback_inbox"),
    path("feedback/read/", views.feedback_mark_read_view, name="feedback_mark_read"),
    path("objections/", views.objections, name="objections"),
    path("objections/new/", views.objection_add_view, name="objection_add"),
    path("objections/<int:objection_id>/toggle/", views.objection_toggle_view, name="objection_toggle"),
    path("objections/<int:objection_id>/answers/", views.objection_answer_add_view, name="objection_answer_add"),
    path("objections/answers/<int:answer_id>/delete/", views.objection_answer_delete_view,
         name="objection_answer_delete"),
    path("leads/<int:lead_id>/personal-data.json", views.lead_personal_data, name="lead_personal_data"),
    path("leads/<int:lead_id>/erase/", views.lead_erase_view, name="lead_erase"),
    path("routing/", views.routing, name="routing"),
    path("routing/settings/", views.routing_settings_view, name="routing_settings"),
    path("routing/reps/<int:rep_id>/", views.rep_room_edit, name="rep_room_edit"),
    path("routing/rules/new/", views.routing_rule_edit, name="routing_rule_create"),
    path("routing/rules/<int:rule_id>/", views.routing_rule_edit, name="routing_rule_edit"),
    path("routing/rules/<int:rule_id>/delete/", views.routing_rule_delete_view, name="routing_rule_delete"),
]
