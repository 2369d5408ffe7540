"""Seed 001: service charges, billing IDs and New & Cease, against the emulator over real
HTTP. One test per row of the seed's three tables, and per rule of the issue."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import export, selectors, services
from billing.choices import BillingFrequency, BillStatus, ItemType, LineAction, PlatformCode
from billing.models import InventoryItem, SalesOrderLine
from connectors.choices import ErrorKind, JobStatus
from connectors.engine.actions import job_retry
from tests.factories import (
    AssetFactory,
    SalesOrderFactory,
    platform,
)
from tests.helpers import set_company

from .helpers import (
    abillity_item,
    drain,
    external_id,
    last_job,
    synced_customer,
    writes,
)

READY, IN = BillStatus.READY_TO_BILL, BillStatus.IN_BILLING


@pytest.fixture
def customer(abillity):
    return synced_customer("Acme Telecoms")


item = abillity_item


def asset_of(customer, *, identifier="07700900001", sent=True, **fields):
    """An asset of the customer's head office, converted (Ready to Bill); sent through the
    Billing Export unless ``sent`` is False."""
    product = fields.pop("inventory_item", None) or item()
    asset = AssetFactory(
        customer=customer,
        site=customer.sites.get(is_default=True),
        inventory_item=product,
        identifier=identifier,
        connection_date=fields.pop("connection_date", date(2026, 1, 5)),
        issue_date=fields.pop("issue_date", None),
    )
    for name, value in fields.items():
        setattr(asset, name, value)
    if fields:
        services.asset_save(asset=asset)
    if sent:
        send(asset)
    return asset


def send(*assets):
    export.billing_transfer(
        route=platform(PlatformCode.ABILLITY),
        line_ids=[asset.sales_order_line_id for asset in assets],
    )
    drain()


def charge(emulator, asset, component="recurring"):
    return emulator.state["service_charges"][external_id(f"{component}_charge", "asset", asset)]


def billing_id(emulator, asset):
    return emulator.state["clis"][external_id("billing_id", "asset", asset)]


def statuses(asset):
    line = SalesOrderLine.objects.get(pk=asset.sales_order_line_id)
    return line.upfront_bill_status, line.recurring_bill_status


# --- which charges ------------------------------------------------------------------------------
def test_a_service_makes_an_up_front_and_a_recurring_charge(abillity, customer):
    asset = asset_of(customer)
    assert charge(abillity, asset, "upfront")["Rental"] is False
    assert charge(abillity, asset, "recurring")["Rental"] is True
    assert len(abillity.state["service_charges"]) == 2


def test_a_product_makes_an_up_front_charge_only(abillity, customer):
    handset = item(name="Handset", item_type=ItemType.PRODUCT, data_description="1100")
    asset = asset_of(customer, inventory_item=handset, issue_date=date(2026, 1, 9))
    assert external_id("upfront_charge", "asset", asset)
    assert not external_id("recurring_charge", "asset", asset)
    assert len(abillity.state["service_charges"]) == 1


def test_a_component_priced_zero_makes_no_charge(abillity, customer):
    asset = asset_of(customer, inventory_item=item(sell_price=Decimal("0")))
    assert not external_id("upfront_charge", "asset", asset)
    assert external_id("recurring_charge", "asset", asset)


# --- the service charge table, row by row ---------------------------------------------
def test_data_description_is_the_up_front_charge_type_and_pricing_tier_the_recurring(
    abillity, customer
):
    asset = asset_of(customer)
    assert charge(abillity, asset, "upfront")["ChargeId"] == 1001
    assert charge(abillity, asset, "recurring")["ChargeId"] == 2010


def test_the_fields_holding_the_charge_type_ids_are_a_setting(abillity, customer):
    set_company(recurring_charge_type_field="custom_field_1")
    asset = asset_of(customer, inventory_item=item(pricing_tier="", custom_field_1="2030"))
    assert charge(abillity, asset, "recurring")["ChargeId"] == 2030


def test_the_product_name_is_the_description_overriding_the_charge_types_name(abillity, customer):
    asset = asset_of(customer, inventory_item=item(name="Unlimited SIM"))
    assert charge(abillity, asset)["Description"] == "Unlimited SIM"


@pytest.mark.parametrize(
    ("frequency", "type_id", "charge_type"),
    [
        (BillingFrequency.MONTHLY, 2, "2010"),
        (BillingFrequency.QUARTERLY, 4, "2300"),
        (BillingFrequency.ANNUAL, 1, "2200"),
    ],
)
def test_the_billing_frequency_is_the_frequency(
    abillity, customer, frequency, type_id, charge_type
):
    # abillity-api.md §10 rule 3: the ChargeId must suit the frequency, so each frequency
    # is paired with a charge type of that frequency.
    product = item(billing_frequency=frequency, pricing_tier=charge_type)
    asset = asset_of(customer, inventory_item=product)
    assert charge(abillity, asset, "recurring")["FrequencyTypeId"] == type_id
    assert charge(abillity, asset, "upfront")["FrequencyTypeId"] == 3  # a one-off


def test_sell_prices_are_the_unit_sell_prices(abillity, customer):
    asset = asset_of(customer)
    assert charge(abillity, asset, "upfront")["SalesPrice"] == 25.0
    assert charge(abillity, asset, "recurring")["SalesPrice"] == 12.5


def test_the_connected_date_is_the_first_payment_of_a_service(abillity, customer):
    asset = asset_of(customer, connection_date=date(2026, 2, 3))
    assert charge(abillity, asset)["FirstPayment"].startswith("2026-02-03")


def test_the_issue_date_is_the_first_payment_of_a_product(abillity, customer):
    handset = item(name="Handset", item_type=ItemType.PRODUCT, data_description="1100")
    asset = asset_of(customer, inventory_item=handset, issue_date=date(2026, 1, 9))
    assert charge(abillity, asset, "upfront")["FirstPayment"].startswith("2026-01-09")


def test_the_override_is_the_first_payment_but_not_the_billing_ids_start_date(abillity, customer):
    asset = asset_of(customer, billing_start_date_override=date(2026, 3, 1))
    assert charge(abillity, asset)["FirstPayment"].startswith("2026-03-01")
    assert billing_id(abillity, asset)["StartDate"].startswith("2026-01-05")


def test_the_identifier_is_the_charges_billing_id(abillity, customer):
    asset = asset_of(customer, identifier="07700900123")
    assert charge(abillity, asset)["CLI"] == "07700900123"


def test_the_rrp_is_the_unit_baseline_price_and_0_when_unset(abillity, customer):
    priced = asset_of(customer)
    unpriced = asset_of(customer, inventory_item=item(rrp=None), identifier="07700900002")
    assert charge(abillity, priced)["BaselineCost"] == 18.0
    assert charge(abillity, unpriced)["BaselineCost"] == 0.0


def test_refund_rental_is_no_and_backdate_yes_always(abillity, customer):
    # Seed 001: Refund Rental No, Backdate Yes (a start within aBILLity's 90 days).
    asset = asset_of(customer, connection_date=timezone.localdate() - timedelta(days=30))
    for component in ("upfront", "recurring"):
        sent = charge(abillity, asset, component)
        assert (sent["RefundRental"], sent["BackDatable"]) == (False, True)


def test_a_charge_starting_over_90_days_ago_goes_without_backdate(abillity, customer):
    # abillity-api.md §10 BackDatable: "may charge a previous billing period (max 90 days
    # back)"; the emulator refuses more, so such a charge goes unticked (docs/abillity.md).
    start = timezone.localdate() - timedelta(days=91)
    asset = asset_of(customer, connection_date=start)
    assert last_job("asset", asset).status == JobStatus.SUCCEEDED
    for component in ("upfront", "recurring"):
        sent = charge(abillity, asset, component)
        assert sent["BackDatable"] is False
        assert sent["FirstPayment"] == f"{start.isoformat()}T00:00:00"


def test_units_are_in_the_price_and_quantity_is_never_sent(abillity, customer):
    # abillity-api.md §10: Quantity is "number of billing periods the charge runs", so an
    # asset's units reach aBILLity as unit price times units (docs/abillity.md).
    asset = asset_of(customer, quantity=5)
    upfront, recurring = charge(abillity, asset, "upfront"), charge(abillity, asset, "recurring")
    assert (upfront["SalesPrice"], upfront["BaselineCost"]) == (125.0, 90.0)
    assert (recurring["SalesPrice"], recurring["BaselineCost"]) == (62.5, 90.0)
    sent = [c["body"] for c in writes(abillity) if c["path"] == "servicecharge"]
    assert sent and all("Quantity" not in body for body in sent)


def test_an_asset_of_no_units_is_refused_naming_it(abillity, customer):
    asset = asset_of(customer, quantity=0)
    job = last_job("asset", asset)
    assert job.status == JobStatus.FAILED and job.error_kind == ErrorKind.PERMANENT
    assert "has a quantity of 0" in job.last_error
    assert not abillity.state["service_charges"]


def test_fixed_billing_sets_the_end_date(abillity, customer):
    asset = asset_of(customer, fixed_billing=True, end_date=date(2027, 1, 4))
    assert charge(abillity, asset)["LastPayment"].startswith("2027-01-04")
    assert billing_id(abillity, asset)["EndDate"].startswith("2027-01-04")
    plain = asset_of(customer, identifier="07700900002")
    assert charge(abillity, plain)["LastPayment"] is None


# --- the billing ID table -------------------------------------------------------------------------
def test_the_billing_id_and_presentation_alias_are_the_identifier(abillity, customer):
    sent = billing_id(abillity, asset_of(customer, identifier="07700900555"))
    assert (sent["CLI"], sent["PresentationAlias"]) == ("07700900555", "07700900555")


def test_the_billing_ids_start_and_contract_start_are_the_connection_date(abillity, customer):
    sent = billing_id(abillity, asset_of(customer, connection_date=date(2026, 4, 1)))
    assert sent["StartDate"].startswith("2026-04-01")
    assert sent["ContractStartDate"].startswith("2026-04-01")


def test_the_cost_centre_is_cost_centre_1_and_do_not_bill_is_suppress(abillity, customer):
    sent = billing_id(abillity, asset_of(customer, cost_centre="North", do_not_bill=True))
    assert (sent["CostCentre1"], sent["Suppress"]) == ("North", True)


def test_a_billing_id_is_sent_with_its_charges_and_appears_once_per_site(abillity, customer):
    first = asset_of(customer, identifier="07700900001")
    second = asset_of(customer, identifier="07700900001", inventory_item=item(name="Roaming"))
    numbers = [c["CLI"] for c in abillity.state["clis"].values()]
    assert numbers == ["07700900001"]
    assert charge(abillity, second)["CLI"] == "07700900001"
    assert external_id("billing_id", "asset", first)
    assert last_job("asset", second).status == JobStatus.SUCCEEDED


def test_a_service_charge_needs_no_billing_id(abillity, customer):
    asset = asset_of(customer, identifier="")
    assert not abillity.state["clis"]
    assert "CLI" not in charge(abillity, asset) or charge(abillity, asset)["CLI"] is None


# --- the reject queue ----------------------------------------------------------------------
def test_an_item_without_a_charge_type_id_syncs_the_rest_and_is_rejected_until_one_retry(
    abillity, customer
):
    # Seed 001: "If a product or service from The Layer is synced without a charge ID, the
    # sync to Abillity will still occur, and the item should appear in the reject queue."
    bare = item(name="Leased Line", pricing_tier="")
    asset = asset_of(customer, inventory_item=bare)

    job = last_job("asset", asset)
    assert job.status == JobStatus.FAILED and job.error_kind == ErrorKind.PERMANENT
    assert 'Inventory item "Leased Line" has no Abillity recurring charge type id' in (
        job.last_error
    )
    assert "Pricing Tier" in job.last_error and "retry this job" in job.last_error
    sent = charge(abillity, asset)  # the charge went, without a charge type
    assert sent["ChargeId"] is None
    assert (sent["Description"], sent["FrequencyTypeId"]) == ("Leased Line", 2)
    assert external_id("upfront_charge", "asset", asset)  # the rest was sent
    assert statuses(asset) == (IN, READY)  # not billed as it should be until fixed

    bare.pricing_tier = "2010"
    bare.save()
    job_retry(job=job)
    drain()

    assert charge(abillity, asset)["ChargeId"] == 2010
    assert statuses(asset) == (IN, IN)
    assert len(abillity.state["service_charges"]) == 2


def test_a_charge_type_of_another_frequency_is_refused_at_sync_naming_the_field(abillity, customer):
    # abillity-api.md §10 rule 3: "ChargeId must exist and suit the frequency".
    monthly_type = item(name="Leased Line", pricing_tier="2010")
    InventoryItem.objects.filter(pk=monthly_type.pk).update(
        billing_frequency=BillingFrequency.QUARTERLY
    )
    monthly_type.refresh_from_db()
    asset = asset_of(customer, inventory_item=monthly_type)

    job = last_job("asset", asset)
    assert job.status == JobStatus.FAILED and job.error_kind == ErrorKind.PERMANENT
    assert 'Inventory item "Leased Line", recurring charge, "Pricing Tier" field' in (
        job.last_error
    )
    assert "charge type 2010 (Line rental) is billed Monthly" in job.last_error
    assert not external_id("recurring_charge", "asset", asset)
    assert statuses(asset) == (IN, READY)


def test_a_charge_type_missing_from_the_charge_types_list_is_refused_at_sync(abillity, customer):
    asset = asset_of(customer, inventory_item=item(name="Leased Line", pricing_tier="7777"))
    job = last_job("asset", asset)
    assert job.status == JobStatus.FAILED
    assert "charge type 7777 is not in the charge types list" in job.last_error


# --- the Billing Export ---------------------------------------------------------------------------
def test_an_asset_waits_for_the_billing_export(abillity, customer):
    asset = asset_of(customer, sent=False)
    asset.cost_centre = "South"
    services.asset_save(asset=asset)
    drain()
    assert not abillity.state["service_charges"]
    job = last_job("asset", asset)
    assert job.status == JobStatus.SKIPPED
    assert "waits for the Billing Export" in job.last_error


def test_sent_lines_become_in_billing_only_once_abillity_accepts_them(abillity, customer):
    asset = asset_of(customer, sent=False)
    abillity.faults_set(fail_next=50, fail_status=503)
    export.billing_transfer(
        route=platform(PlatformCode.ABILLITY), line_ids=[asset.sales_order_line_id]
    )
    assert statuses(asset) == (READY, READY)
    abillity.faults_set(fail_next=0)
    drain()
    assert statuses(asset) == (IN, IN)


def test_lines_without_charges_show_in_the_export_only_until_their_billing_id_is_sent(
    abillity, customer
):
    free = item(name="Number", sell_price=Decimal("0"), recurring_sell_price=Decimal("0"))
    asset = asset_of(customer, inventory_item=free, sent=False)
    abillity_route = platform(PlatformCode.ABILLITY)
    assert asset.sales_order_line in selectors.billing_export_lines(route=abillity_route)

    send(asset)

    assert billing_id(abillity, asset)["CLI"] == "07700900001"
    again = asset_of(customer, inventory_item=free, sent=False)
    assert again.sales_order_line not in selectors.billing_export_lines(route=abillity_route)


def test_an_unchanged_resync_writes_nothing(abillity, customer):
    asset = asset_of(customer)
    abillity.requests.clear()
    services.asset_save(asset=asset)
    drain()
    assert writes(abillity) == []


# --- New & Cease ----------------------------------------------------------------------------------
def test_new_and_cease_ends_the_old_billing_id_and_charges_and_makes_new_ones(abillity, customer):
    set_company(new_and_cease_enabled=True)
    old = asset_of(customer, identifier="07700900001")
    order = SalesOrderFactory(
        customer=customer,
        lines=[
            services.LineSpec(
                inventory_item=item(name="Business Mobile 30GB", pricing_tier="2030"),
                site=customer.sites.get(is_default=True),
                action=LineAction.NEW_AND_CEASE,
                target_asset=old,
                cli="07700900001",
            )
        ],
    )
    new = services.sales_order_line_convert_to_asset(
        line=order.lines.get(), connection_date=date(2026, 6, 1)
    )
    send(new)

    old.refresh_from_db()
    assert old.cease_date == date(2026, 5, 31)
    ended = billing_id(abillity, old)
    assert ended["EndDate"].startswith("2026-05-31")
    assert ended["ContractEndDate"].startswith("2026-05-31")
    for component in ("upfront", "recurring"):
        assert charge(abillity, old, component)["LastPayment"].startswith("2026-05-31")
    fresh = billing_id(abillity, new)
    assert fresh["Id"] != ended["Id"] and fresh["CLI"] == "07700900001"
    assert fresh["EndDate"] is None
    assert charge(abillity, new)["ChargeId"] == 2030
    assert charge(abillity, new)["LastPayment"] is None


def test_a_second_open_charge_of_one_product_without_a_billing_id_is_refused_saying_why(
    abillity, customer
):
    # abillity-api.md §10: Description is a "unique description" (the emulator's scope:
    # open charges of one site, CLI and frequency; docs/abillity.md).
    product = item()
    asset_of(customer, identifier="", inventory_item=product)
    second = asset_of(customer, identifier="", inventory_item=product)
    job = last_job("asset", second)
    assert job.status == JobStatus.FAILED
    assert "Description - The Description must be unique." in job.last_error
    assert len(abillity.state["service_charges"]) == 2  # the first asset's two only
