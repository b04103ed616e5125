"""The audit log's one writer: the services' writes, and the changes made in the Django admin."""

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.forms import ModelForm
from django.http import HttpRequest

from smarketing.models import AuditEntry, User


def audit_record(*, actor: User | None, action: str, target: models.Model, summary: str) -> AuditEntry:
    """Records that `actor` did `action` to `target`; written in the caller's transaction."""
    return AuditEntry.objects.create(
        actor=actor, action=action, target_type=target._meta.label_lower, target_id=str(target.pk),
        summary=summary[:500],
    )


def audit_text(value: object) -> str:
    """A field's value as the audit log shows it: lists joined, nothing as a dash."""
    if isinstance(value, models.QuerySet | list | tuple):
        return ", ".join(str(item) for item in value) or "—"
    return "—" if value is None or value == "" else str(value)


def _value(instance: models.Model | None, field: models.Field) -> object:
    if instance is None:
        return None
    if field.many_to_many:
        return list(getattr(instance, field.name).all())
    if field.choices:
        return getattr(instance, f"get_{field.name}_display")()
    return getattr(instance, field.name)


class AuditedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose adds, changes and deletes are in the audit log, field by field, with who and when.

    The admin writes rows without our services, so it records them itself, in the admin's own transaction.
    """

    def save_model(self, request: HttpRequest, obj: models.Model, form: ModelForm, change: bool) -> None:
        # The row as stored: the form has already put the new values on `obj`.
        before = type(obj)._default_manager.get(pk=obj.pk) if change else None
        super().save_model(request, obj, form, change)
        changes = []
        for name in form.changed_data:
            if "password" in name:  # the new password itself is never written down
                if "password set" not in changes:
                    changes.append("password set")
                continue
            try:
                field = obj._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            new = audit_text(form.cleaned_data[name] if field.many_to_many else _value(obj, field))
            if not change:
                changes.append(f"{field.verbose_name}: {new}")
            elif (old := audit_text(_value(before, field))) != new:  # a form may flag a value it only reformatted
                changes.append(f"{field.verbose_name}: {old} → {new}")
        verb = "Changed" if change else "Added"
        audit_record(actor=request.user, action=f"admin.{obj._meta.model_name}.{'update' if change else 'create'}",
                     target=obj, summary=f"{verb} {obj._meta.verbose_name} “{obj}” in the admin: "
                                         + ("; ".join(changes) or "nothing changed"))

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        self._record_deletion(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        # The admin's "delete selected" action runs outside a transaction: the log and the rows go together.
        with transaction.atomic():
            for obj in queryset:
                self._record_deletion(request, obj)
            super().delete_queryset(request, queryset)

    @staticmethod
    def _record_deletion(request: HttpRequest, obj: models.Model) -> None:
        audit_record(actor=request.user, action=f"admin.{obj._meta.model_name}.delete", target=obj,
                     summary=f"Deleted {obj._meta.verbose_name} “{obj}” in the admin")
