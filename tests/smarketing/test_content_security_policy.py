"""The Content-Security-Policy: scripts only from our own static files, so injected markup cannot run.

Each main page is rendered and its header read; the templates and the rendered pages are searched for
what the policy would block (an inline <script>, an on*= handler, hx-on, a javascript: link).
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from leads.models import Stage
from tests.factories import CompanyFactory, LeadFactory

TEMPLATES = Path(settings.BASE_DIR) / "templates"
APP_CSS = Path(settings.BASE_DIR) / "static" / "css" / "app.css"

# What a policy with script-src 'self' refuses to run, as it would appear in HTML.
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*?\s(on[a-z]+|hx-on[:-][\w:-]*)\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def blocked_markup(html: str) -> list[str]:
    return [match.group(0) for pattern in (INLINE_SCRIPT, EVENT_HANDLER, JAVASCRIPT_URL)
            for match in pattern.finditer(html)]


@pytest.fixture
def main_pages(admin, sales_rep):
    """Every page of the navigation (an admin sees all of it) and the pages one opens from them."""
    company = CompanyFactory(name="Acme Robotics", domain="acme-robotics.test")
    lead = LeadFactory(email="ada@acme-robotics.test", company=company, stage=Stage.MQL, owner=sales_rep)
    client = Client()
    client.force_login(admin)
    nav_urls = [url for _, _, url in client.get(reverse("home")).context["nav_items"]]
    return client, [*nav_urls, reverse("leads:lead_detail", args=[lead.pk]),
                    reverse("leads:company_detail", args=[company.pk]), reverse("leads:lead_import"),
                    reverse("notifications"), reverse("password_change"), reverse("webhook_list"),
                    reverse("admin:smarketing_user_change", args=[admin.pk])]


def test_the_policy_allows_scripts_from_our_own_files_only():
    policy = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]

    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["style-src"]


@pytest.mark.django_db
def test_every_main_page_sends_the_policy_and_holds_nothing_it_would_block(main_pages):
    client, urls = main_pages
    assert len(urls) >= 18  # the navigation really was read

    for url in urls:
        response = client.get(url, follow=True)  # the meeting opens this week's, by a redirect
        assert response.status_code == 200, url
        policy = directives(response)
        assert policy["script-src"] == ["'self'"], url
        assert policy["default-src"] == ["'self'"], url
        assert blocked_markup(response.content.decode()) == [], url


@pytest.mark.django_db
def test_the_sign_in_page_sends_the_policy_too(client):
    response = client.get(reverse("login"))

    assert directives(response)["script-src"] == ["'self'"]
    assert blocked_markup(response.content.decode()) == []


@pytest.mark.django_db
def test_htmx_partials_hold_nothing_the_policy_would_block(main_pages):
    client, _ = main_pages

    response = client.get(reverse("leads:lead_list"), headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert blocked_markup(response.content.decode()) == []


@pytest.mark.django_db
def test_the_api_docs_load_their_start_up_script_from_a_url(client):
    response = client.get("/api/v1/docs/")

    assert response.status_code == 200
    assert directives(response)["script-src"] == ["'self'"]
    assert blocked_markup(response.content.decode()) == []
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


def test_no_template_holds_an_inline_script_or_event_handler():
    offenders = {
        str(path.relative_to(TEMPLATES)): found
        for path in sorted(TEMPLATES.rglob("*.html"))
        if (found := blocked_markup(path.read_text()))
    }

    assert offenders == {}


@pytest.mark.parametrize("markup", [
    "<script>alert(1)</script>",
    '<script type="module">import "x"</script>',
    '<form method="post" onsubmit="return confirm(\'Sure?\')">',
    '<input readonly onfocus="this.select()">',
    '<button hx-on:click="alert(1)">',
    '<a href="javascript:alert(1)">',
])
def test_the_search_finds_what_the_policy_blocks(markup):
    assert blocked_markup(markup) != []


@pytest.mark.parametrize("markup", [
    '<script src="/static/js/app.js" defer></script>',
    "<p>Pick one=two from the list, or none=zero</p>",
    '<form method="post" data-confirm="Remove this goal?">',
])
def test_the_search_leaves_what_the_policy_allows(markup):
    assert blocked_markup(markup) == []


@pytest.mark.django_db
def test_htmx_needs_neither_eval_nor_injected_styles(main_pages):
    client, _ = main_pages
    html = client.get(reverse("home")).content.decode()

    config = re.search(r"""<meta name="htmx-config" content='([^']*)'>""", html)
    assert config is not None
    assert config.group(1) == '{"allowEval": false, "includeIndicatorStyles": false}'
    # htmx would otherwise inject these rules as an inline <style>, which style-src 'self' refuses.
    css = APP_CSS.read_text()
    assert ".htmx-indicator { opacity: 0;" in css
    assert ".htmx-request .htmx-indicator, .htmx-request.htmx-indicator { opacity: 1; }" in css
