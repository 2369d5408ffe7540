"""The Affinity connector against its emulator over real HTTP: every entity, in-life
changes, site products for transferred lines, custom products, New & Cease, and the
error queue with retry."""

from datetime import date

from billing import services as billing_services
from billing.choices import LineAction
from billing.export import billing_transfer
from connectors.choices import ErrorKind, JobStatus, Operation
from connectors.engine.actions import job_retry
from customers import services
from customers.models import CompanySettings
from tests.factories import ContactFactory, ContactTypeFactory, SiteFactory

from .helpers import (
    affinity_item,
    affinity_route,
    billed_customer,
    converted_asset,
    drain,
    external_id,
    held,
    integration,
    last_job,
    transferred_asset,
    writes,
)


# --- customers, sites, contacts, addresses -------------------------------------------------
def test_customer_becomes_an_account_with_its_billing_details(affinity):
    customer = billed_customer(bill_run="Monthly 1st")
    drain()
    account = held(affinity, "accounts", "account", "customer", customer)
    assert account["reference"] == f"LAYER-C{customer.pk}"
    assert account["name"] == "Acme Telecoms"
    assert account["status"] == "pending"
    assert (account["payment_terms"], account["payment_method"], account["bill_run"]) == (
        "30 days",
        "Direct Debit",
        "Monthly 1st",
    )


def test_an_in_life_change_to_a_customer_patches_only_the_changed_field(affinity):
    customer = billed_customer()
    drain()
    affinity.requests.clear()
    customer.payment_method = "BACS"
    services.customer_save(customer=customer)
    drain()
    patches = [c for c in writes(affinity) if c["path"].startswith("accounts/")]
    assert [c["body"] for c in patches] == [{"payment_method": "BACS"}]
    assert held(affinity, "accounts", "account", "customer", customer)["payment_method"] == "BACS"


def test_a_resync_with_no_changes_makes_no_platform_writes(affinity):
    customer = billed_customer()
    drain()
    affinity.requests.clear()
    services.customer_save(customer=customer)
    drain()
    assert writes(affinity) == []
    assert last_job("customer", customer).status == JobStatus.NO_CHANGE


def test_a_site_becomes_a_site_of_its_account_with_the_address_chosen(affinity):
    customer = billed_customer()
    drain()
    site = customer.sites.get()
    held_site = held(affinity, "sites", "site", "site", site)
    account_id = external_id("account", "customer", customer)
    assert held_site["account_id"] == account_id
    assert held_site["is_billing_site"] is True
    assert (held_site["address_line1"], held_site["postcode"]) == ("1 Park Row", "LS1 5HN")


def test_a_subsite_made_before_the_integration_is_sent_with_its_parent_site(affinity):
    # Layer subsites cannot be made while an integration is on; older ones are linked too.
    integration(False)
    customer = billed_customer()
    parent = customer.sites.get()
    subsite = SiteFactory(customer=customer, name="Floor 2", parent=parent)
    integration(True)
    services.customer_save(customer=customer)
    drain()
    assert held(affinity, "sites", "site", "site", subsite)["parent_site_id"] == external_id(
        "site", "site", parent
    )


def test_a_change_to_an_address_resyncs_the_sites_that_use_it(affinity):
    customer = billed_customer()
    drain()
    address = customer.addresses.get()
    address.postcode = "LS2 7EY"
    services.address_save(address=address)
    drain()
    assert held(affinity, "sites", "site", "site", customer.sites.get())["postcode"] == "LS2 7EY"


def test_a_contact_becomes_a_contact_of_its_account_and_site(affinity):
    customer = billed_customer()
    site = customer.sites.get()
    contact = ContactFactory(
        customer=customer, site=site, first_name="Ada", contact_type=ContactTypeFactory()
    )
    drain()
    person = held(affinity, "contacts", "contact", "contact", contact)
    assert person["first_name"] == "Ada"
    assert person["site_id"] == external_id("site", "site", site)
    assert person["is_billing"] is True


def test_an_account_already_on_affinity_is_found_by_reference_not_created_twice(affinity):
    integration(False)
    customer = billed_customer()
    integration(True)
    affinity.state["accounts"]["ACC09999"] = {
        "id": "ACC09999",
        "reference": f"LAYER-C{customer.pk}",
        "name": "Old name",
        "status": "active",
    }
    services.customer_save(customer=customer)
    drain()
    assert external_id("account", "customer", customer) == "ACC09999"
    assert len(affinity.state["accounts"]) == 1
    assert affinity.state["accounts"]["ACC09999"]["name"] == "Acme Telecoms"


# --- assets: CTNs and site products ----------------------------------------------------------
def test_an_asset_is_not_sent_before_its_line_is_transferred(affinity):
    customer = billed_customer()
    asset = converted_asset(customer, affinity_item())
    drain()
    assert affinity.state["site_products"] == {}
    job = last_job("asset", asset)
    assert job.status == JobStatus.SKIPPED
    assert "Transfer to Billing" in job.last_error


def test_a_transferred_line_creates_its_ctn_and_site_product(affinity):
    customer = billed_customer()
    asset = transferred_asset(customer, affinity_item(), cli="+44 7700 900123")
    site_id = external_id("site", "site", customer.sites.get())
    ctn = held(affinity, "ctns", "ctn", "asset", asset)
    assert (ctn["number"], ctn["site_id"], ctn["start_date"]) == (
        "07700900123",
        site_id,
        "2024-04-01",
    )
    product = held(affinity, "site_products", "site_product", "asset", asset)
    assert product["product_code"] == "MOB-SIM-30"
    assert product["ctn_id"] == ctn["id"]
    assert product["site_id"] == site_id
    assert (product["upfront_price"], product["recurring_price"]) == ("25.00", "12.50")
    assert product["do_not_bill"] is False
    assert last_job("asset", asset).operation == Operation.INSERTED


def test_do_not_bill_is_sent_on_the_site_product_and_ctn(affinity):
    customer = billed_customer()
    asset = transferred_asset(customer, affinity_item())
    asset.do_not_bill = True
    billing_services.asset_save(asset=asset)
    drain()
    assert held(affinity, "site_products", "site_product", "asset", asset)["do_not_bill"] is True
    assert held(affinity, "ctns", "ctn", "asset", asset)["do_not_bill"] is True


def test_an_item_that_is_not_cli_based_gets_a_site_product_without_a_ctn(affinity):
    customer = billed_customer()
    item = affinity_item(sku="HW-ROUTER", category="Hardware", item_type="product")
    asset = transferred_asset(customer, item, cli="SN-123", issue_date=date(2024, 4, 2))
    assert affinity.state["ctns"] == {}
    assert held(affinity, "site_products", "site_product", "asset", asset)["ctn_id"] is None


def test_an_external_sku_missing_from_the_price_book_is_created_as_a_custom_product(affinity):
    customer = billed_customer()
    item = affinity_item(sku="LAYER-VOIP-5", name="Hosted Voice 5")
    asset = transferred_asset(customer, item)
    product = affinity.state["products"]["LAYER-VOIP-5"]
    assert (product["name"], product["source"], product["type"]) == (
        "Hosted Voice 5",
        "layer",
        "service",
    )
    assert external_id("product", "asset", item) == "LAYER-VOIP-5"
    assert held(affinity, "site_products", "site_product", "asset", asset)["product_code"] == (
        "LAYER-VOIP-5"
    )


def test_with_custom_products_off_a_missing_code_fails_into_the_error_queue_and_retries(
    affinity, settings
):
    settings.AFFINITY_CREATE_CUSTOM_PRODUCTS = False
    customer = billed_customer()
    asset = transferred_asset(customer, affinity_item(sku="NOT-THERE"))
    job = last_job("asset", asset)
    assert job.status == JobStatus.FAILED
    assert job.error_kind == ErrorKind.PERMANENT
    assert "NOT-THERE" in job.last_error and "price book" in job.last_error
    affinity.state["products"]["NOT-THERE"] = {"code": "NOT-THERE", "name": "x", "type": "service"}
    job_retry(job)
    drain()
    assert last_job("asset", asset).status == JobStatus.SUCCEEDED
    assert held(affinity, "site_products", "site_product", "asset", asset)["product_code"] == (
        "NOT-THERE"
    )


def test_a_platform_outage_is_retried_and_the_site_product_made_once(affinity):
    customer = billed_customer()
    drain()
    asset = converted_asset(customer, affinity_item())
    affinity.faults_set(fail_next=1, fail_status=503, only_method="POST")
    billing_transfer(route=affinity_route(), line_ids=[asset.sales_order_line_id])
    job = last_job("asset", asset)
    assert job.status == JobStatus.PENDING and job.error_kind == ErrorKind.RECOVERABLE
    drain()
    assert last_job("asset", asset).status == JobStatus.SUCCEEDED
    assert len(affinity.state["site_products"]) == 1


def test_an_in_life_price_change_updates_the_site_product(affinity):
    customer = billed_customer()
    asset = transferred_asset(customer, affinity_item())
    affinity.requests.clear()
    asset.recurring_sell_price = "14.00"
    billing_services.asset_save(asset=asset)
    drain()
    patches = [c for c in writes(affinity) if c["path"].startswith("site-products/")]
    assert [c["body"] for c in patches] == [{"recurring_price": "14.00"}]


def test_new_and_cease_ends_the_target_site_product_and_ctn_with_the_cease_date(affinity):
    company = CompanySettings.load()
    company.new_and_cease_enabled = True
    company.save()
    customer = billed_customer()
    old = transferred_asset(customer, affinity_item(), cli="07700900111")
    order = billing_services.sales_order_create(
        customer=customer,
        lines=[
            billing_services.LineSpec(
                inventory_item=affinity_item(sku="FIX-PSTN", category="Fixed Line"),
                site=customer.sites.get(),
                cli="01134960000",
                action=LineAction.NEW_AND_CEASE,
                target_asset=old,
            )
        ],
    )
    billing_services.sales_order_line_convert_to_asset(
        line=order.lines.get(), connection_date=date(2024, 6, 1)
    )
    drain()
    assert held(affinity, "site_products", "site_product", "asset", old)["end_date"] == (
        "2024-05-31"
    )
    assert held(affinity, "ctns", "ctn", "asset", old)["end_date"] == "2024-05-31"
    assert last_job("asset", old).operation == Operation.CEASED


def test_a_ceased_asset_without_a_cease_date_fails_with_a_message_naming_the_fix(affinity):
    customer = billed_customer()
    asset = transferred_asset(customer, affinity_item())
    billing_services.assets_bulk_update(asset_ids=[asset.pk], values={"status": "ceased"})
    drain()
    job = last_job("asset", asset)
    assert job.status == JobStatus.FAILED
    assert "no cease date" in job.last_error and "Set the asset's cease date" in job.last_error
    assert held(affinity, "site_products", "site_product", "asset", asset)["end_date"] is None
