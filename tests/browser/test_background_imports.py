"""A file import's page in a real browser: while the import runs in the background the
page follows it (its script, allowed by the page's CSP nonce, polls the status JSON) and
shows the outcome once it has ended (issue 22: "the page shows progress and then the
result")."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing.background_imports import background_import_run
from billing.models import BackgroundImport
from tests.billing.call_logger_files import call_file, call_row
from tests.factories import InventoryItemFactory, LocationFactory, ProductGroupFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_import_page_shows_progress_then_the_outcome(staff_page, staff_user):
    page = staff_page
    parameters = {
        "location": LocationFactory(name="Leeds Hub").pk,
        "import_type": "essensys_call_logger",
        "product_group": ProductGroupFactory(name="Telephone Charges").pk,
        "product": InventoryItemFactory(name="Call Charges").pk,
        "batch_date": "2025-07-01",
        "reference_date": "2025-06-30",
        "reference_text": "",
        "force": False,
        "ignore_zero_values": False,
    }
    # Queued as the page queues it, with no task sent: this test plays the worker.
    job = BackgroundImport.objects.create(
        kind="call_charges",
        file_name="calls.csv",
        content=call_file(call_row("1001")),
        parameters=parameters,
        created_by=staff_user,
    )

    page.goto(reverse("admin:billing_backgroundimport_change", args=[job.pk]))
    assert page.locator("#import-status").inner_text() == "Queued"

    BackgroundImport.objects.filter(pk=job.pk).update(
        status="running", phase="Checking the file's rows", done=5000, total=20000
    )
    page.locator("#import-phase", has_text="of 20").wait_for()  # "5,000 of 20,000…"
    assert page.locator("#import-status").inner_text() == "Running"
    assert page.locator("#import-bar").get_attribute("max") == "20000"

    BackgroundImport.objects.filter(pk=job.pk).update(status="queued")
    background_import_run(import_id=job.pk)
    page.wait_for_selector("#import-message")  # the page reloaded when it ended
    assert "Imported 1 row" in page.locator("#import-message").inner_text()
    assert page.locator("#import-status").inner_text() == "Done"
