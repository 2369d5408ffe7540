"""Seed 001 ("Abillity - Billing ID and Service Charge sync"), row by row: each test is one
row of the seed's three tables, or one of its rules, named after it. Lines go to Abillity
as staff send them, through the Billing Export's ``POST /api/v1/billing-export/transfer/``
on the Abillity route; the queue is then run as a worker runs it; the test reads what the
Abillity emulator holds. Expectations are the seed's words, quoted per test."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from billing import services
from billing.choices import BillingFrequency, ItemType, LineAction
from connectors.choices import JobStatus
from tests.connectors.abillity.helpers import (
    abillity_item,
    drain,
    external_id,
    last_job,
    synced_customer,
)
from tests.factories import (
    AssetFactory,
    SalesOrderFactory,
)
from tests.helpers import set_company

from .conftest import CONNECTED, TODAY, transfer


@pytest.fixture
def customer(abillity):
    return synced_customer("Conformance Telecoms")


item = abillity_item


def sent(billing_api, customer, *, identifier="07700900001", inventory_item=None, **fields):
    """An asset of the customer's head office, converted, sent by the Billing Export's API."""
    asset = AssetFactory(
        customer=customer,
        site=customer.sites.get(is_default=True),
        inventory_item=inventory_item or item(),
        identifier=identifier,
        connection_date=fields.pop("connection_date", CONNECTED),
        issue_date=fields.pop("issue_date", None),
    )
    for name, value in fields.items():
        setattr(asset, name, value)
    if fields:
        services.asset_save(asset=asset)
    transfer(billing_api, "abillity", asset.sales_order_line)
    drain()
    return asset


def charge(emulator, asset, component="recurring") -> dict:
    return emulator.state["service_charges"][external_id(f"{component}_charge", "asset", asset)]


def billing_id(emulator, asset) -> dict:
    return emulator.state["clis"][external_id("billing_id", "asset", asset)]


def day(value) -> str:
    return str(value)[:10]


# --- Service Charges: the fields table -----------------------------------------------------------
def test_seed001_service_charges_data_description_is_the_upfront_charge_type(
    abillity, customer, billing_api
):
    # "Data Description* | Charge Type (upfront)"
    asset = sent(billing_api, customer)
    assert charge(abillity, asset, "upfront")["ChargeId"] == 1001


def test_seed001_service_charges_pricing_tier_is_the_recurring_charge_type(
    abillity, customer, billing_api
):
    # "Pricing Tier* | Charge Type (recurring)"
    asset = sent(billing_api, customer)
    assert charge(abillity, asset, "recurring")["ChargeId"] == 2010


def test_seed001_service_charges_product_name_is_the_description(abillity, customer, billing_api):
    # "Product Name | Description"; "This will override any name inherited from the charge type."
    asset = sent(billing_api, customer, inventory_item=item(name="Unlimited SIM"))
    assert charge(abillity, asset)["Description"] == "Unlimited SIM"
    assert charge(abillity, asset, "upfront")["Description"] == "Unlimited SIM"


def test_seed001_service_charges_billing_frequency_is_the_frequency(
    abillity, customer, billing_api
):
    # "Billing Frequency | Frequency" (aBILLity FrequencyTypeId 4 = Quarterly; charge type
    # 2300 is the emulator's quarterly one)
    quarterly = item(billing_frequency=BillingFrequency.QUARTERLY, pricing_tier="2300")
    asset = sent(billing_api, customer, inventory_item=quarterly)
    assert charge(abillity, asset)["FrequencyTypeId"] == 4


def test_seed001_service_charges_sell_price_is_the_upfront_unit_sell_price(
    abillity, customer, billing_api
):
    # "Sell Price | Unit Sell Price"
    asset = sent(billing_api, customer)
    assert Decimal(str(charge(abillity, asset, "upfront")["SalesPrice"])) == Decimal("25.00")


def test_seed001_service_charges_recurring_sell_price_is_the_recurring_unit_sell_price(
    abillity, customer, billing_api
):
    # "Recurring Sell Price | Unit Sell Price"
    asset = sent(billing_api, customer)
    assert Decimal(str(charge(abillity, asset, "recurring")["SalesPrice"])) == Decimal("12.50")


def test_seed001_service_charges_connected_date_is_the_first_payment(
    abillity, customer, billing_api
):
    # "Connected Date | First Payment"; "Connection Date / Billing Start Date | First Payment"
    asset = sent(billing_api, customer, connection_date=CONNECTED)
    assert day(charge(abillity, asset)["FirstPayment"]) == CONNECTED.isoformat()


def test_seed001_service_charges_issue_date_is_the_first_payment(abillity, customer, billing_api):
    # "Issue Date | First Payment" (a product)
    handset = item(name="Handset", item_type=ItemType.PRODUCT, data_description="1100")
    issued = TODAY - timedelta(days=15)
    asset = sent(billing_api, customer, inventory_item=handset, issue_date=issued)
    assert day(charge(abillity, asset, "upfront")["FirstPayment"]) == issued.isoformat()


def test_seed001_service_charges_msisdn_is_the_billing_id(abillity, customer, billing_api):
    # "MSISDN** | Billing ID"
    asset = sent(billing_api, customer, identifier="07700900123")
    assert charge(abillity, asset)["CLI"] == "07700900123"


def test_seed001_service_charges_billing_start_date_override_is_the_first_payment(
    abillity, customer, billing_api
):
    # "Billing Start Date Override*** | First Payment", "***If set"; "A new Billing ID will use
    # the Connection Date as the Start Date in either case."
    override = TODAY - timedelta(days=10)
    asset = sent(billing_api, customer, billing_start_date_override=override)
    assert day(charge(abillity, asset)["FirstPayment"]) == override.isoformat()
    assert day(billing_id(abillity, asset)["StartDate"]) == CONNECTED.isoformat()


def test_seed001_service_charges_rrp_is_the_unit_baseline_price(abillity, customer, billing_api):
    # "RRP**** | Unit Baseline Price"
    asset = sent(billing_api, customer)
    assert Decimal(str(charge(abillity, asset)["BaselineCost"])) == Decimal("18.00")


def test_seed001_service_charges_rrp_not_set_is_synced_as_0(abillity, customer, billing_api):
    # "****If not set in The Layer, sync this as 0"
    asset = sent(billing_api, customer, inventory_item=item(rrp=None))
    assert Decimal(str(charge(abillity, asset)["BaselineCost"])) == Decimal("0")


# --- Service Charges: the conditions table -----------------------------------------------------
def test_seed001_service_charges_a_recurring_charge_checks_rental(abillity, customer, billing_api):
    # "Charge is recurring | "Rental" field is checked"
    asset = sent(billing_api, customer)
    assert charge(abillity, asset, "recurring")["Rental"] is True
    assert charge(abillity, asset, "upfront")["Rental"] is False


def test_seed001_service_charges_fixed_billing_populates_the_end_date(
    abillity, customer, billing_api
):
    # '"Fixed Billing" enabled | "End Date" is populated'
    end = TODAY + timedelta(days=60)
    asset = sent(billing_api, customer, fixed_billing=True, end_date=end)
    assert day(charge(abillity, asset)["LastPayment"]) == end.isoformat()


def test_seed001_service_charges_refund_rental_is_always_no(abillity, customer, billing_api):
    # 'Always | "Refund Rental" is "No"'
    asset = sent(billing_api, customer)
    assert charge(abillity, asset)["RefundRental"] is False
    assert charge(abillity, asset, "upfront")["RefundRental"] is False


def test_seed001_service_charges_backdate_is_always_yes(abillity, customer, billing_api):
    # 'Always | Backdate is "Yes"'
    asset = sent(billing_api, customer)
    assert charge(abillity, asset)["BackDatable"] is True
    assert charge(abillity, asset, "upfront")["BackDatable"] is True


# --- Service Charges: the rules ------------------------------------------------------------------
def test_seed001_a_service_makes_an_upfront_and_a_recurring_charge(abillity, customer, billing_api):
    # "two entries may be created in Abillity - one for upfront charges, and one for recurring"
    asset = sent(billing_api, customer)
    assert external_id("upfront_charge", "asset", asset)
    assert external_id("recurring_charge", "asset", asset)


def test_seed001_a_product_makes_an_upfront_charge_only(abillity, customer, billing_api):
    # "Products should create a service charge for upfront charges only."
    handset = item(name="Handset", item_type=ItemType.PRODUCT, data_description="1100")
    asset = sent(
        billing_api, customer, inventory_item=handset, issue_date=TODAY - timedelta(days=5)
    )
    assert external_id("upfront_charge", "asset", asset)
    assert not external_id("recurring_charge", "asset", asset)


def test_seed001_a_component_with_a_0_sell_price_makes_no_charge(abillity, customer, billing_api):
    # "A service charge will not be created for an upfront or recurring component if that
    # component has a £0 sell price."
    asset = sent(billing_api, customer, inventory_item=item(sell_price=Decimal("0")))
    assert not external_id("upfront_charge", "asset", asset)
    assert external_id("recurring_charge", "asset", asset)


def test_seed001_without_a_charge_type_the_sync_still_occurs_and_the_item_is_rejected(
    abillity, customer, billing_api
):
    # "If a product or service from The Layer is synced without a charge ID, the sync to
    # Abillity will still occur, and the item should appear in the reject queue."
    asset = sent(billing_api, customer, inventory_item=item(pricing_tier=""))
    assert external_id("billing_id", "asset", asset)
    assert external_id("upfront_charge", "asset", asset)
    job = last_job("asset", asset)
    assert job.status == JobStatus.FAILED
    assert "Pricing Tier" in job.last_error


def test_seed001_items_with_no_costs_appear_only_with_a_billing_id_not_yet_sent(
    abillity, customer, billing_api
):
    # "Items with no recurring or upfront costs will not appear at all in the Billing Exports
    # app unless they are associated with a billing ID that has not previously been sent".
    free = item(name="Porting", sell_price=Decimal("0"), recurring_sell_price=Decimal("0"))
    first = AssetFactory(
        customer=customer,
        site=customer.sites.get(is_default=True),
        inventory_item=free,
        identifier="07700900055",
        connection_date=CONNECTED,
    )
    nothing = AssetFactory(
        customer=customer,
        site=customer.sites.get(is_default=True),
        inventory_item=free,
        identifier="",
        connection_date=CONNECTED,
    )

    def listed():
        body = billing_api.get("/api/v1/billing-export/lines/", {"route": "abillity"}).json()
        return {row["id"] for row in body["results"]}

    assert first.sales_order_line_id in listed()
    assert nothing.sales_order_line_id not in listed()
    transfer(billing_api, "abillity", first.sales_order_line)
    drain()
    assert billing_id(abillity, first)["CLI"] == "07700900055"
    again = AssetFactory(
        customer=customer,
        site=customer.sites.get(is_default=True),
        inventory_item=free,
        identifier="07700900055",
        connection_date=CONNECTED,
    )
    assert again.sales_order_line_id not in listed()


# --- Billing IDs: the table ------------------------------------------------------------------
def test_seed001_billing_ids_msisdn_is_the_billing_id(abillity, customer, billing_api):
    # "MSISDN* | Billing ID"
    asset = sent(billing_api, customer, identifier="07700900321")
    assert billing_id(abillity, asset)["CLI"] == "07700900321"


def test_seed001_billing_ids_msisdn_is_the_presentation_alias(abillity, customer, billing_api):
    # "MSISDN* | Presentation Alias"
    asset = sent(billing_api, customer, identifier="07700900321")
    assert billing_id(abillity, asset)["PresentationAlias"] == "07700900321"


def test_seed001_billing_ids_connection_date_is_the_start_date(abillity, customer, billing_api):
    # "Connection Date / Billing Start Date | Start Date"
    asset = sent(billing_api, customer)
    assert day(billing_id(abillity, asset)["StartDate"]) == CONNECTED.isoformat()


def test_seed001_billing_ids_connection_date_is_the_contract_start_date(
    abillity, customer, billing_api
):
    # "Connection Date / Billing Start Date | Contract Start Date"
    asset = sent(billing_api, customer)
    assert day(billing_id(abillity, asset)["ContractStartDate"]) == CONNECTED.isoformat()


def test_seed001_billing_ids_cost_centre_is_cost_centre_1(abillity, customer, billing_api):
    # "Cost Centre | Cost Centre 1"
    asset = sent(billing_api, customer, cost_centre="SALES-NORTH")
    assert billing_id(abillity, asset)["CostCentre1"] == "SALES-NORTH"


def test_seed001_billing_ids_end_date_is_the_end_date_when_fixed_billing(
    abillity, customer, billing_api
):
    # "End Date** | End Date", "**When ceased or synced service had fixed billing"
    end = TODAY + timedelta(days=45)
    asset = sent(billing_api, customer, fixed_billing=True, end_date=end)
    assert day(billing_id(abillity, asset)["EndDate"]) == end.isoformat()


def test_seed001_billing_ids_end_date_is_the_contract_end_date_when_ceased(
    abillity, customer, billing_api
):
    # "End Date** | Contract End Date", "**When ceased"
    from billing.choices import AssetStatus

    asset = sent(billing_api, customer)
    ceased = TODAY - timedelta(days=2)
    asset.status = AssetStatus.CEASED
    asset.cease_date = ceased
    services.asset_save(asset=asset)
    drain()
    assert day(billing_id(abillity, asset)["EndDate"]) == ceased.isoformat()
    assert day(billing_id(abillity, asset)["ContractEndDate"]) == ceased.isoformat()


def test_seed001_billing_ids_do_not_bill_is_suppress(abillity, customer, billing_api):
    # "Do Not Bill | Suppress"
    asset = sent(billing_api, customer, do_not_bill=True)
    assert billing_id(abillity, asset)["Suppress"] is True


def test_seed001_billing_ids_appear_against_a_site_once(abillity, customer, billing_api):
    # "Billing IDs will only appear against a site once. If another service asset is synced
    # against an existing billing ID, the billing ID will not be duplicated."
    sent(billing_api, customer, identifier="07700900444")
    sent(billing_api, customer, identifier="07700900444", inventory_item=item(name="Data Add-on"))
    numbers = [cli["CLI"] for cli in abillity.state["clis"].values()]
    assert numbers.count("07700900444") == 1


def test_seed001_service_charges_need_no_billing_id(abillity, customer, billing_api):
    # "Service charges do not need to be associated with a Billing ID to sync."
    licence = item(name="Licence", item_type=ItemType.PRODUCT, data_description="1100")
    from billing.models import BaseCategory

    licence.base_category = BaseCategory.objects.get(identifier_field="Serial")
    licence.save()
    asset = sent(
        billing_api,
        customer,
        identifier="",
        inventory_item=licence,
        issue_date=TODAY - timedelta(days=3),
    )
    job = last_job("asset", asset)
    assert external_id("upfront_charge", "asset", asset), (job.status, job.last_error)
    assert not external_id("billing_id", "asset", asset)


# --- New & Cease ------------------------------------------------------------------------------
def test_seed001_new_and_cease_the_target_populates_the_msisdn(abillity, customer, billing_api):
    # "This will populate the MSISDN / Number or equivalent field."
    set_company(new_and_cease_enabled=True)
    old = sent(billing_api, customer, identifier="07700900600")
    order = SalesOrderFactory(
        customer=customer,
        lines=[
            services.LineSpec(
                inventory_item=item(name="Business Mobile 30GB", pricing_tier="2030"),
                site=customer.sites.get(is_default=True),
                action=LineAction.NEW_AND_CEASE,
                target_asset=old,
            )
        ],
    )
    assert order.lines.get().cli == "07700900600"


def test_seed001_new_and_cease_the_sync_of_the_new_asset_ceases_the_old_billing_id_and_charges(
    abillity, customer, billing_api
):
    # "The new asset will be passed to the Billing Export app for transfer to Abillity. The
    # sync will include instructions to Abillity to cease the existing Billing ID and Service
    # Charge." "When a New & Cease line is successfully synced, the End Date of the ceased
    # Billing ID will be populated, and a new Billing ID created with the same reference. The
    # existing service charge(s) will have their Last Payment date updated, and a new entry
    # will be created."
    set_company(new_and_cease_enabled=True)
    old = sent(billing_api, customer, identifier="07700900700")
    order = SalesOrderFactory(
        customer=customer,
        lines=[
            services.LineSpec(
                inventory_item=item(name="Business Mobile 30GB", pricing_tier="2030"),
                site=customer.sites.get(is_default=True),
                action=LineAction.NEW_AND_CEASE,
                target_asset=old,
            )
        ],
    )
    connected = TODAY - timedelta(days=1)
    new = services.sales_order_line_convert_to_asset(
        line=order.lines.get(), connection_date=connected
    )
    drain()
    assert billing_id(abillity, old)["EndDate"] is None  # not before the new line is sent
    transfer(billing_api, "abillity", new.sales_order_line)
    drain()
    ended = (connected - timedelta(days=1)).isoformat()
    assert day(billing_id(abillity, old)["EndDate"]) == ended
    for component in ("upfront", "recurring"):
        assert day(charge(abillity, old, component)["LastPayment"]) == ended
    fresh = billing_id(abillity, new)
    assert fresh["CLI"] == "07700900700" and fresh["Id"] != billing_id(abillity, old)["Id"]
    assert charge(abillity, new)["ChargeId"] == 2030
