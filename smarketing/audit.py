"""The audit log's one writer."""

from django.db import models

from smarketing.models import AuditEntry, User


def audit_record(*, actor: User | None, action: str, target: models.Model, summary: str) -> AuditEntry:
    """Records that `actor` did `action` to `target`; written in the caller's transaction."""
    return AuditEntry.objects.create(
        actor=actor, action=action, target_type=target._meta.label_lower, target_id=str(target.pk),
        summary=summary[:500],
    )
