"""Dashboard pages and HTMX panels under load, against the configured database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smk_dash python -m bench.dashboard --leads 1000000 --activities 10000000

Builds the demo organisation at that size when the database holds fewer leads (seed_demo --reset), puts
the demo agreement in force and scores every lead (personas are a dashboard dimension), rolls up every day
of the stage history (timed: `rollup_seconds`), computes the scoring calibration once, then:

- baseline: the funnel of the last 30 days computed live from the stage history (`baseline_ms`) against the
  same figures read from the rollups (`rollup_ms`); `ratio` is baseline over rollup;
- load: `--users` worker processes (20), each a signed-in manager requesting the dashboard pages and their
  HTMX panels in turn for `--seconds`, all at once after a warm-up; the time of each request inside Django
  (server time: no network, the CPU shared with the other users and PostgreSQL) gives `p50_ms`/`p95_ms`,
  overall and per URL, with views kept a minute as configured; then the same load with that cache off
  (`uncached_p50_ms`/`uncached_p95_ms`: every request computed from the rollups);
- `queries`: the most SQL queries any of those URLs runs;
- with `--lcp`, the largest contentful paint of /dashboard/ in headless Chromium through a local server.
Ends with one JSON line.
"""

import argparse
import multiprocessing
import statistics
import time

from bench import emit, setup_django

MANAGER_EMAIL = "maya.marketing@demo.smarketing.io"

# (name, path, HTMX target or None): every dashboard page and the panels HTMX swaps.
URLS = [
    ("funnel", "/dashboard/", None),
    ("funnel_last_month_campaign", "/dashboard/?period=last_month&campaign=Google+Ads+%E2%80%93+Lead+scoring",
     None),
    ("panel_filters_quarter", "/dashboard/?period=this_quarter&source=webinar", "dashboard-panels"),
    ("panel_filters_rep", "/dashboard/?period=last_week&rep=6", "dashboard-panels"),
    ("panel_breakdown_persona", "/dashboard/?period=this_month&by=persona", "breakdown"),
    ("panel_breakdown_campaign_filtered", "/dashboard/?period=last_month&source=paid_search&by=campaign",
     "breakdown"),
    ("sla", "/dashboard/sla/", None),
    ("goals", "/dashboard/goals/", None),
    ("feedback", "/dashboard/feedback/", None),
    ("calibration", "/dashboard/calibration/", None),
    ("meeting", "/meetings/week/{this_monday}/", None),
    ("monthly_report", "/reports/monthly/{last_month}/", None),
]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _urls(last_month: str, this_monday: str) -> list[tuple[str, str, str | None]]:
    return [(name, path.format(last_month=last_month, this_monday=this_monday), target) for name, path, target in URLS]


def _worker(number: int, seconds: float, urls: list, user_id: int, cache_seconds: int, barrier, results) -> None:
    """One user: a signed-in client requesting the URLs in turn (from its own offset) for `seconds`, after a
    warm-up pass and once every user is warm (a barrier), so the measured span is all users at once."""
    from django.conf import settings
    from django.db import connections
    from django.test import Client

    from smarketing.models import User

    settings.DASHBOARD_CACHE_SECONDS = cache_seconds
    connections.close_all()
    client = Client()
    client.force_login(User.objects.get(pk=user_id))
    for _name, path, target in urls:  # warm-up: templates compiled, database connection open
        client.get(path, **_headers(target))
    barrier.wait()
    samples = []
    deadline = time.time() + seconds
    index = number
    while time.time() < deadline:
        name, path, target = urls[index % len(urls)]
        started = time.perf_counter()
        response = client.get(path, **_headers(target))
        samples.append((name, (time.perf_counter() - started) * 1000, response.status_code))
        index += 1
    results.put(samples)


def _load(users: int, seconds: float, urls: list, user_id: int, cache_seconds: int) -> list:
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(users), context.Queue()
    workers = [context.Process(target=_worker, args=(n, seconds, urls, user_id, cache_seconds, barrier, results))
               for n in range(users)]
    for worker in workers:
        worker.start()
    samples = [sample for _ in workers for sample in results.get()]
    for worker in workers:
        worker.join()
    return samples


def _summary(samples: list, urls: list) -> tuple[dict, list[float]]:
    latencies = [ms for _, ms, _ in samples]
    per_url = {name: {"p50_ms": round(_percentile([ms for n, ms, _ in samples if n == name], 0.5), 1),
                      "p95_ms": round(_percentile([ms for n, ms, _ in samples if n == name], 0.95), 1),
                      "requests": sum(1 for n, _, _ in samples if n == name)}
               for name, _, _ in urls}
    return per_url, latencies


def _headers(target: str | None) -> dict:
    return {"headers": {"HX-Request": "true", "HX-Target": target}} if target else {}


def _lcp(port: int, path: str) -> float | None:
    """The largest contentful paint of `path`, signed in as the demo manager, in headless Chromium (ms)."""
    import os
    import subprocess
    import sys

    from playwright.sync_api import sync_playwright

    server = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],  # noqa: S603
                              env={**os.environ, "DJANGO_DEBUG": "1"}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        time.sleep(4)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=["--no-sandbox", "--disable-gpu",
                                                       "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/accounts/login/")
            page.fill("input[name=username]", MANAGER_EMAIL)
            page.fill("input[name=password]", "smarketing-demo")
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            paints = []
            for _ in range(3):
                page.goto(f"http://127.0.0.1:{port}{path}")
                page.wait_for_load_state("networkidle")
                paints.append(page.evaluate("""() => new Promise(resolve => {
                    new PerformanceObserver(list => { const e = list.getEntries(); resolve(e[e.length - 1].startTime); })
                      .observe({type: 'largest-contentful-paint', buffered: true});
                    setTimeout(() => resolve(null), 3000);
                })"""))
            browser.close()
        values = [value for value in paints if value is not None]
        return statistics.median(values) if values else None
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--lcp", action="store_true", help="Also measure the largest paint in Chromium.")
    parser.add_argument("--port", type=int, default=8077)
    args = parser.parse_args()
    setup_django()

    from datetime import timedelta

    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from dashboards.models import RollupDay
    from dashboards.periods import Span, add_months, local_today, org_zone
    from dashboards.selectors import Filters, funnel_flow
    from dashboards.services import calibration_snapshot_compute, funnel_rollup_range
    from leads.models import Activity, Lead, StageChange
    from scoring.demo import agreement_seed
    from scoring.models import LeadScore
    from scoring.services import rescore_all
    from smarketing.models import User
    from smarketing.roles import Role

    if Lead.objects.count() < args.leads:
        print(f"seeding {args.leads:,} leads and {args.activities:,} activities …", flush=True)
        call_command("seed_demo", reset=True, leads=args.leads, activities=args.activities, seed=args.seed)
    leads, activities = Lead.objects.count(), Activity.objects.count()
    print(f"{leads:,} leads, {activities:,} activities on {connection.vendor}", flush=True)
    manager = User.objects.filter(email=MANAGER_EMAIL).first() or User.objects.filter(
        role=Role.MARKETING_MANAGER).first()
    sales_manager = User.objects.filter(role=Role.SALES_MANAGER).first()
    if LeadScore.objects.count() < leads * 0.9:
        agreement_seed(marketing_manager=manager, sales_manager=sales_manager)
        started = time.perf_counter()
        rescore_all(reason="bench.dashboard")
        print(f"scored every lead in {time.perf_counter() - started:.1f} s (personas are a dimension)", flush=True)

    zone = org_zone()
    today = local_today(zone)
    first_change = StageChange.objects.order_by("changed_at").values_list("changed_at", flat=True).first()
    first_day = first_change.astimezone(zone).date()
    days = (today - first_day).days
    started = time.perf_counter()
    if RollupDay.objects.filter(day__gte=first_day, day__lt=today).count() < days:
        funnel_rollup_range(first=first_day, last=today - timedelta(days=1), zone=zone,
                            progress=lambda day, moves: print(f"  rolled up {day}: {moves:,} moves", flush=True))
    rollup_seconds = time.perf_counter() - started
    print(f"rollups: {days} days in {rollup_seconds:.1f} s", flush=True)
    from dashboards.selectors import calibration_is_stale, calibration_latest
    from scoring.services import scoring_version_active

    version = scoring_version_active()
    calibration_seconds = None
    if any(calibration_is_stale(calibration_latest(outcome=outcome), version_number=version.number)
           for outcome in ("acceptance", "win")):
        started = time.perf_counter()
        for outcome in ("acceptance", "win"):
            calibration_snapshot_compute(outcome=outcome)
        calibration_seconds = time.perf_counter() - started
        print(f"calibration: {calibration_seconds:.1f} s", flush=True)

    # The last 30 days' funnel: live from the stage history, then from the rollups.
    span = Span(today - timedelta(days=30), today - timedelta(days=1))
    saved = RollupDay.objects.filter(day__gte=span.first, day__lte=span.last)
    stored = list(saved.values_list("day", flat=True))
    started = time.perf_counter()
    from dashboards.metrics import moves_between
    from dashboards.periods import day_bounds

    moves_between(*day_bounds(span.first, span.last, zone))
    baseline_ms = (time.perf_counter() - started) * 1000
    cache.clear()
    started = time.perf_counter()
    funnel_flow(span=span, filters=Filters(), velocity=True, zone=zone, today=today)
    rollup_ms = (time.perf_counter() - started) * 1000
    print(f"30-day funnel: live {baseline_ms:.0f} ms, from rollups {rollup_ms:.1f} ms ({len(stored)} days stored)",
          flush=True)

    urls = _urls(f"{add_months(today.replace(day=1), -1):%Y-%m}", (today - timedelta(days=today.weekday())).isoformat())
    client = Client()
    client.force_login(manager)
    queries: dict[str, int] = {}
    for name, path, target in urls:
        client.get(path, **_headers(target))
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, **_headers(target))
        assert response.status_code == 200, (name, response.status_code)
        queries[name] = len(captured)
    print(f"queries per request: {queries}", flush=True)

    print(f"load: {args.users} users for {args.seconds:.0f} s, each view kept a minute (as configured) …", flush=True)
    samples = _load(args.users, args.seconds, urls, manager.pk, cache_seconds=60)
    per_url, latencies = _summary(samples, urls)
    errors = [sample for sample in samples if sample[2] != 200]
    for name, figures in per_url.items():
        print(f"  {name:36s} p50 {figures['p50_ms']:7.1f} ms  p95 {figures['p95_ms']:7.1f} ms  "
              f"({figures['requests']} requests, {queries[name]} queries)", flush=True)
    print(f"load without the minute of caching: every request computed from the rollups, "
          f"{args.users} users for {args.seconds:.0f} s …", flush=True)
    cold_samples = _load(args.users, args.seconds, urls, manager.pk, cache_seconds=0)
    cold_per_url, cold_latencies = _summary(cold_samples, urls)
    for name, figures in cold_per_url.items():
        print(f"  {name:36s} p50 {figures['p50_ms']:7.1f} ms  p95 {figures['p95_ms']:7.1f} ms  "
              f"({figures['requests']} requests)", flush=True)
    lcp_ms = _lcp(args.port, "/dashboard/") if args.lcp else None
    emit("dashboard", leads=leads, activities=activities, users=args.users, requests=len(samples),
         errors=len(errors), p50_ms=round(_percentile(latencies, 0.5), 1), p95_ms=round(_percentile(latencies, 0.95), 1),
         worst_url_p95_ms=max(figures["p95_ms"] for figures in per_url.values()), queries=max(queries.values()),
         uncached_p50_ms=round(_percentile(cold_latencies, 0.5), 1),
         uncached_p95_ms=round(_percentile(cold_latencies, 0.95), 1),
         baseline="30-day funnel computed live from the stage history", baseline_ms=round(baseline_ms, 1),
         rollup_ms=round(rollup_ms, 2), ratio=round(baseline_ms / rollup_ms, 1) if rollup_ms else None,
         rollup_seconds=round(rollup_seconds, 1), calibration_seconds=round(calibration_seconds, 1) if calibration_seconds else None,
         lcp_ms=round(lcp_ms) if lcp_ms is not None else None, per_url=per_url, uncached_per_url=cold_per_url)

if __name__ == "__main__":
    main()
