"""PostgreSQL restarted while the app runs: requests during the restart fail cleanly (a 503 page, the API's
error shape), and later requests succeed without restarting the app.

The app is a real gunicorn (production settings) whose DATABASE_URL goes through a TCP proxy of the test's
own (tests/live.py): taking the proxy down breaks the app's open connections and refuses new ones, as a
restart does, without touching the PostgreSQL server other people use. A second case terminates the app's
own backends with pg_terminate_backend, found by an application_name only this test uses.
"""

import uuid

import pytest
import requests
from django.db import InterfaceError, OperationalError, connection
from django.test import Client

from bench.live import LiveServer
from smarketing.services import api_token_create
from tests.factories import LeadFactory
from tests.live import TcpProxy, live_server_env, needs_postgresql, session_cookie, test_database_url

# --- The error pages, in process (any database) ------------------------------------------------------

@pytest.fixture
def failing_lead_list(monkeypatch):
    """lead_list's query raises what the test says, in the page and in the API alike."""

    def install(exc: Exception) -> None:
        def fail(*args, **kwargs):
            raise exc

        monkeypatch.setattr("leads.views.leads_for_list", fail)
        monkeypatch.setattr("leads.views._leads_with_scores", fail)
        monkeypatch.setattr("leads.api.leads_for_list", fail)

    return install


@pytest.mark.django_db
@pytest.mark.parametrize("exc", [OperationalError("server closed the connection unexpectedly"),
                                 InterfaceError("connection already closed")])
def test_an_unreachable_database_is_a_503_page_and_an_api_error(exc, failing_lead_list, marketer, admin):
    failing_lead_list(exc)
    browser = Client(raise_request_exception=False)
    browser.force_login(marketer)
    api = Client(raise_request_exception=False)
    api.defaults["HTTP_AUTHORIZATION"] = f"Bearer {api_token_create(actor=admin, name='CRM', user=marketer, scope='read')[1]}"

    page = browser.get("/leads/")
    listing = api.get("/api/v1/leads/")

    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert "Back in a moment" in page.content.decode() and "server closed" not in page.content.decode()
    assert listing.status_code == 503 and listing["Retry-After"] == "5"
    assert listing.json()["error"]["code"] == "service_unavailable" and listing.json()["error"]["status"] == 503


@pytest.mark.django_db
def test_any_other_failure_is_a_500_in_the_same_shapes(failing_lead_list, marketer, admin):
    failing_lead_list(RuntimeError("a bug"))
    browser = Client(raise_request_exception=False)
    browser.force_login(marketer)
    api = Client(raise_request_exception=False)
    api.defaults["HTTP_AUTHORIZATION"] = f"Bearer {api_token_create(actor=admin, name='CRM', user=marketer, scope='read')[1]}"

    page = browser.get("/leads/")
    listing = api.get("/api/v1/leads/")

    assert page.status_code == 500 and "Something went wrong" in page.content.decode() and "Retry-After" not in page
    assert listing.status_code == 500
    assert listing.json() == {"error": {"status": 500, "code": "server_error", "message": (
        "The server failed to handle this request; the error has been logged."), "fields": {}}}


# --- A real restart, against gunicorn (PostgreSQL) --------------------------------------------------------


@pytest.fixture
def clients(admin, marketer):
    LeadFactory(email="jane@acme.test", first_name="Jane")
    browser, api = requests.Session(), requests.Session()
    browser.cookies.update(session_cookie(marketer))
    api.headers["Authorization"] = f"Bearer {api_token_create(actor=admin, name='CRM', user=marketer, scope='read')[1]}"
    return browser, api


def _all_answer(url: str, browser: requests.Session, api: requests.Session) -> None:
    page = browser.get(url + "/leads/", timeout=10)
    assert page.status_code == 200 and "jane@acme.test" in page.text
    listing = api.get(url + "/api/v1/leads/", timeout=10)
    assert listing.status_code == 200 and listing.json()["results"][0]["email"] == "jane@acme.test"


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_restart_is_a_503_while_it_lasts_and_the_app_recovers_by_itself(clients, tmp_path):
    browser, api = clients
    db = connection.settings_dict
    proxy = TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    proxy.up()
    database_url = test_database_url().replace(f":{db['PORT'] or 5432}/", f":{proxy.port}/")
    try:
        with LiveServer(database_url=database_url, env=live_server_env(), workers=1,
                        log_path=tmp_path / "gunicorn.log") as server:
            _all_answer(server.url, browser, api)  # connections open, kept (CONN_MAX_AGE)

            proxy.down()  # PostgreSQL restarting: open connections cut, new ones refused
            for _ in range(3):
                page = browser.get(server.url + "/leads/", timeout=10)
                assert page.status_code == 503 and "Back in a moment" in page.text
                assert page.headers["Retry-After"] == "5"
                listing = api.get(server.url + "/api/v1/leads/", timeout=10)
                assert listing.status_code == 503
                assert listing.json() == {"error": {
                    "status": 503, "code": "service_unavailable",
                    "message": "The database is unavailable; try again in a few seconds.", "fields": {}}}
                health = requests.get(server.url + "/health/", timeout=10)  # a load balancer: no cookies
                assert health.status_code == 503
                assert health.json() == {"status": "error", "database": "unreachable"}  # no host or port

            proxy.up()  # back: the same processes reconnect on their next request
            _all_answer(server.url, browser, api)
    finally:
        proxy.down()


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_backends_terminated_under_the_app_are_replaced_on_the_next_request(clients, tmp_path):
    browser, api = clients
    name = f"smk-faults-{uuid.uuid4().hex[:12]}"
    with LiveServer(database_url=f"{test_database_url()}?application_name={name}", env=live_server_env(),
                    workers=1, log_path=tmp_path / "gunicorn.log") as server:
        _all_answer(server.url, browser, api)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                           [name])
            assert cursor.rowcount >= 1  # the app's own connections, and only those
        # Each request checks its kept connection first (CONN_HEALTH_CHECKS) and reconnects if it died.
        for _ in range(3):
            _all_answer(server.url, browser, api)
