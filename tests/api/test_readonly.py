"""The read-only endpoints: inventory items, sales orders (with lines) and assets."""

from datetime import date

import pytest

from billing.choices import BillStatus, LineAction, PlatformCode
from billing.models import BaseCategory
from billing.services import LineSpec, sales_order_line_convert_to_asset
from customers.models import CompanySettings
from tests.factories import (
    AssetFactory,
    CustomerFactory,
    InventoryItemFactory,
    SalesOrderFactory,
    SalesOrderLineFactory,
    SiteFactory,
    platform,
)

pytestmark = pytest.mark.django_db


def results(response) -> list[dict]:
    assert response.status_code == 200, response.data
    return response.json()["results"]


@pytest.fixture
def routed_item():
    """A fixed-line service billed up-front by Abillity and monthly by Affinity."""
    return InventoryItemFactory(
        name="SIP Trunk",
        base_category=BaseCategory.objects.get(name="Fixed Line"),
        upfront_route=platform(PlatformCode.ABILLITY),
        recurring_route=platform(PlatformCode.AFFINITY),
        external_sku="SIP-01",
    )


# --- inventory items -------------------------------------------------------------


def test_inventory_items_show_routes_by_platform_code_and_the_identifier_label(
    staff_api, routed_item
):
    response = staff_api.get(f"/api/v1/inventory-items/{routed_item.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["upfront_route"] == "abillity"
    assert body["recurring_route"] == "affinity"
    assert body["base_category"] == "Fixed Line"
    assert body["identifier_label"] == "CLI"
    assert body["external_sku"] == "SIP-01"
    assert body["sell_price"] == "25.00"


def test_inventory_items_filter_by_route_either_way_and_by_category(staff_api, routed_item):
    unrouted = InventoryItemFactory(name="Handset")
    url = "/api/v1/inventory-items/"

    def ids(params):
        return [row["id"] for row in results(staff_api.get(url, params))]

    assert ids({"route": "abillity"}) == [routed_item.pk]
    assert ids({"route": "affinity"}) == [routed_item.pk]
    assert ids({"route": "connect"}) == []
    assert ids({"upfront_route": "affinity"}) == []
    assert ids({"recurring_route": "affinity"}) == [routed_item.pk]
    assert ids({"base_category": "Mobile"}) == [unrouted.pk]
    assert staff_api.get(url, {"route": "nowhere"}).status_code == 400


# --- sales orders -----------------------------------------------------------------


def test_sales_orders_show_their_lines_with_bill_statuses_and_routes(
    staff_api, staff_user, routed_item
):
    site = SiteFactory()
    order = SalesOrderFactory(
        customer=site.customer,
        user=staff_user,
        lines=[LineSpec(inventory_item=routed_item, quantity=2, site=site, cli="01134960000")],
    )

    response = staff_api.get(f"/api/v1/sales-orders/{order.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["customer"] == site.customer_id
    assert body["reference"] == order.reference
    assert body["created_by"] == staff_user.username
    [line] = body["lines"]
    assert line["inventory_item"] == routed_item.pk
    assert line["quantity"] == 2
    assert line["site"] == site.pk
    assert line["cli"] == "01134960000"
    assert line["action"] == "new"
    assert line["upfront_route"] == "abillity"
    assert line["recurring_route"] == "affinity"
    assert line["upfront_bill_status"] == BillStatus.NOT_BILLED
    assert line["recurring_bill_status"] == BillStatus.NOT_BILLED


def test_sales_orders_filter_by_customer_and_route(staff_api, routed_item):
    routed = SalesOrderFactory(lines=[LineSpec(inventory_item=routed_item)])
    other = SalesOrderFactory(lines=[LineSpec(inventory_item=InventoryItemFactory())])
    url = "/api/v1/sales-orders/"

    def ids(params):
        return [row["id"] for row in results(staff_api.get(url, params))]

    assert ids({"customer": other.customer_id}) == [other.pk]
    assert ids({"route": "affinity"}) == [routed.pk]


# --- assets -------------------------------------------------------------------------


def test_assets_show_identifier_label_from_the_base_category_and_routes(staff_api, routed_item):
    asset = AssetFactory(inventory_item=routed_item, identifier="01134960000")

    response = staff_api.get(f"/api/v1/assets/{asset.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["identifier"] == "01134960000"
    assert body["identifier_label"] == "CLI"
    assert body["status"] == "live"
    assert body["connection_date"] == "2024-04-01"
    assert body["upfront_route"] == "abillity"
    assert body["recurring_route"] == "affinity"
    assert body["sales_order_line"] == asset.sales_order_line_id


def test_assets_filter_by_status_customer_and_route(staff_api, routed_item):
    company = CompanySettings.load()
    company.new_and_cease_enabled = True
    company.save()
    customer = CustomerFactory()
    ceased = AssetFactory(customer=customer, inventory_item=routed_item)
    line = SalesOrderLineFactory(
        order=SalesOrderFactory(customer=customer),
        inventory_item=routed_item,
        action=LineAction.NEW_AND_CEASE,
        target_asset=ceased,
    )
    replacement = sales_order_line_convert_to_asset(line=line, connection_date=date(2024, 5, 1))
    elsewhere = AssetFactory(inventory_item=InventoryItemFactory())
    url = "/api/v1/assets/"

    def ids(params):
        return sorted(row["id"] for row in results(staff_api.get(url, params)))

    assert ids({"status": "ceased"}) == [ceased.pk]
    assert ids({"status": "live"}) == sorted([replacement.pk, elsewhere.pk])
    assert ids({"customer": customer.pk}) == sorted([ceased.pk, replacement.pk])
    assert ids({"route": "abillity"}) == sorted([ceased.pk, replacement.pk])
    assert ids({"customer": elsewhere.customer_id, "route": "abillity"}) == []


# --- no writes ------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["inventory-items", "sales-orders", "assets"])
def test_read_only_endpoints_refuse_writes_even_to_staff(staff_api, routed_item, prefix):
    asset = AssetFactory(inventory_item=routed_item)
    pk = {
        "inventory-items": routed_item.pk,
        "sales-orders": asset.sales_order_line.order_id,
        "assets": asset.pk,
    }[prefix]
    url = f"/api/v1/{prefix}/"

    assert staff_api.post(url, {}).status_code == 405
    assert staff_api.put(f"{url}{pk}/", {}).status_code == 405
    assert staff_api.patch(f"{url}{pk}/", {}).status_code == 405
    assert staff_api.delete(f"{url}{pk}/").status_code == 405
    assert staff_api.get(f"{url}{pk}/").status_code == 200
