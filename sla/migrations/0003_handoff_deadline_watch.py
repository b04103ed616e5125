"""Partial indexes the breach check reads through: the open handoffs' deadlines not yet met.

They index the handoffs' table but belong to the SLA contract's check (sla.contract_services), not to
the Handoff model: created here with RunSQL so the Handoff model's state (another part of the app)
stays as its owner wrote it. The check reads a window of each index, (last run, now], so its work
grows with the deadlines missed since its last run, not with the open handoffs. Same SQL on PostgreSQL and SQLite.
"""

from django.db import migrations

INDEXES = {
    # First attempt: the deadlines not met in time (no attempt yet, or one after the deadline). An attempt
    # in time takes its row out; a late one keeps it, so the check still records the breach (met late).
    "sla_watch_first_attempt_idx": (
        "sla_handoff (first_attempt_due_at) WHERE first_attempt_due_at IS NOT NULL "
        "AND (first_attempt_at IS NULL OR first_attempt_at > first_attempt_due_at)"
    ),
    # K attempts: the same, with the time of the K-th attempt.
    "sla_watch_attempts_idx": (
        "sla_handoff (attempts_due_at) WHERE attempts_due_at IS NOT NULL "
        "AND (attempts_met_at IS NULL OR attempts_met_at > attempts_due_at)"
    ),
    # Recycling: accepted handoffs by their K-attempts deadline.
    "sla_watch_recycle_idx": (
        "sla_handoff (attempts_due_at) WHERE attempts_due_at IS NOT NULL AND status = 'accepted'"
    ),
}


class Migration(migrations.Migration):
    dependencies = [("sla", "0002_contract"), ("sla", "0002_handoff_attempts_met_at")]

    operations = [
        migrations.RunSQL(sql=f"CREATE INDEX {name} ON {definition}", reverse_sql=f"DROP INDEX {name}")
        for name, definition in INDEXES.items()
    ]
