"""The load test's short form: bench.load against a real gunicorn on the test database, with fewer users
for 15 s. Fails on any failed request or server error; the figures are the benchmark's business, not the
test's (the full form, 50 users for 2 minutes, is `python -m bench.load`: README, Performance)."""

import json
import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings

from tests.live import needs_postgresql, test_database_url


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_short_load_test_runs_without_an_error():
    # Its own process group: if it overruns, the gunicorn and locust it started are stopped with it.
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.load", "--users", "8", "--seconds", "15", "--spawn-rate", "4", "--reps", "4",
         "--leads-per-rep", "10", "--ingest-leads", "100", "--ingest-activities", "500"],
        env={**os.environ, "DATABASE_URL": test_database_url(), "REDIS_URL": settings.REDIS_URL},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    assert result.returncode == 0, result.stderr[-5000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["bench"] == "load" and figures["errors"] == 0
    # Every kind of work was exercised, each without an error.
    assert set(figures["pages"]) >= {"queue", "lead page", "attempt log", "dashboard", "api bulk leads",
                                     "api bulk activities"}
    assert all(page["requests"] > 0 and page["errors"] == 0 for page in figures["pages"].values())
