"""Generated CSV files through the importer (hypothesis), at the service level: the upload check, then the job.

Two properties:
- a messy but readable file (any of our separators and encodings, BOM or not, quoted separators, quotes and line
  breaks, ragged rows, blank lines, placeholders, unicode, formulas, SQL, numbers that overflow) keeps every row
  with a valid e-mail as a lead and reports every other row, at the line where it starts;
- any bytes at all (a corrupted file, binary junk) are refused with a message at upload, or imported with every
  row accounted for: the job never crashes.
"""

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.import_services import lead_import_create, lead_import_start
from leads.models import Lead, LeadImport, LeadImportRejection
from tests.factories import import_every_part
from tests.hardening.conftest import FUZZ_FULL, fuzz_counts

FILES = 700 if FUZZ_FULL else 30
JUNK_FILES = 400 if FUZZ_FULL else 15
# CI draws the same files on every run; the full run draws new ones each time.
FUZZ_SETTINGS = settings(deadline=None, database=None, print_blob=True, derandomize=not FUZZ_FULL,
                         suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                HealthCheck.data_too_large, HealthCheck.filter_too_much])

# Headers as CRMs spell them; "Email" is always one of the columns, the others are drawn.
OTHER_HEADERS = ["First Name", "Last Name", "Company", "Country", "Job Title", "Phone", "Lead Source",
                 "Number of Employees", "Annual Revenue", "Seniority", "Do Not Contact", "Website", "Notes",
                 "Created Date", ""]

nasty_text = st.one_of(
    # No NUL: a file holding one is refused as binary data (the other property covers that).
    st.text(st.characters(blacklist_characters="\x00"), max_size=40),
    st.sampled_from([
        "", "  ", "N/A", "null", "-", "Select", "=HYPERLINK(\"http://x\")", "+1 555 0100", "@SUM(A1)",
        "Robert'); DROP TABLE leads_lead;--", "' OR 1=1 --", "<script>alert(1)</script>", "<b>bold</b>",
        "Zoë Ñandú 🎉🚀", "名前", "\u202eevil", "a,b;c\td|e", "\"quoted\"", "multi\nline", "1e400", "-1e400",
        "nan", "inf", "99999999999999999999999", "10000000000", "-5", "1,000,000", "$5", "Germany", "Deutschland", "XX", "yes", "no",
        "12/31/2024", "2024-02-30", "13/13/2013", "x" * 300,
    ]),
)
invalid_email = st.sampled_from(["", "   ", "N/A", "not-an-email", "@acme.com", "jane@", "jane@acme", "a b@c.de",
                                 "jane@@acme.com", "<jane@acme.com>", "jane@acme.com; bob@acme.com"])


@st.composite
def messy_file(draw):
    """(file bytes, {line: email} of rows to keep, lines of rows to reject)."""
    file_number = draw(st.integers(0, 10**9))
    others = draw(st.lists(st.sampled_from(OTHER_HEADERS), max_size=6))
    header = ["Email", *others]
    header = draw(st.permutations(header))
    email_column = header.index("Email")
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    rows = draw(st.lists(st.tuples(st.booleans(), st.lists(nasty_text, min_size=len(header), max_size=len(header)),
                                   st.integers(-1, 2), st.booleans(), st.sampled_from(["", " ", "\t"]),
                                   st.booleans()),
                         min_size=1, max_size=25))
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    line = 2
    keep: dict[int, str] = {}
    reject: list[int] = []
    for number, (valid, cells, ragged, blank_line_before, padding, upper) in enumerate(rows):
        if blank_line_before:
            out.write("\r\n")
            line += 1
        cells = list(cells)
        if valid:
            email = f"lead{number}.f{file_number}@acme-{file_number}.example.com"
            cells[email_column] = padding + (email.upper() if upper else email) + padding
        else:
            cells[email_column] = draw(invalid_email)
            email = None
        # Ragged rows: a missing trailing cell (never the e-mail's) or extra cells past the header.
        if ragged < 0 and email_column < len(cells) - 1:
            cells = cells[:-1]
        elif ragged > 0 and len(header) > 1:
            # (A one-column file has no separator to detect: there a cell past the header cannot be told from
            # a separator typed into the e-mail cell, and is read as part of it.)
            cells += draw(st.lists(nasty_text, min_size=ragged, max_size=ragged))
        if encoding == "cp1252":
            cells = [cell.encode("cp1252", errors="replace").decode("cp1252") for cell in cells]
        if not any(cell.strip() for cell in cells):
            continue  # a row of blanks is a blank line, which the importer skips without a report
        start = line
        before = out.tell()
        writer.writerow(cells)
        written = out.getvalue()[before:]
        # Line breaks inside quoted cells: the next row starts that many lines further down.
        line += written.count("\n") + written.replace("\r\n", "").count("\r")
        if email:
            keep[start] = email
        else:
            reject.append(start)
    data = out.getvalue().encode(encoding, errors="replace")
    return data, keep, reject


@pytest.fixture
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _import(actor, data: bytes) -> LeadImport:
    lead_import = lead_import_create(actor=actor, upload=SimpleUploadedFile("leads.csv", data, "text/csv"))
    lead_import_start(actor=actor, lead_import=lead_import, mapping=lead_import.mapping, existing="update")
    return import_every_part(lead_import)


@pytest.mark.django_db
def test_every_valid_row_is_kept_and_every_other_row_is_reported(marketer, _media):
    @settings(FUZZ_SETTINGS, max_examples=FILES)
    @given(messy_file())
    def check(generated):
        data, keep, reject = generated
        fuzz_counts["csv_files"] += 1
        fuzz_counts["csv_rows"] += len(keep) + len(reject)
        if not keep:
            # A file with no valid address at all may be refused at upload (no column looks like e-mail).
            try:
                result = _import(marketer, data)
            except ValidationError as refusal:
                assert refusal.message_dict["file"]
                return
        else:
            result = _import(marketer, data)

        assert result.status == LeadImport.Status.DONE
        rejections = dict(LeadImportRejection.objects.filter(lead_import=result).values_list("line", "reason"))
        assert sorted(rejections) == sorted(reject), (rejections, reject)
        assert all(rejections.values())
        stored = set(Lead.objects.filter(email__in=list(keep.values())).values_list("email", flat=True))
        assert stored == set(keep.values())
        kept = result.created_count + result.updated_count + result.unchanged_count + result.skipped_count
        assert (kept, result.rejected_count, result.rows_done) == (len(keep), len(reject), len(keep) + len(reject))

    check()


@pytest.mark.django_db
def test_any_bytes_are_refused_with_a_message_or_imported_with_every_row_accounted_for(marketer, _media):
    readable = messy_file().map(lambda generated: generated[0])

    @st.composite
    def corrupted(draw):
        data = bytearray(draw(readable))
        for _ in range(draw(st.integers(1, 8))):
            position = draw(st.integers(0, max(len(data) - 1, 0)))
            data[position:position + 1] = draw(st.binary(min_size=0, max_size=3))
        return bytes(data)

    @settings(FUZZ_SETTINGS, max_examples=JUNK_FILES)
    @given(st.one_of(st.binary(max_size=2000), corrupted()))
    def check(data):
        fuzz_counts["csv_files"] += 1
        try:
            result = _import(marketer, data)
        except ValidationError as refusal:
            assert refusal.message_dict["file"]
            return
        assert result.status == LeadImport.Status.DONE
        accounted = (result.created_count + result.updated_count + result.unchanged_count + result.skipped_count
                     + result.rejected_count)
        assert accounted == result.rows_done
        assert LeadImportRejection.objects.filter(lead_import=result).count() == result.rejected_count

    check()
