"""API tokens: shown once and stored hashed, scoped read/write, revocable, throttled per token, role rules kept."""

import hashlib

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.test import Client

from leads.models import Lead
from smarketing.api_auth import ApiTokenRateThrottle
from smarketing.models import ApiToken, AuditEntry
from smarketing.services import api_token_create, api_token_revoke
from tests.factories import LeadFactory

COLLECTION = "/api/v1/leads/"


def bearer(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def write_key(admin, marketer):
    return api_token_create(actor=admin, name="Website forms", user=marketer, scope="write")[1]


@pytest.fixture
def read_key(admin, marketer):
    return api_token_create(actor=admin, name="BI export", user=marketer, scope="read")[1]


@pytest.mark.django_db
def test_only_the_hash_of_a_key_is_stored(admin, marketer):
    token, key = api_token_create(actor=admin, name="Website forms", user=marketer, scope="write")

    assert key.startswith("smk_") and len(key) > 40
    stored = ApiToken.objects.get()
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(ApiToken.objects.values().get())
    assert stored.prefix == key[:12]
    assert AuditEntry.objects.filter(action="api_token.create").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["marketer", "sales_rep", "marketing_manager", "sales_manager"])
def test_only_an_admin_creates_or_revokes_tokens(role, cast, marketer, admin):
    with pytest.raises(PermissionDenied):
        api_token_create(actor=cast[role], name="x", user=marketer, scope="read")
    token, _ = api_token_create(actor=admin, name="x", user=marketer, scope="read")
    with pytest.raises(PermissionDenied):
        api_token_revoke(actor=cast[role], token=token)


@pytest.mark.django_db
def test_a_write_token_captures_and_records_when_it_was_used(write_key, marketer):
    response = Client().post(COLLECTION, {"email": "jane@acme.com"}, content_type="application/json",
                             **bearer(write_key))

    assert response.status_code == 201, response.content
    assert Lead.objects.get().email == "jane@acme.com"
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.django_db
def test_a_read_token_reads_but_may_not_write(read_key):
    LeadFactory(email="jane@acme.com")
    client = Client()

    assert client.get(COLLECTION, **bearer(read_key)).status_code == 200
    response = client.post(COLLECTION, {"email": "john@acme.com"}, content_type="application/json",
                           **bearer(read_key))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert "read" in response.json()["error"]["message"]
    assert not Lead.objects.filter(email="john@acme.com").exists()


@pytest.mark.django_db
def test_a_revoked_token_is_refused_at_once(admin, write_key):
    client = Client()
    assert client.get(COLLECTION, **bearer(write_key)).status_code == 200

    api_token_revoke(actor=admin, token=ApiToken.objects.get())
    response = client.get(COLLECTION, **bearer(write_key))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Bearer smk_not-a-real-key", "Bearer", "Bearer a b"])
def test_an_unknown_or_malformed_token_is_a_401_in_the_error_shape(header):
    response = Client().get(COLLECTION, HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert set(response.json()["error"]) == {"status", "code", "message", "fields"}


@pytest.mark.django_db
def test_a_token_of_a_deactivated_user_is_refused(write_key, marketer):
    marketer.is_active = False
    marketer.save()

    assert Client().get(COLLECTION, **bearer(write_key)).status_code == 401


@pytest.mark.django_db
def test_a_token_has_its_user_s_role(admin, sales_rep, other_rep):
    lead = LeadFactory(owner=other_rep, stage="mql")
    key = api_token_create(actor=admin, name="Rep's tool", user=sales_rep, scope="write")[1]

    response = Client().post(f"/api/v1/leads/{lead.pk}/stage/", {"to": "sal"}, content_type="application/json",
                             **bearer(key))

    assert response.status_code == 403  # a rep changes only the leads handed to them, by token as in the UI


@pytest.mark.django_db
def test_requests_are_throttled_per_token(monkeypatch, admin, marketer):
    # The rate comes from API_TOKEN_THROTTLE_RATE (600/min by default); three a minute keeps the test short.
    monkeypatch.setattr(ApiTokenRateThrottle, "rate", "3/min", raising=False)
    first = api_token_create(actor=admin, name="one", user=marketer, scope="read")[1]
    second = api_token_create(actor=admin, name="two", user=marketer, scope="read")[1]
    client = Client()

    codes = [client.get(COLLECTION, **bearer(first)).status_code for _ in range(4)]
    other = client.get(COLLECTION, **bearer(second)).status_code
    throttled = client.get(COLLECTION, **bearer(first))

    assert codes == [200, 200, 200, 429]
    assert other == 200  # the count is per token
    assert throttled.json()["error"]["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0


@pytest.mark.django_db
def test_the_browser_session_still_works_without_a_token(client_for, marketer):
    assert client_for(marketer).get(COLLECTION).status_code == 200
