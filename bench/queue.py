"""How fast a rep's queue page renders with many open handoffs, and that its queries do not grow with them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smk_queue python -m bench.queue --handoffs 500

Builds its own rep with N open handoffs (leads with companies, scores and personas, SLA deadlines, some
overdue), requests /queue/ through Django's test client (the whole middleware stack, no network) and
reports server time per request and SQL queries per request, at 50 handoffs and at N. Progress goes to
stderr; stdout gets the one JSON line.
"""

import argparse
import os
import statistics
import sys
import time

from bench import emit, setup_django

EMAIL_DOMAIN = "bench-queue.test"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.queue", description=__doc__.split("\n")[0])
    parser.add_argument("--handoffs", type=int, default=500)
    parser.add_argument("--requests", type=int, default=40, help="timed requests after a warm-up")
    args = parser.parse_args(argv)

    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    # The test client speaks to "testserver" (setup_test_environment would also slow rendering down).
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    rep = _reset_and_make_rep()
    client = Client()
    client.force_login(rep)

    def measure(label: str) -> tuple[int, list[float]]:
        assert client.get("/queue/").status_code == 200  # warm-up: templates compiled, connection open
        connection.queries_log.clear()  # a full log (DEBUG keeps the last 9,000) would count nothing
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/queue/")
        assert response.status_code == 200, response.status_code
        timings, cpu = [], []
        for _ in range(args.requests):
            started, started_cpu = time.perf_counter(), time.process_time()
            client.get("/queue/")
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        progress(f"{label}: {len(queries)} queries, p50 {statistics.median(timings):.1f} ms "
                 f"(of which Python CPU {statistics.median(cpu):.1f} ms), load average {os.getloadavg()[0]:.1f}")
        return len(queries), timings, cpu

    first = min(50, args.handoffs)
    progress(f"Making {first} open handoffs…")
    _make_handoffs(rep, first, offset=0)
    queries_small, _, _ = measure(f"{first} handoffs")
    progress(f"Making {args.handoffs - first} more…")
    _make_handoffs(rep, args.handoffs - first, offset=first)
    queries, timings, cpu = measure(f"{args.handoffs} handoffs")
    timings.sort()
    emit(
        "queue",
        handoffs=args.handoffs,
        rows_shown=min(args.handoffs, 50),
        queries=queries,
        queries_at_50=queries_small,
        p50_ms=round(statistics.median(timings), 1),
        p95_ms=round(timings[int(len(timings) * 0.95) - 1], 1),
        cpu_p50_ms=round(statistics.median(cpu), 1),
        requests=len(timings),
        load_average=round(os.getloadavg()[0], 1),
        database=connection.vendor,
    )


def _reset_and_make_rep():
    from leads.models import Company, Lead
    from scoring.models import Persona, ScoringVersion
    from sla.models import Handoff
    from smarketing.models import Team, User
    from smarketing.roles import Function, Role

    Handoff.objects.filter(lead__email__endswith=f"@{EMAIL_DOMAIN}").delete()
    Lead.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}").delete()
    Company.objects.filter(domain__endswith=EMAIL_DOMAIN).delete()
    User.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}").delete()
    team, _ = Team.objects.get_or_create(name="Bench sales", defaults={"function": Function.SALES})
    Persona.objects.get_or_create(name="Bench persona", defaults={"title_keywords": ["bench"]})
    if not ScoringVersion.objects.exists():
        ScoringVersion.objects.create(number=9999)
    User.objects.create_user(email=f"marketer@{EMAIL_DOMAIN}", password=None, role=Role.MARKETER,
                             first_name="Bench", last_name="Marketer")
    # An SLA in force, so each row's deadline badge counts business time in its calendar, as in real use.
    from sla.demo_contract import sla_seed

    sla_seed(
        marketing_manager=User.objects.create_user(email=f"mm@{EMAIL_DOMAIN}", password=None,
                                                   role=Role.MARKETING_MANAGER),
        sales_manager=User.objects.create_user(email=f"sm@{EMAIL_DOMAIN}", password=None, role=Role.SALES_MANAGER),
    )
    return User.objects.create_user(email=f"rep@{EMAIL_DOMAIN}", password=None, role=Role.SALES_REP, team=team,
                                    first_name="Bench", last_name="Rep", capacity=10_000)


def _make_handoffs(rep, count: int, offset: int) -> None:
    """`count` open handoffs to `rep`: a lead, its company and score each; a third overdue, some accepted."""
    from datetime import timedelta

    from django.utils import timezone

    from leads.models import Company, Lead, Stage
    from scoring.models import LeadScore, Persona, ScoringVersion, VersionStatus
    from sla.models import Handoff, SlaVersion
    from smarketing.models import User

    if count <= 0:
        return
    now = timezone.now()
    marketer = User.objects.get(email=f"marketer@{EMAIL_DOMAIN}")
    persona = Persona.objects.get(name="Bench persona")
    version = ScoringVersion.objects.order_by("-number").first()
    sla = SlaVersion.objects.filter(status=VersionStatus.ACTIVE).first()
    numbers = range(offset, offset + count)
    companies = Company.objects.bulk_create(
        Company(name=f"Bench company {n}", domain=f"c{n}.{EMAIL_DOMAIN}", employees=50 + n, industry="Software",
                country="DE") for n in numbers)
    stages = [Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY]
    leads = Lead.objects.bulk_create(
        Lead(email=f"lead{n}@{EMAIL_DOMAIN}", first_name="Lead", last_name=f"Number {n}", job_title="Head of Bench",
             country="DE", company=company, stage=stages[n % 4], owner=rep, source="bench")
        for n, company in zip(numbers, companies, strict=True))
    LeadScore.objects.bulk_create(
        LeadScore(lead=lead, version=version, fit=30, engagement=n % 60, total=30 + n % 60, grade="B",
                  persona=persona if n % 2 else None, conversions=1, computed_at=now)
        for n, lead in zip(numbers, leads, strict=True))
    Handoff.objects.bulk_create(
        Handoff(lead=lead, rep=rep, handed_off_by=marketer, created_at=now - timedelta(hours=n % 97),
                status="pending" if lead.stage == Stage.MQL else "accepted",
                first_attempt_due_at=now + timedelta(hours=(n % 30) - 10), attempts_due_at=now + timedelta(days=3),
                attempts_required=3, sla_version_number=sla.number if sla else None, summary={"version": 1})
        for n, lead in zip(numbers, leads, strict=True))


if __name__ == "__main__":
    main()
