"""The reference data and database constraints of the billing models."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing.choices import BillStatus, IdentifierField, PlatformCode
from billing.models import Asset, BaseCategory, BillingPlatform, InventoryItem, SalesOrder
from tests.factories import (
    AssetFactory,
    InventoryItemFactory,
    QuoteFactory,
    SalesOrderLineFactory,
    platform,
)

pytestmark = pytest.mark.django_db


def test_every_installation_has_the_four_billing_platforms_with_integrations_off():
    platforms = {p.code: p for p in BillingPlatform.objects.all()}

    assert set(platforms) == {code.value for code in PlatformCode}
    assert platforms[PlatformCode.THE_LAYER].is_the_layer
    assert not any(p.integration_enabled for p in platforms.values())


def test_base_categories_name_their_identifier_field():
    fields = dict(BaseCategory.objects.values_list("name", "identifier_field"))

    assert fields["Mobile"] == IdentifierField.MSISDN
    assert fields["Fixed Line"] == IdentifierField.CLI
    assert fields["Numbers"] == IdentifierField.NUMBER
    assert fields["Hardware"] == IdentifierField.SERIAL
    assert InventoryItemFactory().identifier_label == IdentifierField.MSISDN


def test_up_front_and_recurring_routes_are_set_independently():
    item = InventoryItemFactory(
        upfront_route=platform(PlatformCode.THE_LAYER), recurring_route=None
    )

    assert item.upfront_route.code == PlatformCode.THE_LAYER
    assert item.recurring_route is None


def test_database_refuses_a_negative_inventory_price():
    with pytest.raises(IntegrityError), transaction.atomic():
        InventoryItem.objects.create(
            name="Refund",
            item_type="service",
            base_category=BaseCategory.objects.get(name="Mobile"),
            sell_price=Decimal("-1.00"),
        )


def test_a_new_line_is_not_billed_on_either_component():
    line = SalesOrderLineFactory()

    assert line.upfront_bill_status == BillStatus.NOT_BILLED
    assert line.recurring_bill_status == BillStatus.NOT_BILLED


def test_database_refuses_a_second_asset_for_one_line():
    asset = AssetFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Asset.objects.create(
            customer=asset.customer,
            inventory_item=asset.inventory_item,
            sales_order_line=asset.sales_order_line,
        )


def test_database_refuses_a_second_sales_order_for_one_quote():
    quote = QuoteFactory()
    SalesOrder.objects.create(customer=quote.customer, quote=quote)

    with pytest.raises(IntegrityError), transaction.atomic():
        SalesOrder.objects.create(customer=quote.customer, quote=quote)
