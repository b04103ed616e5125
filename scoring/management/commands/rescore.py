import time

from django.core.management.base import BaseCommand, CommandError

from scoring.services import rescore_all, rescore_stale


class Command(BaseCommand):
    help = "Rescores leads under the scoring version in force and qualifies those that meet the MQL definition."

    def add_arguments(self, parser):
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--all", action="store_true", help="every lead, in chunks (what a version change runs)")
        scope.add_argument("--stale", action="store_true", help="only leads changed since the last run")
        parser.add_argument("--workers", type=int, default=1,
                            help="chunks of a full run scored at once, each on its own connection (default 1)")

    def handle(self, *args, **options):
        started = time.perf_counter()
        if options["stale"]:
            scored = rescore_stale()
            self.stdout.write(f"{scored:,} stale leads rescored in {time.perf_counter() - started:.2f} s")
            return

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"  chunk {done}/{total} ({time.perf_counter() - started:.1f} s)")

        run = rescore_all(reason="manage.py rescore --all", progress=progress, workers=options["workers"])
        if run is None:
            raise CommandError("No scoring version is in force: sign one first (Qualification page).")
        self.stdout.write(self.style.SUCCESS(
            f"{run.leads_scored:,} leads scored under scoring v{run.version.number}, {run.leads_qualified:,} became MQL, "
            f"in {time.perf_counter() - started:.2f} s"
        ))
