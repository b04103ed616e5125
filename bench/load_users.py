"""The locust users of bench.load: sales reps, managers and an integration, as they use the app.

Not run by itself: bench.load builds the organisation, writes its plan (sessions, lead ids, an API key)
to the JSON file named by LOAD_PLAN and starts locust on this file against its own gunicorn.

Each request is named after the page it stands for, so the report has one line per page. Any HTTP
status other than the expected one is an error, and so is an attempt the server did not log.
"""

import itertools
import json
import os
import random
import uuid
from datetime import UTC, datetime, timedelta

from locust import HttpUser, between, task

PLAN = json.loads(open(os.environ["LOAD_PLAN"]).read())  # noqa: SIM115 - read once at start
_reps = itertools.cycle(PLAN["reps"])
_managers = itertools.cycle(PLAN["managers"])
# Yesterday at noon (UTC): in the past in any time zone, as an attempt must be.
ATTEMPT_AT = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT12:00")


class SignedInUser(HttpUser):
    abstract = True
    person: dict

    def sign_in(self, person: dict) -> None:
        self.person = person
        self.client.cookies.set("sessionid", person["session"])
        # Any page sets the CSRF cookie (the layout puts the token in hx-headers); HTMX posts send it back.
        self.client.get("/", name="home")

    def csrf_headers(self) -> dict[str, str]:
        return {"X-CSRFToken": self.client.cookies.get("csrftoken", ""), "HX-Request": "true",
                "Referer": self.host + "/"}


class SalesRep(SignedInUser):
    """Works the queue: opens it, opens leads, logs attempts, glances at the dashboard."""

    weight = 6
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.sign_in(next(_reps))

    @task(4)
    def queue(self) -> None:
        self.client.get("/queue/", name="queue")

    @task(4)
    def lead_page(self) -> None:
        self.client.get(f"/leads/{random.choice(self.person['leads'])}/", name="lead page")

    @task(2)
    def attempt(self) -> None:
        lead_id = random.choice(self.person["leads"])
        with self.client.post(f"/leads/{lead_id}/attempts/", name="attempt log", catch_response=True,
                              headers=self.csrf_headers(), data={
                                  "channel": "call", "outcome": random.choice(["no_answer", "voicemail", "connected"]),
                                  "occurred_at": ATTEMPT_AT, "notes": "load test",
                                  "idempotency_key": uuid.uuid4().hex}) as response:
            if response.status_code == 200 and response.headers.get("HX-Trigger") != "handoff-changed":
                response.failure("the attempt was not logged")

    @task(1)
    def dashboard(self) -> None:
        self.client.get("/dashboard/", name="dashboard")


class Manager(SignedInUser):
    """Reads the shared dashboard, the lead list and every rep's queue."""

    weight = 2
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.sign_in(next(_managers))

    @task(3)
    def dashboard(self) -> None:
        self.client.get("/dashboard/", name="dashboard")

    @task(1)
    def lead_list(self) -> None:
        self.client.get("/leads/", name="lead list")

    @task(1)
    def queue(self) -> None:
        if self.person["queue"]:
            self.client.get("/queue/", name="queue")


class Integration(HttpUser):
    """A CRM or marketing-automation sync: bulk lead upserts and bulk activities through the API."""

    fixed_count = int(os.environ.get("LOAD_INGEST_USERS", "1"))
    wait_time = between(1, 2)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {PLAN['api_key']}"
        self.batch = 0

    @task
    def ingest(self) -> None:
        self.batch += 1
        prefix = f"ingest-{uuid.uuid4().hex[:8]}"
        emails = [f"{prefix}-{n}@{PLAN['domain']}" for n in range(PLAN["ingest_leads"])]
        with self.client.post("/api/v1/leads/bulk/", name="api bulk leads", catch_response=True,
                              json={"leads": [{"email": email, "first_name": "Load", "last_name": str(n),
                                               "source": "load test"} for n, email in enumerate(emails)]}) as response:
            if response.status_code == 200 and response.json()["errors"]:
                response.failure(f"{response.json()['errors']} leads refused")
        now = datetime.now(UTC)
        activities = [{"lead_email": random.choice(emails), "type": "page_view", "url": f"/pricing?v={n}",
                       "occurred_at": (now - timedelta(seconds=n)).isoformat()}
                      for n in range(PLAN["ingest_activities"])]
        with self.client.post("/api/v1/activities/bulk/", name="api bulk activities", catch_response=True,
                              json={"activities": activities}) as response:
            if response.status_code == 200 and response.json()["errors"]:
                response.failure(f"{response.json()['errors']} activities refused")
