"""The import pages: upload, column matching with a live preview, progress polled by HTMX, the rejected-rows report."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leads.models import Lead, LeadImport
from tests.factories import import_every_part


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def no_broker(monkeypatch):
    sent = []
    monkeypatch.setattr("leads.import_services.enqueue", lambda name, **kwargs: sent.append((name, kwargs)) or True)
    return sent


CSV = "Email,First Name,Lead Status\njane@acme.com,Jane,Open\nnot-an-email,Nobody,-\nbob@acme.com,Bob,\n"


@pytest.mark.django_db
def test_a_marketer_imports_a_file_through_the_pages(marketer, client_for, no_broker, django_capture_on_commit_callbacks,
                                                    settings):
    client = client_for(marketer)

    response = client.post("/leads/import/", {"file": SimpleUploadedFile("crm.csv", CSV.encode())})
    lead_import = LeadImport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/leads/import/{lead_import.pk}/"

    page = client.get(f"/leads/import/{lead_import.pk}/").content.decode()
    assert "Match the columns" in page and "jane@acme.com" in page and "Lead Status" in page

    preview = client.post(f"/leads/import/{lead_import.pk}/", {"column_0": "email", "column_1": "first_name",
                                                               "column_2": "drop"}, headers={"HX-Request": "true"})
    assert "<html" not in preview.content.decode() and 'id="import-preview"' in preview.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(f"/leads/import/{lead_import.pk}/", {"column_0": "email", "column_1": "first_name",
                                                                   "column_2": "property", "existing": "update"})
    assert started.status_code == 302
    assert no_broker == [("leads.tasks.import_leads_task", {"import_id": lead_import.pk, "part": part})
                         for part in range(settings.IMPORT_PARTS)]

    polling = client.get(f"/leads/import/{lead_import.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in polling and "<html" not in polling

    import_every_part(lead_import)  # what the workers do
    done = client.get(f"/leads/import/{lead_import.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert "every 1s" not in done and "Download the 1 rejected row" in done
    assert Lead.objects.get(email="jane@acme.com").properties == {"lead_status": "Open"}

    report = client.get(f"/leads/import/{lead_import.pk}/rejected-rows.csv")
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert rows[0] == ["line", "reason", "Email", "First Name", "Lead Status"]
    assert rows[1][0] == "3" and rows[1][2:] == ["not-an-email", "Nobody", "'-"]


@pytest.mark.django_db
def test_an_unreadable_upload_is_a_form_error(marketer, client_for):
    response = client_for(marketer).post("/leads/import/", {"file": SimpleUploadedFile("x.xlsx", b"PK\x03\x04abc")})

    assert response.status_code == 200
    assert "Excel workbook" in response.content.decode()
    assert not LeadImport.objects.exists()
