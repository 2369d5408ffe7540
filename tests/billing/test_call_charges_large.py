"""A 100,000-row call charge file through the import page, and the pages of what it made.

The documented limit (docs/connect.md, "Call charges from Connect": at most 100,000
call rows and 10 MB a file) is what the page must take: the file is imported by the
background task (eager here, as with no broker), and the import's and the batch
sheet's pages show a few hundred rows at a time with totals counted by the database,
at a cost in queries that does not grow with the file.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.admin.call_charges import ROWS_PER_PAGE
from billing.call_logger import MAX_CALL_ROWS, MAX_FILE_BYTES
from billing.choices import BackgroundImportStatus
from billing.models import BackgroundImport, BatchCharge, BatchSheet, ChargeImport
from tests.factories import AccountCodeFactory, CustomerFactory

from .call_charge_helpers import import_file, import_settings
from .call_logger_files import call_file, call_row

pytestmark = pytest.mark.django_db

ROWS = MAX_CALL_ROWS


def big_file() -> bytes:
    """100,000 distinct calls: three in four to the two known accounts, the rest unknown."""
    start = date(2025, 1, 1)
    rows = []
    for n in range(ROWS):
        day = (start + timedelta(days=n // 86_400)).strftime("%d/%m/%Y")
        second = n % 86_400
        at = f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
        code = ("1001", "1002", "1001", "UNKNOWN")[n % 4]
        rows.append(call_row(code, day=day, at=at, duration=str(n % 3000 + 1), amount="0.25"))
    content = call_file(*rows)
    assert len(content) <= MAX_FILE_BYTES
    return content


def rendered_rows(html: str, table_id: str) -> int:
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return table.split("<tbody>", 1)[1].split("</tbody>", 1)[0].count("<tr>")


def page_queries(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        answer = client.get(url)
    assert answer.status_code == 200
    return len(queries), answer.content.decode()


def test_a_100000_row_file_imports_through_the_page_and_its_pages_stay_small(
    superuser_client, django_capture_on_commit_callbacks
):
    AccountCodeFactory(customer=CustomerFactory(name="Acme"), code="1001")
    AccountCodeFactory(customer=CustomerFactory(name="Brightwater"), code="1002")
    settings = import_settings()
    form = {
        "location": settings["location"].pk,
        "import_type": "essensys_call_logger",
        "product_group": settings["product_group"].pk,
        "product": settings["product"].pk,
        "batch_date": "2025-07-01",
        "reference_date": "2025-06-30",
        "file": SimpleUploadedFile("big.csv", big_file()),
    }

    with django_capture_on_commit_callbacks(execute=True):
        answer = superuser_client.post(reverse("admin:billing_chargeimport_add"), form)

    job = BackgroundImport.objects.get()
    assert answer.status_code == 302
    assert answer.url == reverse("admin:billing_backgroundimport_change", args=[job.pk])
    assert job.status == BackgroundImportStatus.SUCCEEDED, job.message
    charge_import = ChargeImport.objects.get()
    assert (charge_import.row_count, charge_import.matched_count) == (ROWS, ROWS * 3 // 4)
    assert BatchCharge.objects.count() == ROWS * 3 // 4

    # The import's page: a page of rows, totals from the database.
    url = reverse("admin:billing_chargeimport_change", args=[charge_import.pk])
    queries, html = page_queries(superuser_client, url)
    assert rendered_rows(html, "charge-import-row-table") == ROWS_PER_PAGE
    assert f'id="charge-import-row-count">{ROWS}<' in html
    assert f'id="charge-import-row-total">{Decimal("0.25") * ROWS:.2f}<' in html
    assert queries <= 25
    last_queries, last = page_queries(superuser_client, f"{url}?show=unmatched&page=125")
    assert rendered_rows(last, "charge-import-row-table") == ROWS_PER_PAGE  # 25,000 ÷ 200
    assert "UNKNOWN" in last and last_queries <= 25

    # The batch sheet's page: totals by account and overall, a page of charges.
    sheet = BatchSheet.objects.get()
    url = reverse("admin:billing_batchsheet_change", args=[sheet.pk])
    queries, html = page_queries(superuser_client, url)
    assert rendered_rows(html, "batch-sheet-charge-table") == ROWS_PER_PAGE
    assert rendered_rows(html, "batch-sheet-accounts") == 2
    assert f'id="batch-sheet-count">{ROWS * 3 // 4}<' in html
    assert f'id="batch-sheet-total">{Decimal("0.25") * ROWS * 3 / 4:.2f}<' in html
    assert queries <= 25
    assert len(html) < 1_000_000  # about 220 MB before paging


def test_an_import_page_costs_the_same_queries_for_3_rows_as_for_300(superuser_client):
    small = import_file(call_file(*(call_row(at=f"09:00:{n:02d}") for n in range(3))))
    settings = import_settings()
    rows = (call_row(at=f"10:{n // 60:02d}:{n % 60:02d}") for n in range(300))
    large = import_file(call_file(*rows), settings=settings)

    counts = []
    for charge_import in (small, large):
        url = reverse("admin:billing_chargeimport_change", args=[charge_import.pk])
        counts.append(page_queries(superuser_client, url)[0])

    assert counts[0] == counts[1]


def test_an_import_page_filters_its_rows_and_pages_through_them(superuser_client, monkeypatch):
    monkeypatch.setattr("billing.admin.call_charges.ROWS_PER_PAGE", 2)
    AccountCodeFactory(customer=CustomerFactory(name="Acme"), code="1001")
    rows = [call_row("1001" if n % 2 else "7007", at=f"09:00:{n:02d}") for n in range(5)]
    charge_import = import_file(call_file(*rows))
    url = reverse("admin:billing_chargeimport_change", args=[charge_import.pk])

    unmatched = superuser_client.get(f"{url}?show=unmatched&page=2").content.decode()

    # Lines 2, 4, 6 are 7007 (unmatched): the second page of two holds line 6 alone.
    assert rendered_rows(unmatched, "charge-import-row-table") == 1
    assert "<td>6</td>" in unmatched and "3 of 3" in unmatched
    assert 'href="?show=unmatched&amp;page=1"' in unmatched
