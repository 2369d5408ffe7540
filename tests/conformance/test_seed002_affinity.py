"""Seed 002 ("Billing with Affinity Integration"): its Invoicing, Bill Status and Billing
Export rules, one test each, named after the rule, through the public interfaces (the REST
API's sales orders and Billing Export lines, files and transfer; the ``billing_export``
command). Where the seed leaves a choice, the test names the decision recorded in
docs/billing-export.md (Decisions)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command

from billing import services
from billing.choices import AssetStatus, BillStatus, ItemType, PlatformCode
from billing.models import BaseCategory, SalesOrderLine
from tests.factories import (
    AssetFactory,
    CustomerFactory,
    InventoryItemFactory,
    SalesOrderFactory,
    SiteFactory,
    platform,
)

from .conftest import CONNECTED, TODAY, csv_rows, transfer

pytestmark = pytest.mark.django_db

LINES = "/api/v1/billing-export/lines/"
CLI = "/api/v1/billing-export/cli.csv"
PRODUCTS = "/api/v1/billing-export/products.csv"


def affinity_item(**fields):
    route = platform(PlatformCode.AFFINITY)
    return InventoryItemFactory(
        upfront_route=route, recurring_route=route, external_sku="AFF-1", **fields
    )


def asset(*, name="Acme Ltd", identifier="07700900001", inventory_item=None, **fields):
    customer = CustomerFactory(name=name)
    made = AssetFactory(
        customer=customer,
        site=SiteFactory(customer=customer, name="Leeds", is_default=True),
        inventory_item=inventory_item or affinity_item(),
        identifier=identifier,
        connection_date=fields.pop("connection_date", CONNECTED),
        issue_date=fields.pop("issue_date", None),
    )
    for field, value in fields.items():
        setattr(made, field, value)
    if fields:
        services.asset_save(asset=made)
    return made


def listed(api, route="affinity") -> dict[int, dict]:
    return {row["id"]: row for row in api.get(LINES, {"route": route}).json()["results"]}


def statuses(line) -> tuple[str, str]:
    line = SalesOrderLine.objects.get(pk=line.pk)
    return line.upfront_bill_status, line.recurring_bill_status


# --- Invoicing in The Layer ---------------------------------------------------------------------
def test_seed002_only_items_with_an_upfront_route_of_the_layer_or_blank_are_invoiceable(
    billing_api,
):
    # "Only items with an up-front billing route of The Layer, or with no up-front billing
    # route set, will be invoiceable in The Layer."
    customer = CustomerFactory()
    order = SalesOrderFactory(
        customer=customer,
        lines=[
            services.LineSpec(inventory_item=affinity_item()),
            services.LineSpec(
                inventory_item=InventoryItemFactory(upfront_route=platform(PlatformCode.THE_LAYER))
            ),
            services.LineSpec(inventory_item=InventoryItemFactory(upfront_route=None)),
        ],
    )
    body = billing_api.get(f"/api/v1/sales-orders/{order.pk}/").json()
    assert [row["invoiceable_in_layer"] for row in body["lines"]] == [False, True, True]


# --- Bill Status ----------------------------------------------------------------------
def test_seed002_bill_status_not_billed_until_the_item_is_converted_to_asset(billing_api):
    # "Firstly, all items must be converted to asset."
    order = SalesOrderFactory(lines=[services.LineSpec(inventory_item=affinity_item())])
    line = order.lines.get()
    assert statuses(line) == (BillStatus.NOT_BILLED, BillStatus.NOT_BILLED)
    assert line.pk not in listed(billing_api)


def test_seed002_bill_status_a_service_is_ready_to_bill_once_connected(billing_api):
    # "The second trigger depends on the item type" (reference §3.2: a service's connection).
    made = asset()
    assert statuses(made.sales_order_line) == (BillStatus.READY_TO_BILL, BillStatus.READY_TO_BILL)
    unconnected = asset(name="Waiting Ltd", identifier="07700900002", connection_date=None)
    assert statuses(unconnected.sales_order_line) == (BillStatus.NOT_BILLED,) * 2
    assert set(listed(billing_api)) == {made.sales_order_line_id}


def test_seed002_bill_status_a_product_is_ready_to_bill_once_issued(billing_api):
    handset = affinity_item(item_type=ItemType.PRODUCT)
    made = asset(inventory_item=handset, connection_date=None, issue_date=TODAY)
    assert statuses(made.sales_order_line)[0] == BillStatus.READY_TO_BILL


def test_seed002_bill_status_transfer_to_billing_moves_ready_to_bill_to_in_billing(billing_api):
    # "The Billing Transfer button is used to change the status of selected lines from Ready
    # to Bill to In Billing."
    made = asset()
    transfer(billing_api, "affinity", made.sales_order_line)
    assert statuses(made.sales_order_line) == (BillStatus.IN_BILLING, BillStatus.IN_BILLING)
    assert made.sales_order_line_id not in listed(billing_api)


def test_seed002_bill_start_override_sets_the_bill_start_date(billing_api):
    # "These Bill Start Override field can be used to override the default date"
    override = TODAY - timedelta(days=3)
    made = asset(billing_start_date_override=override)
    row = listed(billing_api)[made.sales_order_line_id]
    assert row["bill_start_date"] == override.isoformat()


# --- Billing Export -------------------------------------------------------------------
def test_seed002_billing_export_shows_items_with_a_status_of_ready_to_bill(billing_api):
    # "This app allows us to view items that have either an up-front or recurring billing
    # status of Ready to Bill."
    ready = asset()
    billed = asset(name="Billed Ltd", identifier="07700900002")
    SalesOrderLine.objects.filter(pk=billed.sales_order_line_id).update(
        upfront_bill_status=BillStatus.IN_BILLING
    )
    half = listed(billing_api)
    assert ready.sales_order_line_id in half and billed.sales_order_line_id in half
    SalesOrderLine.objects.filter(pk=billed.sales_order_line_id).update(
        recurring_bill_status=BillStatus.IN_BILLING
    )
    assert billed.sales_order_line_id not in listed(billing_api)


def test_seed002_billing_export_filters_items_by_billing_route(billing_api):
    # "Use the top-right filter to show only items that have one or both billing route fields
    # set to Affinity."
    mine = asset()
    abillity = platform(PlatformCode.ABILLITY)
    other = asset(
        name="Other Ltd",
        identifier="07700900002",
        inventory_item=InventoryItemFactory(upfront_route=abillity, recurring_route=abillity),
    )
    assert set(listed(billing_api)) == {mine.sales_order_line_id}
    assert other.sales_order_line_id in listed(billing_api, "abillity")


def test_seed002_cli_export_holds_the_clis_with_an_affinity_route(billing_api):
    # "The CLI export can be used to create a file containing information on CLIs in The Layer
    # that have an Affinity billing route assigned."
    made = asset(identifier="+44 7700 900321")
    rows = csv_rows(billing_api.get(CLI, {"route": "affinity"}))
    assert [(row["CLI"], row["Customer Name"]) for row in rows] == [("07700900321", "Acme Ltd")]
    assert made.identifier == "07700900321"


def test_seed002_cli_export_holds_clis_only_never_a_serial(billing_api):
    # "a file containing information on CLIs": a Serial-identified product is not a CLI.
    hardware = BaseCategory.objects.get(identifier_field="Serial")
    asset(
        identifier="YLK46U-0042871",
        inventory_item=affinity_item(item_type=ItemType.PRODUCT, base_category=hardware),
        issue_date=TODAY,
    )
    assert csv_rows(billing_api.get(CLI, {"route": "affinity"})) == []
    products = csv_rows(billing_api.get(PRODUCTS, {"route": "affinity"}))
    assert [row["CLI"] for row in products] == [""]


def test_seed002_product_export_holds_the_products_and_services_for_billing(billing_api):
    # "The product export file contains details of products and services that will be
    # uploaded to Affinity for billing. These will be uploaded against the CLI where
    # applicable."
    made = asset()
    rows = csv_rows(billing_api.get(PRODUCTS, {"route": "affinity"}))
    assert [(row["Line Reference"], row["Charge"], row["CLI"]) for row in rows] == [
        (str(made.sales_order_line_id), "Up-front", "07700900001"),
        (str(made.sales_order_line_id), "Recurring", "07700900001"),
    ]


def test_seed002_a_product_without_an_sku_is_flagged_and_left_out_of_the_product_file(
    billing_api,
):
    # "each product to be exported has an SKU populated otherwise the upload into Affinity
    # will fail because the product can't be matched."
    kept = asset()
    missing = asset(
        name="No SKU Ltd",
        identifier="07700900002",
        inventory_item=InventoryItemFactory(
            upfront_route=platform(PlatformCode.AFFINITY),
            recurring_route=platform(PlatformCode.AFFINITY),
            external_sku="",
        ),
    )
    answer = billing_api.get(PRODUCTS, {"route": "affinity"})
    assert answer["X-Excluded-Lines"] == str(missing.sales_order_line_id)
    assert {row["Line Reference"] for row in csv_rows(answer)} == {str(kept.sales_order_line_id)}
    assert (
        "External SKU"
        in listed(billing_api)[missing.sales_order_line_id]["excluded_from_product_file"]
    )
    refused = billing_api.post(
        "/api/v1/billing-export/transfer/",
        {"route": "affinity", "lines": [missing.sales_order_line_id]},
        format="json",
    )
    assert refused.status_code == 400


def test_seed002_do_not_bill_is_flagged_in_the_cli_file_and_left_out_of_the_product_file(
    billing_api,
):
    # "Supports Do Not Bill on the supported billing routes" (decision: flag column in the
    # CLI file; left out of the product file, which holds what is "for billing").
    made = asset(do_not_bill=True)
    cli = csv_rows(billing_api.get(CLI, {"route": "affinity"}))
    assert [row["Do Not Bill"] for row in cli] == ["Yes"]
    answer = billing_api.get(PRODUCTS, {"route": "affinity"})
    assert csv_rows(answer) == []
    assert answer["X-Excluded-Lines"] == str(made.sales_order_line_id)


def test_seed002_a_ceased_item_bills_up_to_its_cease_date_and_no_further(billing_api):
    # "Ensures accurate and timely cessation of services, preventing billing for terminated
    # services" (decision: billable for [bill start, cease date], End Date = cease date).
    made = asset()
    cease_date = TODAY - timedelta(days=5)
    made.status = AssetStatus.CEASED
    made.cease_date = cease_date
    services.asset_save(asset=made)
    rows = csv_rows(billing_api.get(PRODUCTS, {"route": "affinity"}))
    assert {row["End Date"] for row in rows} == {cease_date.isoformat()}
    early = asset(name="Early Ltd", identifier="07700900002")
    early.status = AssetStatus.CEASED
    early.cease_date = CONNECTED - timedelta(days=1)
    services.asset_save(asset=early)
    assert early.sales_order_line_id not in listed(billing_api)


def test_seed002_the_command_writes_the_same_files(billing_api):
    made = asset()
    out, err = io.StringIO(), io.StringIO()
    call_command("billing_export", route="affinity", kind="cli", stdout=out, stderr=err)
    assert "07700900001" in out.getvalue()
    out = io.StringIO()
    call_command("billing_export", route="affinity", kind="products", stdout=out, stderr=err)
    lines = out.getvalue().splitlines()[1:]
    assert [line.split(",")[0] for line in lines] == [str(made.sales_order_line_id)] * 2
