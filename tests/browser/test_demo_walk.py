"""The demo as a newcomer meets it, in a real browser (Debian's chromium through Playwright)
at 1,366 x 768, the smallest common laptop window: ``seed_demo``'s data on the live server,
its emulators served by the same server, the README's login.

- Staff pages fit the window: no horizontal scroll on the page, and a list's columns fit
  its box (the customer page was 2,316 px wide at 1,920 px, the sales order page 2,772 px
  with the bill statuses off screen, list columns cut off).
- A walk through every app: the admin, the customer list's sync state, a manual sync
  (seed 000's "Sync Abillity Customer"), a lead's Convert button (seed 000's "Manual lead
  conversion to customer (through 'Sales' menu)"), a sales order, the Billing Export, the
  sync dashboard, an emulator's page, Send to Connect, the API docs, and a call-charge
  import of the import page's sample file (seed 004's "Uploading Call Charges").

See conftest.py for the harness, the skip rule and the screenshots.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from billing.models import InventoryItem, Location, ProductGroup, SalesOrder
from customers.choices import CustomerStage
from customers.models import Customer
from tests.connectors.abillity.conftest import abillity_emulator  # noqa: F401
from tests.connectors.affinity.conftest import affinity_emulator  # noqa: F401
from tests.connectors.connect.conftest import connect_emulator  # noqa: F401

from .conftest import PASSWORD, log_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

WINDOW = {"width": 1366, "height": 768}


@pytest.fixture
def demo(
    transactional_db,
    live_server,
    settings,
    monkeypatch,
    abillity_emulator,  # noqa: F811
    affinity_emulator,  # noqa: F811
    connect_emulator,  # noqa: F811
):
    """seed_demo's data, its integrations on against the emulators this live server serves;
    its admin's password is the harness's. Answers the admin user."""
    from django.contrib.auth import get_user_model

    settings.SANDBOX_BASE_URL = live_server.url
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", PASSWORD)
    # --force: the test settings run with DEBUG off, which the command refuses otherwise.
    call_command("seed_demo", force=True, stdout=StringIO())
    return get_user_model().objects.get(username="admin")


@pytest.fixture
def window(page, demo):
    """A page the size of a 1,366 x 768 laptop window, logged in as the demo's admin."""
    page.set_viewport_size(WINDOW)
    log_in(page, demo)
    return page


def assert_fits(page) -> None:
    """No horizontal scroll on the page, and a changelist's columns fit its box."""
    page.wait_for_load_state()
    page_width, window_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert page_width <= window_width, (
        f"{page.url} is {page_width} px wide in a {window_width} px window"
    )
    for scroll_width, box_width in page.evaluate(
        "() => [...document.querySelectorAll('#changelist .results')]"
        ".map(box => [box.scrollWidth, box.clientWidth])"
    ):
        assert scroll_width <= box_width, (
            f"{page.url}: the list's columns are {scroll_width} px in a {box_width} px box"
        )


def change_url(record) -> str:
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])


def accept_dialogs(page) -> list[str]:
    asked: list[str] = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    return asked


# --- pages that fit -----------------------------------------------------------------------
def demo_pages() -> dict[str, object]:
    acme = Customer.objects.get(name="Acme Logistics Ltd")
    biggest_order = max(SalesOrder.objects.all(), key=lambda order: order.lines.count())
    return {
        "customer": change_url(acme),
        "sales order": change_url(biggest_order),
        "Billing Export (Abillity)": f"{reverse('billing-export')}?route=abillity",
        "Billing Export (Affinity)": f"{reverse('billing-export')}?route=affinity",
        "customer list": reverse("admin:customers_customer_changelist"),
        "sales order list": reverse("admin:billing_salesorder_changelist"),
        "sales order line list": reverse("admin:billing_salesorderline_changelist"),
        "asset list": reverse("admin:billing_asset_changelist"),
        "contact list": reverse("admin:customers_contact_changelist"),
        "inventory list": reverse("admin:billing_inventoryitem_changelist"),
    }


@pytest.mark.parametrize(
    "name",
    [
        "customer",
        "sales order",
        "Billing Export (Abillity)",
        "Billing Export (Affinity)",
        "customer list",
        "sales order list",
        "sales order line list",
        "asset list",
        "contact list",
        "inventory list",
    ],
)
def test_staff_pages_fit_a_1366_px_window(window, name):
    window.goto(demo_pages()[name])

    assert_fits(window)


def test_every_admin_list_and_record_page_fits_a_1366_px_window(window):
    """Each registered model's list and the page of its first record, on the demo's data
    (an API token's page holds a 128-character digest; a job's list, long record names)."""
    from django.contrib import admin

    from connectors.engine.sweep import jobs_process_due

    jobs_process_due()  # the demo's pending syncs, so that the Sync History has rows
    visited = []
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        if not model_admin.has_view_permission(_request_of(window)):
            continue
        urls = [reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")]
        first = model_admin.get_queryset(_request_of(window)).order_by("pk").first()
        if first is not None:
            urls.append(change_url(first))
        for url in urls:
            window.goto(url)
            assert_fits(window)
            visited.append(url)

    assert len(visited) > 40


def _request_of(page):
    """A request of the demo's admin (a superuser), for the admin's permission checks."""
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.get(username="admin")
    return request


def test_the_customer_page_shows_every_contact_field_and_the_order_page_every_bill_status(
    window,
):
    acme = Customer.objects.get(name="Acme Logistics Ltd")
    window.goto(change_url(acme))
    for field in ("first_name", "last_name", "email", "telephone", "site"):
        box = window.locator(f"#contacts-0 .field-{field}").bounding_box()
        assert box and box["x"] + box["width"] <= WINDOW["width"], field

    order = max(SalesOrder.objects.all(), key=lambda order: order.lines.count())
    window.goto(change_url(order))
    statuses = window.locator("select[id$='_bill_status']:not([id*='__prefix__'])")
    assert statuses.count() == 2 * order.lines.count()
    for index in range(statuses.count()):
        box = statuses.nth(index).bounding_box()
        assert box and box["x"] + box["width"] <= WINDOW["width"]


# --- the walk -------------------------------------------------------------------------------
def test_a_newcomer_walks_the_demo_through_every_app(window):
    page = window
    asked = accept_dialogs(page)
    assert_fits(page)  # the admin's index

    # The customer list: each platform's sync state, and what its symbols mean.
    page.goto(reverse("admin:customers_customer_changelist"))
    assert_fits(page)
    assert "on the platform" in page.locator("#sync-legend").inner_text()
    acme_row = page.locator(
        "#result_list tr", has=page.get_by_role("link", name="Acme Logistics Ltd")
    )
    assert acme_row.locator('[data-platform="abillity"]').get_attribute("data-sync-state") == "off"

    # Seed 000: Sync Abillity Customer from the customer's page, then the green tick.
    acme_row.get_by_role("link", name="Acme Logistics Ltd").click()
    assert_fits(page)
    badge = page.locator('#customer-sync-badges [data-platform-name="Abillity"]')
    badge.get_by_role("link", name="Sync Abillity Customer").click()
    page.wait_for_selector("#customer-sync-form")
    page.locator("#customer-sync-form input[type=submit]").click()
    page.wait_for_selector('#sync-summary tr[data-kind="customer"][data-synced="yes"] .sync-tick')
    assert_fits(page)
    acme = Customer.objects.get(name="Acme Logistics Ltd")
    page.goto(change_url(acme))
    assert "Synced to Abillity" in badge.inner_text()
    panel = page.locator('#sync-state tr[data-platform="abillity"]')
    default_site = acme.sites.get(is_default=True)
    assert f"Billing site: {default_site.name}" in panel.inner_text()
    page.goto(reverse("admin:customers_customer_changelist"))
    assert acme_row.locator('[data-platform="abillity"]').get_attribute("data-sync-state") == "on"

    # Seed 000: a lead converted to a customer from its own page.
    lead = Customer.objects.filter(stage=CustomerStage.LEAD).order_by("name").first()
    page.goto(change_url(lead))
    page.click("#convert-lead")
    page.wait_for_selector(".messagelist .success")
    assert f"{lead.name} is now a customer" in page.locator(".messagelist").inner_text()
    assert asked and f"Convert {lead.name} to a customer?" in asked[-1]
    assert page.locator("#convert-lead").count() == 0
    lead.refresh_from_db()
    assert lead.stage == CustomerStage.CUSTOMER

    # Sales orders: the billing circles explained; an order with its lines and statuses.
    page.goto(reverse("admin:billing_salesorder_changelist"))
    assert_fits(page)
    assert "In Billing" in page.locator("#bill-circle-legend").inner_text()
    page.locator("#result_list tbody tr th a").first.click()
    page.wait_for_selector("#lines-group")
    assert_fits(page)

    # The Billing Export: the lines Ready to Bill on a platform.
    page.click("text=Billing Export")
    page.wait_for_selector("#export-lines")
    assert_fits(page)

    # The sync dashboard: Abillity can be reconciled (issue 21, item 6).
    page.click("#sync-dashboard-link")
    page.wait_for_selector("#sync-dashboard")
    assert_fits(page)
    card = page.locator('#sync-dashboard [data-platform="abillity"]')
    assert "Reconcile now" in card.inner_text()

    # The emulator holds what the sync sent, as a page to read.
    page.goto("/sandbox/abillity/_emulator/")
    assert_fits(page)
    assert "Acme Logistics Ltd" in page.locator('[data-kind="Companies"]').inner_text()

    # Seed 004: Send to Connect, asked first, then the client's link.
    workspace = Customer.objects.filter(stage=CustomerStage.CUSTOMER).exclude(pk=acme.pk).first()
    page.goto(change_url(workspace))
    page.click("#send-to-connect")
    page.wait_for_selector("#connect-client-link")
    assert f"Send {workspace.name} to Connect?" in asked[-1]

    # The API docs, for staff who script.
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert_fits(page)


def test_the_demo_imports_the_sample_call_charge_file_from_its_page(window, tmp_path):
    """Seed 004, "Uploading Call Charges": the demo's call logger location, product group
    and product, and the sample file the import page offers."""
    location = Location.objects.filter(connect_call_logger=True).exclude(connect_site_id="")
    if not location.exists():
        pytest.skip("seed_demo makes no call logger location with a Connect Site ID")
    page = window
    page.goto(reverse("admin:billing_chargeimport_add"))
    assert_fits(page)
    with page.expect_download() as download:
        page.locator("#charge-import-sample a").click()
    sample = tmp_path / "sample.csv"
    download.value.save_as(sample)

    page.select_option("#id_location", str(location.first().pk))
    page.select_option(
        "#id_product_group", str(ProductGroup.objects.get(name="Telephone Charges").pk)
    )
    page.select_option("#id_product", str(InventoryItem.objects.get(name="Call Charges").pk))
    page.fill("#id_batch_date", "2025-07-01")
    page.fill("#id_reference_date", "2025-06-30")
    page.set_input_files("#id_file", str(sample))
    page.click('#charge-import-form input[type=submit][value="Import"]')

    page.wait_for_selector("#import-message")
    assert "Imported" in page.locator("#import-message").inner_text()
    assert_fits(page)
