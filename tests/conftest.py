"""The cast every permission test uses, and a client signed in as any of them."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from smarketing.roles import Function, Role
from tests.factories import TeamFactory, UserFactory


def pytest_configure(config):
    # WhiteNoise looks for STATIC_ROOT, which only exists after collectstatic; the tests do not need it.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 with production rounds costs ~100 ms a user; the tests make hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _rescore_on_the_test_connection(settings):
    # A test's data lives in its open transaction, which other connections cannot see; the batches on their
    # own connections are tested apart (test_rescoring_jobs, with transaction=True).
    settings.RESCORE_WORKERS = 1


@pytest.fixture(autouse=True)
def _broker_and_cache_not_paused():
    # A test that breaks the broker or Redis pauses them for this process (smarketing.tasks, .cache);
    # the next test starts with both reachable again.
    from smarketing import cache, tasks

    tasks._broker_paused_until = 0.0
    cache._paused_until.clear()
    yield
    tasks._broker_paused_until = 0.0
    cache._paused_until.clear()


@pytest.fixture
def sales_team(db):
    return TeamFactory(name="Sales EMEA", function=Function.SALES)


@pytest.fixture
def marketing_team(db):
    return TeamFactory(name="Demand generation", function=Function.MARKETING)


@pytest.fixture
def marketer(marketing_team):
    return UserFactory(email="marketer@smarketing.test", first_name="Mia", last_name="Marketer",
                       role=Role.MARKETER, team=marketing_team)


@pytest.fixture
def marketing_manager(marketing_team):
    return UserFactory(email="mm@smarketing.test", first_name="Max", last_name="Marketing",
                       role=Role.MARKETING_MANAGER, team=marketing_team)


@pytest.fixture
def sales_manager(sales_team):
    return UserFactory(email="sm@smarketing.test", first_name="Sam", last_name="Salesboss",
                       role=Role.SALES_MANAGER, team=sales_team)


@pytest.fixture
def sales_rep(sales_team, sales_manager):
    """The rep who owns the leads in most tests."""
    return UserFactory(email="rep@smarketing.test", first_name="Rita", last_name="Owner",
                       role=Role.SALES_REP, team=sales_team, manager=sales_manager)


@pytest.fixture
def other_rep(sales_team, sales_manager):
    """A teammate of sales_rep: may read sales_rep's leads, never change them."""
    return UserFactory(email="teammate@smarketing.test", first_name="Tom", last_name="Teammate",
                       role=Role.SALES_REP, team=sales_team, manager=sales_manager)


@pytest.fixture
def outside_rep(db):
    """A rep in another sales team, with another manager: an outsider to sales_rep's leads."""
    team = TeamFactory(name="Sales Americas", function=Function.SALES)
    return UserFactory(email="outsider@smarketing.test", first_name="Olga", last_name="Outsider",
                       role=Role.SALES_REP, team=team)


@pytest.fixture
def admin(db):
    return UserFactory(email="admin@smarketing.test", first_name="Ada", last_name="Admin",
                       role=Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def cast(marketer, sales_rep, other_rep, outside_rep, marketing_manager, sales_manager, admin):
    """Everyone, by the name the tests use for them."""
    return {
        "marketer": marketer,
        "sales_rep": sales_rep,
        "other_rep": other_rep,
        "outside_rep": outside_rep,
        "marketing_manager": marketing_manager,
        "sales_manager": sales_manager,
        "admin": admin,
    }


@pytest.fixture
def client_for(db):
    """client_for(user) is a test client signed in as that user (a fresh one per call)."""

    def signed_in(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return signed_in


@pytest.fixture
def count_queries():
    """count_queries(client, url, **kwargs) is how many SQL queries one GET of url ran, after a warm-up GET."""

    def run(client: Client, url: str, **kwargs) -> int:
        assert client.get(url, **kwargs).status_code == 200
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, **kwargs)
        assert response.status_code == 200
        return len(queries)

    return run
