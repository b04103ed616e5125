"""The Content-Security-Policy in a real browser: the main pages run under it without a single violation,
and what used to be inline (htmx, the confirm before a destructive action) still works.

Headless Chromium (Debian's `chromium`) through Playwright, against Django's live server.
"""

import pytest
from django.core.cache import cache

from leads.models import Stage
from smarketing.models import ApiToken
from smarketing.services import api_token_create
from tests.factories import PASSWORD, CompanyFactory, LeadFactory, UserFactory

# Chromium reports each refusal as a `securitypolicyviolation` event; this script is added by the browser
# itself (not by the page), so the policy does not stop it.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture(autouse=True)
def _no_cached_pages_left_behind():
    # The pages visited here cache what they computed (dashboard filter menus, for a minute); a later
    # test in this process must not read this test's organisation from the cache.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def admin_page(browser, live_server, transactional_db):
    from smarketing.roles import Role

    admin = UserFactory(email="ada@smarketing.test", first_name="Ada", last_name="Admin", role=Role.ADMIN,
                        is_staff=True, is_superuser=True)
    rep = UserFactory(email="rita@smarketing.test", first_name="Rita", last_name="Rep", role=Role.SALES_REP)
    company = CompanyFactory(name="Acme Robotics", domain="acme-robotics.test")
    lead = LeadFactory(email="ada@acme-robotics.test", first_name="Ada", last_name="Lovelace", company=company,
                       stage=Stage.MQL, owner=rep)
    api_token_create(actor=admin, name="Website forms", user=rep, scope="read")

    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.add_init_script(RECORD_VIOLATIONS)
    console_refusals = []
    page.on("console", lambda message: console_refusals.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page, live_server.url, lead, console_refusals


def test_the_main_pages_run_without_a_policy_violation(admin_page):
    page, base, lead, console_refusals = admin_page
    nav_paths = page.eval_on_selector_all("nav.mainnav a", "links => links.map(a => a.getAttribute('href'))")
    assert len(nav_paths) >= 10

    admin_pages = ["/admin/", f"/admin/smarketing/user/{lead.owner_id}/change/", "/admin/smarketing/auditentry/"]
    for path in [*nav_paths, f"/leads/{lead.pk}/", "/api/v1/docs/", *admin_pages]:
        page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.cspViolations") == [], path
    page.goto(f"{base}/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info")  # Swagger UI started from its script URL

    assert console_refusals == []


def test_htmx_and_the_confirm_before_revoking_work_under_the_policy(admin_page):
    page, base, _, console_refusals = admin_page

    # htmx: typing in the search swaps the table without a reload.
    page.goto(f"{base}/leads/")
    page.fill("form.filter-bar input[name=q]", "nobody-matches-this")
    page.wait_for_selector("#lead-table >> text=No lead matches these filters")
    page.fill("form.filter-bar input[name=q]", "lovelace")
    page.wait_for_selector("#lead-table >> text=Lovelace")

    # static/js/app.js: the revoke form asks first; declining keeps the token.
    page.goto(f"{base}/settings/tokens/")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.click("form[data-confirm] button[type=submit]")
    page.wait_for_timeout(300)
    assert questions == ["Revoke “Website forms”? Integrations using it stop working at once."]
    assert ApiToken.objects.get().revoked_at is None

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("form[data-confirm] button[type=submit]")
    page.wait_for_selector("text=revoked")
    assert ApiToken.objects.get().revoked_at is not None

    assert page.evaluate("window.cspViolations") == []
    assert console_refusals == []
