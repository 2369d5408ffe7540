"""The demo has what the call charge import needs, and the import page's sample file
imports from it (issue 22: "the call-charge import cannot be tried from the demo").

What an import needs is seed 004's "Uploading Call Charges": a location (with, in
docs/connect.md "Setting up", its Connect Site ID and the Connect Call Logger ticked), a
product group such as "Telephone Charges", the product "Call Charges", and the account
codes rows are matched by.
"""

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from billing.choices import PlatformCode
from billing.models import (
    AccountCode,
    BackgroundImport,
    ChargeImport,
    InventoryItem,
    Location,
    ProductGroup,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, monkeypatch):
    settings.DEBUG = True
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    call_command("seed_demo", stdout=StringIO())


def test_the_demo_has_a_call_logger_location_a_product_group_a_product_and_account_codes(demo):
    location = Location.objects.get(connect_call_logger=True)
    assert location.connect_site_id
    assert ProductGroup.objects.filter(name="Telephone Charges").exists()
    assert InventoryItem.objects.filter(name="Call Charges").exists()
    codes = AccountCode.objects.filter(platform__code=PlatformCode.CONNECT)
    # As Send to Connect would set them: the customer's id is its Billing Reference.
    assert codes.count() == 2
    assert all(code.code == str(code.customer_id) for code in codes)


def test_the_sample_file_imports_from_the_demo_with_matched_and_unmatched_rows(
    demo, superuser_client, django_capture_on_commit_callbacks
):
    page = superuser_client.get(reverse("admin:billing_chargeimport_add")).content.decode()
    sample_url = reverse("admin:billing_chargeimport_sample")
    assert f'href="{sample_url}"' in page
    sample = superuser_client.get(sample_url)
    assert sample["Content-Disposition"].startswith("attachment")
    form = {
        "location": Location.objects.get(connect_call_logger=True).pk,
        "import_type": "essensys_call_logger",
        "product_group": ProductGroup.objects.get(name="Telephone Charges").pk,
        "product": InventoryItem.objects.get(name="Call Charges").pk,
        "batch_date": "2025-07-01",
        "reference_date": "2025-06-30",
        "file": SimpleUploadedFile("sample.csv", sample.content),
    }

    with django_capture_on_commit_callbacks(execute=True):
        superuser_client.post(reverse("admin:billing_chargeimport_add"), form)

    job = BackgroundImport.objects.get()
    assert job.status == "succeeded", (job.message, job.errors)
    charge_import = ChargeImport.objects.get()
    assert (charge_import.matched_count, charge_import.unmatched_count) == (6, 2)


def test_the_import_form_marks_its_required_fields(superuser_client):
    page = superuser_client.get(reverse("admin:billing_chargeimport_add")).content.decode()

    for name in ("location", "import_type", "product_group", "product", "batch_date"):
        assert f'<label for="id_{name}" class="required">' in page, name
    for name in ("reference_date", "file"):
        assert f'<label for="id_{name}" class="required">' in page, name
    assert '<label for="id_reference_text">' in page  # optional: not marked
