"""A read-only link to a dashboard view: signed, expiring, revocable by a manager, aggregates only, no login."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from dashboards.models import SharedLink
from dashboards.services import shared_link_create, shared_link_revoke, shared_link_token
from tests.factories import LeadFactory, StageChangeFactory


@pytest.fixture
def campaign_leads(db):
    for first, campaign in (("Alice", "spring"), ("Bob", "spring"), ("Carla", "autumn")):
        lead = LeadFactory(first_name=first, last_name="Secretname", email=f"{first.lower()}@buyer.test",
                           campaign=campaign)
        StageChangeFactory(lead=lead, from_stage="", to_stage="new")
        StageChangeFactory(lead=lead, from_stage="new", to_stage="mql")


def test_a_manager_shares_the_view_and_anyone_opens_it_without_login(campaign_leads, marketing_manager, client_for,
                                                                     client):
    response = client_for(marketing_manager).post(reverse("dashboards:share_create"), {
        "query": "period=this_month&campaign=spring&by=source&page=7", "days": "7", "label": "Spring for the board"},
        headers={"HX-Request": "true"})
    link = SharedLink.objects.get()
    assert link.query == "period=this_month&campaign=spring&by=source"  # only the view's own parameters
    url = reverse("dashboards:shared", args=[shared_link_token(link)])
    assert url in response.content.decode()

    shared = client.get(url)

    html = shared.content.decode()
    assert shared.status_code == 200
    assert "Spring for the board" in html and "Conversion and velocity" in html
    assert "Secretname" not in html and "alice@buyer.test" not in html and "Alice" not in html
    assert "Share read-only link" not in html
    assert 'hx-get' not in html  # nothing in it calls the signed-in pages
    link.refresh_from_db()
    assert link.opened == 1
    assert "X-Frame-Options" not in shared.headers  # it may be embedded in another tool


def test_an_expired_or_revoked_link_no_longer_opens(campaign_leads, marketing_manager, sales_manager, client):
    link = shared_link_create(actor=marketing_manager, query={"period": "this_month"}, days=1)
    url = reverse("dashboards:shared", args=[shared_link_token(link)])
    assert client.get(url).status_code == 200

    SharedLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = client.get(url)
    assert expired.status_code == 410 and "has expired" in expired.content.decode()

    SharedLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() + timedelta(days=1))
    shared_link_revoke(link=link, actor=sales_manager)
    revoked = client.get(url)
    assert revoked.status_code == 410 and "was revoked" in revoked.content.decode()


def test_a_tampered_token_is_not_found(campaign_leads, marketing_manager, client):
    link = shared_link_create(actor=marketing_manager, query={}, days=7)
    token = shared_link_token(link)

    assert client.get(reverse("dashboards:shared", args=[token[:-2] + "xx"])).status_code == 404
    assert client.get(reverse("dashboards:shared", args=["1"])).status_code == 404


def test_the_links_page_shows_the_url_that_was_handed_out(campaign_leads, marketing_manager, client_for):
    with freeze_time("2026-03-02 09:00:00"):
        link = shared_link_create(actor=marketing_manager, query={}, days=7)
        handed_out = shared_link_token(link)
    with freeze_time("2026-03-03 15:30:00"):
        page = client_for(marketing_manager).get(reverse("dashboards:shared_links")).content.decode()

    assert reverse("dashboards:shared", args=[handed_out]) in page


@pytest.mark.parametrize("who", ["marketer", "sales_rep"])
def test_only_managers_share_and_revoke(who, cast, marketing_manager):
    with pytest.raises(PermissionDenied):
        shared_link_create(actor=cast[who], query={}, days=7)
    link = shared_link_create(actor=marketing_manager, query={}, days=7)
    with pytest.raises(PermissionDenied):
        shared_link_revoke(link=link, actor=cast[who])
