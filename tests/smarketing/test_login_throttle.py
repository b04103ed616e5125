"""Sign-in throttling against password guessing (django-axes through smarketing.login_throttle).

At most 100 failed sign-ins an hour on one account, from any address (OWASP ASVS V2.2.1), and at most 20
from one address, on any accounts. A lock shows the sign-in page with why; it lifts an hour after it began.
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from smarketing.login_throttle import LOCKOUT_MESSAGE, client_address
from smarketing.services import api_token_create
from tests.factories import PASSWORD

LOGIN = "/accounts/login/"
REP = "rep@smarketing.test"


def sign_in(email: str, password: str, address: str) -> tuple[Client, object]:
    """A fresh browser at `address` posting the sign-in form once."""
    client = Client(REMOTE_ADDR=address)
    return client, client.post(LOGIN, {"username": email, "password": password})


def wrong_password_shown(response) -> bool:
    return response.status_code == 200 and "Please enter a correct" in response.content.decode()


def locked_out(response) -> bool:
    return response.status_code == 429 and LOCKOUT_MESSAGE in response.content.decode()


def test_the_configured_limits_are_100_per_account_and_20_per_address_an_hour(settings):
    assert settings.LOGIN_FAILURES_PER_ACCOUNT == 100
    assert settings.AXES_FAILURE_LIMIT == 100
    assert settings.LOGIN_FAILURES_PER_ADDRESS == 20
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 3600


@pytest.mark.django_db
def test_an_account_locks_at_its_100th_failure_from_any_address(sales_rep):
    # One guess from each of 99 addresses: none of them reaches the per-address limit.
    for n in range(99):
        _, response = sign_in(REP, f"guess-{n}", f"10.0.{n // 200}.{n % 200 + 1}")
        assert wrong_password_shown(response), n

    # The owner still gets in: 99 failures are under the limit.
    client, response = sign_in(REP, PASSWORD, "192.0.2.10")
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(sales_rep.pk)

    _, hundredth = sign_in(REP, "guess-99", "10.0.9.9")
    assert locked_out(hundredth)

    # Now even the right password, from an address never seen, is refused without being checked.
    client, response = sign_in(REP, PASSWORD, "192.0.2.11")
    assert locked_out(response)
    assert SESSION_KEY not in client.session
    # Other accounts are not affected.
    _, response = sign_in("teammate@smarketing.test", "wrong", "192.0.2.11")
    assert wrong_password_shown(response)


@pytest.mark.django_db
def test_an_address_locks_at_its_20th_failure_on_any_accounts(sales_rep, other_rep):
    for n in range(19):
        _, response = sign_in(f"guess{n}@smarketing.test", "wrong", "203.0.113.5")
        assert wrong_password_shown(response), n

    _, twentieth = sign_in("guess19@smarketing.test", "wrong", "203.0.113.5")
    assert locked_out(twentieth)

    # From that address nobody signs in, not even with a right password...
    client, response = sign_in(REP, PASSWORD, "203.0.113.5")
    assert locked_out(response)
    assert SESSION_KEY not in client.session
    # ...while the same account from another address does.
    client, response = sign_in(REP, PASSWORD, "198.51.100.20")
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(sales_rep.pk)


@pytest.mark.django_db
def test_a_lock_lifts_an_hour_after_it_began_and_attempts_while_locked_do_not_extend_it(sales_rep):
    start = timezone.now()
    with freeze_time(start) as clock:
        for n in range(20):
            sign_in(f"guess{n}@smarketing.test", "wrong", "203.0.113.5")
        clock.tick(timedelta(minutes=50))
        assert locked_out(sign_in(REP, "still-guessing", "203.0.113.5")[1])

        clock.tick(timedelta(minutes=11))  # 61 minutes after the last counted failure
        client, response = sign_in(REP, PASSWORD, "203.0.113.5")

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(sales_rep.pk)


@pytest.mark.django_db
def test_the_lock_page_says_why_and_when_to_retry(sales_rep):
    for n in range(19):
        sign_in(REP, f"guess-{n}", "203.0.113.5")

    _, response = sign_in("Rep@Smarketing.test", "guess-19", "203.0.113.5")

    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    html = response.content.decode()
    assert '<div class="form-errors" role="alert">' + LOCKOUT_MESSAGE in html
    assert "Please enter a correct" not in html  # the lock, not a wrong password, is the reason given
    assert 'name="username"' in html and 'value="rep@smarketing.test"' in html  # the page stays usable


@pytest.mark.django_db
def test_an_account_is_counted_once_whatever_the_case_and_spaces_of_its_email(sales_rep, settings):
    settings.AXES_FAILURE_LIMIT = 3  # the account limit, small here; the case folding is what is tested

    sign_in("Rep@Smarketing.test", "wrong", "10.0.0.1")
    sign_in(" rep@smarketing.TEST ", "wrong", "10.0.0.2")
    _, third = sign_in("REP@SMARKETING.TEST", "wrong", "10.0.0.3")

    assert locked_out(third)
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {REP}


@pytest.mark.django_db
def test_the_admin_sign_in_is_throttled_too(admin):
    for n in range(20):
        Client(REMOTE_ADDR="203.0.113.9").post("/admin/login/", {"username": "admin@smarketing.test",
                                                                 "password": f"guess-{n}"})

    client, response = sign_in("admin@smarketing.test", PASSWORD, "203.0.113.9")

    assert locked_out(response)


@pytest.mark.django_db
def test_api_tokens_still_work_from_a_locked_address(admin, marketer):
    key = api_token_create(actor=admin, name="Website forms", user=marketer, scope="read")[1]
    for n in range(20):
        sign_in(f"guess{n}@smarketing.test", "wrong", "203.0.113.5")
    assert locked_out(sign_in("marketer@smarketing.test", PASSWORD, "203.0.113.5")[1])

    response = Client(REMOTE_ADDR="203.0.113.5").get("/api/v1/leads/", HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 200


@pytest.mark.parametrize(("proxies", "forwarded_for", "expected"), [
    (0, "6.6.6.6", "192.0.2.1"),                             # no proxy: the header is the client's own claim
    (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),            # our proxy appended the real client last
    (2, "6.6.6.6, 198.51.100.7, 10.1.0.4", "198.51.100.7"),  # two proxies: second from the end
    (1, "", "192.0.2.1"),                                    # not through the proxy: the connection's address
    (1, "not-an-address", "192.0.2.1"),
])
def test_the_client_address_trusts_only_what_our_own_proxies_appended(proxies, forwarded_for, expected, settings):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().post(LOGIN, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=forwarded_for)

    assert client_address(request) == expected


@pytest.mark.django_db
def test_behind_a_proxy_each_client_is_counted_by_its_own_address(sales_rep, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = Client(REMOTE_ADDR="10.1.0.4")  # every request arrives from the proxy
    for n in range(20):
        proxy.post(LOGIN, {"username": f"guess{n}@smarketing.test", "password": "wrong"},
                   HTTP_X_FORWARDED_FOR=f"1.2.3.4, 203.0.113.{n % 2 + 5}")  # two clients, ten failures each

    response = proxy.post(LOGIN, {"username": REP, "password": PASSWORD}, HTTP_X_FORWARDED_FOR="198.51.100.20")

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
