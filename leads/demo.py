"""Demo and scale data: one believable organisation with its companies, leads, stage history and activities.

`manage.py seed_demo` and `python -m bench.seed` call demo_seed(). Every random draw comes from a stream
seeded by (seed, what is being drawn, chunk of leads), never from a shared one, so:

- the same seed gives the same rows however many processes generate them;
- any worker can generate any chunk whole (its leads, their stage history, their activities) on its own,
  and nothing the size of the whole data set is ever held in memory.

Rows are lines in PostgreSQL's COPY text format (tab-separated, \\N for NULL). PostgreSQL reads them with
COPY; SQLite gets the same lines split into parameters. No value generated here contains a tab, a newline
or a backslash, so the lines need no escaping.

All times are whole seconds since the epoch, in UTC, before the *anchor*: today's midnight (UTC). Two runs
with the same seed on the same day give identical data.
"""

import gc
import io
import multiprocessing
import os
import random
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple

from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from leads.identity import FREE_MAIL_DOMAINS
from leads.models import Activity, Company, Lead, Reason, Stage, StageChange
from smarketing.models import Team, User
from smarketing.roles import Function, Role

DEMO_PASSWORD = "smarketing-demo"  # noqa: S105 - published on purpose: printed after every seed
DEFAULT_LEADS = 2_000
DEFAULT_ACTIVITIES = 40_000
DEFAULT_SEED = 42
WINDOW_DAYS = 90
DAY = 86_400

# One task of the generator: 5,000 leads with ~15,000 stage changes and, at 10 a lead, 50,000 activities:
# ~8 MB of COPY input and ~0.35 s of Python. Small enough to keep memory flat and the progress line moving,
# big enough that the per-task cost (pickling the plan, a pipe round trip, three COPY statements) is noise.
LEAD_CHUNK = 5_000
# Companies are short rows: 20,000 (~1.5 MB) a piece of the COPY stream.
COMPANY_CHUNK = 20_000
# Chunks generated ahead of the one PostgreSQL is reading, ~8 MB each: ~64 MB in flight at most. More buys
# nothing once both cores are busy; fewer lets one slow chunk leave PostgreSQL waiting.
CHUNKS_IN_FLIGHT = 8
# Below this many leads the worker processes cost more to start than they save.
PARALLEL_MIN_LEADS = 20_000

NULL = "\\N"
# Activities are drawn from a table of this many entries: a power of two, so a mask of random bits picks one.
ACTIVITY_POOL_SIZE = 1024


# --- The organisation -------------------------------------------------------------------------------


class DemoUser(NamedTuple):
    id: int
    email: str
    first_name: str
    last_name: str
    role: str
    team_id: int | None
    territory: tuple[str, ...] = ()
    capacity: int = 25
    manager_id: int | None = None
    territory_name: str = ""


DEMO_TEAMS = (
    (1, "Marketing", Function.MARKETING),
    (2, "Sales EMEA", Function.SALES),
    (3, "Sales Americas", Function.SALES),
)

_SALES_MANAGER_ID = 5
DEMO_USERS = (
    DemoUser(1, "alex.admin@demo.smarketing.io", "Alex", "Novak", Role.ADMIN, None),
    DemoUser(2, "maya.marketing@demo.smarketing.io", "Maya", "Brandt", Role.MARKETING_MANAGER, 1),
    DemoUser(3, "leo.marketer@demo.smarketing.io", "Leo", "Carter", Role.MARKETER, 1),
    DemoUser(4, "nina.marketer@demo.smarketing.io", "Nina", "Okafor", Role.MARKETER, 1),
    DemoUser(_SALES_MANAGER_ID, "sam.sales@demo.smarketing.io", "Sam", "Whitaker", Role.SALES_MANAGER, 2),
    DemoUser(6, "rita.rep@demo.smarketing.io", "Rita", "Hoffmann", Role.SALES_REP, 2,
             ("DE", "AT", "CH", "PL"), 30, _SALES_MANAGER_ID, "DACH & Poland"),
    DemoUser(7, "olaf.rep@demo.smarketing.io", "Olaf", "Lindqvist", Role.SALES_REP, 2,
             ("SE", "NO", "DK", "FI", "IS"), 25, _SALES_MANAGER_ID, "Nordics"),
    DemoUser(8, "ian.rep@demo.smarketing.io", "Ian", "Murphy", Role.SALES_REP, 2,
             ("GB", "IE"), 35, _SALES_MANAGER_ID, "UK & Ireland"),
    DemoUser(9, "claire.rep@demo.smarketing.io", "Claire", "Dubois", Role.SALES_REP, 2,
             ("FR", "BE", "NL", "LU", "ES", "IT", "PT"), 30, _SALES_MANAGER_ID, "France, Benelux & Southern Europe"),
    DemoUser(10, "ethan.rep@demo.smarketing.io", "Ethan", "Brooks", Role.SALES_REP, 3,
             ("US", "CA"), 40, _SALES_MANAGER_ID, "US East & Canada"),
    DemoUser(11, "sofia.rep@demo.smarketing.io", "Sofia", "Ramirez", Role.SALES_REP, 3,
             ("US", "MX", "BR", "AR", "CL", "CO", "AU", "SG", "IN"), 35, _SALES_MANAGER_ID,
             "US West, LATAM & APAC"),
)
_MARKETING_IDS = tuple(u.id for u in DEMO_USERS if u.role in (Role.MARKETER, Role.MARKETING_MANAGER))
_MARKETER_IDS = tuple(u.id for u in DEMO_USERS if u.role == Role.MARKETER)
_REP_IDS = tuple(u.id for u in DEMO_USERS if u.role == Role.SALES_REP)


def _reps_by_country() -> dict[str, tuple[int, ...]]:
    covering: dict[str, list[int]] = {}
    for user in DEMO_USERS:
        for country in user.territory:
            covering.setdefault(country, []).append(user.id)
    return {country: tuple(ids) for country, ids in covering.items()}


_REPS_BY_COUNTRY = _reps_by_country()


# --- Vocabulary the rows are drawn from --------------------------------------------------------------

# (ISO code, share of companies, calling code, pool of names, country TLD, legal forms)
_COUNTRIES = (
    ("US", 30, "+1", "en", "com", ("Inc.", "LLC", "")),
    ("GB", 10, "+44", "en", "co.uk", ("Ltd", "")),
    ("IE", 2, "+353", "en", "ie", ("Ltd", "")),
    ("CA", 4, "+1", "en", "ca", ("Inc.", "")),
    ("AU", 2, "+61", "en", "com.au", ("Pty Ltd", "")),
    ("DE", 12, "+49", "de", "de", ("GmbH", "AG", "")),
    ("AT", 2, "+43", "de", "at", ("GmbH", "")),
    ("CH", 3, "+41", "de", "ch", ("AG", "GmbH", "")),
    ("SE", 4, "+46", "nordic", "se", ("AB", "")),
    ("NO", 2, "+47", "nordic", "no", ("AS", "")),
    ("DK", 2, "+45", "nordic", "dk", ("A/S", "")),
    ("FI", 2, "+358", "nordic", "fi", ("Oy", "")),
    ("FR", 6, "+33", "fr", "fr", ("SAS", "SA", "")),
    ("BE", 2, "+32", "nl", "be", ("NV", "BV", "")),
    ("NL", 4, "+31", "nl", "nl", ("B.V.", "")),
    ("ES", 3, "+34", "es", "es", ("S.L.", "")),
    ("IT", 3, "+39", "it", "it", ("S.r.l.", "S.p.A.", "")),
    ("PT", 1, "+351", "pt", "pt", ("Lda", "")),
    ("BR", 2, "+55", "pt", "com.br", ("Ltda", "")),
    ("MX", 1, "+52", "es", "com.mx", ("S.A. de C.V.", "")),
    ("PL", 1, "+48", "pl", "pl", ("Sp. z o.o.", "")),
    ("IN", 1, "+91", "in", "in", ("Pvt Ltd", "")),
    ("SG", 1, "+65", "en", "sg", ("Pte Ltd", "")),
)

_NAMES = {
    "en": (
        "James Olivia Michael Emma William Sophia David Ava Daniel Isabella Matthew Mia Andrew Charlotte Ryan "
        "Amelia Thomas Harper Christopher Evelyn Joshua Abigail Nathan Emily Benjamin Grace Samuel Chloe Jack "
        "Lucy Oliver Hannah",
        "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin Jackson "
        "Thompson White Harris Clark Lewis Walker Hall Allen Young King Wright Scott Green Baker Adams Nelson "
        "Campbell Mitchell Roberts Turner Phillips Evans Collins Murphy Kelly O'Brien",
    ),
    "de": (
        "Lukas Anna Jonas Lea Leon Hannah Felix Laura Maximilian Julia Paul Sophie Tobias Lena Florian Sarah "
        "Jan Katharina Stefan Marie Jürgen Sabine Matthias Claudia Andreas Franziska Sebastian Jana Moritz Ute",
        "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer Richter "
        "Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Werner Krause "
        "Lehmann Köhler Huber Gruber Steiner",
    ),
    "nordic": (
        "Erik Emma Lars Maja Anders Ingrid Johan Astrid Nils Elin Mikael Sofia Henrik Linnea Olof Freja Magnus "
        "Sanna Jesper Karin Mikko Aino Jussi Helmi Sigrid Björn",
        "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Lindberg Hansen Jensen "
        "Nielsen Pedersen Christensen Berg Haugen Johansen Virtanen Korhonen Mäkinen Nieminen Lindqvist "
        "Sandberg Dahl Holm",
    ),
    "fr": (
        "Camille Louis Léa Hugo Manon Lucas Chloé Jules Inès Gabriel Sarah Arthur Julie Nicolas Pauline Antoine "
        "Élodie Mathieu Claire Julien Céline Thomas Margaux Pierre Amélie Maxime",
        "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefebvre Michel "
        "Garcia David Bertrand Roux Vincent Fournier Morel Girard André Mercier Dupont Lambert Bonnet Faure",
    ),
    "nl": (
        "Daan Emma Sem Julia Lucas Tess Finn Sophie Bram Anna Thijs Lotte Ruben Eva Jesse Fleur Lars Sanne Niels "
        "Iris Pieter Maud Joost Femke",
        "de Jong Jansen de Vries van den Berg van Dijk Bakker Janssen Visser Smit Meijer de Boer Mulder de Groot "
        "Bos Vos Peters Hendriks van Leeuwen Dekker Brouwer de Wit Dijkstra Smits Willems Claes Peeters Maes",
    ),
    "es": (
        "Alejandro Lucía Pablo María Javier Paula Daniel Laura Sergio Marta Carlos Sofía Diego Elena Adrián "
        "Carmen Miguel Ana Jorge Isabel Raúl Valentina Andrés Camila",
        "García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Martín Jiménez Ruiz Hernández "
        "Díaz Moreno Álvarez Muñoz Romero Alonso Navarro Torres Domínguez Vázquez Ramos Castillo Ortega",
    ),
    "it": (
        "Francesco Giulia Alessandro Sofia Lorenzo Aurora Matteo Giorgia Andrea Martina Marco Chiara Luca Sara "
        "Davide Alessia Simone Francesca Federico Elena Riccardo Valentina",
        "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti De Luca "
        "Mancini Costa Giordano Rizzo Lombardi Moretti Barbieri Fontana",
    ),
    "pt": (
        "João Maria Pedro Ana Lucas Beatriz Gabriel Mariana Rafael Inês Tiago Carolina Miguel Leonor Bruno "
        "Juliana Diogo Larissa Gustavo Camila",
        "Silva Santos Ferreira Pereira Oliveira Costa Rodrigues Martins Souza Almeida Carvalho Gomes Lopes "
        "Ribeiro Alves Barbosa Araújo Cardoso Teixeira Moreira",
    ),
    "pl": (
        "Jakub Zuzanna Kacper Julia Szymon Maja Filip Zofia Mateusz Hanna Michał Aleksandra Piotr Katarzyna "
        "Tomasz Agnieszka Paweł Magdalena",
        "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański Woźniak "
        "Dąbrowski Kozłowski Jankowski Mazur Kwiatkowski Krawczyk",
    ),
    "in": (
        "Aarav Priya Vivaan Ananya Aditya Diya Arjun Isha Rohan Kavya Rahul Neha Vikram Pooja Karan Sneha "
        "Siddharth Meera Anil Lakshmi",
        "Sharma Patel Singh Kumar Gupta Reddy Iyer Nair Mehta Shah Joshi Rao Verma Desai Kapoor Malhotra Chopra "
        "Bhat Menon Pillai",
    ),
}
# Names with a space ("de Jong", "van den Berg") are one surname.
_SURNAME_PARTICLES = ("de", "van", "den", "der")

# Letters an address cannot carry, spelled the way their owners spell them in an address.
_ASCII = str.maketrans({
    "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "å": "a", "ø": "o", "æ": "ae", "é": "e", "è": "e", "ê": "e",
    "ë": "e", "à": "a", "á": "a", "â": "a", "ã": "a", "í": "i", "ì": "i", "î": "i", "ï": "i", "ó": "o",
    "ò": "o", "ô": "o", "õ": "o", "ú": "u", "ù": "u", "û": "u", "ñ": "n", "ç": "c", "ł": "l", "ś": "s",
    "ź": "z", "ż": "z", "ą": "a", "ę": "e", "ć": "c", "ń": "n", "'": "", " ": "",
})


def _split_names(text: str) -> tuple[str, ...]:
    names: list[str] = []
    particle = ""
    for word in text.split():
        if word in _SURNAME_PARTICLES:
            particle += word + " "
        else:
            names.append(particle + word)
            particle = ""
    return tuple(names)


def _slug(name: str) -> str:
    return name.lower().translate(_ASCII)


# name pool -> ((first, first slug), ...), ((last, last slug), ...)
_NAME_POOLS = {
    pool: (
        tuple((name, _slug(name)) for name in _split_names(first)),
        tuple((name, _slug(name)) for name in _split_names(last)),
    )
    for pool, (first, last) in _NAMES.items()
}

# Where people in each region keep their private mailbox (every one of them is in FREE_MAIL_DOMAINS).
_FREE_MAIL = {
    "en": ("gmail.com",) * 5 + ("outlook.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "aol.com",
                                "proton.me"),
    "de": ("gmx.de", "gmx.de", "web.de", "web.de", "t-online.de", "gmail.com", "gmail.com", "outlook.com"),
    "nordic": ("gmail.com", "gmail.com", "gmail.com", "outlook.com", "hotmail.com", "icloud.com"),
    "fr": ("orange.fr", "free.fr", "laposte.net", "gmail.com", "gmail.com", "hotmail.fr"),
    "nl": ("gmail.com", "gmail.com", "outlook.com", "hotmail.com", "live.com"),
    "es": ("gmail.com", "gmail.com", "hotmail.com", "yahoo.com", "outlook.com"),
    "it": ("libero.it", "virgilio.it", "gmail.com", "gmail.com", "hotmail.com"),
    "pt": ("gmail.com", "gmail.com", "hotmail.com", "outlook.com"),
    "pl": ("wp.pl", "o2.pl", "gmail.com", "gmail.com"),
    "in": ("gmail.com", "gmail.com", "rediffmail.com", "yahoo.com"),
}
assert all(domain in FREE_MAIL_DOMAINS for domains in _FREE_MAIL.values() for domain in domains)  # noqa: S101

# Company names are a compound ("North" + "wave") and, past the first few thousand, a line of business.
_NAME_HEADS = _split_names(
    "North South East West Blue Silver Iron Green Red Bright Clear Deep High True Swift Bold Open Prime Core "
    "Cloud Data Nova Terra Aqua Sun Star Moon Stone River Oak Pine Cedar Maple Birch Fox Wolf Bear Hawk Lynx "
    "Falcon Summit Peak Harbor Bay Cape Delta Vertex Apex Zen Quantum Pixel Signal Vector Orbit Atlas Polar "
    "Arctic Coral Amber Granite Copper Cobalt Indigo Scarlet Ever Far Key Lumen Metro Nimbus Onyx Pulse "
    "Rapid Sky Tidal Urban Vivid"
)
_NAME_TAILS = _split_names(
    "wave path stone field bridge point ridge works forge line leaf light gate way port spring brook wood "
    "mark scale stack flow loop base hub craft shift sight view yard mill dale crest rock vale fall bloom "
    "frame grid lane peak sail shore span star tide ware wing wise"
)
# A line of business and the industry it implies.
_LINES_OF_BUSINESS = (
    ("Analytics", "Software"), ("Software", "Software"), ("Labs", "Software"), ("Systems", "IT Services"),
    ("Technologies", "IT Services"), ("Digital", "Marketing & Advertising"), ("Media", "Media & Publishing"),
    ("Logistics", "Logistics & Supply Chain"), ("Freight", "Logistics & Supply Chain"), ("Health", "Healthcare"),
    ("Medical", "Healthcare"), ("Capital", "Financial Services"), ("Finance", "Financial Services"),
    ("Insurance", "Insurance"), ("Manufacturing", "Manufacturing"), ("Industries", "Manufacturing"),
    ("Robotics", "Manufacturing"), ("Energy", "Energy & Utilities"), ("Solar", "Energy & Utilities"),
    ("Retail", "Retail & E-commerce"), ("Commerce", "Retail & E-commerce"), ("Foods", "Consumer Goods"),
    ("Consulting", "Professional Services"), ("Partners", "Professional Services"), ("Legal", "Legal Services"),
    ("Learning", "Education"), ("Academy", "Education"), ("Telecom", "Telecommunications"),
    ("Properties", "Real Estate"), ("Security", "Cybersecurity"),
)
_INDUSTRIES = tuple(sorted({industry for _, industry in _LINES_OF_BUSINESS}))
_EMPLOYEE_BANDS = (  # (lowest, highest, share, band label used in lead properties)
    (2, 10, 10, "1-10"), (11, 50, 24, "11-50"), (51, 200, 26, "51-200"), (201, 1000, 20, "201-1000"),
    (1001, 5000, 12, "1001-5000"), (5001, 60000, 8, "5001+"),
)

_SENIORITY_TITLES = (  # (seniority, share, titles)
    ("entry", 7, ("Marketing Coordinator", "Sales Development Representative", "Junior Data Analyst",
                  "Marketing Assistant", "Operations Associate")),
    ("individual", 24, ("Marketing Specialist", "Data Analyst", "Software Engineer", "Account Executive",
                        "Business Analyst", "Content Marketer", "Demand Generation Specialist",
                        "Marketing Operations Specialist", "Solutions Engineer")),
    ("manager", 28, ("Marketing Manager", "Product Marketing Manager", "Sales Operations Manager", "IT Manager",
                     "Procurement Manager", "Customer Success Manager", "Demand Generation Manager",
                     "CRM Manager", "Revenue Operations Manager")),
    ("director", 18, ("Director of Marketing", "Director of Demand Generation", "IT Director",
                      "Director of Sales Operations", "Head of Growth", "Head of Marketing", "Head of Sales",
                      "Head of Revenue Operations")),
    ("vp", 8, ("VP Marketing", "VP Sales", "VP Revenue Operations", "VP Engineering", "VP Customer Success")),
    ("c_level", 7, ("CEO", "CMO", "CRO", "CTO", "COO", "CFO", "Chief Digital Officer")),
    ("owner", 4, ("Founder", "Co-Founder", "Owner", "Managing Director")),
)

_WEBINARS = (
    ("building-an-sla-sales-will-sign", "Building an SLA sales will sign"),
    ("lead-scoring-sales-trusts", "Lead scoring that sales trusts"),
    ("from-mql-to-revenue", "From MQL to revenue: a funnel review"),
    ("weekly-smarketing-meeting", "Running the weekly smarketing meeting"),
)
_DOWNLOADS = (
    ("/resources/whitepapers/state-of-smarketing.pdf", "Whitepaper – State of Smarketing"),
    ("/resources/ebooks/the-mql-handbook.pdf", "E-book – The MQL handbook"),
    ("/resources/templates/marketing-sales-sla.docx", "Template – Marketing–sales SLA"),
    ("/resources/checklists/lead-scoring-checklist.pdf", "Checklist – Lead scoring"),
    ("/resources/reports/b2b-buyer-journey-benchmark.pdf", "Report – B2B buyer journey benchmark"),
)
_BLOG_POSTS = (
    "what-is-smarketing", "mql-vs-sql", "lead-scoring-101", "writing-a-service-level-agreement",
    "why-sales-ignores-your-leads", "buyer-personas-that-work", "b2b-funnel-metrics", "lead-handoff-checklist",
    "closed-loop-reporting", "intent-data-explained", "account-based-marketing-basics", "nurture-emails-that-convert",
    "sales-feedback-loops", "revenue-operations-primer", "how-to-disqualify-leads", "planning-the-demand-gen-budget",
)
_EMAILS = (
    ("newsletter-august", "Newsletter – August"), ("newsletter-september", "Newsletter – September"),
    ("newsletter-october", "Newsletter – October"), ("nurture-1-why-mqls-go-cold", "Nurture 1 – Why MQLs go cold"),
    ("nurture-2-roi-calculator", "Nurture 2 – ROI calculator"), ("nurture-3-customer-story", "Nurture 3 – Customer story"),
    ("event-invite-web-summit", "Invitation – Web Summit"), ("product-update-q3", "Product update – Q3"),
)


def _activity_entry(activity_type: str, url: str, properties: str = "{}") -> str:
    return f"{activity_type}\t{url}\t{properties}"


def _capture_entries() -> dict[str, tuple[str, ...]]:
    """The activity that captured a lead, by source: what they filled in, downloaded or were scanned at."""
    webinar_forms = tuple(
        _activity_entry("form_submission", f"/webinars/{slug}/register", '{"form": "webinar-registration"}')
        for slug, _ in _WEBINARS
    )
    return {
        "website": (
            _activity_entry("form_submission", "/demo", '{"form": "demo-request"}'),
            _activity_entry("form_submission", "/contact", '{"form": "contact"}'),
            _activity_entry("form_submission", "/pricing", '{"form": "quote-request"}'),
        ),
        "downloads": tuple(
            _activity_entry("download", path, '{"form": "gated-content"}') for path, _ in _DOWNLOADS
        ),
        "webinar": webinar_forms,
        "event": (_activity_entry("other", "event: badge scan", '{"scanned_by": "booth"}'),),
        "import": (_activity_entry("other", "import: list upload"),),
        "email": tuple(
            _activity_entry("email_click", f"/blog/{post}?utm_source=newsletter&utm_medium=email")
            for post in _BLOG_POSTS[:4]
        ),
    }


_CAPTURES = _capture_entries()


class _Source(NamedTuple):
    name: str
    share: int
    # Each option is campaign, utm_source, utm_medium, utm_campaign, utm_term, utm_content: six columns.
    options: tuple[str, ...]
    captures: tuple[str, ...]
    # Who created the lead: None for a form or the API, a marketer for an import or a badge scan.
    created_by_marketer: bool = False


def _utm(campaign: str, source: str = "", medium: str = "", utm_campaign: str = "", term: str = "",
         content: str = "") -> str:
    return "\t".join((campaign, source, medium, utm_campaign, term, content))


_SOURCES = (
    _Source("website", 16, (_utm(""), _utm("Website – demo request")), _CAPTURES["website"]),
    _Source("organic_search", 12, (_utm("", "google", "organic"), _utm("", "bing", "organic")),
            _CAPTURES["website"] + _CAPTURES["downloads"]),
    _Source("paid_search", 14, (
        _utm("Google Ads – Lead scoring", "google", "cpc", "lead-scoring-emea", "lead scoring software", "ad-a"),
        _utm("Google Ads – Lead scoring", "google", "cpc", "lead-scoring-emea", "mql definition", "ad-b"),
        _utm("Google Ads – Sales SLA", "google", "cpc", "sales-sla-us", "marketing sales sla template", "ad-a"),
        _utm("Google Ads – Brand", "google", "cpc", "brand", "smarketing", "brand-exact"),
        _utm("Bing Ads – Brand", "bing", "cpc", "brand", "smarketing app", "brand-broad"),
    ), _CAPTURES["website"] + _CAPTURES["downloads"]),
    _Source("paid_social", 10, (
        _utm("LinkedIn – Revenue leaders EMEA", "linkedin", "paid_social", "revenue-leaders-emea", "", "carousel-funnel"),
        _utm("LinkedIn – Lead gen form: MQL handbook", "linkedin", "paid_social", "mql-handbook", "", "lead-gen-form"),
        _utm("LinkedIn – Webinar promotion", "linkedin", "paid_social", "webinar-q4", "", "single-image"),
        _utm("Facebook – Retargeting", "facebook", "paid_social", "retargeting-pricing", "", "video-30s"),
    ), _CAPTURES["downloads"] + _CAPTURES["webinar"]),
    _Source("content_download", 12, (
        _utm("Whitepaper – State of Smarketing", "newsletter", "email", "state-of-smarketing"),
        _utm("E-book – The MQL handbook", "linkedin", "social", "mql-handbook"),
        _utm("Template – Marketing–sales SLA", "google", "organic"),
    ), _CAPTURES["downloads"]),
    _Source("webinar", 9, tuple(
        _utm(f"Webinar – {title}", "newsletter", "email", f"webinar-{slug}") for slug, title in _WEBINARS
    ), _CAPTURES["webinar"]),
    _Source("event", 6, (
        _utm("SaaStr Europa"), _utm("Web Summit"), _utm("DMEXCO"),
        _utm("B2B Marketing Expo London"),
    ), _CAPTURES["event"], created_by_marketer=True),
    _Source("email", 7, tuple(
        _utm(title, "newsletter", "email", slug) for slug, title in _EMAILS[:6]
    ), _CAPTURES["email"]),
    _Source("referral", 5, (_utm("Customer referral programme", "referral", "referral", "customer-referral"),),
            _CAPTURES["website"]),
    _Source("partner", 4, (
        _utm("Partner – Northbridge Consulting", "partner", "referral", "northbridge"),
        _utm("Partner – RevOps Collective", "partner", "referral", "revops-collective"),
    ), _CAPTURES["website"]),
    _Source("list_import", 5, (
        _utm("Trade show list – DMEXCO"), _utm("Webinar co-host list – Q3"),
    ), _CAPTURES["import"], created_by_marketer=True),
)


def _activity_pool(meeting_weight: int) -> tuple[str, ...]:
    """Activities by share, expanded to ACTIVITY_POOL_SIZE entries so that 10 random bits pick one."""
    entries: dict[str, tuple[tuple[str, str, int], ...]] = {
        "page_view": (
            ("/", "{}", 6), ("/pricing", "{}", 8), ("/pricing", '{"duration_s": 95}', 2), ("/demo", "{}", 4),
            ("/product", "{}", 4), ("/product/lead-scoring", "{}", 3), ("/product/sla-tracking", "{}", 3),
            ("/product/dashboards", "{}", 2), ("/customers", "{}", 2), ("/customers/northwind-logistics", "{}", 1),
            ("/integrations/salesforce", "{}", 2), ("/integrations/hubspot", "{}", 2), ("/security", "{}", 1),
            ("/about", "{}", 1), ("/careers", "{}", 1),
            *((f"/blog/{post}", "{}", 2) for post in _BLOG_POSTS),
            *((f"/blog/{post}", '{"duration_s": 240}', 1) for post in _BLOG_POSTS[:6]),
        ),
        "click": (
            ("/pricing#compare-plans", '{"element": "compare-plans"}', 3), ("/demo", '{"element": "cta-demo"}', 3),
            ("/resources/roi-calculator", '{"element": "roi-calculator"}', 2),
            ("/integrations", '{"element": "nav-integrations"}', 1),
        ),
        "form_submission": (
            ("/demo", '{"form": "demo-request"}', 3), ("/contact", '{"form": "contact"}', 2),
            ("/resources/roi-calculator", '{"form": "roi-calculator", "team_size": "11-50"}', 2),
            ("/newsletter", '{"form": "newsletter-signup"}', 2),
        ),
        "email_open": tuple((title, f'{{"email": "{slug}"}}', 1) for slug, title in _EMAILS),
        "email_click": tuple(
            (f"/blog/{post}?utm_source=newsletter&utm_medium=email&utm_campaign={slug}", f'{{"email": "{slug}"}}', 1)
            for post, (slug, _) in zip(_BLOG_POSTS, _EMAILS * 2, strict=False)
        ),
        "download": tuple((path, "{}", 1) for path, _ in _DOWNLOADS),
        "webinar": tuple(
            (f"Webinar: {title}", f'{{"attended": true, "minutes": {minutes}}}', 1)
            for (_, title), minutes in zip(_WEBINARS * 2, (52, 38, 45, 17, 60, 29, 41, 55), strict=True)
        ),
        "meeting_booked": (
            ("/demo/book", '{"meeting": "Discovery call", "minutes": 30}', 2),
            ("/demo/book", '{"meeting": "Product demo", "minutes": 45}', 2),
            ("/meetings/technical-deep-dive", '{"meeting": "Technical deep dive", "minutes": 60}', 1),
        ),
        "other": (
            ("chat: pricing question", '{"channel": "website-chat"}', 2),
            ("event: Web Summit booth visit", "{}", 1),
            ("review-site: compared Smarketing with alternatives", '{"site": "g2"}', 1),
        ),
    }
    type_shares = {
        "page_view": 42, "email_open": 19, "click": 8, "email_click": 8, "download": 6, "form_submission": 4,
        "webinar": 4, "meeting_booked": meeting_weight, "other": 3,
    }
    shares: dict[str, float] = defaultdict(float)
    for activity_type, share in type_shares.items():
        total = sum(weight for _, _, weight in entries[activity_type])
        for url, properties, weight in entries[activity_type]:
            shares[_activity_entry(activity_type, url, properties)] += share * weight / total
    return _expand(shares, ACTIVITY_POOL_SIZE)


_BUDGETS = ("< 10k", "10k-50k", "50k-100k", "100k-250k", "> 250k", "unknown")
_TIMELINES = ("this quarter", "next quarter", "this year", "just researching")
_CRMS = ("Salesforce", "HubSpot", "Microsoft Dynamics", "Pipedrive", "Zoho", "none")

NEW, MQL, SAL, SQL, OPPORTUNITY = Stage.NEW.value, Stage.MQL.value, Stage.SAL.value, Stage.SQL.value, Stage.OPPORTUNITY.value
WON, LOST, DISQUALIFIED, RECYCLED = Stage.WON.value, Stage.LOST.value, Stage.DISQUALIFIED.value, Stage.RECYCLED.value

# The funnel journeys leads take, by share. A journey stops early when the next step would be in the future,
# so recent leads sit in the early stages and old ones have reached the end.
_JOURNEYS: tuple[tuple[tuple[str, ...], int], ...] = (
    ((NEW,), 28),
    ((NEW, DISQUALIFIED), 4),
    ((NEW, MQL), 8),
    ((NEW, MQL, RECYCLED), 5),
    ((NEW, MQL, DISQUALIFIED), 3),
    ((NEW, MQL, SAL), 5),
    ((NEW, MQL, SAL, RECYCLED), 3),
    ((NEW, MQL, SAL, DISQUALIFIED), 2),
    ((NEW, MQL, SAL, LOST), 3),
    ((NEW, MQL, SAL, SQL), 6),
    ((NEW, MQL, SAL, SQL, LOST), 3),
    ((NEW, MQL, SAL, SQL, RECYCLED), 1),
    ((NEW, MQL, SAL, SQL, OPPORTUNITY), 6),
    ((NEW, MQL, SAL, SQL, OPPORTUNITY, WON), 7),
    ((NEW, MQL, SAL, SQL, OPPORTUNITY, LOST), 5),
    ((NEW, MQL, RECYCLED, MQL), 2),
    ((NEW, MQL, RECYCLED, MQL, SAL, SQL), 2),
    ((NEW, MQL, SAL, LOST, RECYCLED), 2),
    ((NEW, MQL, SAL, SQL, OPPORTUNITY, LOST, RECYCLED), 1),
)
# The oldest leads take these journeys, quickly, so that a demo of any size shows every stage.
_EVERY_STAGE = (
    (NEW,), (NEW, MQL), (NEW, MQL, SAL), (NEW, MQL, SAL, SQL), (NEW, MQL, SAL, SQL, OPPORTUNITY),
    (NEW, MQL, SAL, SQL, OPPORTUNITY, WON), (NEW, MQL, SAL, SQL, LOST), (NEW, DISQUALIFIED), (NEW, MQL, RECYCLED),
)
# Days each move takes (shortest, longest); short waits are more common than long ones.
_STEP_DAYS = {
    (NEW, MQL): (0.05, 20), (NEW, DISQUALIFIED): (0.05, 10),
    (MQL, SAL): (0.05, 3), (MQL, RECYCLED): (0.1, 6), (MQL, DISQUALIFIED): (0.1, 6),
    (SAL, SQL): (1, 14), (SAL, LOST): (2, 20), (SAL, RECYCLED): (3, 20), (SAL, DISQUALIFIED): (1, 10),
    (SQL, OPPORTUNITY): (2, 20), (SQL, LOST): (3, 25), (SQL, RECYCLED): (3, 25),
    (OPPORTUNITY, WON): (7, 45), (OPPORTUNITY, LOST): (7, 45),
    (LOST, RECYCLED): (1, 20), (RECYCLED, MQL): (5, 40),
}
_WORKED_BY_SALES = frozenset({SAL, SQL, OPPORTUNITY, WON, LOST})
# How much more a lead that got this far does (visits, opens, meetings) than a new one.
_ENGAGEMENT = {NEW: 0.6, DISQUALIFIED: 0.4, MQL: 1.3, RECYCLED: 1.0, SAL: 1.6, SQL: 2.0, OPPORTUNITY: 2.4,
               WON: 2.6, LOST: 1.8}

# Marketing's own reasons for sending a lead back to nurture (free text: recycling has no list).
_NURTURE_REASONS = ("Not ready to buy yet", "No budget until next fiscal year", "Timing: revisit next quarter",
                    "Early research, no project yet")
# Sales' silence rule, as the default rejection list words it.
_NO_RESPONSE = "No response after the agreed attempts"
_MQL_RULE = "MQL definition v3"


def _expand(shares: dict[str, float], size: int) -> tuple[str, ...]:
    """Exactly `size` entries, each option as often as its share (largest remainders round up)."""
    total = sum(shares.values())
    exact = {option: share * size / total for option, share in shares.items()}
    counts = {option: int(value) for option, value in exact.items()}
    for option in sorted(exact, key=lambda option: counts[option] - exact[option])[: size - sum(counts.values())]:
        counts[option] += 1
    return tuple(option for option, count in counts.items() for _ in range(count))


def _weighted(options: Iterable[tuple[object, int]]) -> tuple:
    """A tuple where each option appears as often as its share, so that one uniform pick draws one."""
    return tuple(option for option, share in options for _ in range(share))


_COUNTRY_PICK = _weighted((index, country[1]) for index, country in enumerate(_COUNTRIES))
_SOURCE_PICK = _weighted((index, source.share) for index, source in enumerate(_SOURCES))
_JOURNEY_PICK = _weighted(_JOURNEYS)
_SENIORITY_PICK = _weighted((index, row[1]) for index, row in enumerate(_SENIORITY_TITLES))
_BAND_PICK = _weighted((index, band[2]) for index, band in enumerate(_EMPLOYEE_BANDS))


# Leads sales works (SQL and past) meet the team and read the pricing page more than the others.
_ACTIVITIES_ANYONE = _activity_pool(meeting_weight=1)
_ACTIVITIES_IN_SALES = _activity_pool(meeting_weight=6)


# --- Deterministic draws -----------------------------------------------------------------------------

_MASK64 = (1 << 64) - 1


def _mix64(value: int) -> int:
    """SplitMix64: a fast, well-spread hash of an integer (company attributes are a function of its index)."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def _rng(seed: int, stream: str, chunk: int) -> random.Random:
    # A string seed is hashed with SHA-512, the same on every platform and Python run.
    return random.Random(f"{seed}:{stream}:{chunk}")


@lru_cache(maxsize=4)
def _clock(anchor: int, postgresql: bool) -> tuple[int, tuple[str, ...], tuple[str, ...]]:
    """Tables that turn epoch seconds into timestamps with two lookups (strftime per row costs ~1 µs).

    PostgreSQL gets an explicit UTC offset; SQLite gets the naive UTC text Django itself stores.
    """
    first_day = anchor - 500 * DAY
    days = tuple(
        datetime.fromtimestamp(first_day + n * DAY, tz=UTC).strftime("%Y-%m-%d ") for n in range(502)
    )
    suffix = "+00" if postgresql else ""
    times = tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{suffix}" for s in range(DAY))
    return first_day, days, times


# --- The plan and the skeleton of each lead ----------------------------------------------------------


@dataclass(frozen=True)
class DemoPlan:
    """Everything a worker needs to generate any chunk: small, so it travels with each task."""

    seed: int
    leads: int
    activities: int
    companies: int
    anchor: int  # epoch seconds of today's midnight, UTC: nothing happens at or after it
    postgresql: bool
    # The agreed, editable lists of reasons, as the database holds them.
    disqualification_reasons: tuple[str, ...] = ("Wrong profile",)
    rejection_reasons: tuple[str, ...] = ("Not a fit for our offer",)
    loss_reasons: tuple[str, ...] = ("Chose a competitor",)

    @property
    def window_start(self) -> int:
        return self.anchor - WINDOW_DAYS * DAY

    @property
    def lead_chunks(self) -> int:
        return -(-self.leads // LEAD_CHUNK)

    @property
    def company_chunks(self) -> int:
        return -(-self.companies // COMPANY_CHUNK)


def companies_for(leads: int) -> int:
    """About eight leads a company, as in a B2B database where most accounts have a handful of contacts."""
    return max(10, leads // 8) if leads else 0


class _Company(NamedTuple):
    name: str
    domain: str
    country: int  # index into _COUNTRIES
    industry: str
    employees: int | None
    band: int  # index into _EMPLOYEE_BANDS
    revenue: int | None
    convention: int  # how the company spells addresses: 0 first.last, 1 flast, 2 first_last, 3 first
    created: int  # seconds before the demo window opens: accounts came from the CRM earlier


def _company(seed: int, index: int) -> _Company:
    """Company number `index` (0-based): a pure function of the seed and the index, unique in its domain.

    Domains come from a bijection of the index: the first heads x tails indexes get a bare compound
    ("northwave.de"), the next ones a line of business ("northwave-logistics.com"), and only beyond those
    a number. Which compound an index gets is scrambled by a multiplication modulo the count, which is a
    permutation because the multiplier is a prime that divides none of the counts.
    """
    heads, tails, lines = len(_NAME_HEADS), len(_NAME_TAILS), len(_LINES_OF_BUSINESS)
    bare = heads * tails
    multiplier, offset = 1_000_000_007, seed * 7919
    line: int | None = None
    number = 0
    if index < bare:
        compound = (index * multiplier + offset) % bare
    else:
        with_line = bare * lines
        number, rest = divmod(index - bare, with_line)
        compound, line = divmod((rest * multiplier + offset) % with_line, lines)
    head, tail = divmod(compound, tails)
    stem = _NAME_HEADS[head].lower() + _NAME_TAILS[tail]

    h = _mix64((seed << 40) ^ index)
    country = _COUNTRY_PICK[h % len(_COUNTRY_PICK)]
    _, _, _, _, country_tld, legal_forms = _COUNTRIES[country]
    tld_draw = (h >> 12) % 20
    tld = country_tld if tld_draw < 13 else ("com" if tld_draw < 18 else "io")
    band = _BAND_PICK[(h >> 20) % len(_BAND_PICK)]
    low, high, _, _ = _EMPLOYEE_BANDS[band]
    h2 = _mix64(h)
    employees = low + int((high - low) * ((h2 & 0xFFFF) / 65536) ** 2)
    revenue_per_employee = 80_000 + ((h2 >> 16) & 0xFFFF) * 4  # 80k-340k a head
    unknown_size = (h2 >> 32) % 25 == 0
    if line is None:
        industry = _INDUSTRIES[(h2 >> 40) % len(_INDUSTRIES)]
        domain = f"{stem}.{tld}"
        name = stem.capitalize()
    else:
        business, industry = _LINES_OF_BUSINESS[line]
        suffix = f"{number + 1}" if number else ""
        domain = f"{stem}-{business.lower()}{suffix}.{tld}"
        name = f"{stem.capitalize()} {business}" + (f" {number + 1}" if number else "")
    legal = legal_forms[(h2 >> 48) % len(legal_forms)]
    if legal:
        name = f"{name} {legal}"
    convention_draw = (h >> 28) % 20
    convention = 0 if convention_draw < 12 else 1 if convention_draw < 16 else 2 if convention_draw < 18 else 3
    if convention == 3 and employees > 50:
        convention = 0  # only small companies give everyone their first name as an address
    return _Company(
        name=name, domain=domain, country=country, industry=industry,
        employees=None if unknown_size else employees, band=band,
        revenue=None if unknown_size else employees * revenue_per_employee // 1000 * 1000,
        convention=convention, created=DAY + _mix64(h2) % (400 * DAY),
    )


@lru_cache(maxsize=1)
def _companies(seed: int, count: int) -> tuple[_Company, ...]:
    """Every company, built once per process: ~20 µs each, and any lead may work at any of them.

    demo_seed() builds it before starting the worker processes, which then share it (fork).
    """
    return tuple(_company(seed, index) for index in range(count))


class _Skeleton(NamedTuple):
    """What more than one table needs to know about a lead."""

    id: int
    created: int
    country: int  # index into _COUNTRIES
    company: int  # 0-based company index, -1 for a lead with a free-mail address and no company
    source: int
    option: int
    journey: tuple[tuple[str, int], ...]  # (stage, entered at), starting with (new, created)
    rep: int  # the rep who worked (or would work) the lead
    handed_off: bool  # an MQL assigned to the rep, whether or not they accepted it
    owner: int | None
    activities: int
    last_activity: int | None


def _lead_skeletons(plan: DemoPlan, chunk: int) -> list[_Skeleton]:
    rng = _rng(plan.seed, "skeleton", chunk)
    rnd = rng.random
    companies = _companies(plan.seed, plan.companies)
    first, last = chunk * LEAD_CHUNK + 1, min((chunk + 1) * LEAD_CHUNK, plan.leads)
    window, span, anchor, lead_count = plan.window_start, WINDOW_DAYS * DAY, plan.anchor, plan.leads
    company_count = len(companies)
    countries, sources, journeys = len(_COUNTRY_PICK), len(_SOURCE_PICK), len(_JOURNEY_PICK)
    show_every_stage = lead_count >= 3 * len(_EVERY_STAGE)
    drafts = []
    weights = []
    for lead_id in range(first, last + 1):
        # Ids grow with creation time, as they would have in a live database.
        created = window + int((lead_id - 1 + rnd()) * span / lead_count)
        if rnd() < 0.13:
            company = -1
            country = _COUNTRY_PICK[int(rnd() * countries)]
        else:
            company = int(company_count * rnd() ** 1.4)  # a few big accounts, a long tail of small ones
            country = companies[company].country if rnd() < 0.85 else _COUNTRY_PICK[int(rnd() * countries)]
        source = _SOURCE_PICK[int(rnd() * sources)]

        if lead_id <= len(_EVERY_STAGE) and show_every_stage:
            stages, pace = _EVERY_STAGE[lead_id - 1], 0.2
        else:
            stages, pace = _JOURNEY_PICK[int(rnd() * journeys)], 1.0
        journey = [(NEW, created)]
        at, previous = created, NEW
        for stage in stages[1:]:
            shortest, longest = _STEP_DAYS[previous, stage]
            at += 600 + int((shortest + (longest - shortest) * rnd() ** 2) * DAY * pace)
            if at >= anchor:
                break
            journey.append((stage, at))
            previous = stage
        engaged = len(journey) > 1

        reps = _REPS_BY_COUNTRY.get(_COUNTRIES[country][0], _REP_IDS)
        rep = reps[int(rnd() * len(reps))]
        # Marketing handed the MQL to the rep: always when the rep accepted it, often when still pending.
        reached_mql = engaged and journey[1][0] == MQL
        handed_off = reached_mql and ((len(journey) > 2 and journey[2][0] == SAL) or rnd() < 0.6)
        if previous in _WORKED_BY_SALES:
            owner = rep
        elif previous == MQL:
            owner = rep if handed_off else None
        elif previous == DISQUALIFIED and handed_off:
            owner = rep  # the rep who judged it keeps it, so that their manager can review the call
        else:
            owner = None  # new, disqualified by marketing, back in nurture

        # Furthest stage reached, age, and a heavy tail: a few leads do far more than the rest.
        weight = max(_ENGAGEMENT[stage] for stage, _ in journey) if engaged else _ENGAGEMENT[NEW]
        weights.append(weight * ((anchor - created) / DAY + 1) ** 0.5 / (0.08 + rnd()))
        drafts.append((lead_id, created, country, company, source, int(rnd() * len(_SOURCES[source].options)),
                       tuple(journey), rep, handed_off, owner))

    # The chunk's share of all activities is exact, so the total is exactly plan.activities.
    total = plan.activities * last // lead_count - plan.activities * (first - 1) // lead_count
    weight_sum = sum(weights) or 1.0
    counts = [int(total * weight / weight_sum) for weight in weights]
    for index in rng.choices(range(len(counts)), weights=weights, k=total - sum(counts)):
        counts[index] += 1

    skeletons = []
    for draft, count in zip(drafts, counts, strict=True):
        created = draft[1]
        if count == 0:
            last_activity = None
        elif count == 1:
            last_activity = created  # only the capture itself
        else:
            # Most leads were last seen recently; a few went quiet weeks ago.
            last_activity = created + int((anchor - 1 - created) * rnd() ** 0.35)
        skeletons.append(_Skeleton(*draft, activities=count, last_activity=last_activity))
    return skeletons


# --- Rows -----------------------------------------------------------------------------------------------

COMPANY_COLUMNS = ("id", "name", "domain", "employees", "industry", "country", "annual_revenue", "created_at")
LEAD_COLUMNS = (
    "id", "email", "first_name", "last_name", "phone", "job_title", "seniority", "country", "company_id",
    "source", "campaign", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "owner_id",
    "stage", "stage_entered_at", "created_at", "updated_at", "last_activity_at", "do_not_contact", "properties",
    "duplicate_attempts", "last_duplicate_attempt_at",
)
STAGE_CHANGE_COLUMNS = ("lead_id", "from_stage", "to_stage", "changed_at", "changed_by_id", "reason", "note")
ACTIVITY_COLUMNS = ("lead_id", "type", "url", "properties", "occurred_at", "created_at")


class ChunkRows(NamedTuple):
    """One chunk of leads as COPY lines: the leads, their stage history and their activities."""

    leads: list[str]
    stage_changes: list[str]
    activities: list[str]


def company_rows(plan: DemoPlan, chunk: int) -> list[str]:
    first_day, days, times = _clock(plan.anchor, plan.postgresql)
    rows = []
    companies = _companies(plan.seed, plan.companies)
    for index in range(chunk * COMPANY_CHUNK, min((chunk + 1) * COMPANY_CHUNK, plan.companies)):
        company = companies[index]
        day, second = divmod(plan.window_start - company.created - first_day, DAY)
        rows.append("\t".join((
            str(index + 1), company.name, company.domain,
            NULL if company.employees is None else str(company.employees), company.industry,
            _COUNTRIES[company.country][0], NULL if company.revenue is None else f"{company.revenue}.00",
            days[day] + times[second],
        )))
    return rows


def chunk_rows(plan: DemoPlan, chunk: int) -> ChunkRows:
    skeletons = _lead_skeletons(plan, chunk)
    return ChunkRows(
        _lead_rows(plan, chunk, skeletons), _stage_change_rows(plan, chunk, skeletons),
        _activity_rows(plan, chunk, skeletons),
    )


def _local_part(first: str, last: str, convention: int) -> str:
    if convention == 1:
        return first[0] + last
    if convention == 2:
        return f"{first}_{last}"
    if convention == 3:
        return first
    return f"{first}.{last}"


def _lead_rows(plan: DemoPlan, chunk: int, skeletons: list[_Skeleton]) -> list[str]:
    """Lead rows. An address may repeat (two Anna Müllers at one company): unique_email() settles that."""
    rng = _rng(plan.seed, "lead", chunk)
    rnd = rng.random
    companies = _companies(plan.seed, plan.companies)
    first_day, days, times = _clock(plan.anchor, plan.postgresql)

    def timestamp(epoch: int) -> str:
        day, second = divmod(epoch - first_day, DAY)
        return days[day] + times[second]

    rows = []
    for lead in skeletons:
        code, _, calling_code, name_pool = _COUNTRIES[lead.country][:4]
        firsts, lasts = _NAME_POOLS[name_pool]
        first, first_slug = firsts[int(rnd() * len(firsts))]
        last, last_slug = lasts[int(rnd() * len(lasts))]
        if lead.company < 0:
            company_id = NULL
            mailboxes = _FREE_MAIL[name_pool]
            # People pick a private address from whatever was free: a style, often a year or a number.
            number = ("", "", str(60 + int(rnd() * 45))[-2:], str(1960 + int(rnd() * 45)), str(int(rnd() * 1000)))
            local = _local_part(first_slug, last_slug, int(rnd() * 3)) + number[int(rnd() * 5)]
            email = f"{local}@{mailboxes[int(rnd() * len(mailboxes))]}"
            band = ""
        else:
            company = companies[lead.company]
            company_id = str(lead.company + 1)
            email = f"{_local_part(first_slug, last_slug, company.convention)}@{company.domain}"
            band = _EMPLOYEE_BANDS[company.band][3]

        if rnd() < 0.1:
            seniority, title = "", ""
        else:
            seniority, _, titles = _SENIORITY_TITLES[_SENIORITY_PICK[int(rnd() * len(_SENIORITY_PICK))]]
            title = titles[int(rnd() * len(titles))]
        phone = f"{calling_code} {100 + int(rnd() * 900)} {1000000 + int(rnd() * 9000000)}" if rnd() < 0.6 else ""
        source = _SOURCES[lead.source]
        stage, entered = lead.journey[-1]

        draw = rnd()
        properties = []
        if band and draw < 0.7:
            properties.append(f'"employees_band": "{band}"')
        if draw < 0.45:
            properties.append(f'"budget": "{_BUDGETS[int(rnd() * len(_BUDGETS))]}"')
            properties.append(f'"timeline": "{_TIMELINES[int(rnd() * len(_TIMELINES))]}"')
        if draw < 0.25:
            wants_demo = "true" if rnd() < 0.5 else "false"
            properties.append(f'"form": {{"crm": "{_CRMS[int(rnd() * len(_CRMS))]}", "wants_demo": {wants_demo}}}')
        if stage in (OPPORTUNITY, WON) or (stage == LOST and len(lead.journey) > 4):
            properties.append(f'"deal_value": {(5 + int(rnd() * 195)) * 1000}, "currency": "EUR"')

        updated = entered
        duplicate_attempts, last_duplicate = "0", NULL
        if len(lead.journey) > 1 and rnd() < 0.02:
            # Filled in a form again after they had moved on: flagged, never reset.
            attempted = lead.journey[1][1] + int((plan.anchor - 1 - lead.journey[1][1]) * rnd())
            duplicate_attempts, last_duplicate = str(1 + int(rnd() * 3)), timestamp(attempted)
            updated = max(updated, attempted)

        rows.append("\t".join((
            str(lead.id), email, first, last, phone, title, seniority, code, company_id,
            source.name, source.options[lead.option], NULL if lead.owner is None else str(lead.owner),
            stage, timestamp(entered), timestamp(lead.created), timestamp(updated),
            NULL if lead.last_activity is None else timestamp(lead.last_activity),
            "1" if rnd() < 0.03 else "0", "{" + ", ".join(properties) + "}", duplicate_attempts, last_duplicate,
        )))
    return rows


def _stage_change_rows(plan: DemoPlan, chunk: int, skeletons: list[_Skeleton]) -> list[str]:
    """Every lead's history: `created` into new, then each move, by whom and why, in time order.

    Each move is one that leads.services.TRANSITIONS allows the mover's role to make; disqualifications,
    losses and sales' rejections give a reason from the agreed lists (leads.models.Reason).
    """
    rng = _rng(plan.seed, "stage", chunk)
    rnd = rng.random
    first_day, days, times = _clock(plan.anchor, plan.postgresql)
    marketing, marketers = _MARKETING_IDS, _MARKETER_IDS
    disqualification, rejection, loss = plan.disqualification_reasons, plan.rejection_reasons, plan.loss_reasons
    rows = []
    append = rows.append
    for lead in skeletons:
        lead_id = str(lead.id)
        day, second = divmod(lead.created - first_day, DAY)
        creator = str(marketers[int(rnd() * len(marketers))]) if _SOURCES[lead.source].created_by_marketer else NULL
        append(f"{lead_id}\t\t{NEW}\t{days[day]}{times[second]}\t{creator}\tcreated\t")
        if len(lead.journey) == 1:
            continue
        # Sales moves are the rep's; now and then their manager steps in.
        sales = str(_SALES_MANAGER_ID if rnd() < 0.05 else lead.rep)
        previous = NEW
        for stage, at in lead.journey[1:]:
            note = ""
            if stage == MQL:
                if rnd() < 0.8:
                    by, reason = NULL, f"Re-engaged: {_MQL_RULE}" if previous == RECYCLED else _MQL_RULE
                else:
                    by, reason = str(marketing[int(rnd() * len(marketing))]), "Hand-raiser: asked for a demo"
            elif stage == SAL:
                by, reason = sales, "accepted"
            elif stage == SQL:
                by, reason = sales, "Discovery call held" if rnd() < 0.5 else ""
            elif stage == OPPORTUNITY:
                by, reason = sales, "Proposal requested" if rnd() < 0.5 else ""
            elif stage == WON:
                by, reason = sales, "Closed won"
                note = "Signed a 12-month subscription." if rnd() < 0.3 else ""
            elif stage == LOST:
                by, reason = sales, loss[int(rnd() * len(loss))]
            elif stage == DISQUALIFIED:
                if previous != NEW and lead.handed_off:
                    by = sales
                else:
                    by = str(marketing[int(rnd() * len(marketing))])
                reason = disqualification[int(rnd() * len(disqualification))]
            elif previous == LOST:  # recycled from here on: back to marketing's nurture
                by, reason = str(marketing[int(rnd() * len(marketing))]), "Back to nurture after a loss"
            elif previous == SAL and rnd() < 0.3:
                by, reason = NULL, _NO_RESPONSE
            elif previous == MQL and not lead.handed_off:
                by = str(marketing[int(rnd() * len(marketing))])
                reason = _NURTURE_REASONS[int(rnd() * len(_NURTURE_REASONS))]
            else:
                by, reason = sales, rejection[int(rnd() * len(rejection))]
            day, second = divmod(at - first_day, DAY)
            append(f"{lead_id}\t{previous}\t{stage}\t{days[day]}{times[second]}\t{by}\t{reason}\t{note}")
            previous = stage
    return rows


def _activity_rows(plan: DemoPlan, chunk: int, skeletons: list[_Skeleton]) -> list[str]:
    """Each lead's activities: the capture at creation, the latest at last_activity_at, the rest between.

    The hot loop of a 10M-activity seed (~1.5 µs a row): one call for 50 random bits, of which 10 pick the
    activity from a 1,024-entry table and 40 place it in time.
    """
    rng = _rng(plan.seed, "activity", chunk)
    rnd, bits = rng.random, rng.getrandbits
    first_day, days, times = _clock(plan.anchor, plan.postgresql)
    mask = ACTIVITY_POOL_SIZE - 1
    rows: list[str] = []
    append = rows.append
    for lead in skeletons:
        count = lead.activities
        if not count:
            continue
        lead_id = str(lead.id)
        captures = _SOURCES[lead.source].captures
        day, second = divmod(lead.created - first_day, DAY)
        at = days[day] + times[second]
        append(f"{lead_id}\t{captures[int(rnd() * len(captures))]}\t{at}\t{at}")
        if count == 1:
            continue
        pool = _ACTIVITIES_IN_SALES if lead.journey[-1][0] in _WORKED_BY_SALES else _ACTIVITIES_ANYONE
        day, second = divmod(lead.last_activity - first_day, DAY)
        at = days[day] + times[second]
        append(f"{lead_id}\t{pool[bits(10)]}\t{at}\t{at}")
        start, spread = lead.created - first_day, lead.last_activity - lead.created
        for draw in [bits(50) for _ in range(count - 2)]:
            day, second = divmod(start + ((draw >> 10) * spread >> 40), DAY)
            at = days[day] + times[second]
            append(f"{lead_id}\t{pool[draw & mask]}\t{at}\t{at}")
    return rows


def _copy_input(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode() if rows else b""


def _copy_chunk(plan: DemoPlan, chunk: int) -> tuple[bytes, bytes, bytes]:
    """One chunk of leads as COPY input for each of the three tables; runs in a worker process."""
    leads, stage_changes, activities = chunk_rows(plan, chunk)
    return _copy_input(leads), _copy_input(stage_changes), _copy_input(activities)


# --- Loading --------------------------------------------------------------------------------------------


class DatabaseNotEmpty(Exception):
    """The database already has users or leads, and seeding was not asked to reset it."""


@dataclass
class SeedReport:
    database: str
    companies: int = 0
    leads: int = 0
    stage_changes: int = 0
    activities: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)


def database_has_data() -> bool:
    return User.objects.exists() or Lead.objects.exists() or Company.objects.exists()


def demo_anchor() -> int:
    """Today's midnight, UTC, in epoch seconds: the demo's "now", the same all day long."""
    return int(timezone.now().replace(hour=0, minute=0, second=0, microsecond=0).timestamp())


def demo_seed(
    *, leads: int = DEFAULT_LEADS, activities: int = DEFAULT_ACTIVITIES, seed: int = DEFAULT_SEED,
    reset: bool = False, anchor: int | None = None, workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Replaces the demo organisation, its companies, leads, stage history and activities with generated ones.

    Refuses (DatabaseNotEmpty) when users or leads exist, unless reset: then they are deleted first.
    """
    if leads < 0 or activities < 0:
        raise ValueError("Leads and activities are counts: zero or more.")
    if activities and not leads:
        raise ValueError("Activities need leads to belong to.")
    if not reset and database_has_data():
        raise DatabaseNotEmpty("The database already has users or leads.")
    postgresql = connection.vendor == "postgresql"
    plan = DemoPlan(
        seed=seed, leads=leads, activities=activities, companies=companies_for(leads),
        anchor=demo_anchor() if anchor is None else anchor, postgresql=postgresql, **_reason_lists(),
    )
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if postgresql and leads >= PARALLEL_MIN_LEADS else 0
    report = SeedReport(database=connection.vendor)
    started = time.monotonic()
    _companies(plan.seed, plan.companies)  # before the worker processes start, so that they share it
    report.phases["companies_built"] = time.monotonic() - started
    if postgresql:
        _load_postgresql(plan, report, workers, progress or _quiet)
    else:
        _load_sqlite(plan, report, progress or _quiet)
    report.seconds = time.monotonic() - started
    return report


def _quiet(message: str) -> None:
    pass


def _reason_lists() -> dict[str, tuple[str, ...]]:
    """The active reasons of each list, in the list's order; a list someone emptied keeps the plan's default."""
    lists: dict[str, list[str]] = defaultdict(list)
    for kind, label in Reason.objects.filter(is_active=True).order_by("kind", "position", "label").values_list(
        "kind", "label"
    ):
        lists[kind].append(label)
    names = {Reason.Kind.DISQUALIFICATION: "disqualification_reasons", Reason.Kind.REJECTION: "rejection_reasons",
             Reason.Kind.LOSS: "loss_reasons"}
    return {names[kind]: tuple(labels) for kind, labels in lists.items() if kind in names}


def _create_people(plan: DemoPlan) -> None:
    """The teams and demo users, with fixed ids so that leads and stage changes can name them."""
    joined = datetime.fromtimestamp(plan.window_start - 180 * DAY, tz=UTC)
    Team.objects.bulk_create([Team(id=id, name=name, function=function) for id, name, function in DEMO_TEAMS])
    # One hash for everyone: PBKDF2 costs ~0.3 s a call and they all share the demo password.
    password = make_password(DEMO_PASSWORD)
    User.objects.bulk_create([
        User(
            id=user.id, email=user.email, first_name=user.first_name, last_name=user.last_name, role=user.role,
            team_id=user.team_id, territory=list(user.territory), capacity=user.capacity,
            manager_id=user.manager_id, password=password, date_joined=joined,
            is_staff=user.role == Role.ADMIN, is_superuser=user.role == Role.ADMIN,
        )
        for user in DEMO_USERS
    ])


class _Meter:
    """Counts rows; prints how far a table is and its rate at most every few seconds, then a summary."""

    def __init__(self, label: str, expected: int, progress: Callable[[str], None]) -> None:
        self.label, self.expected, self.progress = label, expected, progress
        self.rows = 0
        self.started = self.shown = time.monotonic()

    def add(self, rows: int) -> None:
        self.rows += rows
        now = time.monotonic()
        if now - self.shown >= 5:
            self.shown = now
            of = f" of {self.expected:,}" if self.expected else ""
            self.progress(f"  {self.label}: {self.rows:,}{of}, {self.rows / (now - self.started):,.0f} rows/s")

    def done(self) -> float:
        seconds = time.monotonic() - self.started
        rate = self.rows / seconds if seconds else 0
        self.progress(f"{self.label}: {self.rows:,} rows in {seconds:.1f} s ({rate:,.0f} rows/s)")
        return seconds


# -- SQLite: plain batched inserts; the default demo is small.


def _insert_sql(model: type, columns: tuple[str, ...]) -> str:
    placeholders = ", ".join(["%s"] * len(columns))
    # Names from the model and the column lists above, never from input.
    return f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608


def _parameters(lines: list[str]) -> list[list[str | None]]:
    return [[None if value == NULL else value for value in line.split("\t")] for line in lines]


def _load_sqlite(plan: DemoPlan, report: SeedReport, progress: Callable[[str], None]) -> None:
    with transaction.atomic():
        _delete_demo_tables()
        _create_people(plan)
        with connection.cursor() as cursor:
            meter = _Meter("companies", plan.companies, progress)
            for chunk in range(plan.company_chunks):
                rows = _parameters(company_rows(plan, chunk))
                cursor.executemany(_insert_sql(Company, COMPANY_COLUMNS), rows)
                meter.add(len(rows))
            report.phases["companies"] = meter.done()
            report.companies = meter.rows

            meter = _Meter("leads", plan.leads, progress)
            seen_emails: set[str] = set()
            for chunk in range(plan.lead_chunks):
                leads, stage_changes, activities = chunk_rows(plan, chunk)
                lead_parameters = _parameters(leads)
                for row in lead_parameters:
                    row[1] = unique_email(row[1], int(row[0]), seen_emails)
                cursor.executemany(_insert_sql(Lead, LEAD_COLUMNS), lead_parameters)
                cursor.executemany(_insert_sql(StageChange, STAGE_CHANGE_COLUMNS), _parameters(stage_changes))
                cursor.executemany(_insert_sql(Activity, ACTIVITY_COLUMNS), _parameters(activities))
                report.leads += len(leads)
                report.stage_changes += len(stage_changes)
                report.activities += len(activities)
                meter.add(len(leads))
            report.phases["load"] = meter.done()
            _report_load(report, progress)


def _report_load(report: SeedReport, progress: Callable[[str], None]) -> None:
    seconds = report.phases["load"] or 1e-9
    progress(f"  with {report.stage_changes:,} stage changes and {report.activities:,} activities "
             f"({report.activities / seconds:,.0f} activities/s)")


def unique_email(email: str, lead_id: int, seen: set[str]) -> str:
    """The rule for an address that an earlier lead already has: the lead id joins the local part.

    No generated local part ends in "." and digits, so the result is unique too. PostgreSQL applies the
    same rule in SQL (_UNIQUE_EMAIL_SQL).
    """
    if email in seen:
        local, domain = email.rsplit("@", 1)
        email = f"{local}.{lead_id}@{domain}"
    seen.add(email)
    return email


def _delete_people() -> None:
    for model in (User, Team):
        model.objects.all().delete()


def _delete_demo_tables() -> None:
    """Empties the demo's tables, and whatever refers to them, through the ORM's cascades (SQLite)."""
    for model in (Activity, StageChange, Lead, Company):
        model.objects.all().delete()  # one plain DELETE where nothing cascades, the ORM's cascade otherwise
    _delete_people()
    # Fresh ids, so that two runs with one seed give the same rows.
    tables = [model._meta.db_table for model in (Activity, StageChange, Lead, Company, User, Team)]
    with connection.cursor() as cursor:
        placeholders = ", ".join(["%s"] * len(tables))
        cursor.execute(f"DELETE FROM sqlite_sequence WHERE name IN ({placeholders})", tables)  # noqa: S608


# -- PostgreSQL: COPY in one transaction, secondary indexes and constraints built after the load.

# A repeated address gets the lead id in its local part, exactly as unique_email() does for SQLite.
_UNIQUE_EMAIL_SQL = """
    WITH repeated AS (
        SELECT email, min(id) AS first_id FROM leads_lead GROUP BY email HAVING count(*) > 1
    )
    UPDATE leads_lead AS lead
    SET email = split_part(lead.email, '@', 1) || '.' || lead.id || '@' || split_part(lead.email, '@', 2)
    FROM repeated
    WHERE lead.email = repeated.email AND lead.id <> repeated.first_id
"""


def _load_postgresql(plan: DemoPlan, report: SeedReport, workers: int, progress: Callable[[str], None]) -> None:
    """One transaction: a failure at any point leaves the database as it was, indexes included.

    Both cores stay busy: worker processes generate chunks of leads with their history and activities
    while PostgreSQL copies the previous ones in; then every index is built in one sorted pass.
    """
    loaded = [model._meta.db_table for model in (Company, Lead, StageChange, Activity)]
    # The workers make only strings and tuples that form no cycles: the cyclic garbage collector would
    # spend ~15% of their time finding nothing.
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=gc.disable) if workers else None
    quote = connection.ops.quote_name
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            phase = time.monotonic()
            # Run the checks of constraints deferred so far (inside a test's transaction, say): TRUNCATE and
            # ALTER TABLE refuse a table with pending checks.
            connection.check_constraints()
            # TRUNCATE rather than DELETE: instant at any size, and it lets COPY write frozen rows (FREEZE),
            # which spares a later VACUUM from rewriting every page. CASCADE empties the tables of lead data
            # that refer to these (handoffs, scores, attempts, feedback).
            cursor.execute(f"TRUNCATE {', '.join(map(quote, loaded))} RESTART IDENTITY CASCADE")
            # People are deleted, not truncated: TRUNCATE ... CASCADE would empty every table that mentions
            # a user or a team (routing rules, signed versions, tokens) wholesale, where the ORM applies each
            # relation's on_delete. With the leads gone there is little left to cascade.
            _delete_people()
            connection.check_constraints()
            # Sized for this job only: the index builds sort in memory instead of on disk.
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            # Before any insert: dropping a foreign key alters the table it points to as well, which
            # PostgreSQL refuses while that table has deferred checks pending.
            rebuild = _drop_secondary_indexes(cursor, loaded)
            _create_people(plan)
            connection.check_constraints()
            report.phases["reset"] = time.monotonic() - phase

            def copy(model: type, columns: tuple[str, ...], data: io.RawIOBase | io.BytesIO) -> None:
                _copy(cursor, f"COPY {quote(model._meta.db_table)} ({', '.join(columns)}) FROM STDIN WITH (FREEZE)",
                      data)

            meter = _Meter("companies", plan.companies, progress)
            company_chunks = (_copy_input(company_rows(plan, chunk)) for chunk in range(plan.company_chunks))
            copy(Company, COMPANY_COLUMNS, _ByteStream(_counted(company_chunks, meter)))
            report.phases["companies"] = meter.done()
            report.companies = meter.rows

            # Three COPYs a chunk, one per table, rather than one per table: no table waits for another
            # (no foreign keys yet), so the workers generate while PostgreSQL loads, from the first chunk
            # to the last. A COPY statement costs ~1 ms to start; 600 of them are noise.
            meter = _Meter("leads", plan.leads, progress)
            for leads, stage_changes, activities in _generate(pool, plan):
                copy(Lead, LEAD_COLUMNS, io.BytesIO(leads))
                copy(StageChange, STAGE_CHANGE_COLUMNS, io.BytesIO(stage_changes))
                copy(Activity, ACTIVITY_COLUMNS, io.BytesIO(activities))
                report.stage_changes += stage_changes.count(b"\n")
                report.activities += activities.count(b"\n")
                meter.add(leads.count(b"\n"))
            report.phases["load"] = meter.done()
            report.leads = meter.rows
            _report_load(report, progress)

            phase = time.monotonic()
            cursor.execute(_UNIQUE_EMAIL_SQL)
            for label, statement in rebuild:
                started = time.monotonic()
                cursor.execute(statement)
                progress(f"  {label}: {time.monotonic() - started:.1f} s")
            # The rows above carry their own ids; the next ones the application creates must not collide.
            for statement in connection.ops.sequence_reset_sql(no_style(), [Team, User, Company, Lead]):
                cursor.execute(statement)
            report.phases["indexes"] = time.monotonic() - phase
            progress(f"indexes and constraints: {report.phases['indexes']:.1f} s")
    finally:
        if pool is not None:
            pool.terminate()
    phase = time.monotonic()
    with connection.cursor() as cursor:
        # Fresh statistics, or the planner takes 10M activities for an empty table until autovacuum wakes.
        cursor.execute(f"ANALYZE {', '.join(map(quote, [*loaded, User._meta.db_table, Team._meta.db_table]))}")
    report.phases["analyze"] = time.monotonic() - phase
    progress(f"analyze: {report.phases['analyze']:.1f} s")


def _drop_secondary_indexes(cursor, tables: list[str]) -> list[tuple[str, str]]:
    """Drops every index, unique and foreign-key constraint of the tables except primary keys, and returns
    the statements that rebuild them.

    Keeping eleven B-trees up to date row by row during a 10M-row load costs several times the load
    itself; one sorted build per index afterwards is far cheaper, and a foreign key checked by one join
    rather than a trigger per row likewise. Primary keys stay: ids arrive in order, so theirs is cheap.
    """
    cursor.execute(
        """
        SELECT con.conrelid::regclass::text, con.conname, con.contype, pg_get_constraintdef(con.oid)
        FROM pg_constraint AS con
        WHERE con.conrelid = ANY(%s::regclass[]) AND con.contype IN ('u', 'f')
        ORDER BY con.contype DESC, con.conname
        """,
        [tables],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """
        SELECT idx.indexrelid::regclass::text, pg_get_indexdef(idx.indexrelid)
        FROM pg_index AS idx
        WHERE idx.indrelid = ANY(%s::regclass[]) AND NOT idx.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint AS con WHERE con.conindid = idx.indexrelid)
        ORDER BY 1
        """,
        [tables],
    )
    indexes = cursor.fetchall()
    for table, name, _, _ in constraints:
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    # Unique constraints first (each builds its index), foreign keys last (checked by one join each).
    return [*indexes, *(
        (name, f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")
        for table, name, kind, definition in sorted(constraints, key=lambda row: row[2] == "f")
    )]


def _generate(pool, plan: DemoPlan) -> Iterator[tuple[bytes, bytes, bytes]]:
    """Each chunk's COPY input, in order, generated up to CHUNKS_IN_FLIGHT ahead in the worker processes.

    Pool.imap would run ahead without limit and pile the whole data set up in memory while COPY catches
    up; a bounded window of pending results keeps memory flat.
    """
    if pool is None:
        for chunk in range(plan.lead_chunks):
            yield _copy_chunk(plan, chunk)
        return
    pending: deque = deque()
    next_chunk = 0
    while pending or next_chunk < plan.lead_chunks:
        while next_chunk < plan.lead_chunks and len(pending) < CHUNKS_IN_FLIGHT:
            pending.append(pool.apply_async(_copy_chunk, (plan, next_chunk)))
            next_chunk += 1
        yield pending.popleft().get()


def _counted(chunks: Iterable[bytes], meter: _Meter) -> Iterator[bytes]:
    for data in chunks:
        meter.add(data.count(b"\n"))
        yield data


class _ByteStream(io.RawIOBase):
    """A read-only file over an iterator of byte strings, which is what COPY FROM STDIN reads."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._buffer:
            try:
                self._buffer = memoryview(next(self._chunks))
            except StopIteration:
                return b""
        if size < 0:
            size = len(self._buffer)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return bytes(data)


# COPY reads its input in pieces of this size: one Python call per MB keeps the call overhead negligible.
_COPY_READ_SIZE = 1 << 20


def _copy(cursor, statement: str, data) -> None:
    raw = cursor.cursor
    if hasattr(raw, "copy_expert"):  # psycopg2
        raw.copy_expert(statement, data, size=_COPY_READ_SIZE)
    else:  # psycopg 3
        with raw.copy(statement) as copy:
            while piece := data.read(_COPY_READ_SIZE):
                copy.write(piece)
