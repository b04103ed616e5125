"""Signing in with an e-mail, signing out, changing a password; and what stays public."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest
from django.urls import reverse

from tests.factories import PASSWORD


@pytest.mark.django_db
def test_the_login_page_is_public(client):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'name="password"' in html
    assert "csrfmiddlewaretoken" in html


@pytest.mark.django_db
def test_health_is_public_and_checks_the_database(client):
    response = client.get(reverse("health"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_a_user_signs_in_with_email_and_password_and_lands_home(client, sales_rep):
    response = client.post(reverse("login"), {"username": "rep@smarketing.test", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session[SESSION_KEY] == str(sales_rep.pk)
    assert client.get(reverse("home")).status_code == 200


@pytest.mark.django_db
def test_signing_in_goes_back_to_the_page_asked_for(client, sales_rep):
    response = client.post(reverse("login"), {"username": "rep@smarketing.test", "password": PASSWORD,
                                              "next": "/leads/?stage=mql"})

    assert response["Location"] == "/leads/?stage=mql"


@pytest.mark.django_db
def test_signing_in_never_redirects_off_site(client, sales_rep):
    response = client.post(reverse("login"), {"username": "rep@smarketing.test", "password": PASSWORD,
                                              "next": "https://evil.example/phish"})

    assert response["Location"] == reverse("home")


@pytest.mark.django_db
def test_a_user_signs_in_whatever_the_case_of_their_email(client, sales_rep):
    response = client.post(reverse("login"), {"username": "Rep@Smarketing.test", "password": PASSWORD})

    assert response.status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(("username", "password"), [("rep@smarketing.test", "wrong"),
                                                    ("nobody@smarketing.test", PASSWORD)])
def test_a_wrong_email_or_password_is_refused_with_a_message(username, password, client, sales_rep):
    response = client.post(reverse("login"), {"username": username, "password": password})

    assert response.status_code == 200
    assert SESSION_KEY not in client.session
    assert "Please enter a correct" in response.content.decode()


@pytest.mark.django_db
def test_an_inactive_user_cannot_sign_in(client, sales_rep):
    sales_rep.is_active = False
    sales_rep.save()

    response = client.post(reverse("login"), {"username": "rep@smarketing.test", "password": PASSWORD})

    assert response.status_code == 200
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_a_signed_in_user_opening_the_login_page_goes_home(client_for, marketer):
    response = client_for(marketer).get(reverse("login"))

    assert response.status_code == 302
    assert response["Location"] == reverse("home")


@pytest.mark.django_db
def test_signing_out_takes_a_post_and_ends_the_session(client_for, marketer):
    client = client_for(marketer)

    assert client.get(reverse("logout")).status_code == 405  # a link or a prefetch must not sign anyone out
    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert SESSION_KEY not in client.session
    assert client.get(reverse("home")).status_code == 302


@pytest.mark.django_db
def test_every_page_has_a_sign_out_form(client_for, marketer):
    html = client_for(marketer).get(reverse("home")).content.decode()

    assert f'<form method="post" action="{reverse("logout")}">' in html


@pytest.mark.django_db
def test_the_password_pages_need_a_signed_in_user(client):
    for name in ("password_change", "password_change_done"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_a_user_changes_their_password(client, marketer):
    # django-axes throttles every sign-in by its request, so the test client's login passes one.
    client.login(request=HttpRequest(), username="marketer@smarketing.test", password=PASSWORD)
    assert client.get(reverse("password_change")).status_code == 200

    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "an0ther-Str0ng!pw", "new_password2": "an0ther-Str0ng!pw",
    }, follow=True)

    assert response.redirect_chain == [(reverse("password_change_done"), 302)]
    assert "Password changed" in response.content.decode()
    marketer.refresh_from_db()
    assert marketer.check_password("an0ther-Str0ng!pw")
    assert SESSION_KEY in client.session  # still signed in after the change


@pytest.mark.django_db
def test_a_wrong_old_password_is_an_error_on_its_field(client_for, marketer):
    response = client_for(marketer).post(reverse("password_change"), {
        "old_password": "wrong", "new_password1": "an0ther-Str0ng!pw", "new_password2": "an0ther-Str0ng!pw",
    })

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["old_password"]
    marketer.refresh_from_db()
    assert marketer.check_password(PASSWORD)


@pytest.mark.django_db
@pytest.mark.parametrize(("password", "message"), [
    ("Tr0ub4dor&3", "This password is too short. It must contain at least 12 characters."),  # 11 characters
    ("123456789012345", "This password is entirely numeric."),
    ("marketer-smarketing", "The password is too similar to the e-mail address."),
])
def test_django_s_password_validators_guard_a_new_password(password, message, client_for, marketer):
    response = client_for(marketer).post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": password, "new_password2": password,
    })

    assert response.status_code == 200
    assert message in response.context["form"].errors["new_password2"]
    marketer.refresh_from_db()
    assert marketer.check_password(PASSWORD)


@pytest.mark.django_db
def test_a_weak_new_password_is_refused(client_for, marketer):
    response = client_for(marketer).post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "password", "new_password2": "password",
    })

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["new_password2"]
