from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from smarketing.audit import AuditedModelAdmin, audit_record
from smarketing.models import AuditEntry, Notification, Team, User


@admin.register(Team)
class TeamAdmin(AuditedModelAdmin):
    list_display = ["name", "function"]


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "role", "team", "manager", "is_active"]
    list_filter = ["role", "team", "is_active", "is_away"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["first_name", "last_name"]}),
        ("Role and team", {"fields": ["role", "team", "manager", "territory", "capacity", "is_away"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "role", "password1", "password2"]})]

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        # Django's own view saves the new password; a success is its redirect to the user's change page
        # (a conflicting form redirects back to this page instead).
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            saved = response.status_code == 302 and response["Location"] != request.get_full_path()
            if request.method == "POST" and saved:
                user = self.get_object(request, unquote(id))
                summary = (f"Set a new password for “{user}” in the admin" if user.has_usable_password()
                           else f"Turned off password sign-in for “{user}” in the admin")
                audit_record(actor=request.user, action="admin.user.password", target=user, summary=summary)
        return response


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log, to read: who changed which agreement, rule, routing or user, and when. Nobody edits it."""

    list_display = ["at", "actor", "action", "target_type", "target_id", "summary"]
    list_filter = ["action", "target_type"]
    search_fields = ["summary", "actor__email", "target_id"]
    list_select_related = ["actor"]
    date_hierarchy = "at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "recipient", "kind", "created_at", "read_at", "email_sent_at", "email_attempts"]
    list_filter = ["kind"]
    raw_id_fields = ["recipient"]
    list_select_related = ["recipient"]
    readonly_fields = ["email_sent_at", "email_attempts", "email_error"]
    show_full_result_count = False
