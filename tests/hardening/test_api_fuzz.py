"""Every API operation, fuzzed from its own OpenAPI schema (schemathesis): no 5xx, and every answer matches
the schema (status code, content type, body, headers).

The requests act through a write token of a sales manager, the role that may do the most through the API
(create and edit any lead, hand off, work and reassign handoffs), so the fuzzer reaches the deepest code.
Path ids are mostly mapped onto rows that exist, so the operations run on real leads and handoffs instead
of answering 404 to every random integer.
"""

import json
from datetime import timedelta

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from leads.api import ActivityItemSerializer, LeadBulkItemSerializer
from leads.models import Stage
from smarketing.api_auth import ApiTokenRateThrottle
from smarketing.converters import ROW_ID_MAX
from smarketing.services import api_token_create
from tests.factories import HandoffFactory, LeadFactory
from tests.hardening.conftest import FUZZ_FULL, fuzz_counts

# Generated cases per operation, valid and invalid data mixed; 18 operations. The full run adds
# schemathesis' coverage phase (boundary values of every field: ~1,200 cases) and makes well over 5,000 cases;
# CI makes 180 (10 per operation) in about 20 s.
EXAMPLES = 250 if FUZZ_FULL else 10


def _openapi() -> dict:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


schema = schemathesis.openapi.from_dict(_openapi())
# CI draws the same cases on every run (a red build is a real finding, never a roll of the dice); the full run
# draws new ones each time.
schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
                                max_examples=EXAMPLES, deterministic=not FUZZ_FULL,
                                # The write token is sent with every case; a generated Authorization header
                                # would be replaced by it, so a "negative" header would not be what is sent.
                                with_security_parameters=False)
schema.config.phases.coverage.enabled = FUZZ_FULL

# The bulk endpoints answer 200 with a result per item, so one bad item is reported as that item's `error`
# (valid items are kept): for them, an item the schema rejects must come back as an error, checked against
# the serializer the schema documents the items with.
BULK_ITEMS = {
    ("POST", "/api/v1/leads/bulk/"): ("leads", LeadBulkItemSerializer),
    ("POST", "/api/v1/activities/bulk/"): ("activities", ActivityItemSerializer),
}


def bulk_items_answered(ctx, response, case) -> bool | None:
    """Every item of a bulk request has its result, in order, and an item outside the schema is an error."""
    bulk = BULK_ITEMS.get((case.method.upper(), case.path))
    if bulk is None or response.status_code != 200:
        return None
    name, item_serializer = bulk
    items = case.body[name]
    results = response.json()["results"]
    assert [result["index"] for result in results] == list(range(len(items))), "one result per item, in order"
    for item, result in zip(items, results, strict=True):
        if not item_serializer(data=item).is_valid():
            assert result["status"] == "error", f"an item outside the schema was answered {result['status']}: {item!r}"
    return True


def request_outside_schema_rejected(ctx, response, case) -> bool | None:
    """negative_data_rejection, but a bulk request answered 200 reports its invalid items one by one instead
    (bulk_items_answered checks that they are reported)."""
    if (case.method.upper(), case.path) in BULK_ITEMS and response.status_code == 200:
        return None
    return negative_data_rejection(ctx, response, case)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, request_outside_schema_rejected, bulk_items_answered]


@pytest.fixture
def app(monkeypatch):
    """Django's WSGI application, as the fuzzer's transport calls it.

    Django closes "old" connections when a request starts and finishes; inside the test's transaction that would close
    the connection under it, so, as Django's own test client does, that handler is off while we call.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    # The per-token throttle (600/min) would answer 429 to most of a fuzz run; it has its own test.
    monkeypatch.setattr(ApiTokenRateThrottle, "rate", "1000000/min", raising=False)
    cache.clear()
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(db, admin, sales_manager, sales_rep, marketer):
    """A write token and rows for the path ids to land on: leads in several stages, open handoffs."""
    key = api_token_create(actor=admin, name="Fuzzer", user=sales_manager, scope="write")[1]
    leads = [LeadFactory(stage=stage) for stage in (Stage.NEW, Stage.MQL, Stage.MQL, Stage.SAL, Stage.SQL)]
    handoffs = [HandoffFactory(lead=LeadFactory(stage=Stage.MQL), rep=sales_rep, handed_off_by=marketer)
                for _ in range(3)]
    handoffs.append(HandoffFactory(lead=LeadFactory(stage=Stage.SAL), rep=sales_rep, handed_off_by=marketer,
                                   status="accepted", accepted_at=timezone.now() - timedelta(hours=1)))
    return {"key": key, "lead_id": [lead.pk for lead in leads], "handoff_id": [h.pk for h in handoffs]}


def _onto_existing_rows(case, world: dict) -> None:
    # Three ids in four go to a row that exists; the fourth keeps its random value (404 is worth testing too).
    # An id outside the schema's range is a negative case and is sent as generated.
    for name in ("lead_id", "handoff_id"):
        value = (case.path_parameters or {}).get(name)
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= ROW_ID_MAX and value % 4:
            case.path_parameters[name] = world[name][value % len(world[name])]


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), print_blob=True, derandomize=not FUZZ_FULL,
          database=None)
def test_every_operation_answers_within_its_schema(case, app, world):
    _onto_existing_rows(case, world)
    fuzz_counts["api_cases"] += 1
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {world['key']}"}, checks=CHECKS)
