"""How long the SLA's breach check takes, and what its time grows with.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smk_sla python -m bench.deadlines --open 100000 --due 1000

Builds `--open` open handoffs under an SLA in force (their own leads and a few reps), of which `--due`
have a first-attempt deadline that passed since the check's last run, then times the two steps of
breaches_check(): breaches_record (find and record each breach once: the figure the target is about)
and breaches_notify (the rep's notification and the manager's escalation, two per breach, in bulk).
Each timed run is rolled back, so every run finds the same breaches. It then varies one thing at a time: fewer breaches
due (100) with the same open handoffs, and fewer open handoffs (a tenth) with the same breaches due;
the check's time should follow the breaches, not the open handoffs.

Progress goes to stderr; stdout gets the one JSON line (`seconds`: the check at full size).
"""

import argparse
import statistics
import sys
import time
from datetime import timedelta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.deadlines", description=__doc__.split("\n")[0])
    parser.add_argument("--open", type=int, default=100_000, help="open handoffs")
    parser.add_argument("--due", type=int, default=1_000, help="of which past their first-attempt deadline")
    parser.add_argument("--few", type=int, default=100, help="the smaller number of breaches to compare with")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per case (the median is reported)")
    parser.add_argument("--reuse", action="store_true", help="keep the handoffs a previous run built (same sizes)")
    args = parser.parse_args(argv)

    from bench import emit, setup_django

    setup_django()
    from django.db import connection

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if connection.vendor != "postgresql":
        progress("Warning: the targets are for PostgreSQL; this database is " + connection.vendor + ".")

    now = _reuse(open_count=args.open, progress=progress) if args.reuse else None
    now = now or _build(open_count=args.open, due=args.due, progress=progress)
    full, full_notify = _time_check(now=now, due=args.due, runs=args.runs, progress=progress)
    few, few_notify = _time_check(now=now, due=args.few, runs=args.runs, progress=progress)
    tenth = args.open // 10
    _close_open_handoffs(keep=tenth, due=args.due, progress=progress)
    small, small_notify = _time_check(now=now, due=args.due, runs=args.runs, progress=progress)
    emit(
        "deadlines",
        open_handoffs=args.open,
        due=args.due,
        seconds=round(full, 4),
        notify_seconds=round(full_notify, 4),
        breaches_per_second=round(args.due / full) if full else None,
        record_ms={
            f"{args.open}_open_{args.due}_due": round(full * 1000, 1),
            f"{args.open}_open_{args.few}_due": round(few * 1000, 1),
            f"{tenth}_open_{args.due}_due": round(small * 1000, 1),
        },
        notify_ms={
            f"{args.open}_open_{args.due}_due": round(full_notify * 1000, 1),
            f"{args.open}_open_{args.few}_due": round(few_notify * 1000, 1),
            f"{tenth}_open_{args.due}_due": round(small_notify * 1000, 1),
        },
        baseline=f"{tenth} open handoffs, {args.due} due",
        ratio=round(full / small, 2) if small else None,
        database=connection.vendor,
    )


def _build(*, open_count: int, due: int, progress) -> "datetime":  # noqa: F821 - imported lazily
    """A fresh organisation: an SLA in force, reps with a manager, `open_count` open handoffs."""
    from django.db import connection, transaction
    from django.utils import timezone

    from leads.models import Lead, Stage
    from scoring.models import VersionStatus
    from sla.models import Breach, BreachScan, BusinessCalendar, Handoff, SlaVersion
    from smarketing.models import Notification, User
    from smarketing.roles import Role

    started = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        Breach.objects.all().delete()
        Notification.objects.filter(kind__startswith="sla_").delete()
        Handoff.objects.filter(lead__email__endswith="@bench-deadlines.test").delete()
        Lead.objects.filter(email__endswith="@bench-deadlines.test").delete()
        if not SlaVersion.objects.filter(status=VersionStatus.ACTIVE).exists():
            calendar = BusinessCalendar.objects.create(working_weekdays=[0, 1, 2, 3, 4], holiday_country="DE")
            number = (SlaVersion.objects.order_by("-number").values_list("number", flat=True).first() or 0) + 1
            SlaVersion.objects.create(number=number, status=VersionStatus.ACTIVE, calendar=calendar,
                                      activated_at=now - timedelta(days=30))
        manager, _ = User.objects.get_or_create(email="bench-manager@bench-deadlines.test",
                                                defaults={"role": Role.SALES_MANAGER, "first_name": "Bench"})
        reps = []
        for n in range(20):
            rep, _ = User.objects.get_or_create(email=f"bench-rep-{n}@bench-deadlines.test",
                                                defaults={"role": Role.SALES_REP, "manager": manager,
                                                          "first_name": f"Rep {n}"})
            reps.append(rep)
        version = SlaVersion.objects.get(status=VersionStatus.ACTIVE).number
        progress(f"Creating {open_count:,} leads and open handoffs…")
        for start in range(0, open_count, 10_000):
            size = min(10_000, open_count - start)
            leads = Lead.objects.bulk_create(
                [Lead(email=f"lead-{start + i}@bench-deadlines.test", stage=Stage.MQL) for i in range(size)],
                batch_size=5_000,
            )
            handoffs = []
            for i, lead in enumerate(leads):
                n = start + i
                # Due ones fell due over the last minute (since the check's last run); the others later today.
                first_due = now - timedelta(seconds=1 + (n % 55)) if n < due else now + timedelta(minutes=5 + n % 600)
                handoffs.append(Handoff(lead=lead, rep=reps[n % len(reps)], created_at=now - timedelta(hours=3),
                                        first_attempt_due_at=first_due, attempts_due_at=now + timedelta(days=10),
                                        attempts_required=4, sla_version_number=version))
            Handoff.objects.bulk_create(handoffs, batch_size=5_000)
            progress(f"  {start + size:,}")
        BreachScan.objects.update_or_create(kind="first_attempt", defaults={"scanned_to": now - timedelta(minutes=1)})
        BreachScan.objects.update_or_create(kind="attempts", defaults={"scanned_to": now - timedelta(minutes=1)})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE sla_handoff")
            cursor.execute("ANALYZE sla_breach")
    progress(f"Built in {time.perf_counter() - started:.1f} s.")
    return now


def _reuse(*, open_count: int, progress) -> "datetime | None":  # noqa: F821
    """The `now` of a previous build of the same size, with its handoffs open again; None to build anew."""
    from sla.models import BreachScan, Handoff

    built = Handoff.objects.filter(lead__email__endswith="@bench-deadlines.test")
    scan = BreachScan.objects.filter(kind="first_attempt").first()
    if scan is None or built.count() != open_count:
        return None
    built.exclude(status="pending").update(status="pending")
    progress(f"Reusing {open_count:,} handoffs.")
    return scan.scanned_to + timedelta(minutes=1)


class _Rollback(Exception):
    pass


def _time_check(*, now, due: int, runs: int, progress) -> tuple[float, float]:
    """The median times of recording and of notifying when `due` deadlines fell due since the last run."""
    from django.db import transaction

    from sla.contract_services import breaches_notify, breaches_record
    from sla.models import Handoff

    times, notify_times = [], []
    for _ in range(runs + 1):
        try:
            with transaction.atomic():
                # Only `due` of the due handoffs stay due: the others got their first attempt in time.
                extra = Handoff.objects.filter(first_attempt_due_at__lte=now, first_attempt_at__isnull=True,
                                               status="pending").order_by("pk").values_list("pk", flat=True)[due:]
                Handoff.objects.filter(pk__in=list(extra)).update(first_attempt_at=now - timedelta(hours=1))
                started = time.perf_counter()
                result = breaches_record(now=now)
                recorded = time.perf_counter()
                notified = breaches_notify(now=now)
                times.append(recorded - started)
                notify_times.append(time.perf_counter() - recorded)
                assert result.first_attempt == due == notified, (result, due, notified)
                raise _Rollback
        except _Rollback:
            pass
    # The first run warms the caches.
    median, notify_median = statistics.median(times[1:]), statistics.median(notify_times[1:])
    progress(f"  {due:,} breaches among {Handoff.objects.filter(status='pending').count():,} open handoffs: "
             f"recorded in {median * 1000:.1f} ms, notified in {notify_median * 1000:.1f} ms (medians of {runs})")
    return median, notify_median


def _close_open_handoffs(*, keep: int, due: int, progress) -> None:
    """Closes all but `keep` open handoffs (the due ones stay open), for the smaller case."""
    from django.db import connection

    from sla.models import Handoff

    keep_ids = Handoff.objects.filter(lead__email__endswith="@bench-deadlines.test").order_by("pk").values_list(
        "pk", flat=True)[:keep]
    closed = Handoff.objects.filter(lead__email__endswith="@bench-deadlines.test").exclude(
        pk__in=list(keep_ids)).update(status="closed")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE sla_handoff")
    progress(f"Closed {closed:,} handoffs; {keep:,} stay open.")


if __name__ == "__main__":
    main()
