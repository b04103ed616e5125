"""`manage.py seed_demo`: a believable organisation to try the product with, or scale data to measure it."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import ProtectedError, RestrictedError

from leads.demo import (
    DEFAULT_ACTIVITIES,
    DEFAULT_LEADS,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DEMO_USERS,
    DatabaseNotEmpty,
    database_has_data,
    demo_seed,
)
from smarketing.models import User
from smarketing.roles import Role


class Command(BaseCommand):
    help = (
        "Loads demo data: teams and one login per role, companies, leads in every stage with their history, "
        "and 90 days of activities. Refuses a database that has users unless --reset or --if-empty."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, default=DEFAULT_LEADS, help=f"default {DEFAULT_LEADS:,}")
        parser.add_argument(
            "--activities", type=int, default=DEFAULT_ACTIVITIES, help=f"default {DEFAULT_ACTIVITIES:,}"
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED,
            help="the same seed gives the same data (on the same day: times are relative to today)",
        )
        existing = parser.add_mutually_exclusive_group()
        existing.add_argument(
            "--reset", action="store_true",
            help="delete all users, teams, companies, leads, stage changes and activities first (and the lead "
            "data that refers to them: handoffs, scores, attempts, feedback)",
        )
        existing.add_argument(
            "--if-empty", action="store_true", help="do nothing (but print the logins) if users already exist"
        )

    def handle(self, *args, leads: int, activities: int, seed: int, reset: bool, if_empty: bool,
               verbosity: int, **options) -> None:
        if if_empty and database_has_data():
            self.stdout.write("The database already has data: no demo data loaded.")
        else:
            progress = self.stdout.write if verbosity >= 1 else (lambda message: None)
            try:
                report = demo_seed(leads=leads, activities=activities, seed=seed, reset=reset, progress=progress)
            except DatabaseNotEmpty:
                raise CommandError(
                    "The database already has users or leads. Use --reset to replace them with demo data "
                    "(this deletes them), or --if-empty to leave them alone."
                ) from None
            except (ProtectedError, RestrictedError) as exc:
                blockers = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
                kinds = sorted({obj._meta.verbose_name_plural for obj in blockers})
                raise CommandError(
                    f"--reset stopped: {', '.join(kinds)} still refer to the users and must not lose them "
                    "silently. Delete those first."
                ) from None
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(self.style.SUCCESS(
                f"Demo data loaded in {report.seconds:.1f} s: {report.companies:,} companies, {report.leads:,} "
                f"leads, {report.stage_changes:,} stage changes, {report.activities:,} activities."
            ))
            self._seed_agreements(seed=seed, progress=progress)
        self._print_logins()

    def _seed_agreements(self, *, seed: int, progress) -> None:
        """The rest of the organisation: the signed SLA, the qualification agreement, every lead scored
        (so the MQLs are those the agreement makes), and the handoffs, attempts and feedback of sales.

        A command is an entry point: it may call every app, which the leads layer itself never does."""
        from scoring.demo import agreement_seed
        from scoring.services import rescore_all
        from sla.demo import handoffs_seed
        from sla.demo_contract import sla_seed

        marketing = User.objects.filter(role=Role.MARKETING_MANAGER, is_active=True).order_by("pk").first()
        sales = User.objects.filter(role=Role.SALES_MANAGER, is_active=True).order_by("pk").first()
        sla_seed(marketing_manager=marketing, sales_manager=sales)
        agreement_seed(marketing_manager=marketing, sales_manager=sales)
        run = rescore_all(reason="demo data loaded")
        if run is not None:
            progress(f"scored {run.leads_scored:,} leads under scoring v{run.version.number}; "
                     f"{run.leads_qualified:,} became MQL")
        handoffs_seed(seed=seed, progress=progress)

    def _print_logins(self) -> None:
        present = set(User.objects.filter(email__in=[u.email for u in DEMO_USERS]).values_list("email", flat=True))
        logins = [user for user in DEMO_USERS if user.email in present]
        if not logins:
            return
        rows = [(Role(user.role).label, user.email, f"{user.first_name} {user.last_name}", user.territory_name)
                for user in logins]
        widths = [max(len(row[i]) for row in [("Role", "E-mail", "Name", "Territory"), *rows]) for i in range(4)]

        def line(cells: tuple[str, ...]) -> str:
            return "  " + "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

        self.stdout.write("")
        self.stdout.write(line(("Role", "E-mail", "Name", "Territory")))
        for row in rows:
            self.stdout.write(line(row))
        self.stdout.write(f"\n  Password for every demo login: {DEMO_PASSWORD}")
