"""Free room on every page of the lead table for the row versions of HOT updates.

A new activity moves its lead's last_activity_at, an unindexed column: PostgreSQL can keep the new row
version on the same page without a new entry in any of the lead table's indexes, but only if the page has
room. Pages filled to 85 % leave it. Existing pages take the setting as they are rewritten (VACUUM FULL,
or rows moving); new rows at once. Nothing to do on SQLite.
"""

from django.db import migrations


def fillfactor(percent: int):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE leads_lead SET (fillfactor = {percent})")
    return apply


class Migration(migrations.Migration):

    dependencies = [
        ("leads", "0010_owner_index_covered_by_owner_stage"),
    ]

    operations = [
        migrations.RunPython(fillfactor(85), fillfactor(100), elidable=False),
    ]
