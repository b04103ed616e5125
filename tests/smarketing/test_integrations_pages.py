"""The admin's integration pages: API tokens (shown once, revoked) and webhooks with their delivery log."""

import pytest

from smarketing.models import ApiToken, WebhookDelivery, WebhookEndpoint
from smarketing.services import webhook_emit
from tests.factories import WebhookEndpointFactory

PAGES = ["/settings/tokens/", "/settings/webhooks/"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("marketer", 403), ("sales_rep", 403),
                                              ("marketing_manager", 403), ("sales_manager", 403)])
def test_only_admins_open_the_integration_pages(url, role, status, cast, client_for):
    assert client_for(cast[role]).get(url).status_code == status


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["marketer", "sales_rep", "marketing_manager", "sales_manager"])
def test_no_one_but_an_admin_creates_a_token_or_a_webhook(role, cast, client_for, marketer):
    client = client_for(cast[role])

    client.post("/settings/tokens/", {"name": "x", "user": marketer.pk, "scope": "write"})
    client.post("/settings/webhooks/", {"url": "https://hooks.example.test/x", "events": ["lead.mql"]})

    assert not ApiToken.objects.exists()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_the_nav_shows_integrations_to_admins_only(admin, marketer, client_for):
    assert "/settings/tokens/" in client_for(admin).get("/leads/").content.decode()
    assert "/settings/tokens/" not in client_for(marketer).get("/leads/").content.decode()


@pytest.mark.django_db
def test_an_admin_creates_a_token_sees_its_key_once_and_revokes_it(admin, marketer, client_for):
    client = client_for(admin)

    created = client.post("/settings/tokens/", {"name": "Website forms", "user": marketer.pk, "scope": "write"})

    token = ApiToken.objects.get()
    page = created.content.decode()
    key = page.split('aria-label="New API key" data-select-on-focus')[0].rsplit('value="', 1)[1].split('"')[0]
    assert key.startswith("smk_") and token.prefix == key[:12]
    assert key not in client.get("/settings/tokens/").content.decode()  # never shown again

    client.post(f"/settings/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


@pytest.mark.django_db
def test_an_admin_adds_a_webhook_and_reads_its_log(admin, client_for, monkeypatch):
    monkeypatch.setattr("smarketing.services.enqueue", lambda *args, **kwargs: True)
    client = client_for(admin)

    response = client.post("/settings/webhooks/", {"url": "https://hooks.example.test/crm", "description": "CRM",
                                                   "events": ["lead.mql", "lead.won"], "is_active": "on"})

    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302
    assert (endpoint.events, len(endpoint.secret)) == (["lead.mql", "lead.won"], 64)
    webhook_emit(event="lead.won", payload={"lead": {"id": 1}})
    WebhookDelivery.objects.update(status="failed", attempts=8, last_error="The receiver answered HTTP 500.")
    detail = client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()
    assert endpoint.secret in detail and "HTTP 500" in detail and "Send again" in detail

    client.post(f"/settings/webhooks/deliveries/{WebhookDelivery.objects.get().pk}/retry/")
    assert WebhookDelivery.objects.get().status == "pending"


@pytest.mark.django_db
def test_a_webhook_needs_an_event(admin, client_for):
    response = client_for(admin).post("/settings/webhooks/", {"url": "https://hooks.example.test/x"})

    assert response.status_code == 200
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_an_admin_pauses_and_removes_a_webhook(admin, client_for):
    endpoint = WebhookEndpointFactory()
    client = client_for(admin)

    client.post(f"/settings/webhooks/{endpoint.pk}/", {"url": endpoint.url, "events": ["lead.mql"]})
    endpoint.refresh_from_db()
    assert endpoint.is_active is False

    client.post(f"/settings/webhooks/{endpoint.pk}/delete/")
    assert not WebhookEndpoint.objects.exists()
