"""Stores the daily funnel rollups: `manage.py rollup_funnel` does what the nightly job does; `--since` rebuilds
from a date (after an import of old history, or a change of the organisation's time zone)."""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError

from dashboards.periods import local_today
from dashboards.services import funnel_rollup_due, funnel_rollup_range


class Command(BaseCommand):
    help = "Rolls up the funnel's stage moves per day (idempotent: a day rolled up again replaces its rows)."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="Rebuild every day from this date (YYYY-MM-DD) to yesterday.")
        parser.add_argument("--days", type=int, help="Rebuild the last N days.")

    def handle(self, *args, since: str | None = None, days: int | None = None, **options):
        yesterday = local_today() - timedelta(days=1)
        if since or days:
            try:
                first = date.fromisoformat(since) if since else yesterday - timedelta(days=days - 1)
            except ValueError:
                raise CommandError(f"--since {since!r} is not a date like 2026-01-31.") from None
            done = funnel_rollup_range(
                first=first, last=yesterday,
                progress=lambda day, moves: self.stdout.write(f"  {day}: {moves:,} moves"),
            )
        else:
            done = funnel_rollup_due()
        self.stdout.write(self.style.SUCCESS(f"Rolled up {done} day(s)."))
