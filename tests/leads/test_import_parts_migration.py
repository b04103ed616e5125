"""Migration leads 0012: an import queued or under way when parts arrive goes on as one part, where it stood."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("leads", "0011_lead_fillfactor")]
AFTER = [("leads", "0012_lead_import_parts")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_an_import_under_way_before_parts_goes_on_as_its_one_part():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = migrate(BEFORE).get_model("leads", "LeadImport")
        beat = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
        shape = {"file": "imports/a.csv", "encoding": "utf-8", "delimiter": ",", "size": 9000}
        running = old.objects.create(original_name="running.csv", status="running", rows_done=20_000,
                                     bytes_done=5_000, heartbeat_at=beat, **shape)
        queued = old.objects.create(original_name="queued.csv", status="queued", heartbeat_at=None, **shape)
        old.objects.create(original_name="done.csv", status="done", rows_done=30_000, **shape)

        apps = migrate(AFTER)
        parts = apps.get_model("leads", "LeadImportPart").objects.order_by("lead_import_id")

        assert list(parts.values_list("lead_import_id", "number", "status", "rows_done", "bytes_done")) == [
            (running.pk, 0, "running", 20_000, 5_000), (queued.pk, 0, "queued", 0, 0)]
        # The part carries the import's heartbeat (or, without one, its creation): a dead worker is still noticed.
        assert parts[0].heartbeat_at == beat and parts[1].heartbeat_at == queued.created_at
        assert set(apps.get_model("leads", "LeadImport").objects.values_list("parts", flat=True)) == {1}
    finally:
        migrate(latest)
