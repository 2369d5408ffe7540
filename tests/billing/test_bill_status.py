"""Seed 002's bill status rules, the Bill Start Date, invoiceability and the Change Queue."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing import services
from billing.bill_status import (
    asset_bill_start_date,
    line_bill_circle,
    line_billed_components,
    line_invoice_in_layer_validate,
)
from billing.change_queue import change_queue_entry_resolve
from billing.choices import (
    BillComponent,
    BillStatus,
    ChangeSource,
    ChangeStatus,
    ItemType,
    LineAction,
    PlatformCode,
)
from billing.models import ChangeQueueEntry, SalesOrderLine
from tests.factories import (
    AssetFactory,
    CustomerFactory,
    InventoryItemFactory,
    SalesOrderFactory,
    SiteFactory,
    UserFactory,
    platform,
)
from tests.helpers import set_company

pytestmark = pytest.mark.django_db

NOT, READY, IN = BillStatus.NOT_BILLED, BillStatus.READY_TO_BILL, BillStatus.IN_BILLING


def affinity_item(**fields):
    affinity = platform(PlatformCode.AFFINITY)
    return InventoryItemFactory(upfront_route=affinity, recurring_route=affinity, **fields)


def statuses(line: SalesOrderLine) -> tuple[str, str]:
    line.refresh_from_db()
    return line.upfront_bill_status, line.recurring_bill_status


def order_line(item, customer=None) -> SalesOrderLine:
    order = SalesOrderFactory(
        customer=customer or CustomerFactory(),
        lines=[services.LineSpec(inventory_item=item)],
    )
    return order.lines.get()


# --- which components take part -------------------------------------------------------------
def test_only_components_routed_to_another_platform_take_part():
    layer, affinity = platform(PlatformCode.THE_LAYER), platform(PlatformCode.AFFINITY)
    line = order_line(InventoryItemFactory(upfront_route=layer, recurring_route=affinity))
    assert line_billed_components(line) == [BillComponent.RECURRING]
    blank = order_line(InventoryItemFactory(upfront_route=None, recurring_route=None))
    assert line_billed_components(blank) == []


def test_a_products_recurring_component_never_takes_part():
    line = order_line(affinity_item(item_type=ItemType.PRODUCT))
    assert line_billed_components(line) == [BillComponent.UPFRONT]


# --- transitions -------------------------------------------------------------------------------
def test_a_line_is_not_billed_until_converted():
    line = order_line(affinity_item())
    assert statuses(line) == (NOT, NOT)


def test_a_converted_service_with_a_connection_date_is_ready_to_bill():
    asset = AssetFactory(inventory_item=affinity_item(), connection_date=date(2026, 1, 5))
    assert statuses(asset.sales_order_line) == (READY, READY)


def test_a_converted_service_not_yet_connected_stays_not_billed_until_it_is():
    asset = AssetFactory(inventory_item=affinity_item(), connection_date=None)
    assert statuses(asset.sales_order_line) == (NOT, NOT)

    asset.connection_date = date(2026, 2, 1)
    services.asset_save(asset=asset)

    assert statuses(asset.sales_order_line) == (READY, READY)


def test_a_product_is_ready_to_bill_once_issued_and_its_recurring_status_never_moves():
    item = affinity_item(item_type=ItemType.PRODUCT)
    asset = AssetFactory(inventory_item=item, connection_date=None, issue_date=None)
    assert statuses(asset.sales_order_line) == (NOT, NOT)
    asset.issue_date = date(2026, 3, 1)
    services.asset_save(asset=asset)
    assert statuses(asset.sales_order_line) == (READY, NOT)


def test_a_bill_start_override_is_a_trigger_too():
    asset = AssetFactory(inventory_item=affinity_item(), connection_date=None)
    asset.billing_start_date_override = date(2026, 4, 1)
    services.asset_save(asset=asset)
    assert statuses(asset.sales_order_line) == (READY, READY)


def test_a_layer_routed_line_stays_not_billed():
    layer = platform(PlatformCode.THE_LAYER)
    asset = AssetFactory(inventory_item=InventoryItemFactory(upfront_route=layer))
    assert statuses(asset.sales_order_line) == (NOT, NOT)


def test_undoing_the_conversion_returns_the_line_to_not_billed():
    asset = AssetFactory(inventory_item=affinity_item())
    line = asset.sales_order_line
    services.asset_delete(asset=asset)
    assert statuses(line) == (NOT, NOT)


def test_undoing_a_conversion_leaves_a_component_already_in_billing():
    asset = AssetFactory(inventory_item=affinity_item())
    line = asset.sales_order_line
    SalesOrderLine.objects.filter(pk=line.pk).update(upfront_bill_status=IN)
    services.asset_delete(asset=asset)
    assert statuses(line) == (IN, NOT)


def test_in_billing_is_never_left_automatically():
    asset = AssetFactory(inventory_item=affinity_item())
    line = asset.sales_order_line
    SalesOrderLine.objects.filter(pk=line.pk).update(
        upfront_bill_status=IN, recurring_bill_status=IN
    )
    asset.connection_date = None
    services.asset_save(asset=asset)
    assert statuses(line) == (IN, IN)


# --- the Bill Start Date ---------------------------------------------------------------------
def test_the_bill_start_date_is_the_override_when_set():
    asset = AssetFactory(inventory_item=affinity_item(), connection_date=date(2026, 1, 5))
    assert asset_bill_start_date(asset) == date(2026, 1, 5)
    asset.billing_start_date_override = date(2026, 2, 1)
    assert asset_bill_start_date(asset) == date(2026, 2, 1)


def test_a_products_bill_start_date_is_its_issue_date():
    item = affinity_item(item_type=ItemType.PRODUCT)
    asset = AssetFactory(
        inventory_item=item, connection_date=date(2026, 1, 1), issue_date=date(2026, 1, 9)
    )
    assert asset_bill_start_date(asset) == date(2026, 1, 9)


# --- the circle ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("upfront", "recurring", "components", "circle"),
    [
        (NOT, NOT, ["upfront", "recurring"], "orange"),
        (READY, IN, ["upfront", "recurring"], "orange"),
        (IN, IN, ["upfront", "recurring"], "green"),
        (IN, NOT, ["upfront"], "green"),
        (NOT, NOT, [], ""),
    ],
)
def test_the_order_grid_circle_is_green_only_when_every_component_is_in_billing(
    upfront, recurring, components, circle
):
    assert line_bill_circle(upfront, recurring, components) == circle


# --- invoicing in The Layer --------------------------------------------------------------------
def test_only_lines_routed_to_the_layer_or_blank_are_invoiceable_in_the_layer():
    layer = platform(PlatformCode.THE_LAYER)
    line_invoice_in_layer_validate(line=order_line(InventoryItemFactory(upfront_route=layer)))
    line_invoice_in_layer_validate(line=order_line(InventoryItemFactory(upfront_route=None)))
    with pytest.raises(ValidationError, match="billed by Affinity"):
        line_invoice_in_layer_validate(line=order_line(affinity_item()))


# --- the Change Queue --------------------------------------------------------------------------
@pytest.fixture
def in_billing_asset():
    customer = CustomerFactory()
    asset = AssetFactory(
        customer=customer,
        inventory_item=affinity_item(),
        site=SiteFactory(customer=customer, name="Leeds"),
        connection_date=date(2026, 1, 5),
    )
    SalesOrderLine.objects.filter(pk=asset.sales_order_line_id).update(
        upfront_bill_status=IN, recurring_bill_status=IN
    )
    return asset


def test_an_edit_of_an_in_billing_service_is_queued_for_its_platform(in_billing_asset):
    in_billing_asset.recurring_sell_price = Decimal("19.99")
    services.asset_save(asset=in_billing_asset)

    entry = ChangeQueueEntry.objects.get()
    assert entry.platform.code == PlatformCode.AFFINITY
    assert entry.source == ChangeSource.ASSET_EDIT
    assert entry.status == ChangeStatus.PENDING
    assert [(c["field"], c["new"]) for c in entry.changes] == [("recurring_sell_price", "19.99")]


def test_a_change_of_site_is_recorded_by_name(in_billing_asset):
    in_billing_asset.site = SiteFactory(customer=in_billing_asset.customer, name="York")
    services.asset_save(asset=in_billing_asset)
    (change,) = ChangeQueueEntry.objects.get().changes
    assert (change["field"], change["old"], change["new"]) == ("site", "Leeds", "York")


def test_a_change_to_or_from_an_empty_value_is_not_recorded(in_billing_asset):
    in_billing_asset.cost_centre = "North"
    services.asset_save(asset=in_billing_asset)
    in_billing_asset.cost_centre = ""
    services.asset_save(asset=in_billing_asset)
    assert not ChangeQueueEntry.objects.exists()


def test_the_cease_and_end_dates_are_recorded_even_from_empty(in_billing_asset):
    in_billing_asset.cease_date = date(2026, 6, 30)
    in_billing_asset.end_date = date(2026, 6, 30)
    services.asset_save(asset=in_billing_asset)
    fields = {c["field"] for c in ChangeQueueEntry.objects.get().changes}
    assert fields == {"cease_date", "end_date"}


def test_an_asset_not_in_billing_or_a_product_is_not_tracked():
    asset = AssetFactory(inventory_item=affinity_item())  # Ready to Bill, not In Billing
    asset.recurring_sell_price = Decimal("1.00")
    services.asset_save(asset=asset)
    product = AssetFactory(inventory_item=affinity_item(item_type=ItemType.PRODUCT))
    SalesOrderLine.objects.filter(pk=product.sales_order_line_id).update(upfront_bill_status=IN)
    product.sell_price = Decimal("2.00")
    services.asset_save(asset=product)
    assert not ChangeQueueEntry.objects.exists()


def test_the_platforms_own_field_list_decides_what_is_tracked(in_billing_asset):
    affinity = platform(PlatformCode.AFFINITY)
    affinity.change_queue_fields = ["cost_centre"]
    affinity.save()
    in_billing_asset.refresh_from_db()
    in_billing_asset.recurring_sell_price = Decimal("5.00")
    services.asset_save(asset=in_billing_asset)
    assert not ChangeQueueEntry.objects.exists()


def test_an_upgrade_through_data_capture_is_queued_as_such(in_billing_asset):
    set_company(update_action_enabled=True)
    bigger = affinity_item(recurring_sell_price=Decimal("30.00"))
    order = SalesOrderFactory(
        customer=in_billing_asset.customer,
        lines=[
            services.LineSpec(
                inventory_item=bigger,
                action=LineAction.UPDATE,
                target_asset=in_billing_asset,
            )
        ],
    )
    services.sales_order_line_apply_update(line=order.lines.get())

    entry = ChangeQueueEntry.objects.get()
    assert entry.source == ChangeSource.DATA_CAPTURE_UPGRADE
    assert {c["field"] for c in entry.changes} >= {"inventory_item", "recurring_sell_price"}


def test_a_bulk_update_queues_each_asset_and_refuses_unknown_fields(in_billing_asset):
    with pytest.raises(ValidationError, match="Not fields a bulk update may set: customer"):
        services.assets_bulk_update(asset_ids=[in_billing_asset.pk], values={"customer": 1})
    assert not ChangeQueueEntry.objects.exists()

    services.assets_bulk_update(
        asset_ids=[in_billing_asset.pk], values={"end_date": date(2027, 1, 31)}
    )
    entry = ChangeQueueEntry.objects.get()
    assert entry.source == ChangeSource.BULK_UPDATE
    in_billing_asset.refresh_from_db()
    assert in_billing_asset.end_date == date(2027, 1, 31)


def test_a_bulk_update_that_makes_a_line_ready_moves_its_bill_status():
    asset = AssetFactory(inventory_item=affinity_item(), connection_date=None)
    services.assets_bulk_update(asset_ids=[asset.pk], values={"connection_date": date(2026, 5, 1)})
    assert statuses(asset.sales_order_line) == (READY, READY)


def test_an_entry_is_marked_processed_or_ignored_with_a_reason(in_billing_asset):
    in_billing_asset.quantity = 3
    services.asset_save(asset=in_billing_asset)
    entry = ChangeQueueEntry.objects.get()
    user = UserFactory()
    with pytest.raises(ValidationError, match="Give the reason"):
        change_queue_entry_resolve(entry=entry, status=ChangeStatus.IGNORED, reason=" ", user=user)

    change_queue_entry_resolve(
        entry=entry, status=ChangeStatus.PROCESSED, reason="done in Affinity", user=user
    )

    entry.refresh_from_db()
    assert (entry.status, entry.reason, entry.actioned_by) == (
        ChangeStatus.PROCESSED,
        "done in Affinity",
        user,
    )
    with pytest.raises(ValidationError, match="already processed"):
        change_queue_entry_resolve(entry=entry, status=ChangeStatus.IGNORED, reason="x", user=user)
