from django.urls import path, register_converter

from dashboards import meeting_views as views


class DateConverter:
    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str):
        from datetime import date

        return date.fromisoformat(value)

    def to_url(self, value) -> str:
        return value.isoformat()


class MonthConverter:
    regex = r"\d{4}-\d{2}"

    def to_python(self, value: str):
        from datetime import date

        year, month = value.split("-")
        return date(int(year), int(month), 1)

    def to_url(self, value) -> str:
        return f"{value:%Y-%m}"


register_converter(DateConverter, "day")
register_converter(MonthConverter, "month")

app_name = "meetings"

urlpatterns = [
    path("meetings/", views.meeting_current, name="current"),
    path("meetings/week/<day:monday>/", views.weekly_meeting, name="weekly"),
    path("meetings/month/<month:first>/", views.monthly_meeting, name="monthly"),
    path("meetings/<str:kind>/<day:start>/notes/", views.note_add, name="note_add"),
    path("meetings/<str:kind>/<day:start>/actions/", views.action_add, name="action_add"),
    path("meetings/actions/<int:item_id>/done/", views.action_done, name="action_done"),
    path("reports/monthly/<month:first>/", views.monthly_report_page, name="monthly_report"),
    path("reports/monthly/<month:first>/csv/", views.monthly_report_csv, name="monthly_report_csv"),
]
