from django.contrib import admin

from sla.models import Handoff, RoutingRule, RoutingSettings, RoutingTurn
from smarketing.audit import AuditedModelAdmin


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):
    list_display = ["lead", "rep", "handed_off_by", "status", "created_at", "attempt_count", "first_attempt_due_at",
                    "outcome"]
    list_filter = ["status", "outcome"]
    search_fields = ["lead__email", "lead__last_name", "rep__email"]
    list_select_related = ["lead", "rep", "handed_off_by"]
    raw_id_fields = ["lead", "rep", "handed_off_by", "previous", "reassigned_by"]
    # Statuses, stages and counters change only through sla.services, which keep the lead in step.
    readonly_fields = ["status", "summary", "accepted_at", "rejected_at", "closed_at", "outcome", "first_attempt_at",
                       "last_attempt_at", "attempt_count", "attempts_met_at", "first_attempt_due_at",
                       "attempts_due_at", "attempts_required", "sla_version_number"]
    show_full_result_count = False


class RoutingTurnInline(admin.TabularInline):
    model = RoutingTurn
    extra = 0
    readonly_fields = ["rep", "last_turn", "assigned"]
    can_delete = False


@admin.register(RoutingRule)
class RoutingRuleAdmin(AuditedModelAdmin):
    list_display = ["name", "position", "team", "persona", "countries", "by_territory", "is_active"]
    list_filter = ["is_active", "team"]
    inlines = [RoutingTurnInline]


@admin.register(RoutingSettings)
class RoutingSettingsAdmin(AuditedModelAdmin):
    list_display = ["__str__", "auto_route_new_mqls", "updated_by", "updated_at"]
