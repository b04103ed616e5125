"""python manage.py check_sla: the SLA watch, run by hand (what the beat jobs do every minute and day)."""

from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from sla.contract_services import (
    breaches_check,
    marketing_month_close,
    review_reminders_send,
    stale_leads_flag,
)


class Command(BaseCommand):
    help = "Records SLA breaches of deadlines that passed unmet, notifies reps and escalates to their managers."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true",
                            help="Read every unmet deadline, not only those due since the last check.")
        parser.add_argument("--stale", action="store_true", help="Also flag accepted leads left idle.")
        parser.add_argument("--close-month", metavar="YYYY-MM",
                            help="Also close marketing's month (a breach for each commitment it fell short of).")
        parser.add_argument("--reminders", action="store_true", help="Also send the review-date reminders due.")

    def handle(self, *args, full: bool, stale: bool, close_month: str | None, reminders: bool, **options):
        result = breaches_check(full=full)
        self.stdout.write(
            f"Breaches recorded: {result.first_attempt} first attempt, {result.attempts} K attempts; "
            f"{result.met_late} met late, {result.closed} closed unmet, {result.recycled} leads recycled."
        )
        if stale:
            self.stdout.write(f"Idle accepted leads flagged: {stale_leads_flag()}.")
        if close_month:
            try:
                month = date.fromisoformat(f"{close_month}-01")
            except ValueError:
                raise CommandError(f"--close-month wants YYYY-MM, not {close_month!r}.") from None
            try:
                recorded = marketing_month_close(month=month)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            self.stdout.write(f"{month:%B %Y} closed: {len(recorded)} marketing breach(es) recorded.")
        if reminders:
            self.stdout.write(f"Review reminders sent: {review_reminders_send()}.")
