"""Bulk ingest through the REST API: lead upserts in 1,000-lead requests, then activities in 5,000s.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smk_ingest python -m bench.ingest --leads 100000 --activities 500000

Every request goes through the whole Django stack in-process (middleware, token authentication, DRF
parsing and validation, the capture service, JSON rendering) with a write token; only the socket is
left out. New e-mails each run, so the leads are created; `--update` sends them a second time with a
changed title (the update path). Ends with one JSON line: per_second and p50_ms/p95_ms are for leads,
activities_per_second and activity_p95_ms for activities.
"""

import argparse
import json
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench import emit, setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--activity-batch", type=int, default=5000)
    parser.add_argument("--update", action="store_true", help="send every lead a second time, changed")
    args = parser.parse_args()
    # The benchmark measures the ingest path, not the per-token throttle.
    os.environ.setdefault("API_TOKEN_THROTTLE_RATE", "1000000/s")
    setup_django()

    from django.db import connection
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
    activity_latencies = []
    started = time.perf_counter()
    types = ["page_view", "email_open", "click", "download", "form_submission", "webinar"]
    for first in range(0, args.activities, args.activity_batch):
        items = [{"lead_email": rng.choice(emails), "type": rng.choice(types),
                  "occurred_at": (now - timedelta(seconds=rng.randrange(1, 90 * 86400))).isoformat(),
                  "url": f"/content/{rng.randrange(500)}", "event_id": f"{run}-{n}"}
                 for n in range(first, min(first + args.activity_batch, args.activities))]
        body = json.dumps({"activities": items})
        t = time.perf_counter()
        response = client.post("/api/v1/activities/bulk/", body, content_type="application/json")
        activity_latencies.append(time.perf_counter() - t)
        assert response.status_code == 200, response.content[:500]
        assert response.json()["errors"] == 0, response.json()["results"][:3]
        print(f"  activities {first + len(items):,}/{args.activities:,}  last request "
              f"{activity_latencies[-1] * 1000:.0f} ms", flush=True)
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
        "activity_p95_ms": p(activity_latencies, 95) if activity_latencies else None,
    }
    if update_seconds is not None:
        figures.update(update_per_second=round(args.leads / update_seconds), update_p95_ms=p(update_latencies, 95))
    emit("ingest", **figures)


if __name__ == "__main__":
    main()
