from django.urls import path

from scoring import views

app_name = "scoring"

urlpatterns = [
    path("qualification/", views.overview, name="overview"),
    path("qualification/rescore/", views.rescore_start, name="rescore_start"),
    path("qualification/rescore/progress/", views.rescore_progress, name="rescore_progress"),
    path("qualification/personas/new/", views.persona_edit, name="persona_create"),
    path("qualification/personas/<int:persona_id>/", views.persona_edit, name="persona_edit"),
    path("qualification/<str:kind>/draft/", views.draft_open, name="draft_open"),
    path("qualification/<str:kind>/v<int:number>/", views.version_detail, name="version_detail"),
    path("qualification/<str:kind>/v<int:number>/what-if/", views.version_what_if, name="version_what_if"),
    path("qualification/<str:kind>/v<int:number>/sign/", views.sign, name="sign"),
    path("qualification/<str:kind>/v<int:number>/comment/", views.comment, name="comment"),
    path("qualification/scoring/v<int:number>/fit/", views.fit_rule_edit, name="fit_rule_create"),
    path("qualification/scoring/v<int:number>/fit/<int:rule_id>/", views.fit_rule_edit, name="fit_rule_edit"),
    path("qualification/scoring/v<int:number>/engagement/", views.engagement_rule_edit, name="engagement_rule_create"),
    path("qualification/scoring/v<int:number>/engagement/<int:rule_id>/", views.engagement_rule_edit,
         name="engagement_rule_edit"),
    path("qualification/scoring/v<int:number>/<str:rule_kind>/<int:rule_id>/delete/", views.rule_remove,
         name="rule_delete"),
    path("qualification/scoring/v<int:number>/grades/", views.grades_edit, name="grades_edit"),
    path("qualification/definitions/v<int:number>/<str:criteria_kind>/", views.criteria_edit, name="criteria_edit"),
]
