"""How a lead and a company are recognised: normalised e-mail addresses and company domains."""

import pytest
from django.core.exceptions import ValidationError

from leads.identity import is_free_mail, normalise_domain, normalise_email
from leads.models import Company
from leads.services import lead_capture


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jane.doe@acme.com", "jane.doe@acme.com"),
        ("Jane.Doe@ACME.com", "jane.doe@acme.com"),
        ("  jane.doe@acme.com\t", "jane.doe@acme.com"),
        ("\n JANE.DOE@Acme.COM  ", "jane.doe@acme.com"),
        ("jane+webinar@acme.co.uk", "jane+webinar@acme.co.uk"),
    ],
)
def test_normalise_email_trims_and_lower_cases(raw, expected):
    assert normalise_email(raw) == expected


@pytest.mark.parametrize("raw", ["not-an-email", "jane@", "@acme.com", "jane doe@acme.com", "jane@@acme.com",
                                 "jane@acme", "jane.acme.com"])
def test_normalise_email_refuses_what_is_not_an_address(raw):
    with pytest.raises(ValidationError):
        normalise_email(raw)


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_normalise_email_requires_an_address(raw):
    with pytest.raises(ValidationError) as error:
        normalise_email(raw)
    assert error.value.code == "required"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("acme.com", "acme.com"),
        ("ACME.com", "acme.com"),
        ("www.acme.com", "acme.com"),
        ("https://www.acme.com", "acme.com"),
        ("http://acme.com/", "acme.com"),
        ("HTTPS://WWW.Acme.COM/about/team", "acme.com"),
        ("acme.com:8443", "acme.com"),
        ("https://www.acme.com:8443/pricing", "acme.com"),
        ("  acme.com.  ", "acme.com"),
        ("eu.acme.com", "eu.acme.com"),
        ("", ""),
    ],
)
def test_normalise_domain_keeps_only_the_bare_host(raw, expected):
    assert normalise_domain(raw) == expected


@pytest.mark.parametrize("raw", ["https://www.acme.com?utm_source=linkedin", "acme.com#contact"])
def test_normalise_domain_drops_a_query_or_fragment_after_the_host(raw):
    assert normalise_domain(raw) == "acme.com"


@pytest.mark.parametrize("domain", ["gmail.com", "GMAIL.com", "www.gmail.com", "outlook.com", "gmx.de", "proton.me"])
def test_free_mail_domains_are_recognised_in_any_spelling(domain):
    assert is_free_mail(domain)


@pytest.mark.parametrize("domain", ["acme.com", "mail.acme.com", "gmail.co"])
def test_company_domains_are_not_free_mail(domain):
    assert not is_free_mail(domain)


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["jane.doe@gmail.com", "Jane.Doe@GMAIL.COM", "jane@outlook.com", "jane@web.de"])
def test_a_free_mail_address_never_makes_a_company(email, marketer):
    result = lead_capture(email=email, fields={"first_name": "Jane"}, actor=marketer)

    assert result.lead.company is None
    assert not Company.objects.exists()


@pytest.mark.django_db
def test_a_free_mail_address_with_a_company_name_joins_the_company_by_name(marketer):
    acme = Company.objects.create(name="Acme GmbH", domain="acme.com")

    result = lead_capture(email="jane@gmail.com", fields={}, company_name="ACME GMBH", actor=marketer)

    assert result.lead.company == acme
    assert Company.objects.count() == 1


@pytest.mark.django_db
def test_two_people_at_the_same_company_share_it_by_domain(marketer):
    jane = lead_capture(email="jane@acme.com", fields={}, company_name="Acme GmbH", actor=marketer).lead
    john = lead_capture(email="John.Smith@ACME.com", fields={}, actor=marketer).lead

    assert jane.company_id == john.company_id
    company = Company.objects.get()
    assert (company.name, company.domain) == ("Acme GmbH", "acme.com")


@pytest.mark.django_db
def test_a_company_domain_given_as_a_url_finds_the_company(marketer):
    acme = Company.objects.create(name="Acme GmbH", domain="acme.com")

    result = lead_capture(email="jane@gmail.com", fields={}, company_domain="https://www.Acme.com/about",
                          actor=marketer)

    assert result.lead.company == acme


@pytest.mark.django_db
def test_a_company_named_after_its_domain_takes_the_real_name_when_one_arrives(marketer):
    lead_capture(email="jane@initech.io", fields={}, actor=marketer)
    assert Company.objects.get().name == "Initech"

    lead_capture(email="bill@initech.io", fields={}, company_name="Initech Corporation", actor=marketer)

    assert Company.objects.get().name == "Initech Corporation"


@pytest.mark.django_db
def test_a_real_company_name_is_not_overwritten_by_another_spelling(marketer):
    lead_capture(email="jane@initech.io", fields={}, company_name="Initech Corporation", actor=marketer)

    lead_capture(email="bill@initech.io", fields={}, company_name="initech corp", actor=marketer)

    assert Company.objects.get().name == "Initech Corporation"


@pytest.mark.django_db
def test_a_company_known_by_name_only_takes_the_domain_instead_of_a_second_company(marketer):
    john = lead_capture(email="john@gmail.com", fields={}, company_name="Acme GmbH", actor=marketer).lead

    jane = lead_capture(email="jane@acme.com", fields={}, company_name="Acme GmbH", actor=marketer).lead

    assert jane.company_id == john.company_id
    assert list(Company.objects.values_list("name", "domain")) == [("Acme GmbH", "acme.com")]
