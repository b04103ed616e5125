"""Full and incremental rescoring against the configured database, beside one plain SQL pass.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smk_bench python -m bench.rescore --leads 1000000 --activities 10000000

Builds the demo organisation at that size when the database holds fewer leads (seed_demo --reset), lays
its activities out in the order they arrive in production (once, on PostgreSQL), puts the demo agreement
in force, then measures:
- baseline: one plain SQL aggregate pass over the same activities (count and latest time per lead), the
  fastest of three;
- the full rescore from no scores (every lead, every rule, breakdown and persona, written) and its ratio
  to the baseline, with `--workers` chunks at once (a Celery worker's concurrency; 2 on 2 cores);
- its two halves alone, with the same chunks and workers: computing every lead's row (the scoring SELECT,
  nothing written; and the same without the engagement rules: persona, fit and the conversions count)
  and writing every row (the same rows copied in from a table, nothing computed), each with its
  own ratio: what any full rescore that computes and keeps a breakdown per lead starts from;
- the same full rescore again (same version: only the rows whose score moved are rewritten);
- the full rescore a new version in force starts (the same rules as the next number: every row rewritten);
- the incremental rescore of `--touched` leads that just received an activity, `--workers` batches at once
  (RESCORE_WORKERS, the minute job's setting);
- the what-if of a draft scoring version over every lead.
Ends with one JSON line.
"""

import argparse
import time
from dataclasses import replace
from functools import partial

from bench import emit, setup_django


def activities_in_arrival_order(connection) -> None:
    """Lays the activities out as production has them: in the order they arrived, so one lead's activities
    are spread over the whole table. The seed writes each lead's activities side by side, which flatters
    every read of one lead's activities (the full rescore's chunks read them through the lead index).
    PostgreSQL only; done once (CLUSTER on a passing index on the time, about a minute at 10M)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_activity")
        cursor.execute("SELECT correlation FROM pg_stats WHERE tablename = 'leads_activity' AND attname = 'occurred_at'")
        row = cursor.fetchone()
        if row and row[0] is not None and row[0] > 0.95:
            return
        print("laying the activities out in the order they arrived (once) …", flush=True)
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("CREATE INDEX bench_activity_arrival ON leads_activity (occurred_at)")
        cursor.execute("CLUSTER leads_activity USING bench_activity_arrival")
        cursor.execute("DROP INDEX bench_activity_arrival")
        cursor.execute("RESET maintenance_work_mem")
        cursor.execute("ANALYZE leads_activity")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--touched", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2,
                        help="chunks scored at once: a Celery worker's concurrency on this 2-core machine")
    args = parser.parse_args()
    setup_django()

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from leads.models import Activity, ActivityType, Lead
    from scoring.compiler import CompiledVersion, LeadScope, score_select_sql
    from scoring.demo import agreement_seed
    from scoring.models import LeadScore, ScoringVersion, VersionStatus
    from scoring.selectors import what_if
    from scoring.services import (
        lead_chunks,
        on_connections,
        rescore_all,
        rescore_stale,
        scoring_draft_create,
    )
    from smarketing.models import User
    from smarketing.roles import Role

    if Lead.objects.count() < args.leads:
        print(f"seeding {args.leads:,} leads and {args.activities:,} activities …", flush=True)
        call_command("seed_demo", reset=True, leads=args.leads, activities=args.activities, seed=args.seed)
    activities_in_arrival_order(connection)
    leads = Lead.objects.count()
    activities = Activity.objects.count()
    marketing = User.objects.filter(role=Role.MARKETING_MANAGER).first()
    sales = User.objects.filter(role=Role.SALES_MANAGER).first()
    agreement_seed(marketing_manager=marketing, sales_manager=sales)
    print(f"{leads:,} leads, {activities:,} activities on {connection.vendor}", flush=True)
    score_table = LeadScore._meta.db_table

    def vacuumed(*tables: str) -> None:
        """What autovacuum does between two runs in production (this machine's PostgreSQL runs without it):
        without it every run would start on the dead rows of the one before and each figure would drift
        (and the activities a run adds would leave pages the plain pass must check in the table)."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for table in tables or (score_table,):
                    cursor.execute(f"VACUUM (ANALYZE) {table}")

    vacuumed(Activity._meta.db_table, Lead._meta.db_table)
    # Warm the cache the same way for both measurements: one untimed pass over the activities. The
    # baseline is the fastest of three passes: one pass alone varies by half on this machine, and the
    # fastest is the ratio's hardest denominator.
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM leads_activity")
    passes = []
    for _ in range(3):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*), SUM(n) FROM (SELECT lead_id, COUNT(*) AS n, MAX(occurred_at) AS latest "
                "FROM leads_activity GROUP BY lead_id) per_lead"
            )
            cursor.fetchone()
        passes.append(time.perf_counter() - started)
    baseline = min(passes)
    print(f"baseline: one plain aggregate pass over the activities in {baseline:.2f} s "
          f"(the fastest of {', '.join(f'{seconds:.2f}' for seconds in passes)})", flush=True)

    # From nothing: every lead's row is written (as after seeding).
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {score_table}")
    vacuumed()
    started = time.perf_counter()
    run = rescore_all(reason="bench.rescore", workers=args.workers,
                      progress=lambda done, total: print(f"  chunk {done}/{total} "
                                                         f"({time.perf_counter() - started:.1f} s)", flush=True))
    full = time.perf_counter() - started
    print(f"full rescore: {run.leads_scored:,} leads in {full:.2f} s, {run.leads_qualified:,} became MQL", flush=True)

    # Its two halves alone, the same chunks on the same number of connections. Computing: the scoring
    # SELECT of each chunk, every column read, nothing written. Writing: the very rows just written, copied
    # back from a table into the empty score table, nothing computed (the key, the two indexes and the
    # deferred foreign-key checks at each chunk's commit).
    compiled = CompiledVersion.load(run.version)
    chunks = lead_chunks()

    def compute_chunk(version: CompiledVersion, chunk: tuple[int, int]) -> None:
        select_sql, params = score_select_sql(version, LeadScope(id_from=chunk[0], id_to=chunk[1]), run.started_at)
        with transaction.atomic(), connection.cursor() as cursor:
            # The plan the rescoring INSERT gets: no JIT (leads_rescore turns it off), no parallel workers
            # (PostgreSQL never plans a writing statement in parallel).
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL jit = off")
                cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            cursor.execute("SELECT COUNT(*), SUM(total), MAX(grade), COUNT(persona_id), SUM(conversions), "
                           f"SUM(LENGTH(breakdown_json)) FROM ({select_sql}) q", params)

    def compute_chunks(version: CompiledVersion) -> float:
        started = time.perf_counter()
        list(on_connections(partial(compute_chunk, version), chunks, workers=args.workers))
        return time.perf_counter() - started

    compute_alone = compute_chunks(compiled)
    print(f"  computing alone (nothing written): {compute_alone:.2f} s, {compute_alone / baseline:.1f}× the baseline",
          flush=True)
    # Without the engagement rules: the same statement keeps the persona, the fit rules and the count of
    # conversions (one plain aggregate over the activities, like the baseline's).
    without_engagement = compute_chunks(replace(compiled, engagement_rules=[]))
    print(f"  of which without the engagement rules (persona, fit, conversions): {without_engagement:.2f} s, "
          f"{without_engagement / baseline:.1f}× the baseline", flush=True)

    written_copy = "bench_rescore_written_rows"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {written_copy}")
        cursor.execute(f"CREATE TABLE {written_copy} AS SELECT * FROM {score_table}")
        cursor.execute(f"CREATE UNIQUE INDEX {written_copy}_lead ON {written_copy} (lead_id)")
        cursor.execute(f"DELETE FROM {score_table}")
    vacuumed()

    def write_chunk(chunk: tuple[int, int]) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {score_table} SELECT * FROM {written_copy} "
                           "WHERE lead_id >= %s AND lead_id < %s", chunk)

    started = time.perf_counter()
    list(on_connections(write_chunk, chunks, workers=args.workers))
    write_alone = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {written_copy}")
    print(f"  writing alone (nothing computed): {write_alone:.2f} s, {write_alone / baseline:.1f}× the baseline",
          flush=True)

    # The same version again (the nightly run for time decay): only rows whose score moved are written.
    vacuumed()
    started = time.perf_counter()
    rescore_all(reason="bench.rescore rerun", workers=args.workers)
    rerun = time.perf_counter() - started
    print(f"full rescore again, same version: {rerun:.2f} s", flush=True)

    # A new version in force (the same rules, signed as the next number): every row's version and breakdown
    # keys change, so every row is rewritten in place, as after the managers sign a scoring change.
    draft = scoring_draft_create(actor=marketing)
    ScoringVersion.objects.filter(status=VersionStatus.ACTIVE).update(status=VersionStatus.SUPERSEDED)
    ScoringVersion.objects.filter(pk=draft.pk).update(status=VersionStatus.ACTIVE, activated_at=timezone.now())
    vacuumed()
    started = time.perf_counter()
    rescore_all(reason="bench.rescore new version", workers=args.workers)
    new_version = time.perf_counter() - started
    print(f"full rescore under a new version (every row rewritten in place): {new_version:.2f} s", flush=True)

    # The next incremental run sees only what changes from here on.
    rescore_stale()
    vacuumed()
    touched_ids = list(Lead.objects.order_by("?").values_list("id", flat=True)[: args.touched])
    now = timezone.now()
    Activity.objects.bulk_create(
        [Activity(lead_id=pk, type=ActivityType.PAGE_VIEW, occurred_at=now, url="/pricing") for pk in touched_ids],
        batch_size=5000,
    )
    # As the ingest leaves them: a newer last-activity time, the profile (and its updated_at) untouched.
    Lead.objects.filter(pk__in=touched_ids).update(last_activity_at=now)
    started = time.perf_counter()
    rescored = rescore_stale(limit=args.touched * 2, workers=args.workers)
    incremental = time.perf_counter() - started
    print(f"incremental rescore: {rescored:,} touched leads in {incremental:.2f} s", flush=True)

    draft = scoring_draft_create(actor=marketing)
    started = time.perf_counter()
    result = what_if(draft_scoring=draft)
    what_if_seconds = time.perf_counter() - started
    print(f"what-if of a draft over {leads:,} leads in {what_if_seconds:.2f} s "
          f"({result.meets_mql[1]:,} would meet the MQL criteria)", flush=True)
    draft.delete()

    emit(
        "rescore", leads=leads, activities=activities, seconds=round(full, 2), baseline="plain aggregate pass",
        baseline_seconds=round(baseline, 2), ratio=round(full / baseline, 2) if baseline else None,
        compute_alone_seconds=round(compute_alone, 2), compute_alone_ratio=round(compute_alone / baseline, 2),
        without_engagement_seconds=round(without_engagement, 2), without_engagement_ratio=round(without_engagement / baseline, 2),
        write_alone_seconds=round(write_alone, 2), write_alone_ratio=round(write_alone / baseline, 2),
        rerun_seconds=round(rerun, 2), new_version_seconds=round(new_version, 2), incremental_leads=rescored, incremental_seconds=round(incremental, 3),
        what_if_seconds=round(what_if_seconds, 2), workers=args.workers, database=connection.vendor,
    )


if __name__ == "__main__":
    main()
