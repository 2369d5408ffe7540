"""Staff's pages in a real browser (Debian's chromium through Playwright) over the live
server: what staff see and press, end to end, with the emulators served by the same
server. See conftest.py for the harness, the skip rule and the screenshots."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from billing import call_charges, selectors
from billing.models import BatchSheet, SalesOrderLine
from connectors.choices import Entity, JobStatus
from connectors.engine import publish, sweep
from connectors.models import SyncJob
from customers.models import Contact
from tests.billing.call_charge_helpers import import_file, import_settings
from tests.billing.call_logger_files import call_file, call_row
from tests.billing.test_export import ready_line
from tests.connectors.abillity.conftest import abillity, abillity_emulator  # noqa: F401
from tests.connectors.abillity.helpers import integration
from tests.connectors.conftest import fake_emulator, fake_platform  # noqa: F401
from tests.connectors.connect.conftest import connect, connect_emulator  # noqa: F401
from tests.factories import (
    AccountCodeFactory,
    ContactFactory,
    CustomerFactory,
    InventoryItemFactory,
    LocationFactory,
    ProductGroupFactory,
    SiteFactory,
    platform,
)

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def change_url(record) -> str:
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])


def test_staff_log_in_through_the_form_and_reach_the_sync_dashboard(page, staff_user):
    log_in(page, staff_user)

    assert page.locator("#user-tools").inner_text().upper().startswith("WELCOME")
    page.click("#sync-dashboard-link")
    page.wait_for_selector("#sync-dashboard")
    assert page.locator("h1").inner_text() == "Sync dashboard"
    assert page.locator('#sync-dashboard [data-platform="abillity"] svg').count() == 1


def test_syncing_a_customer_from_its_page_shows_the_green_tick(staff_page, abillity):  # noqa: F811
    integration(False)  # made without syncing: the sync is the button's
    customer = CustomerFactory(name="Browser Telecoms", bill_run="Monthly 1st")
    SiteFactory(customer=customer, name="Head Office", is_default=True)
    ContactFactory(customer=customer, first_name="Priya", last_name="Shah")
    integration(True)
    page = staff_page

    page.goto(change_url(customer))
    badge = page.locator('#customer-sync-badges [data-platform-name="Abillity"]')
    assert "Not synced to Abillity" in badge.inner_text()
    badge.get_by_role("link", name="Sync Abillity Customer").click()
    page.wait_for_selector("#customer-sync-form")
    page.locator("#customer-sync-form input[type=submit]").click()

    page.wait_for_selector(".messagelist .success")
    assert "queued as" in page.locator(".messagelist").inner_text()
    page.wait_for_selector('#sync-summary tr[data-kind="customer"][data-synced="yes"] .sync-tick')
    page.goto(change_url(customer))
    assert badge.locator(".sync-tick").count() == 1
    assert "Synced to Abillity" in badge.inner_text()


def test_billing_export_downloads_both_files_then_transfers_the_lines(staff_page):
    line = ready_line(platform("affinity"))
    page = staff_page

    page.goto(f"{reverse('billing-export')}?route=affinity")
    row = page.locator(f'#export-lines tr[data-line="{line.pk}"]')
    row.locator("input.line-box").check()
    headers = {}
    for action, columns in (
        ("cli", selectors.CLI_COLUMNS),
        ("products", selectors.PRODUCT_COLUMNS),
    ):
        with page.expect_download() as download:
            page.click(f'#export-form button[value="{action}"]')
        text = download.value.path().read_text(encoding="utf-8")
        headers[action] = next(csv.reader(io.StringIO(text)))
        assert headers[action] == [column.header for column in columns]
    page.click('#export-form button[value="transfer"]')
    page.wait_for_selector("text=Yes, transfer to billing")
    assert "Transfer 1 line" in page.locator("#content-main").inner_text()
    page.click('button[value="transfer_confirmed"]')

    page.wait_for_selector(".messagelist .success")
    assert "In Billing" in page.locator(".messagelist").inner_text()
    assert page.locator(f'#export-lines tr[data-line="{line.pk}"]').count() == 0
    assert "No line is Ready to Bill" in page.locator("#export-lines").inner_text()
    assert not SalesOrderLine.objects.filter(pk=line.pk, upfront_bill_status="ready").exists()


def test_send_to_connect_asks_first_then_the_button_goes_and_the_link_appears(
    staff_page,
    connect,  # noqa: F811
):
    customer = CustomerFactory(name="Browser Workspace")
    page = staff_page
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.goto(change_url(customer))
    page.click("#send-to-connect")

    page.wait_for_selector("#connect-client-link")
    assert asked and "Send Browser Workspace to Connect?" in asked[0]
    assert page.locator("#send-to-connect").count() == 0
    [client] = connect.state["clients"].values()
    assert f"client {client['id']}" in page.locator("#connect-client-link").inner_text()


def test_a_call_charge_file_with_a_bad_row_is_refused_with_its_line_number(staff_page):
    location = LocationFactory(name="Leeds Hub")
    group = ProductGroupFactory(name="Telephone Charges")
    product = InventoryItemFactory(name="Call Charges")
    content = call_file(call_row("1001"), call_row("1001", amount="lots"))
    page = staff_page

    page.goto(reverse("admin:billing_chargeimport_add"))
    page.select_option("#id_location", str(location.pk))
    page.select_option("#id_product_group", str(group.pk))
    page.select_option("#id_product", str(product.pk))
    page.fill("#id_batch_date", "2025-07-01")
    page.fill("#id_reference_date", "2025-06-30")
    page.set_input_files(
        "#id_file", files=[{"name": "calls.csv", "mimeType": "text/csv", "buffer": content}]
    )
    page.click('#charge-import-form input[type=submit][value="Import"]')

    # The file is read in the background; its page follows it, then shows the outcome.
    page.wait_for_selector("#import-errors")
    cells = page.locator("#import-errors tbody tr").first.locator("td")
    assert cells.nth(0).inner_text() == "3"  # the header is line 1
    assert "mount" in cells.nth(1).inner_text()
    assert "Nothing was imported" in page.locator("#import-message").inner_text()
    assert not BatchSheet.objects.exists()


def test_approving_a_batch_sheet_confirms_its_totals(staff_page, staff_user):
    AccountCodeFactory(customer=CustomerFactory(name="Acme"), code="1001")
    import_file(
        call_file(call_row("1001", amount="0.42"), call_row("1001", at="10:00:00", amount="1.10")),
        settings=import_settings(),
    )
    sheet = BatchSheet.objects.get()
    call_charges.batch_sheet_complete(sheet=sheet, user=staff_user)
    page = staff_page
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.goto(change_url(sheet))
    assert page.locator("#batch-sheet-total").inner_text() == "1.52"
    page.fill("#id_confirmed_total", "1.52")
    page.fill("#id_confirmed_charges", "2")
    page.click('#batch-sheet-approve input[type=submit][value="Approve"]')

    page.wait_for_selector(".messagelist .success")
    assert "approved" in page.locator(".messagelist").inner_text()
    assert asked and "2 charges totalling £1.52" in asked[0]
    assert "can no longer change" in page.locator("#batch-sheet-totals").inner_text()
    sheet.refresh_from_db()
    assert sheet.is_approved


def test_retrying_an_error_queue_entry_from_the_record_panel_succeeds_once_fixed(
    staff_page,
    fake_platform,  # noqa: F811
):
    customer = CustomerFactory(name="Retry Ltd")
    contact = ContactFactory(customer=customer, site=None, email="")  # synced on commit: fails
    failed = SyncJob.objects.get(entity=Entity.CONTACT, object_id=contact.pk)
    assert failed.status == JobStatus.FAILED
    Contact.objects.filter(pk=contact.pk).update(email="priya@example.com")  # fixed, no job
    page = staff_page

    page.goto(change_url(contact))
    panel = page.locator("#sync-state")
    assert "has no email" in panel.inner_text()
    panel.locator(f'.sync-error-actions[data-job="{failed.pk}"] input[value="Retry"]').click()

    page.wait_for_selector(".messagelist .success")
    assert f"Job #{failed.pk} is back in the queue" in page.locator(".messagelist").inner_text()
    assert page.url.endswith(change_url(contact))
    assert panel.locator(".sync-status-done").first.inner_text() == "Succeeded"
    assert panel.locator('input[value="Retry"]').count() == 0
    failed.refresh_from_db()
    assert failed.status == JobStatus.SUCCEEDED


def test_the_record_panel_follows_a_background_job_until_it_ends(
    staff_page,
    fake_platform,  # noqa: F811
    monkeypatch,
):
    # No worker takes the job: it stays pending until this test runs it, as a busy
    # worker would.
    monkeypatch.setattr(publish, "job_publish", lambda *args, **kwargs: True)
    customer = CustomerFactory(name="Background Ltd")
    job = SyncJob.objects.get(entity=Entity.CUSTOMER, object_id=customer.pk)
    page = staff_page

    page.goto(change_url(customer))
    indicator = page.locator(f'#sync-state [data-job-status-url$="/{job.pk}/status.json"]')
    page.wait_for_function(
        "el => el.textContent.includes('is pending')", arg=indicator.element_handle()
    )
    sweep.jobs_process_due()

    page.wait_for_selector('#sync-state .sync-progress[data-job-state="done"]')
    assert indicator.get_attribute("data-job-status") == JobStatus.SUCCEEDED
    assert f"Job #{job.pk} ended: succeeded" in indicator.inner_text()


# --- the Content-Security-Policy ----------------------------------------------------------
def test_swagger_ui_runs_under_the_content_security_policy(staff_page):
    """Served from the sidecar's static files, its start-up script from /api/docs/?script."""
    page = staff_page

    page.goto("/api/docs/")

    page.wait_for_selector(".swagger-ui .info .title")
    assert "layer_sync API" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector(".swagger-ui .opblock-tag")
    assert page.locator(".swagger-ui .opblock").count() > 20


def test_the_policy_refuses_an_injected_inline_script_and_the_harness_sees_it(staff_page):
    """The control for every browser test: an inline script without the nonce (as an
    injected one would be) does not run, and the page fixture catches the refusal."""
    page = staff_page
    page.goto(reverse("billing-export"))

    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = true'; document.body.appendChild(s); }"
    )
    page.wait_for_timeout(200)

    assert page.evaluate("() => window.injected === undefined")
    assert any("inline script" in text for text in page.csp_violations), page.csp_violations
    page.csp_violations.clear()
