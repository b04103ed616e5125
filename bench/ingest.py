"""Bulk ingest through the REST API: lead upserts in 1,000-lead requests, then activities in 5,000s.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smk_ingest python -m bench.ingest --leads 100000 --activities 500000

Every request goes through the whole Django stack in-process (middleware, token authentication, DRF
parsing and validation, the capture service, JSON rendering) with a write token; only the socket is
left out. New e-mails each run, so the leads are created; `--update` sends them a second time with a
changed title (the update path). Ends with one JSON line: per_second and p50_ms/p95_ms are for leads,
activities_per_second and activity_p95_ms for activities. The activity requests are made up first (a
real sender does that on its own machine), then sent by `--senders` processes at once, each request
after its sender's previous answer, as an integration with that many workers would.
"""

import argparse
import json
import multiprocessing
import os
import random
import statistics
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta

from bench import emit, setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--activity-batch", type=int, default=5000)
    parser.add_argument("--update", action="store_true", help="send every lead a second time, changed")
    parser.add_argument("--senders", type=int, default=1, help="processes sending activity requests at once")
    args = parser.parse_args()
    # The benchmark measures the ingest path, not the per-token throttle.
    os.environ.setdefault("API_TOKEN_THROTTLE_RATE", "1000000/s")
    setup_django()

    from django.db import connection, connections
    from django.test import Client

    from smarketing.models import User
    from smarketing.roles import Role
    from smarketing.services import api_token_create

    admin = User.objects.filter(email="bench-admin@smarketing.test").first() or User.objects.create_user(
        "bench-admin@smarketing.test", role=Role.ADMIN)
    integration = User.objects.filter(email="bench-integration@smarketing.test").first() or \
        User.objects.create_user("bench-integration@smarketing.test", role=Role.MARKETER)
    key = api_token_create(actor=admin, name=f"bench {uuid.uuid4().hex[:6]}", user=integration, scope="write")[1]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    run = uuid.uuid4().hex[:8]
    rng = random.Random(run)
    domains = [f"co{n}-{run}.example" for n in range(max(args.leads // 20, 1))] + ["gmail.com", "outlook.com"]
    print(f"ingest on {connection.vendor}: {args.leads:,} leads in {args.batch:,}s, "
          f"{args.activities:,} activities in {args.activity_batch:,}s", flush=True)

    def lead(n: int, title: str) -> dict:
        return {"email": f"lead{n}.{run}@{rng.choice(domains)}", "first_name": f"First{n}", "last_name": "Bench",
                "job_title": title, "country": rng.choice(["DE", "US", "FR", "GB"]), "source": "api",
                "campaign": "bench", "company": f"Company {n % 997}", "properties": {"n": n}}

    emails: list[str] = []

    def send_leads(title: str) -> tuple[float, list[float]]:
        latencies = []
        started = time.perf_counter()
        for first in range(0, args.leads, args.batch):
            items = [lead(n, title) for n in range(first, min(first + args.batch, args.leads))]
            if not emails or len(emails) < args.leads:
                emails.extend(item["email"] for item in items)
            else:
                for item, email in zip(items, emails[first:first + args.batch], strict=True):
                    item["email"] = email
            body = json.dumps({"leads": items})
            t = time.perf_counter()
            response = client.post("/api/v1/leads/bulk/", body, content_type="application/json")
            latencies.append(time.perf_counter() - t)
            assert response.status_code == 200, response.content[:500]
            assert response.json()["errors"] == 0, response.json()
            if (first // args.batch) % 10 == 0:
                print(f"  leads {first + len(items):,}/{args.leads:,}  last request {latencies[-1] * 1000:.0f} ms",
                      flush=True)
        return time.perf_counter() - started, latencies

    lead_seconds, lead_latencies = send_leads("Head of Bench")
    update_seconds = None
    if args.update:
        update_seconds, update_latencies = send_leads("VP Bench")

    now = datetime.now(UTC)
    types = ["page_view", "email_open", "click", "download", "form_submission", "webinar"]
    # The request bodies are made before the clock starts: a real sender makes them on its own machine.
    bodies = [json.dumps({"activities": [
        {"lead_email": rng.choice(emails), "type": rng.choice(types),
         "occurred_at": (now - timedelta(seconds=rng.randrange(1, 90 * 86400))).isoformat(),
         "url": f"/content/{rng.randrange(500)}", "event_id": f"{run}-{n}"}
        for n in range(first, min(first + args.activity_batch, args.activities))]})
        for first in range(0, args.activities, args.activity_batch)]
    print(f"  {len(bodies)} activity requests from {args.senders} sender(s) at once", flush=True)
    connections.close_all()  # each sender process opens its own
    started = time.perf_counter()
    with ProcessPoolExecutor(args.senders, mp_context=multiprocessing.get_context("fork")) as pool:
        shares = pool.map(_post_activities, [key] * args.senders,
                          [bodies[sender::args.senders] for sender in range(args.senders)])
        activity_latencies = [latency for share in shares for latency in share]
    activity_seconds = time.perf_counter() - started

    def p(latencies: list[float], q: int) -> float:
        return round(statistics.quantiles(latencies, n=100)[q - 1] * 1000, 1) if len(latencies) > 1 else \
            round(latencies[0] * 1000, 1)

    figures = {
        "leads": args.leads, "activities": args.activities, "batch": args.batch,
        "activity_batch": args.activity_batch, "database": connection.vendor,
        "seconds": round(lead_seconds + activity_seconds, 2),
        "per_second": round(args.leads / lead_seconds), "p50_ms": p(lead_latencies, 50),
        "p95_ms": p(lead_latencies, 95),
        "activities_per_second": round(args.activities / activity_seconds) if args.activities else None,
        "senders": args.senders,
        "activity_p95_ms": p(activity_latencies, 95) if activity_latencies else None,
    }
    if update_seconds is not None:
        figures.update(update_per_second=round(args.leads / update_seconds), update_p95_ms=p(update_latencies, 95))
    emit("ingest", **figures)


def _post_activities(key: str, bodies: list[str]) -> list[float]:
    """One sender: posts its requests one after the other; returns each one's time."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    latencies = []
    for body in bodies:
        started = time.perf_counter()
        response = client.post("/api/v1/activities/bulk/", body, content_type="application/json")
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:500]
        assert response.json()["errors"] == 0, response.json()["results"][:3]
        print(f"  activities: {len(latencies)}/{len(bodies)} requests of sender {os.getpid()}, last "
              f"{latencies[-1] * 1000:.0f} ms", flush=True)
    return latencies


if __name__ == "__main__":
    main()
