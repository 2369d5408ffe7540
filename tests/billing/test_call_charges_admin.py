"""The staff pages of call charges: the import page (bad rows with their line numbers),
an import's matched and unmatched rows with Match again, and a batch sheet's totals with
Complete and Approve."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.models import BackgroundImport, BatchSheet, ChargeImport
from tests.admin_helpers import page_messages
from tests.factories import AccountCodeFactory, CustomerFactory

from .call_charge_helpers import import_file, import_settings
from .call_logger_files import call_file, call_row

pytestmark = pytest.mark.django_db

ADD = reverse("admin:billing_chargeimport_add")


@pytest.fixture
def post_import(django_capture_on_commit_callbacks):
    """Post a file to the import page; the import then runs as its task runs with no
    broker (eagerly, once the request's work commits)."""

    def post(client, content: bytes, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return _post(client, content, **extra)

    return post


def _post(client, content: bytes, **extra):
    settings = import_settings()
    data = {
        "location": settings["location"].pk,
        "import_type": "essensys_call_logger",
        "product_group": settings["product_group"].pk,
        "product": settings["product"].pk,
        "batch_date": "2025-07-01",
        "reference_date": "2025-06-30",
        "file": SimpleUploadedFile("calls.csv", content),
        **extra,
    }
    return client.post(ADD, data)


def test_the_import_page_shows_the_form(superuser_client):
    page = superuser_client.get(ADD).content.decode()

    for label in ("Location", "Import type", "Product group", "Product", "Batch date"):
        assert label in page
    assert "essensys call logger" in page


def test_a_refused_file_is_shown_with_every_bad_row_and_its_line(superuser_client, post_import):
    content = call_file(call_row("1001", amount="-1.00"), call_row("1002", at="9am"))

    answer = post_import(superuser_client, content)

    job = BackgroundImport.objects.get()
    assert answer.url == reverse("admin:billing_backgroundimport_change", args=[job.pk])
    page = superuser_client.get(answer.url)
    assert page.status_code == 200
    errors = page.context["errors_page"]
    assert [e["line"] for e in errors] == [2, 3]
    html = page.content.decode()
    assert "The file was refused: 2 problems" in html
    assert "Amount -1.00 is negative" in html and "Call Time &quot;9am&quot;" in html
    assert not ChargeImport.objects.exists()


def test_an_import_goes_to_its_page_with_matched_and_unmatched_rows(superuser_client, post_import):
    AccountCodeFactory(customer=CustomerFactory(name="Acme"), code="1001")

    answer = post_import(
        superuser_client, call_file(call_row("1001"), call_row("7007", amount="1.00"))
    )

    charge_import = ChargeImport.objects.get()
    outcome = superuser_client.get(answer.url).content.decode()
    assert "Imported 2 rows: 1 matched, 1 unmatched." in outcome
    url = reverse("admin:billing_chargeimport_change", args=[charge_import.pk])
    assert f'href="{url}"' in outcome
    page = superuser_client.get(url).content.decode()
    assert "Acme" in page
    assert "No customer has the Connect account code" in page
    assert 'id="charge-import-rematch"' in page


def test_a_duplicate_file_needs_import_anyway(superuser_client, post_import):
    content = call_file(call_row())
    post_import(superuser_client, content)

    refused = post_import(superuser_client, content)
    forced = post_import(superuser_client, content, force="on")

    assert refused.status_code == 200 and "already imported" in refused.content.decode()
    assert forced.status_code == 302
    assert ChargeImport.objects.count() == 2
    assert BackgroundImport.objects.count() == 2  # the refused one was never queued


def test_match_again_from_the_import_page(superuser_client):
    charge_import = import_file(call_file(call_row("8008")))
    AccountCodeFactory(customer=CustomerFactory(), code="8008")

    answer = superuser_client.post(
        reverse("admin:billing_chargeimport_rematch", args=[charge_import.pk]), follow=True
    )

    assert "Matched 1 more rows; 0 still unmatched." in page_messages(answer)


def test_the_batch_sheet_page_shows_totals_then_completes_and_approves(superuser_client):
    AccountCodeFactory(customer=CustomerFactory(name="Acme"), code="1001")
    import_file(call_file(call_row("1001", amount="2.50")))
    sheet = BatchSheet.objects.get()
    url = reverse("admin:billing_batchsheet_change", args=[sheet.pk])
    transition = "admin:billing_batchsheet_transition"

    page = superuser_client.get(url).content.decode()
    assert 'id="batch-sheet-total">2.50<' in page
    assert 'id="batch-sheet-complete"' in page

    superuser_client.post(reverse(transition, args=[sheet.pk, "complete"]))
    wrong = superuser_client.post(
        reverse(transition, args=[sheet.pk, "approve"]),
        {"confirmed_total": "2.00", "confirmed_charges": "1"},
        follow=True,
    )
    assert "The sheet's total is 2.50, not 2.00" in " ".join(page_messages(wrong))
    superuser_client.post(
        reverse(transition, args=[sheet.pk, "approve"]),
        {"confirmed_total": "2.50", "confirmed_charges": "1"},
    )

    sheet.refresh_from_db()
    assert sheet.is_approved and sheet.approved_total == Decimal("2.50")
    page = superuser_client.get(url).content.decode()
    assert "can no longer change" in page
    assert 'id="batch-sheet-reopen"' not in page


def test_the_call_charge_changelists_load(superuser_client):
    import_file()
    for name in ("chargeimport", "batchsheet", "location", "productgroup", "accountcode"):
        assert superuser_client.get(reverse(f"admin:billing_{name}_changelist")).status_code == 200
