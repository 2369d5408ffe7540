"""The Billing Export through the API, the staff page and the command."""

import csv
import io
from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from billing.choices import BillStatus, PlatformCode
from billing.models import BillingTransfer, SalesOrderLine
from tests.factories import (
    AssetFactory,
    CustomerFactory,
    InventoryItemFactory,
    SiteFactory,
    UserFactory,
    platform,
)

pytestmark = pytest.mark.django_db

LINES = "/api/v1/billing-export/lines/"
CLI = "/api/v1/billing-export/cli.csv"
PRODUCTS = "/api/v1/billing-export/products.csv"
TRANSFER = "/api/v1/billing-export/transfer/"


def ready_line(*, name="Acme Ltd", sku="AFF-1", identifier="07700900001"):
    affinity = platform(PlatformCode.AFFINITY)
    customer = CustomerFactory(name=name)
    asset = AssetFactory(
        customer=customer,
        site=SiteFactory(customer=customer, is_default=True),
        identifier=identifier,
        connection_date=date(2026, 1, 5),
        inventory_item=InventoryItemFactory(
            upfront_route=affinity, recurring_route=affinity, external_sku=sku
        ),
    )
    return asset.sales_order_line


def billing_user(**fields):
    user = UserFactory(**fields)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="billing", codename="use_billing_apps")
    )
    return user


@pytest.fixture
def api():
    client = APIClient()
    client.force_authenticate(billing_user())
    return client


def body(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


# --- permissions ------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [f"{LINES}?route=affinity", f"{CLI}?route=affinity"])
def test_the_export_refuses_anonymous_users_and_users_without_the_apps_permission(url):
    assert APIClient().get(url).status_code in (401, 403)
    client = APIClient()
    client.force_authenticate(UserFactory())
    assert client.get(url).status_code == 403
    assert (
        client.post(TRANSFER, {"route": "affinity", "lines": [1]}, format="json").status_code == 403
    )


# --- lines ------------------------------------------------------------------------------------
def test_the_lines_endpoint_lists_lines_ready_to_bill_with_the_product_file_reason(api):
    good = ready_line()
    no_sku = ready_line(name="No SKU Ltd", sku="", identifier="07700900002")
    response = api.get(LINES, {"route": "affinity"})
    assert response.status_code == 200
    results = {row["id"]: row for row in response.json()["results"]}
    assert set(results) == {good.pk, no_sku.pk}
    assert results[good.pk]["excluded_from_product_file"] == ""
    assert "no External SKU" in results[no_sku.pk]["excluded_from_product_file"]
    assert results[good.pk]["bill_start_date"] == "2026-01-05"
    assert results[good.pk]["cli"] == "07700900001"


def test_an_unknown_route_or_a_bad_line_list_is_a_400_naming_it(api):
    assert "route" in api.get(LINES, {"route": "nowhere"}).json()
    assert "route" in api.get(LINES).json()
    assert "lines" in api.get(LINES, {"route": "affinity", "lines": "1,two"}).json()


# --- files --------------------------------------------------------------------------------------
def test_the_cli_file_downloads_as_an_attachment(api):
    ready_line()
    response = api.get(CLI, {"route": "affinity"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="affinity-cli-' in response["Content-Disposition"]
    header, row = body(response)
    assert header[0] == "Customer Reference" and row[4] == "07700900001"


def test_the_product_file_names_the_lines_it_left_out(api):
    kept = ready_line()
    left = ready_line(name="B", sku="", identifier="07700900002")
    response = api.get(PRODUCTS, {"route": "affinity"})
    assert response["X-Excluded-Count"] == "1"
    assert response["X-Excluded-Lines"] == str(left.pk)
    assert {row[0] for row in body(response)[1:]} == {str(kept.pk)}


def test_the_files_take_only_the_lines_asked_for(api):
    first = ready_line()
    ready_line(name="Other", identifier="07700900002")
    response = api.get(PRODUCTS, {"route": "affinity", "lines": str(first.pk)})
    assert {row[0] for row in body(response)[1:]} == {str(first.pk)}


# --- transfer ------------------------------------------------------------------------------------
def test_the_transfer_endpoint_moves_lines_to_in_billing(api):
    line = ready_line()
    response = api.post(TRANSFER, {"route": "affinity", "lines": [line.pk]}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["components"] == 2
    line.refresh_from_db()
    assert line.upfront_bill_status == BillStatus.IN_BILLING


def test_a_refused_transfer_is_a_400_and_changes_nothing(api):
    line = ready_line()
    response = api.post(TRANSFER, {"route": "affinity", "lines": [line.pk, 99999]}, format="json")
    assert response.status_code == 400
    assert "Line 99999 does not exist." in response.json()["lines"]
    line.refresh_from_db()
    assert line.upfront_bill_status == BillStatus.READY_TO_BILL
    assert not BillingTransfer.objects.exists()


# --- the page ----------------------------------------------------------------------------------
@pytest.fixture
def page_client():
    client = Client()
    client.force_login(billing_user(is_staff=True))
    return client


def test_the_page_needs_the_apps_permission():
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    assert client.get(reverse("billing-export")).status_code == 403
    assert Client().get(reverse("billing-export")).status_code == 302  # to the login


def test_the_page_lists_the_lines_flags_a_missing_sku_and_says_cli_first(page_client):
    ready_line()
    ready_line(name="No SKU Ltd", sku="", identifier="07700900002")
    html = page_client.get(reverse("billing-export"), {"route": "affinity"}).content.decode()
    assert "CLI file first" in html
    assert "No External SKU: not in the product file" in html
    assert "1 line left out of the product file" in html
    assert "2 lines Ready to Bill on Affinity" in html


def test_the_page_pages_through_the_lines(page_client, monkeypatch):
    from billing import views

    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    ready_line()
    ready_line(name="Second", identifier="07700900002")
    response = page_client.get(reverse("billing-export"), {"route": "affinity", "page": 2})
    assert response.context["page"].number == 2
    assert len(response.context["rows"]) == 1


def test_the_page_exports_the_ticked_lines(page_client):
    line = ready_line()
    response = page_client.post(
        reverse("billing-export"), {"route": "affinity", "action": "cli", "lines": [line.pk]}
    )
    assert response["Content-Type"].startswith("text/csv")
    assert body(response)[1][4] == "07700900001"


def test_the_page_asks_for_confirmation_before_transferring(page_client):
    line = ready_line()
    url = reverse("billing-export")
    confirm = page_client.post(url, {"route": "affinity", "action": "transfer", "lines": [line.pk]})
    assert "Yes, transfer to billing" in confirm.content.decode()
    line.refresh_from_db()
    assert line.upfront_bill_status == BillStatus.READY_TO_BILL

    page_client.post(url, {"route": "affinity", "action": "transfer_confirmed", "lines": [line.pk]})
    line.refresh_from_db()
    assert line.upfront_bill_status == BillStatus.IN_BILLING


def test_every_matching_line_can_be_transferred_at_once(page_client):
    lines = [ready_line(name=f"C{n}", identifier=f"0770090000{n}") for n in range(3)]
    page_client.post(
        reverse("billing-export"),
        {"route": "affinity", "action": "transfer_confirmed", "all": "1"},
    )
    assert not SalesOrderLine.objects.filter(
        pk__in=[line.pk for line in lines], upfront_bill_status=BillStatus.READY_TO_BILL
    ).exists()


def test_the_page_refuses_a_transfer_without_a_selection(page_client):
    response = page_client.post(
        reverse("billing-export"), {"route": "affinity", "action": "transfer"}, follow=True
    )
    assert "Select the lines first" in response.content.decode()


# --- the command -------------------------------------------------------------------------------
def test_the_command_writes_the_file_and_names_left_out_lines_on_stderr():
    ready_line()
    left = ready_line(name="B", sku="", identifier="07700900002")
    out, err = io.StringIO(), io.StringIO()
    call_command("billing_export", route="affinity", kind="products", stdout=out, stderr=err)
    assert out.getvalue().startswith("Line Reference,")
    assert f"Left out line {left.pk}" in err.getvalue()


def test_the_command_refuses_a_bad_line_list():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match='"x" is not a line id'):
        call_command("billing_export", route="affinity", kind="cli", lines="x")
