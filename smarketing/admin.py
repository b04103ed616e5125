from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from smarketing.models import Notification, Team, User


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "function"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
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


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "recipient", "kind", "created_at", "read_at", "email_sent_at", "email_attempts"]
    list_filter = ["kind"]
    raw_id_fields = ["recipient"]
    list_select_related = ["recipient"]
    readonly_fields = ["email_sent_at", "email_attempts", "email_error"]
    show_full_result_count = False
