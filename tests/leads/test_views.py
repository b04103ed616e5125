"""The lead and company pages through the test client: filters, partials, query counts and permissions."""

import re
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from leads.models import Lead, StageChange
from smarketing.roles import Role
from tests.factories import ActivityFactory, CompanyFactory, LeadFactory, StageChangeFactory, UserFactory

HTMX = {"HX-Request": "true"}


def emails(response) -> list[str]:
    return [lead.email for lead in response.context["page"].object_list]


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def options_of(html: str, select_name: str) -> list[str]:
    select = re.search(rf'<select name="{select_name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no <select name={select_name}> on the page"
    # The first option is the "Choose a stage…" prompt, not a move.
    return [value for value in re.findall(r'<option value="([^"]*)"', select.group(1)) if value]


@pytest.fixture
def owned_lead(sales_rep):
    """An MQL handed to sales_rep."""
    return LeadFactory(email="jane.doe@acme.com", first_name="Jane", last_name="Doe", stage="mql", owner=sales_rep,
                       company__name="Acme GmbH", company__domain="acme.com")


# --- Everyone must sign in ------------------------------------------------------------------------

PAGES = [
    ("leads:lead_list", False),
    ("leads:lead_create", False),
    ("leads:lead_detail", True),
    ("leads:lead_edit", True),
    ("leads:company_list", False),
    ("leads:company_detail", "company"),
]


def page_url(name, arg, lead) -> str:
    if arg is True:
        return reverse(name, args=[lead.pk])
    if arg == "company":
        return reverse(name, args=[lead.company_id])
    return reverse(name)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "arg"), PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(name, arg, client, owned_lead):
    url = page_url(name, arg, owned_lead)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.django_db
def test_anonymous_stage_change_is_sent_to_sign_in_and_changes_nothing(client, owned_lead):
    response = client.post(reverse("leads:lead_stage_change", args=[owned_lead.pk]), {"to": "sal"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    owned_lead.refresh_from_db()
    assert owned_lead.stage == "mql"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["marketer", "sales_rep", "other_rep", "outside_rep", "marketing_manager",
                                 "sales_manager", "admin"])
@pytest.mark.parametrize(("name", "arg"), [p for p in PAGES if p[0] != "leads:lead_edit"])
def test_every_role_reads_every_lead_and_company_page(name, arg, who, cast, client_for, owned_lead):
    response = client_for(cast[who]).get(page_url(name, arg, owned_lead))

    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["marketer", "sales_rep", "other_rep", "admin"])
def test_an_unknown_lead_or_company_is_not_found(who, cast, client_for):
    client = client_for(cast[who])

    assert client.get(reverse("leads:lead_detail", args=[999999])).status_code == 404
    assert client.get(reverse("leads:lead_edit", args=[999999])).status_code == 404
    assert client.get(reverse("leads:company_detail", args=[999999])).status_code == 404


# --- Editing: the owner, marketing and managers; never a teammate -----------------------------------

EDITORS = ["sales_rep", "marketer", "marketing_manager", "sales_manager", "admin"]


@pytest.mark.django_db
@pytest.mark.parametrize("who", EDITORS)
def test_the_owner_marketing_and_managers_edit_a_lead(who, cast, client_for, owned_lead):
    client = client_for(cast[who])
    url = reverse("leads:lead_edit", args=[owned_lead.pk])
    assert client.get(url).status_code == 200

    response = client.post(url, {"email": "jane.doe@acme.com", "first_name": "Jane", "last_name": "Doe-Miller",
                                 "company_name": "Acme GmbH", "country": "at", "job_title": "CTO",
                                 "owner": cast["sales_rep"].pk})

    assert response.status_code == 302
    assert response["Location"] == reverse("leads:lead_detail", args=[owned_lead.pk])
    owned_lead.refresh_from_db()
    assert (owned_lead.last_name, owned_lead.country, owned_lead.job_title) == ("Doe-Miller", "AT", "CTO")
    assert owned_lead.stage == "mql"  # the profile form never moves the stage


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["other_rep", "outside_rep"])
def test_another_rep_cannot_open_or_post_the_edit_form(who, cast, client_for, owned_lead):
    client = client_for(cast[who])
    url = reverse("leads:lead_edit", args=[owned_lead.pk])

    assert client.get(url).status_code == 403
    response = client.post(url, {"email": "jane.doe@acme.com", "first_name": "Hijacked", "owner": cast[who].pk})

    assert response.status_code == 403
    owned_lead.refresh_from_db()
    assert owned_lead.first_name == "Jane"


@pytest.mark.django_db
def test_a_rep_cannot_edit_an_unassigned_lead(sales_rep, client_for):
    lead = LeadFactory(owner=None)

    assert client_for(sales_rep).get(reverse("leads:lead_edit", args=[lead.pk])).status_code == 403


@pytest.mark.django_db
def test_a_rep_editing_their_lead_cannot_reassign_it(sales_rep, other_rep, client_for, owned_lead):
    client = client_for(sales_rep)
    url = reverse("leads:lead_edit", args=[owned_lead.pk])
    assert 'name="owner"' not in client.get(url).content.decode()

    client.post(url, {"email": "jane.doe@acme.com", "first_name": "Jane", "owner": other_rep.pk})

    owned_lead.refresh_from_db()
    assert owned_lead.owner == sales_rep


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "sees_edit"), [("sales_rep", True), ("other_rep", False), ("marketer", True),
                                                ("sales_manager", True), ("marketing_manager", True)])
def test_the_edit_link_shows_only_to_who_may_edit(who, sees_edit, cast, client_for, owned_lead):
    html = client_for(cast[who]).get(reverse("leads:lead_detail", args=[owned_lead.pk])).content.decode()

    assert (reverse("leads:lead_edit", args=[owned_lead.pk]) in html) is sees_edit


@pytest.mark.django_db
def test_editing_the_email_to_another_lead_s_is_an_error_on_the_email_field(marketer, client_for, owned_lead):
    LeadFactory(email="taken@acme.com")

    response = client_for(marketer).post(reverse("leads:lead_edit", args=[owned_lead.pk]),
                                         {"email": "TAKEN@acme.com", "first_name": "Jane"})

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["email"]
    assert "Another lead already has this e-mail address." in response.content.decode()
    owned_lead.refresh_from_db()
    assert owned_lead.email == "jane.doe@acme.com"


@pytest.mark.django_db
def test_editing_the_email_to_an_invalid_one_is_an_error_on_the_email_field(marketer, client_for, owned_lead):
    response = client_for(marketer).post(reverse("leads:lead_edit", args=[owned_lead.pk]),
                                         {"email": "jane at acme", "first_name": "Jane"})

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["email"]
    owned_lead.refresh_from_db()
    assert owned_lead.email == "jane.doe@acme.com"


# --- Moving a lead through its stages ---------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "stage", "targets"),
    [
        ("sales_rep", "mql", ["sal", "disqualified", "recycled"]),
        ("marketer", "mql", ["disqualified", "recycled"]),
        ("sales_rep", "sal", ["sql", "lost", "disqualified", "recycled"]),
        ("sales_manager", "opportunity", ["won", "lost"]),
        ("marketer", "new", ["mql", "disqualified"]),
        ("marketing_manager", "disqualified", ["new"]),
    ],
)
def test_the_stage_form_offers_only_the_moves_this_user_may_make(who, stage, targets, cast, client_for, sales_rep):
    lead = LeadFactory(stage=stage, owner=sales_rep)

    html = client_for(cast[who]).get(reverse("leads:lead_detail", args=[lead.pk])).content.decode()

    assert options_of(html, "to") == targets


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "stage"), [("other_rep", "mql"), ("marketer", "sal"), ("admin", "won"),
                                            ("sales_rep", "new")])
def test_no_stage_form_when_there_is_no_move_to_offer(who, stage, cast, client_for, sales_rep):
    lead = LeadFactory(stage=stage, owner=sales_rep)

    html = client_for(cast[who]).get(reverse("leads:lead_detail", args=[lead.pk])).content.decode()

    assert reverse("leads:lead_stage_change", args=[lead.pk]) not in html
    assert 'name="to"' not in html


@pytest.mark.django_db
def test_the_owner_moves_their_lead_and_the_history_shows_it(sales_rep, client_for, owned_lead):
    client = client_for(sales_rep)

    response = client.post(reverse("leads:lead_stage_change", args=[owned_lead.pk]),
                           {"to": "sal", "reason": "", "note": "Called, interested in a demo"}, follow=True)

    assert response.redirect_chain == [(reverse("leads:lead_detail", args=[owned_lead.pk]), 302)]
    assert messages_of(response) == ["Moved to SAL."]
    owned_lead.refresh_from_db()
    assert owned_lead.stage == "sal"
    change = StageChange.objects.get(lead=owned_lead)
    assert (change.from_stage, change.to_stage, change.changed_by) == ("mql", "sal", sales_rep)
    assert "Called, interested in a demo" in response.content.decode()


@pytest.mark.django_db
def test_marketing_recycles_an_mql_with_a_reason(marketer, client_for, owned_lead):
    client_for(marketer).post(reverse("leads:lead_stage_change", args=[owned_lead.pk]),
                              {"to": "recycled", "reason": "not ready to buy"})

    owned_lead.refresh_from_db()
    assert owned_lead.stage == "recycled"
    assert StageChange.objects.get(lead=owned_lead).reason == "not ready to buy"


@pytest.mark.django_db
def test_a_move_the_user_may_not_make_shows_an_error_and_changes_nothing(marketer, client_for, owned_lead):
    response = client_for(marketer).post(reverse("leads:lead_stage_change", args=[owned_lead.pk]),
                                         {"to": "sal"}, follow=True)

    assert response.status_code == 200
    assert messages_of(response) == ["Choose a stage this lead can move to."]
    owned_lead.refresh_from_db()
    assert owned_lead.stage == "mql"
    assert not StageChange.objects.exists()


@pytest.mark.django_db
def test_a_move_without_its_required_reason_shows_the_reason_and_changes_nothing(sales_rep, client_for, owned_lead):
    response = client_for(sales_rep).post(reverse("leads:lead_stage_change", args=[owned_lead.pk]),
                                          {"to": "disqualified", "reason": "  "}, follow=True)

    assert messages_of(response) == ["Give a reason for moving the lead to Disqualified."]
    owned_lead.refresh_from_db()
    assert owned_lead.stage == "mql"
    assert not StageChange.objects.exists()


@pytest.mark.django_db
def test_a_reason_that_is_too_long_is_named_in_the_error(sales_rep, client_for):
    lead = LeadFactory(stage="sal", owner=sales_rep)

    response = client_for(sales_rep).post(reverse("leads:lead_stage_change", args=[lead.pk]),
                                          {"to": "lost", "reason": "went with a competitor " * 12}, follow=True)

    lead.refresh_from_db()
    assert lead.stage == "sal"
    assert "Choose a stage this lead can move to." not in messages_of(response)
    assert any("200 characters" in message for message in messages_of(response))


@pytest.mark.django_db
def test_a_teammate_rep_posting_a_stage_change_is_forbidden(other_rep, client_for, owned_lead):
    response = client_for(other_rep).post(reverse("leads:lead_stage_change", args=[owned_lead.pk]),
                                          {"to": "sal"})

    assert response.status_code == 403


@pytest.mark.django_db
def test_a_teammate_rep_posting_a_stage_change_changes_nothing(other_rep, client_for, owned_lead):
    client_for(other_rep).post(reverse("leads:lead_stage_change", args=[owned_lead.pk]), {"to": "sal"})

    owned_lead.refresh_from_db()
    assert owned_lead.stage == "mql"
    assert not StageChange.objects.exists()


@pytest.mark.django_db
def test_a_stage_change_needs_the_csrf_token_that_htmx_sends_as_a_header(sales_rep, owned_lead):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sales_rep)
    url = reverse("leads:lead_stage_change", args=[owned_lead.pk])

    assert client.post(url, {"to": "sal"}).status_code == 403
    page = client.get(reverse("leads:lead_detail", args=[owned_lead.pk])).content.decode()
    token = re.search(r"hx-headers='\{\"x-csrftoken\": \"([^\"]+)\"\}'", page).group(1)
    response = client.post(url, {"to": "sal"}, headers={"X-CSRFToken": token})

    assert response.status_code == 302
    owned_lead.refresh_from_db()
    assert owned_lead.stage == "sal"


@pytest.mark.django_db
def test_the_stage_change_accepts_only_post(sales_rep, client_for, owned_lead):
    assert client_for(sales_rep).get(reverse("leads:lead_stage_change", args=[owned_lead.pk])).status_code == 405


# --- Creating a lead ----------------------------------------------------------------------------------

NEW_LEAD = {
    "email": "  Jane.Doe@Acme.com ", "first_name": "Jane", "last_name": "Doe", "company_name": "Acme GmbH",
    "job_title": "Head of IT", "seniority": "director", "country": "de", "phone": "+49 30 1234",
    "source": "trade-fair", "campaign": "cebit-2024", "utm_source": "linkedin",
}


@pytest.mark.django_db
def test_a_marketer_creates_a_lead_and_names_its_owner(marketer, sales_rep, client_for):
    response = client_for(marketer).post(reverse("leads:lead_create"), {**NEW_LEAD, "owner": sales_rep.pk},
                                         follow=True)

    lead = Lead.objects.get()
    assert response.redirect_chain == [(reverse("leads:lead_detail", args=[lead.pk]), 302)]
    assert messages_of(response) == ["Lead Jane Doe created."]
    assert lead.email == "jane.doe@acme.com"
    assert (lead.country, lead.seniority, lead.source, lead.utm_source) == ("DE", "director", "trade-fair", "linkedin")
    assert lead.company.name == "Acme GmbH"
    assert lead.company.domain == "acme.com"
    assert lead.owner == sales_rep
    assert lead.stage == "new"


@pytest.mark.django_db
def test_a_rep_creates_a_lead_they_own_without_an_owner_field(sales_rep, client_for):
    client = client_for(sales_rep)
    assert 'name="owner"' not in client.get(reverse("leads:lead_create")).content.decode()

    client.post(reverse("leads:lead_create"), NEW_LEAD)

    assert Lead.objects.get().owner == sales_rep


@pytest.mark.django_db
def test_creating_a_lead_that_exists_updates_it_and_says_so(marketer, client_for, owned_lead):
    response = client_for(marketer).post(reverse("leads:lead_create"),
                                         {"email": "JANE.DOE@acme.com", "job_title": "CTO"}, follow=True)

    assert Lead.objects.count() == 1
    assert response.redirect_chain == [(reverse("leads:lead_detail", args=[owned_lead.pk]), 302)]
    assert messages_of(response) == ["A lead with this e-mail already existed: it was updated, not duplicated."]
    owned_lead.refresh_from_db()
    assert (owned_lead.first_name, owned_lead.job_title, owned_lead.stage) == ("Jane", "CTO", "mql")
    assert owned_lead.duplicate_attempts == 1
    assert "captured again 1 time" in response.content.decode()


@pytest.mark.django_db
def test_re_entering_a_lead_through_the_form_keeps_their_do_not_contact(marketer, client_for):
    LeadFactory(email="jane@acme.com", do_not_contact=True)

    client_for(marketer).post(reverse("leads:lead_create"), {"email": "jane@acme.com", "job_title": "CTO"})

    assert Lead.objects.get().do_not_contact is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("country", "D1", "Use the two-letter country code, e.g. DE or US."),
        ("country", "DEU", "at most 2 characters"),
        ("email", "jane.doe-at-acme.com", "Enter a valid email address."),
        ("email", "", "This field is required."),
        ("seniority", "intern", "Select a valid choice."),
    ],
)
def test_a_create_form_error_sits_on_its_field_and_keeps_the_valid_values(field, value, message, marketer,
                                                                          client_for):
    response = client_for(marketer).post(reverse("leads:lead_create"), {**NEW_LEAD, field: value})

    assert response.status_code == 200
    assert not Lead.objects.exists()
    form = response.context["form"]
    assert list(form.errors) == [field]
    assert message in " ".join(form.errors[field])
    html = response.content.decode()
    assert message.replace("'", "&#x27;") in html
    for kept in ("Jane", "Doe", "Acme GmbH", "Head of IT", "+49 30 1234", "trade-fair", "cebit-2024", "linkedin"):
        assert f'value="{kept}"' in html, kept


# --- The lead list: search, filters, sort, pages ------------------------------------------------------

@pytest.fixture
def three_leads(sales_rep, other_rep):
    acme = CompanyFactory(name="Acme GmbH", domain="acme.com")
    globex = CompanyFactory(name="Globex", domain="globex.com")
    return {
        "jane": LeadFactory(email="jane.doe@acme.com", first_name="Jane", last_name="Doe", company=acme, stage="mql",
                            owner=sales_rep, source="webinar", campaign="spring-launch", country="DE",
                            created_at=datetime(2024, 3, 10, 12, tzinfo=UTC)),
        "john": LeadFactory(email="john@globex.com", first_name="John", last_name="Smith", company=globex,
                            stage="sal", owner=other_rep, source="ads", campaign="summer", country="US",
                            created_at=datetime(2024, 4, 20, 12, tzinfo=UTC)),
        "ana": LeadFactory(email="ana.lima@gmail.com", first_name="Ana", last_name="Lima", company=None,
                           stage="new", owner=None, source="Webinar", campaign="", country="BR",
                           created_at=datetime(2024, 5, 5, 12, tzinfo=UTC)),
    }


JANE, JOHN, ANA = "jane.doe@acme.com", "john@globex.com", "ana.lima@gmail.com"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [ANA, JOHN, JANE]),  # newest first
        ("q=jane", [JANE]),
        ("q=ACME", [JANE]),  # company name
        ("q=globex.com", [JOHN]),  # e-mail
        ("q=john+smith", [JOHN]),  # first and last name
        ("q=Lima", [ANA]),
        ("q=++", [ANA, JOHN, JANE]),
        ("q=nobody", []),
        ("stage=sal", [JOHN]),
        ("stage=won", []),
        ("source=WEBINAR", [ANA, JANE]),
        ("campaign=summer", [JOHN]),
        ("country=us", [JOHN]),
        ("created_after=2024-04-01", [ANA, JOHN]),
        ("created_before=2024-04-01", [JANE]),
        ("created_after=2024-04-20&created_before=2024-04-20", [JOHN]),
        ("unassigned=true", [ANA]),
        ("unassigned=false", [JOHN, JANE]),
        ("source=webinar&stage=mql", [JANE]),
    ],
)
def test_the_lead_list_filters(query, expected, marketer, client_for, three_leads):
    response = client_for(marketer).get(f"{reverse('leads:lead_list')}?{query}")

    assert response.status_code == 200
    assert emails(response) == expected


@pytest.mark.django_db
def test_the_lead_list_filters_by_owner(sales_rep, client_for, three_leads):
    response = client_for(sales_rep).get(reverse("leads:lead_list"), {"owner": sales_rep.pk, "stage": "mql"})

    assert emails(response) == [JANE]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", [JANE, ANA, JOHN]),  # Doe, Lima, Smith
        ("-name", [JOHN, ANA, JANE]),
        ("created", [JANE, JOHN, ANA]),
        ("-created", [ANA, JOHN, JANE]),
        ("email", [ANA, JANE, JOHN]),
        ("stage", [JANE, ANA, JOHN]),  # by the stored value: mql, new, sal
    ],
)
def test_the_lead_list_sorts(sort, expected, marketer, client_for, three_leads):
    response = client_for(marketer).get(reverse("leads:lead_list"), {"sort": sort})

    assert emails(response) == expected


@pytest.mark.django_db
def test_the_sort_links_keep_the_filters(marketer, client_for, three_leads):
    html = client_for(marketer).get(reverse("leads:lead_list"), {"source": "webinar", "page": "1"}).content.decode()

    assert 'href="?source=webinar&amp;sort=name"' in html


@pytest.mark.django_db
def test_the_lead_list_pages_through_every_lead_once(marketer, client_for):
    LeadFactory.create_batch(55, created_at=datetime(2024, 1, 1, tzinfo=UTC))  # one timestamp: ties on the sort
    client = client_for(marketer)

    first = client.get(reverse("leads:lead_list"))
    second = client.get(reverse("leads:lead_list"), {"page": 2})

    assert len(emails(first)) == 50
    assert len(emails(second)) == 5
    assert set(emails(first)) | set(emails(second)) == set(Lead.objects.values_list("email", flat=True))
    assert "1–50 of 55 leads" in first.content.decode()
    assert emails(client.get(reverse("leads:lead_list"), {"page": 99})) == emails(second)
    assert emails(client.get(reverse("leads:lead_list"), {"page": "abc"})) == emails(first)


@pytest.mark.django_db
@pytest.mark.parametrize(("param", "value"), [("created_after", "notadate"), ("created_before", "2024-13-45"),
                                              ("stage", "bogus"), ("owner", "999999"), ("owner", "abc"),
                                              ("country", "DEU")])
@pytest.mark.parametrize("htmx", [False, True])
def test_an_unreadable_filter_gives_a_message_not_an_error(param, value, htmx, marketer, client_for, three_leads):
    response = client_for(marketer).get(reverse("leads:lead_list"), {param: value},
                                        headers=HTMX if htmx else {})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Some filters could not be read" in html
    assert param in html


@pytest.mark.django_db
def test_the_lead_list_answers_htmx_with_the_table_only(marketer, client_for, three_leads):
    client = client_for(marketer)

    full = client.get(reverse("leads:lead_list"), {"stage": "mql"}).content.decode()
    partial = client.get(reverse("leads:lead_list"), {"stage": "mql"}, headers=HTMX).content.decode()

    assert "<html" in full and 'id="lead-table"' in full
    assert "<html" not in partial
    assert partial.lstrip().startswith('<div id="lead-table"')
    assert JANE in partial and JOHN not in partial
    assert "filter-bar" not in partial


@pytest.mark.django_db
def test_what_a_lead_sent_is_shown_as_text_never_as_markup(marketer, client_for):
    lead = LeadFactory(first_name="<script>alert(1)</script>", job_title='"><img src=x onerror=alert(2)>',
                       source="<b>ads</b>")
    client = client_for(marketer)

    for url in (reverse("leads:lead_list"), reverse("leads:lead_detail", args=[lead.pk])):
        html = client.get(url).content.decode()
        assert "<script>alert(1)" not in html
        assert "<img src=x" not in html
        assert "<b>ads</b>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.django_db
def test_the_lead_list_says_what_to_do_when_empty(marketer, client_for):
    html = client_for(marketer).get(reverse("leads:lead_list")).content.decode()

    assert "No leads yet." in html


@pytest.mark.django_db
def test_the_lead_list_says_when_no_lead_matches(marketer, client_for, three_leads):
    html = client_for(marketer).get(reverse("leads:lead_list"), {"q": "nobody"}).content.decode()

    assert "No lead matches these filters." in html


# --- Companies ------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_company_list_counts_leads_and_searches_name_and_domain(marketer, client_for, three_leads):
    LeadFactory(company=three_leads["jane"].company)
    client = client_for(marketer)

    everything = client.get(reverse("leads:company_list"))
    by_domain = client.get(reverse("leads:company_list"), {"q": "globex.COM"})

    assert [(c.name, c.lead_count) for c in everything.context["page"].object_list] == [("Acme GmbH", 2),
                                                                                        ("Globex", 1)]
    assert [c.name for c in by_domain.context["page"].object_list] == ["Globex"]


@pytest.mark.django_db
def test_the_company_list_answers_htmx_with_the_table_only(marketer, client_for, three_leads):
    client = client_for(marketer)

    full = client.get(reverse("leads:company_list"), {"q": "acme"}).content.decode()
    partial = client.get(reverse("leads:company_list"), {"q": "acme"}, headers=HTMX).content.decode()

    assert "<html" in full and 'id="company-table"' in full
    assert "<html" not in partial
    assert partial.lstrip().startswith('<div id="company-table"')
    assert "Acme GmbH" in partial and "Globex" not in partial


@pytest.mark.django_db
def test_the_company_page_lists_its_people(marketer, client_for, three_leads):
    acme = three_leads["jane"].company

    response = client_for(marketer).get(reverse("leads:company_detail", args=[acme.pk]))

    assert emails(response) == [JANE]
    assert "Acme GmbH" in response.content.decode()


# --- The lead page --------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_lead_page_shows_profile_history_and_timeline(other_rep, client_for, owned_lead, marketer):
    StageChangeFactory(lead=owned_lead, from_stage="new", to_stage="mql", changed_by=marketer,
                       reason="score over 60")
    ActivityFactory(lead=owned_lead, url="/pricing/")

    html = client_for(other_rep).get(reverse("leads:lead_detail", args=[owned_lead.pk])).content.decode()

    assert "jane.doe@acme.com" in html
    assert "Reason: score over 60" in html
    assert "/pricing/" in html
    assert str(marketer) in html


@pytest.mark.django_db
def test_the_timeline_pages_through_htmx(marketer, client_for, owned_lead):
    ActivityFactory.create_batch(25, lead=owned_lead)
    client = client_for(marketer)
    url = reverse("leads:lead_detail", args=[owned_lead.pk])

    partial = client.get(url, {"activity_page": 2}, headers={**HTMX, "HX-Target": "timeline"}).content.decode()
    full = client.get(url, {"activity_page": 2}).content.decode()

    assert "<html" not in partial
    assert partial.lstrip().startswith('<div id="timeline"')
    assert "Page 2 of 2" in partial
    assert partial.count("<li>") == 5
    assert "<html" in full and "Page 2 of 2" in full


# --- Query counts: constant in the number of rows shown ---------------------------------------------------

def many_owners(n: int) -> list:
    return UserFactory.create_batch(n, role=Role.SALES_REP)


@pytest.mark.django_db
@pytest.mark.parametrize("headers", [{}, HTMX])
@pytest.mark.parametrize("query", ["", "?q=lead", "?sort=company", "?stage=mql&unassigned=false"])
def test_the_lead_list_runs_the_same_queries_for_5_or_40_leads(query, headers, marketer, client_for,
                                                                 count_queries):
    client = client_for(marketer)
    url = reverse("leads:lead_list") + query
    for owner in many_owners(5):
        LeadFactory(owner=owner, stage="mql")
    with_5 = count_queries(client, url, headers=headers)
    for owner in many_owners(35):
        LeadFactory(owner=owner, stage="mql")

    assert count_queries(client, url, headers=headers) == with_5


@pytest.mark.django_db
@pytest.mark.parametrize("headers", [{}, HTMX])
def test_the_company_list_runs_the_same_queries_for_5_or_40_companies(headers, marketer, client_for,
                                                                        count_queries):
    client = client_for(marketer)
    url = reverse("leads:company_list")
    LeadFactory.create_batch(5)
    with_5 = count_queries(client, url, headers=headers)
    LeadFactory.create_batch(35)

    assert count_queries(client, url, headers=headers) == with_5


@pytest.mark.django_db
def test_the_company_page_runs_the_same_queries_for_5_or_40_people(marketer, client_for, count_queries):
    company = CompanyFactory()
    client = client_for(marketer)
    url = reverse("leads:company_detail", args=[company.pk])
    for owner in many_owners(5):
        LeadFactory(company=company, owner=owner)
    with_5 = count_queries(client, url)
    for owner in many_owners(35):
        LeadFactory(company=company, owner=owner)

    assert count_queries(client, url) == with_5


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["marketer", "sales_rep"])
def test_the_lead_page_runs_the_same_queries_for_few_or_many_activities_and_changes(who, cast, client_for,
                                                                                     count_queries, owned_lead):
    client = client_for(cast[who])
    url = reverse("leads:lead_detail", args=[owned_lead.pk])
    ActivityFactory.create_batch(3, lead=owned_lead)
    for author in many_owners(2):
        StageChangeFactory(lead=owned_lead, changed_by=author)
    few = count_queries(client, url)
    ActivityFactory.create_batch(30, lead=owned_lead)
    for author in many_owners(15):
        StageChangeFactory(lead=owned_lead, changed_by=author)

    assert count_queries(client, url) == few
    assert count_queries(client, url, headers={**HTMX, "HX-Target": "timeline"}) <= few
