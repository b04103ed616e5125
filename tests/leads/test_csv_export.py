"""CSV export of the filtered lead list: streamed, filters kept, spreadsheet formulas neutralised."""

import csv
import io

import pytest

from leads.csv_files import csv_safe
from tests.factories import LeadFactory


def read(response) -> list[list[str]]:
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize(("value", "cell"), [("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
                                             ("+1 555", "'+1 555"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
                                             ("\tx", "'\tx"), ("\rx", "'\rx"), ("Jane", "Jane"), (None, ""),
                                             ({"a": 1}, '{"a": 1}')])
def test_cells_that_a_spreadsheet_would_run_are_neutralised(value, cell):
    assert csv_safe(value) == cell


@pytest.mark.django_db
def test_the_export_keeps_the_list_filters_and_neutralises_formulas(marketer, client_for):
    LeadFactory(email="jane@acme.com", first_name="=cmd|' /C calc'!A0", stage="mql")
    LeadFactory(email="john@acme.com", stage="new")

    response = client_for(marketer).get("/leads/export.csv", {"stage": "mql"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = read(response)
    assert rows[0][:4] == ["id", "email", "first_name", "last_name"]
    assert [row[1] for row in rows[1:]] == ["jane@acme.com"]
    assert rows[1][2] == "'=cmd|' /C calc'!A0"


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "status"), [("marketer", 200), ("marketing_manager", 200), ("admin", 200),
                                              ("sales_rep", 403), ("sales_manager", 403)])
def test_who_may_export_and_import(role, status, cast, client_for):
    client = client_for(cast[role])

    assert client.get("/leads/export.csv").status_code == status
    assert client.get("/leads/import/").status_code == status


@pytest.mark.django_db
def test_the_lead_list_offers_import_and_export_to_marketing_only(marketer, sales_rep, client_for):
    marketing_page = client_for(marketer).get("/leads/?stage=mql").content.decode()
    sales_page = client_for(sales_rep).get("/leads/").content.decode()

    assert "/leads/import/" in marketing_page
    assert "/leads/export.csv?stage=mql" in marketing_page
    assert "/leads/import/" not in sales_page
