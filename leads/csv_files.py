"""Reading the CSV files people bring (HubSpot, Salesforce, spreadsheets) and writing safe ones.

Pure functions over files and rows, no database: the import service streams rows through these, the
export view writes rows through `csv_safe_row`. Real files are messy; every rule here keeps a valid row.
"""

import codecs
import csv
import functools
import io
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

import pycountry
from charset_normalizer import from_bytes

from leads.models import Seniority
from leads.services import CAPTURE_FIELDS, CaptureItem

# How much of a file we look at to tell its encoding, separator and header: enough for a few hundred
# rows, small enough to read on the upload request.
SAMPLE_BYTES = 256 * 1024
PREVIEW_ROWS = 5

# Lead fields a column can go to; "property" keeps the column as a custom property, "drop" ignores it.
TARGETS: dict[str, str] = {
    "email": "E-mail", "first_name": "First name", "last_name": "Last name", "full_name": "Full name (split)",
    "phone": "Phone", "job_title": "Job title", "seniority": "Seniority", "country": "Country",
    "company": "Company name", "company_domain": "Company website / domain",
    "company_employees": "Company employees", "company_industry": "Company industry",
    "company_annual_revenue": "Company annual revenue", "source": "Source", "campaign": "Campaign",
    "utm_source": "UTM source", "utm_medium": "UTM medium", "utm_campaign": "UTM campaign", "utm_term": "UTM term",
    "utm_content": "UTM content", "do_not_contact": "Do not contact",
    "property": "Keep as custom property", "drop": "Don't import",
}

# Headers as HubSpot, Salesforce and hand-made spreadsheets spell them, squashed to lower-case letters
# and digits ("E-mail Address" → "emailaddress").
_ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "emailaddress", "mail", "workemail", "businessemail", "contactemail", "emailid"),
    "first_name": ("firstname", "first", "givenname", "forename", "prenom", "vorname"),
    "last_name": ("lastname", "last", "surname", "familyname", "nachname"),
    "full_name": ("name", "fullname", "contactname", "leadname", "contact"),
    "phone": ("phone", "phonenumber", "telephone", "tel", "workphone", "businessphone", "mobilephone",
              "mobilephonenumber", "mobile"),
    "job_title": ("title", "jobtitle", "position", "jobposition", "role", "designation"),
    "seniority": ("seniority", "senioritylevel", "level"),
    "country": ("country", "countrycode", "countryregion", "countryname"),
    "company": ("company", "companyname", "account", "accountname", "organization", "organisation", "employer"),
    "company_domain": ("associatedcompanydomain", "companydomain", "companydomainname", "domain", "companywebsite",
                       "website", "websiteurl", "url"),
    "company_employees": ("numberofemployees", "employees", "companysize", "employeecount", "noofemployees",
                          "headcount"),
    "company_industry": ("industry", "companyindustry"),
    "company_annual_revenue": ("annualrevenue", "revenue", "companyrevenue"),
    "source": ("leadsource", "source", "originalsource", "origin"),
    "campaign": ("campaign", "campaignname"),
    "utm_source": ("utmsource",), "utm_medium": ("utmmedium",), "utm_campaign": ("utmcampaign",),
    "utm_term": ("utmterm",), "utm_content": ("utmcontent",),
    "do_not_contact": ("donotcontact", "hasoptedoutofemail", "emailoptout", "optout", "unsubscribed",
                       "donotemail", "doNotContact".lower()),
}
# (target, rank): when two columns name one field, the more specific header (lower rank) gets it.
_ALIAS_OF = {alias: (target, rank) for target, aliases in _ALIASES.items() for rank, alias in enumerate(aliases)}

# What people type when they mean "nothing".
PLACEHOLDERS = frozenset({"", "select", "null", "none", "n/a", "na", "-", "--", "—", "#n/a", "undefined", "nil",
                          "(none)", "(blank)", "not provided", "unknown"})
_TRUE = frozenset({"true", "yes", "y", "1", "x", "t", "on", "ja", "oui"})
_FALSE = frozenset({"false", "no", "n", "0", "f", "off", "nein", "non"})

_SALESFORCE_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
_ISO_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$")
_COUNTRY_ALIASES = {"uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "great britain": "GB",
                    "usa": "US", "u.s.a.": "US", "u.s.": "US", "america": "US", "united states of america": "US",
                    "deutschland": "DE", "holland": "NL", "south korea": "KR", "russia": "RU", "uae": "AE"}


class NotACsvError(ValueError):
    """The file cannot be imported; the message says why, in words for the person who uploaded it."""


@dataclass
class CsvShape:
    encoding: str
    delimiter: str
    header: list[str]
    preview: list[list[str]] = field(default_factory=list)


def squash(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def property_keys(header: list[str]) -> list[str]:
    """A custom-property key per column ("Lead Status" → "lead_status"), unique even for repeated headers."""
    keys: list[str] = []
    for position, name in enumerate(header, start=1):
        key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or f"column_{position}"
        candidate, n = key, 2
        while candidate in keys:
            candidate, n = f"{key}_{n}", n + 1
        keys.append(candidate)
    return keys


def auto_mapping(header: list[str], preview: list[list[str]]) -> list[str]:
    """Each column's target: the column whose header names a field most specifically gets it (the first
    one on a tie: "Associated Company Domain" before "Website URL"); the rest are custom properties."""
    best: dict[str, tuple[int, int]] = {}
    for position, name in enumerate(header):
        match = _ALIAS_OF.get(squash(name))
        if match and (match[0] not in best or match[1] < best[match[0]][0]):
            best[match[0]] = (match[1], position)
    chosen = {position: target for target, (_, position) in best.items()}
    mapping = [chosen.get(position) or ("property" if name.strip() else "drop") for position, name in enumerate(header)]
    if "email" not in best:
        # No header says e-mail: the column whose sample values are addresses is it.
        for position in range(len(header)):
            values = [row[position] for row in preview if position < len(row) and row[position].strip()]
            if values and all("@" in value and "." in value.rsplit("@", 1)[-1] for value in values):
                mapping[position] = "email"
                break
    return mapping


def _detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # final=False: the sample may end in the middle of a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(sample[:64 * 1024]).best()
    encoding = best.encoding if best is not None else "cp1252"
    # Latin-1 and Windows-1252 agree but for 0x80-0x9F, where only cp1252 has the curly quotes and €.
    return "cp1252" if encoding in {"latin_1", "iso8859_1", "ascii"} else encoding


def _detect_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=",;\t|").delimiter
    except csv.Error:
        # The sniffer gives up on quoted line breaks; the header line alone decides then.
        counts = {delimiter: lines[0].count(delimiter) for delimiter in ",;\t|"}
        return max(counts, key=counts.get) if max(counts.values()) else ","


def sniff(stream: IO[bytes]) -> CsvShape:
    """The file's encoding, separator, header and first rows; NotACsvError if it cannot be imported."""
    sample = stream.read(SAMPLE_BYTES)
    stream.seek(0)
    if not sample.strip():
        raise NotACsvError("The file is empty.")
    if sample.startswith(b"PK\x03\x04") or sample.startswith(b"\xd0\xcf\x11\xe0"):
        raise NotACsvError("This is an Excel workbook, not a CSV file. In Excel, use File → Save as → "
                           "CSV UTF-8, and upload that file.")
    if sample.startswith(b"%PDF") or b"\x00" in sample.replace(b"\x00\x00", b"")[:4096] and \
            not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise NotACsvError("This file is not a CSV file (it holds binary data). Export a CSV from your CRM or "
                           "spreadsheet and upload that.")
    encoding = _detect_encoding(sample)
    text = sample.decode(encoding, errors="replace")
    delimiter = _detect_delimiter(text)
    rows = _reader(io.StringIO(text, newline=""), delimiter)
    header: list[str] = []
    preview: list[list[str]] = []
    try:
        for row in rows:
            if not any(cell.strip() for cell in row):
                continue
            if not header:
                header = [cell.strip().lstrip("\ufeff") for cell in row]
            elif len(preview) < PREVIEW_ROWS:
                preview.append(row)
            else:
                break
    except csv.Error:
        raise NotACsvError("This file could not be read as CSV.") from None
    if not header:
        raise NotACsvError("The file is empty.")
    if len(header) < 2 and "@" not in header[0] and not any("@" in "".join(row) for row in preview):
        raise NotACsvError("This does not look like a CSV file: no separated columns were found.")
    # Trailing columns with neither a header nor a value are spreadsheet noise.
    while len(header) > 1 and not header[-1] and not any(len(r) >= len(header) and r[len(header) - 1].strip()
                                                          for r in preview):
        header.pop()
    if not preview:
        raise NotACsvError("The file has a header row but no data rows.")
    return CsvShape(encoding=encoding, delimiter=delimiter, header=header, preview=preview)


def _reader(text: IO[str], delimiter: str):
    # The largest field we accept: a notes column can be long, a runaway quote would be the whole file.
    csv.field_size_limit(10 * 1024 * 1024)
    # A NUL character means nothing in a CSV (a damaged file) and PostgreSQL cannot store one in text or
    # JSON: it is dropped as the lines are read, so a row holding one is imported or reported, never a crash.
    lines = (line.replace("\x00", "") if "\x00" in line else line for line in text)
    return csv.reader(lines, delimiter=delimiter, skipinitialspace=False)


def iter_rows(stream: IO[bytes], shape: CsvShape) -> Iterator[tuple[int, list[str]]]:
    """(line number where the row starts, cells) for every data row, streamed: memory is flat at any size."""
    text = io.TextIOWrapper(stream, encoding=shape.encoding, errors="replace", newline="")
    reader = _reader(text, shape.delimiter)
    seen_header = False
    previous_end = 0
    for row in reader:
        start = previous_end + 1
        previous_end = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if not seen_header:
            seen_header = True
            continue
        yield start, row


# --- One row to one capture --------------------------------------------------------------------------------

def blank(value: str) -> bool:
    return value.strip().lower() in PLACEHOLDERS


def parse_bool(value: str) -> bool | None:
    lowered = value.strip().lower()
    return True if lowered in _TRUE else False if lowered in _FALSE else None


def parse_date(value: str) -> str | None:
    """An ISO 8601 date or date-time for a date in ISO or US spelling; None if it is not a date."""
    value = value.strip()
    if _ISO_DATE.match(value):
        return value
    if match := _ISO_DATETIME.match(value):
        day, time, zone = match.groups()
        zone = "+00:00" if zone in {None, "Z", "+0000", "+00:00"} else (zone if ":" in zone else zone[:3] + ":" + zone[3:])
        return f"{day}T{time if time.count(':') == 2 else time + ':00'}{zone}"
    if match := _US_DATE.match(value):
        month, day, year, hour, minute, second, half = match.groups()
        year = int(year) + (2000 if len(year) == 2 else 0)
        try:
            date = datetime(year, int(month), int(day))  # noqa: DTZ001 - a calendar date, no zone
        except ValueError:
            return None
        if hour is None:
            return date.date().isoformat()
        hour = int(hour) % 12 + (12 if half and half.lower() == "pm" else 0) if half else int(hour)
        return f"{date.date().isoformat()}T{hour:02d}:{minute}:{second or '00'}"
    return None


@functools.lru_cache(maxsize=4096)  # a file names a few hundred countries a million times
def parse_country(value: str) -> str | None:
    """The ISO 3166 two-letter code of a country given as a code or a name; None if unknown."""
    value = value.strip()
    if len(value) == 2 and value.isascii() and value.isalpha():  # "éé" is alphabetic, but no country code
        return value.upper()
    if alias := _COUNTRY_ALIASES.get(value.lower()):
        return alias
    try:
        return pycountry.countries.lookup(value).alpha_2
    except LookupError:
        return None


def _number(value: str) -> str | None:
    cleaned = value.strip().replace(",", "").replace(" ", "").replace("$", "").replace("€", "").replace("£", "")
    try:
        float(cleaned)
    except ValueError:
        return None
    return cleaned


# What the company's columns hold (Company.employees: a positive 32-bit integer; annual_revenue: 15 digits, 2
# of them decimals). A number beyond them would make the capture reject the whole row; it is kept as a property.
_EMPLOYEES_MAX = 2_147_483_647
_REVENUE_LIMIT = 1e13


def _fits(target: str, number: float) -> bool:
    if target == "company_employees":
        return number.is_integer() and 0 <= number <= _EMPLOYEES_MAX
    return math.isfinite(number) and abs(number) < _REVENUE_LIMIT


def _property_value(value: str) -> Any:
    flag = parse_bool(value) if value.strip().lower() in {"true", "false", "yes", "no"} else None
    if flag is not None:
        return flag
    return parse_date(value) or value.strip()


_SENIORITY_OF = {**{v: v for v in Seniority.values}, **{label.lower(): v for v, label in Seniority.choices},
                 "c-level": "c_level", "clevel": "c_level", "executive": "c_level", "founder": "owner",
                 "vice president": "vp", "head": "director", "senior manager": "manager", "junior": "entry"}
_LIMITS = {"first_name": 100, "last_name": 100, "phone": 50, "job_title": 200, "source": 100, "campaign": 200,
           "utm_source": 200, "utm_medium": 200, "utm_campaign": 200, "utm_term": 200, "utm_content": 200,
           "company": 200, "company_domain": 253, "company_industry": 100}


def row_to_capture(row: list[str], mapping: list[str], keys: list[str]) -> CaptureItem | str:
    """The capture a row makes under the mapping, or the reason it is rejected (only a missing/invalid e-mail).

    A value that does not fit its field (a country name we do not know, a 300-character title, "lots" of
    employees) is kept as a custom property under the column's name rather than dropped.
    """
    fields: dict[str, Any] = {}
    company: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    email = ""
    full_name = ""
    for position, target in enumerate(mapping):
        if target == "drop" or position >= len(row):
            continue
        raw = row[position]
        if blank(raw):
            continue
        value = raw.strip()
        key = keys[position]
        kept = True
        if target == "email":
            email = email or value
        elif target == "property":
            properties[key] = _property_value(value)
        elif target == "full_name":
            full_name = value
        elif target == "do_not_contact":
            flag = parse_bool(value)
            if flag is None:
                kept = False
            elif flag:
                fields["do_not_contact"] = True
        elif target == "country":
            code = parse_country(value)
            kept = code is not None
            if kept:
                fields["country"] = code
        elif target == "seniority":
            level = _SENIORITY_OF.get(value.lower())
            kept = level is not None
            if kept:
                fields["seniority"] = level
        elif target in {"company_employees", "company_annual_revenue"}:
            number = _number(value)
            kept = number is not None and _fits(target, float(number))
            if kept:
                company[target.removeprefix("company_")] = int(float(number)) if target == "company_employees" \
                    else number
        elif len(value) > _LIMITS.get(target, 10_000):
            kept = False
        elif target == "company":
            # Salesforce exports put an Account Id where the name should be: an id is not a company name.
            if _SALESFORCE_ID.match(value) and value.startswith("001") and any(c.isdigit() for c in value):
                properties[f"{key}_id"] = value
            else:
                company["name"] = value
        elif target == "company_domain":
            company["domain"] = value
        elif target == "company_industry":
            company["industry"] = value
        elif target in CAPTURE_FIELDS:
            fields[target] = value
        if not kept:
            properties[key] = value
    if not email:
        return "No e-mail address."
    if full_name and not (fields.get("first_name") or fields.get("last_name")):
        first, _, last = full_name.rpartition(" ")
        fields["first_name"], fields["last_name"] = (first, last) if first else (full_name, "")
        if len(fields["first_name"]) > 100 or len(fields["last_name"]) > 100:
            fields.pop("first_name")
            fields.pop("last_name")
            properties["name"] = full_name
    for extra in range(len(mapping), len(row)):
        if not blank(row[extra]):
            properties[f"column_{extra + 1}"] = row[extra].strip()
    return CaptureItem(
        email=email, fields=fields, company_name=company.pop("name", ""), company_domain=company.pop("domain", ""),
        company_fields=company, properties=properties or None,
    )


# --- Writing ------------------------------------------------------------------------------------------------

# A cell a spreadsheet would run as a formula: =, +, -, @, or a tab / carriage return in front of one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> str:
    """The value as a CSV cell that no spreadsheet runs as a formula (a leading quote neutralises it)."""
    if value is None:
        text = ""
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class Echo:
    """A file-like object whose write returns the line: csv.writer into a streaming response."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows) -> Iterator[str]:
    """CSV lines of already-neutralised rows, one at a time (for StreamingHttpResponse)."""
    writer = csv.writer(Echo())
    for row in rows:
        yield writer.writerow([csv_safe(cell) for cell in row])
