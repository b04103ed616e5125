"""Load test: sales reps and managers on the queue, lead pages, attempt logging and the dashboard, with an
integration ingesting leads and activities through the API at the same time, against gunicorn and the
configured database on this machine (loopback only).

    # the full form: 50 users for 2 minutes, plus one API integration (on a migrated database:
    # DATABASE_URL=... python manage.py migrate; seed_demo first makes the dashboard's figures realistic)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smk_load REDIS_URL=redis://127.0.0.1:6379/0 python -m bench.load
    # the short form CI runs (tests/smarketing/test_load.py)
    DATABASE_URL=... python -m bench.load --users 8 --seconds 15 --reps 4 --leads-per-rep 10

Builds its own organisation (users and leads under @bench-load.test, replaced on each run: reps with open
handoffs, managers, a marketer's API token), signs each person in by making their session in the
database, starts gunicorn on a free loopback port with production settings (bench.live), and runs
locust headless against it for the given time. Prints each page's requests, errors and p50/p95/p99 (ms,
locust's client-side timings), then one JSON line. Exits 1 if any request failed.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import emit, setup_django

DOMAIN = "bench-load.test"
LOCUSTFILE = Path(__file__).with_name("load_users.py")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent reps and managers")
    parser.add_argument("--ingest-users", type=int, default=1, help="API integrations on top of --users")
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--spawn-rate", type=float, default=10, help="users started per second")
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--leads-per-rep", type=int, default=40)
    parser.add_argument("--ingest-leads", type=int, default=200, help="leads per bulk request")
    parser.add_argument("--ingest-activities", type=int, default=1000, help="activities per bulk request")
    # Production's gunicorn (Dockerfile): 3 sync workers.
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (>1: gthread workers)")
    args = parser.parse_args(argv)

    setup_django()
    from django.conf import settings
    from django.db import connection

    from bench.live import LiveServer

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    progress(f"Building the organisation: {args.reps} reps with {args.leads_per_rep} open handoffs each…")
    plan = _build_organisation(reps=args.reps, leads_per_rep=args.leads_per_rep)
    plan.update(domain=DOMAIN, ingest_leads=args.ingest_leads, ingest_activities=args.ingest_activities)
    database_url = os.environ.get("DATABASE_URL", "")
    if connection.vendor != "postgresql":
        progress("Warning: not PostgreSQL; gunicorn and this process must share the database file.")
    connection.close()

    with tempfile.TemporaryDirectory(prefix="bench-load-") as workdir:
        plan_path = Path(workdir, "plan.json")
        plan_path.write_text(json.dumps(plan))
        log_path = Path(workdir, "gunicorn.log")
        server = LiveServer(database_url=database_url, redis_url=os.environ.get("REDIS_URL", ""),
                            workers=args.workers, threads=args.threads, env={"SECRET_KEY": settings.SECRET_KEY},
                            log_path=log_path)
        with server:
            progress(f"gunicorn at {server.url} ({args.workers} workers × {args.threads} threads); "
                     f"locust: {args.users} users + {args.ingest_users} API integration(s) for {args.seconds} s…")
            locust = subprocess.run(  # noqa: S603 - our own interpreter and locustfile
                [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", server.url,
                 "--users", str(args.users + args.ingest_users), "--spawn-rate", str(args.spawn_rate),
                 "--run-time", f"{args.seconds}s", "--stop-timeout", "10", "--csv", str(Path(workdir, "load")),
                 "--only-summary", "--loglevel", "WARNING"],
                env={**os.environ, "LOAD_PLAN": str(plan_path), "LOAD_INGEST_USERS": str(args.ingest_users)},
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        pages, total = _read_stats(Path(workdir, "load_stats.csv"))
        failures = _read_failures(Path(workdir, "load_failures.csv"))
        server_errors = _tracebacks(log_path.read_text(errors="replace"))

    if total is None:
        progress(locust.stdout[-5000:])
        progress("locust wrote no statistics")
        return 1
    progress(f"\n{'page':<22}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for name, row in sorted(pages.items()):
        progress(f"{name:<22}{row['requests']:>9}{row['errors']:>8}{row['p50_ms']:>9}{row['p95_ms']:>9}"
                 f"{row['p99_ms']:>9}")
    progress(f"{'all':<22}{total['requests']:>9}{total['errors']:>8}{total['p50_ms']:>9}{total['p95_ms']:>9}"
             f"{total['p99_ms']:>9}")
    for failure in failures:
        progress(f"error: {failure}")
    for traceback in server_errors[:5]:
        progress(f"server error:\n{traceback}")
    errors = total["errors"] + len(server_errors)
    emit("load", users=args.users, ingest_users=args.ingest_users, seconds=args.seconds, requests=total["requests"],
         errors=errors, per_second=total["per_second"], p50_ms=total["p50_ms"], p95_ms=total["p95_ms"],
         p99_ms=total["p99_ms"], pages=pages, workers=args.workers, threads=args.threads,
         load_average=round(os.getloadavg()[0], 1), database=connection.vendor)
    return 1 if errors or locust.returncode not in (0, 1) else 0


def _number(value: str) -> float | int:
    number = float(value) if value not in ("", "N/A") else 0.0
    return int(number) if number.is_integer() else round(number, 1)


def _read_stats(path: Path) -> tuple[dict[str, dict], dict | None]:
    """locust's stats CSV: one row per request name, then "Aggregated"."""
    if not path.exists():
        return {}, None
    pages, total = {}, None
    with path.open() as stats:
        for row in csv.DictReader(stats):
            figures = {"requests": int(row["Request Count"]), "errors": int(row["Failure Count"]),
                       "per_second": _number(row["Requests/s"]), "p50_ms": _number(row["50%"]),
                       "p95_ms": _number(row["95%"]), "p99_ms": _number(row["99%"])}
            if row["Name"] == "Aggregated":
                total = figures
            else:
                pages[row["Name"]] = figures
    return pages, total


def _tracebacks(log: str) -> list[str]:
    """Each traceback in gunicorn's log (a failure the client may not have seen, e.g. after the response)."""
    found, current = [], None
    for line in log.splitlines():
        if line.startswith("Traceback"):
            current = [line]
        elif current is not None:
            current.append(line)
            if not line.startswith((" ", "\t")) and not line.startswith(("During handling", "The above")) and line:
                found.append("\n".join(current))
                current = None
    return found


def _read_failures(path: Path) -> list[str]:
    if not path.exists():
        return []
    with path.open() as failures:
        return [f"{row['Method']} {row['Name']}: {row['Error']} ×{row['Occurrences']}" for row in csv.DictReader(failures)]


def _build_organisation(*, reps: int, leads_per_rep: int) -> dict:
    """Replaces the bench's people and leads: managers, a marketer with a write token, reps with open handoffs
    on their own leads (a third due within the day, some overdue); returns who signs in as whom."""
    from datetime import timedelta

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction
    from django.utils import timezone

    from leads.models import Company, Lead, Stage
    from sla.models import Handoff
    from smarketing.models import ApiToken, Team, User
    from smarketing.roles import Function, Role
    from smarketing.services import api_token_hash

    def signed_in(user: User) -> str:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "smarketing.auth_backends.UserWithTeamBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        return session.session_key

    with transaction.atomic():
        Handoff.objects.filter(lead__email__endswith=f"@{DOMAIN}").delete()
        Lead.objects.filter(email__endswith=f"@{DOMAIN}").delete()
        Company.objects.filter(domain__endswith=DOMAIN).delete()
        ApiToken.objects.filter(user__email__endswith=f"@{DOMAIN}").delete()
        User.objects.filter(email__endswith=f"@{DOMAIN}").delete()
        team, _ = Team.objects.get_or_create(name="Load sales", defaults={"function": Function.SALES})
        sales_manager = User.objects.create_user(email=f"sm@{DOMAIN}", password=None, role=Role.SALES_MANAGER,
                                                 team=team, first_name="Load", last_name="Sales manager")
        marketing_manager = User.objects.create_user(email=f"mm@{DOMAIN}", password=None,
                                                     role=Role.MARKETING_MANAGER, first_name="Load",
                                                     last_name="Marketing manager")
        marketer = User.objects.create_user(email=f"marketer@{DOMAIN}", password=None, role=Role.MARKETER,
                                            first_name="Load", last_name="Marketer")
        key = "smk_load_" + os.urandom(24).hex()
        ApiToken.objects.create(name="Load test", user=marketer, scope=ApiToken.Scope.WRITE, prefix=key[:12],
                                key_hash=api_token_hash(key), created_by=marketer)
        now = timezone.now()
        plan_reps = []
        for r in range(reps):
            rep = User.objects.create_user(email=f"rep{r}@{DOMAIN}", password=None, role=Role.SALES_REP, team=team,
                                           manager=sales_manager, first_name="Load", last_name=f"Rep {r}",
                                           capacity=10_000)
            company = Company.objects.create(name=f"Load company {r}", domain=f"c{r}.{DOMAIN}", employees=200,
                                             industry="Software", country="DE")
            leads = Lead.objects.bulk_create(
                Lead(email=f"lead{r}-{n}@{DOMAIN}", first_name="Lead", last_name=f"{r}-{n}", job_title="Head of IT",
                     country="DE", company=company, stage=Stage.SAL if n % 2 else Stage.MQL, owner=rep,
                     source="load test")
                for n in range(leads_per_rep))
            Handoff.objects.bulk_create(
                Handoff(lead=lead, rep=rep, handed_off_by=marketer, created_at=now - timedelta(hours=n % 50),
                        status="accepted" if lead.stage == Stage.SAL else "pending",
                        first_attempt_due_at=now + timedelta(hours=(n % 30) - 10),
                        attempts_due_at=now + timedelta(days=3), attempts_required=3, summary={"version": 1})
                for n, lead in enumerate(leads))
            plan_reps.append({"session": signed_in(rep), "leads": [lead.pk for lead in leads]})
        # The sales manager also opens the queue (every rep's); the marketing manager has none (403).
        managers = [{"session": signed_in(sales_manager), "queue": True},
                    {"session": signed_in(marketing_manager), "queue": False}]
    return {"reps": plan_reps, "managers": managers, "api_key": key}


if __name__ == "__main__":
    sys.exit(main())
