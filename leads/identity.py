"""How a lead and a company are recognised: normalised e-mail addresses and company domains."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# Addresses at these domains belong to a person, not to an employer: they never make a company.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "ymail.com",
        "hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "outlook.com", "live.com", "msn.com",
        "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net",
        "gmx.com", "web.de", "t-online.de", "mail.com", "mail.ru", "yandex.ru", "yandex.com", "zoho.com",
        "fastmail.com", "tutanota.com", "hey.com", "qq.com", "163.com", "126.com", "orange.fr", "free.fr",
        "laposte.net", "libero.it", "virgilio.it", "btinternet.com", "comcast.net", "verizon.net",
        "att.net", "sbcglobal.net", "rediffmail.com", "seznam.cz", "wp.pl", "o2.pl", "naver.com",
    }
)


# Erased leads keep a placeholder address at this domain (RFC 2606: it can never receive mail). No
# capture may use one: it would land on an erased lead and give it a person again.
ERASED_EMAIL_DOMAIN = "erased.invalid"


def normalise_email(raw: str) -> str:
    """Trim and lower-case an address, and check it is one; raises ValidationError otherwise."""
    email = (raw or "").strip().lower()
    if not email:
        raise ValidationError("An e-mail address is required.", code="required")
    validate_email(email)
    if email_domain(email) == ERASED_EMAIL_DOMAIN:
        raise ValidationError("This address stands for an erased lead and cannot be used.", code="erased")
    return email


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1]


def normalise_domain(raw: str) -> str:
    """A bare, lower-case host name: no scheme, path, port or leading "www."."""
    domain = (raw or "").strip().lower()
    for prefix in ("https://", "http://"):
        if domain.startswith(prefix):
            domain = domain[len(prefix):]
    for separator in ("/", "?", "#", ":"):
        domain = domain.split(separator, 1)[0]
    domain = domain.strip(".")
    if domain.startswith("www."):
        domain = domain[4:]
    return domain


def is_free_mail(domain: str) -> bool:
    return normalise_domain(domain) in FREE_MAIL_DOMAINS
