from django.contrib import admin

from leads.models import (
    Activity,
    Company,
    ContactAttempt,
    Feedback,
    Lead,
    Objection,
    ObjectionAnswer,
    Reason,
    StageChange,
)


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "domain", "industry", "employees", "country"]
    search_fields = ["name", "domain"]
    list_filter = ["industry", "country"]


class StageChangeInline(admin.TabularInline):
    model = StageChange
    extra = 0
    readonly_fields = ["from_stage", "to_stage", "changed_at", "changed_by", "reason", "note"]
    can_delete = False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "company", "stage", "owner", "source", "created_at"]
    list_filter = ["stage", "source", "seniority"]
    search_fields = ["email", "first_name", "last_name"]
    list_select_related = ["company", "owner"]
    raw_id_fields = ["company", "owner"]
    # The stage changes only through the lifecycle service, which records its history.
    readonly_fields = ["stage", "stage_entered_at", "duplicate_attempts", "last_duplicate_attempt_at"]
    inlines = [StageChangeInline]
    show_full_result_count = False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["lead", "type", "occurred_at", "url"]
    list_filter = ["type"]
    raw_id_fields = ["lead"]
    show_full_result_count = False


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    list_display = ["lead", "from_stage", "to_stage", "changed_at", "changed_by", "reason"]
    list_filter = ["to_stage"]
    raw_id_fields = ["lead", "changed_by"]
    show_full_result_count = False


@admin.register(Reason)
class ReasonAdmin(admin.ModelAdmin):
    list_display = ["label", "kind", "is_active", "position"]
    list_filter = ["kind", "is_active"]
    list_editable = ["is_active", "position"]


@admin.register(ContactAttempt)
class ContactAttemptAdmin(admin.ModelAdmin):
    list_display = ["lead", "rep", "channel", "outcome", "occurred_at", "objection"]
    list_filter = ["channel", "outcome"]
    raw_id_fields = ["lead", "rep", "objection"]
    list_select_related = ["lead", "rep", "objection"]
    show_full_result_count = False


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["lead", "author", "kind", "quality", "reason", "created_at", "read_at"]
    list_filter = ["kind", "quality"]
    raw_id_fields = ["lead", "author", "objection", "read_by"]
    list_select_related = ["lead", "author", "reason"]


class ObjectionAnswerInline(admin.TabularInline):
    model = ObjectionAnswer
    extra = 0
    fields = ["title", "url", "note"]


@admin.register(Objection)
class ObjectionAdmin(admin.ModelAdmin):
    list_display = ["label", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["label"]
    inlines = [ObjectionAnswerInline]
