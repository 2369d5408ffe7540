"""List endpoints cost a constant number of queries, whatever the number of rows."""

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.choices import PlatformCode
from billing.models import BaseCategory
from billing.services import LineSpec
from customers.models import CustomerClass
from tests.factories import (
    AssetFactory,
    ContactFactory,
    ContactTypeFactory,
    CustomerFactory,
    InventoryItemFactory,
    SalesOrderFactory,
    SiteAddressFactory,
    SiteFactory,
    platform,
)

pytestmark = pytest.mark.django_db


def routed_item():
    return InventoryItemFactory(
        base_category=BaseCategory.objects.get(name="Fixed Line"),
        upfront_route=platform(PlatformCode.ABILLITY),
        recurring_route=platform(PlatformCode.AFFINITY),
    )


def customer_row():
    customer_class, _ = CustomerClass.objects.get_or_create(code="SME")
    CustomerFactory(customer_class=customer_class)


def address_row():
    # An address linked to two sites: the links are part of each row.
    link = SiteAddressFactory(is_site_default=True)
    SiteAddressFactory(address=link.address, site=SiteFactory(customer=link.site.customer))


def contact_row():
    site = SiteFactory()
    ContactFactory(customer=site.customer, site=site, contact_type=ContactTypeFactory())


def sales_order_row():
    item = routed_item()
    SalesOrderFactory(lines=[LineSpec(inventory_item=item), LineSpec(inventory_item=item)])


# Each maker adds one row to its endpoint's list, with every relation the row shows.
ROW_MAKERS: dict[str, Callable[[], object]] = {
    "customers": customer_row,
    "sites": SiteFactory,
    "addresses": address_row,
    "contacts": contact_row,
    "inventory-items": routed_item,
    "sales-orders": sales_order_row,
    "assets": lambda: AssetFactory(inventory_item=routed_item(), site=None),
}


@pytest.mark.parametrize("prefix", list(ROW_MAKERS))
def test_list_query_count_does_not_grow_with_the_rows(staff_api, django_assert_num_queries, prefix):
    url = f"/api/v1/{prefix}/"
    make_row = ROW_MAKERS[prefix]
    for _ in range(3):
        make_row()
    staff_api.get(url)  # the first request also loads the user's permissions

    with CaptureQueriesContext(connection) as three_rows:
        response = staff_api.get(url)
    assert response.json()["count"] == 3

    for _ in range(7):
        make_row()
    with django_assert_num_queries(len(three_rows.captured_queries)):
        response = staff_api.get(url)
    assert response.json()["count"] == 10
