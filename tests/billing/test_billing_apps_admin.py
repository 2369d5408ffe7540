"""The admin side of the billing apps: the order list's circle, the Change Queue's actions,
the transfers' record and the platforms' Change Queue fields."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from billing import export, services
from billing.choices import BillStatus, ChangeStatus, PlatformCode
from billing.models import ChangeQueueEntry, SalesOrderLine
from tests.admin_helpers import page_messages
from tests.factories import AssetFactory, InventoryItemFactory, UserFactory, platform

pytestmark = pytest.mark.django_db


def staff(*perms: str) -> Client:
    user = UserFactory(is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = Client()
    client.force_login(user)
    return client


def affinity_asset(**fields):
    affinity = platform(PlatformCode.AFFINITY)
    item = InventoryItemFactory(upfront_route=affinity, recurring_route=affinity, external_sku="S")
    return AssetFactory(inventory_item=item, connection_date=date(2026, 1, 5), **fields)


def circle_of(client, asset) -> str:
    html = client.get(reverse("admin:billing_salesorder_changelist")).content.decode()
    row = html[html.index(f"/admin/billing/salesorder/{asset.sales_order_line.order_id}/") :]
    row = row[: row.index("</tr>")]
    if "bill-circle" not in row:
        return "-"
    circle = row[row.index('class="bill-circle"') :]
    return circle[: circle.index("</span>")]


def test_the_order_list_circle_is_orange_until_every_component_is_in_billing():
    asset = affinity_asset()
    client = staff("billing.view_salesorder")
    circle = circle_of(client, asset)
    assert "background:#e67e22" in circle  # seed 002: orange
    assert 'title="a line billed elsewhere is Not Billed or Ready to Bill"' in circle

    export.billing_transfer(
        route=platform(PlatformCode.AFFINITY), line_ids=[asset.sales_order_line_id]
    )

    circle = circle_of(client, asset)
    assert "background:#2e7d32" in circle  # seed 002: green
    assert 'title="every line billed elsewhere is In Billing"' in circle


def test_the_order_list_explains_its_circles_above_the_list():
    """Every symbol on a page has a legend (issue 22): both circles, and the dash."""
    affinity_asset()
    html = (
        staff("billing.view_salesorder")
        .get(reverse("admin:billing_salesorder_changelist"))
        .content.decode()
    )

    legend = html[html.index('id="bill-circle-legend"') :]
    legend = legend[: legend.index("</p>")]
    assert 'data-bill-state="waiting"' in legend and 'data-bill-state="billed"' in legend
    assert "Not Billed or Ready to Bill" in legend and "In Billing" in legend
    assert "The Layer bills every line itself" in legend


def test_an_order_billed_by_the_layer_has_no_circle():
    asset = AssetFactory(inventory_item=InventoryItemFactory(upfront_route=None))
    assert circle_of(staff("billing.view_salesorder"), asset) == "-"


@pytest.fixture
def entry():
    asset = affinity_asset()
    SalesOrderLine.objects.filter(pk=asset.sales_order_line_id).update(
        upfront_bill_status=BillStatus.IN_BILLING, recurring_bill_status=BillStatus.IN_BILLING
    )
    asset.recurring_sell_price = Decimal("9.99")
    services.asset_save(asset=asset)
    return ChangeQueueEntry.objects.get()


def test_the_change_queue_needs_the_billing_apps_permission(entry):
    url = reverse("admin:billing_changequeueentry_changelist")
    assert staff("billing.view_changequeueentry").get(url).status_code == 403
    allowed = staff("billing.view_changequeueentry", "billing.use_billing_apps")
    assert allowed.get(url).status_code == 200


def test_marking_an_entry_processed_asks_for_a_reason_and_keeps_it(entry):
    client = staff(
        "billing.view_changequeueentry",
        "billing.change_changequeueentry",
        "billing.use_billing_apps",
    )
    url = reverse("admin:billing_changequeueentry_changelist")
    data = {"action": "mark_processed", "_selected_action": [entry.pk]}

    asked = client.post(url, data)
    assert 'name="reason"' in asked.content.decode()
    assert asked.context["title"] == "Mark 1 entry Processed"  # one, not "1 entries"
    entry.refresh_from_db()
    assert entry.status == ChangeStatus.PENDING

    done = client.post(url, {**data, "reason": "Price changed in Affinity"}, follow=True)
    assert any("Marked Processed: 1" in text for text in page_messages(done))
    entry.refresh_from_db()
    assert (entry.status, entry.reason) == (ChangeStatus.PROCESSED, "Price changed in Affinity")


def test_the_change_page_shows_each_change_old_and_new(entry):
    client = staff("billing.view_changequeueentry", "billing.use_billing_apps")
    html = client.get(
        reverse("admin:billing_changequeueentry_change", args=[entry.pk])
    ).content.decode()
    assert "12.50" in html and "9.99" in html


def test_a_platforms_change_queue_fields_must_be_asset_fields():
    client = staff("billing.view_billingplatform", "billing.change_billingplatform")
    affinity = platform(PlatformCode.AFFINITY)
    url = reverse("admin:billing_billingplatform_change", args=[affinity.pk])
    response = client.post(
        url,
        {"name": affinity.name, "change_queue_fields": '["identifier", "colour"]'},
    )
    assert "Not asset fields: colour" in response.content.decode()
    affinity.refresh_from_db()
    assert affinity.change_queue_fields == []

    client.post(url, {"name": affinity.name, "change_queue_fields": '["identifier"]'})
    affinity.refresh_from_db()
    assert affinity.change_queue_fields == ["identifier"]


def test_transfers_are_recorded_read_only_with_who_and_when():
    asset = affinity_asset()
    user = UserFactory()
    transfer = export.billing_transfer(
        route=platform(PlatformCode.AFFINITY), line_ids=[asset.sales_order_line_id], user=user
    )
    client = staff("billing.view_billingtransfer", "billing.use_billing_apps")
    html = client.get(reverse("admin:billing_billingtransfer_changelist")).content.decode()
    assert f"Transfer #{transfer.pk}" in html
    page = client.get(reverse("admin:billing_billingtransfer_change", args=[transfer.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
