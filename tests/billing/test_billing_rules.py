"""Bill right: the rules on the path from an order line to the Billing Export's files, each
written from the seeds' words (cited per test) and docs/billing-export.md's Decisions.

Seed 002 ("Billing with Affinity Integration"), Billing Export: "This app allows us to view
items that have either an up-front or recurring billing status of Ready to Bill"; "The CLI
export can be used to create a file containing information on CLIs"; "The product export
file contains details of products and services that will be uploaded to Affinity for
billing". Seed 001, Billing IDs table: "End Date** | End Date" with "**When ceased or
synced service had fixed billing"; "Do Not Bill | Suppress".
"""

import csv
import io
from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from billing import bill_status, export, selectors, services
from billing.choices import AssetStatus, BillStatus, ItemType, LineAction, PlatformCode
from billing.models import Asset, BaseCategory, SalesOrderLine
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

READY, NOT_BILLED, IN = (
    BillStatus.READY_TO_BILL,
    BillStatus.NOT_BILLED,
    BillStatus.IN_BILLING,
)


@pytest.fixture
def affinity():
    return platform(PlatformCode.AFFINITY)


def ready_line(route, *, customer=None, sku="AFF-MOB-10", identifier="07700900001", **item):
    customer = customer or CustomerFactory(name="Acme Ltd")
    site = customer.sites.filter(is_default=True).first() or SiteFactory(
        customer=customer, name="Leeds", is_default=True
    )
    asset = AssetFactory(
        customer=customer,
        site=site,
        identifier=identifier,
        connection_date=date(2026, 1, 5),
        issue_date=date(2026, 1, 6),
        inventory_item=InventoryItemFactory(
            upfront_route=route, recurring_route=route, external_sku=sku, **item
        ),
    )
    return asset.sales_order_line


def cease(asset, cease_date, **fields):
    asset.status = AssetStatus.CEASED
    asset.cease_date = cease_date
    for name, value in fields.items():
        setattr(asset, name, value)
    services.asset_save(asset=asset)


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def files(route):
    lines = selectors.billing_export_lines(route=route)
    return (
        rows(export.export_text(selectors.cli_file(lines))),
        rows(export.export_text(selectors.product_file(lines, route))),
    )


def billing_user(**fields):
    user = UserFactory(**fields)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="billing", codename="use_billing_apps")
    )
    return user


# --- 1. a ceased service stops billing -----------------------------------------------------------
def test_a_ceased_asset_bills_up_to_its_cease_date_and_the_end_date_is_the_cease_date(affinity):
    # Seed 001, Billing IDs: "End Date** ... **When ceased"; decision: billable for the span
    # [bill start, cease date], so it is listed until billed, ending on the cease date.
    line = ready_line(affinity)
    cease(line.asset, date(2026, 3, 31))
    assert list(selectors.billing_export_lines(route=affinity)) == [line]
    _, (header, *body) = files(affinity)
    end = header.index("End Date")
    assert [row[end] for row in body] == ["2026-03-31", "2026-03-31"]


def test_a_ceased_asset_never_has_a_blank_end_date_even_with_fixed_billing(affinity):
    line = ready_line(affinity)
    cease(line.asset, date(2026, 2, 28), fixed_billing=True, end_date=date(2027, 1, 4))
    _, (header, *body) = files(affinity)
    assert {row[header.index("End Date")] for row in body} == {"2026-02-28"}


def test_fixed_billing_puts_its_end_date_in_the_end_date_column(affinity):
    # Seed 001: '"Fixed Billing" enabled | "End Date" is populated'.
    line = ready_line(affinity)
    line.asset.fixed_billing = True
    line.asset.end_date = date(2027, 1, 4)
    services.asset_save(asset=line.asset)
    _, (header, *body) = files(affinity)
    assert {row[header.index("End Date")] for row in body} == {"2027-01-04"}


def test_an_asset_ceased_before_its_bill_start_is_never_ready_to_bill_nor_listed(affinity):
    line = ready_line(affinity)
    cease(line.asset, date(2025, 12, 31))  # the day before it was to start billing
    line.refresh_from_db()
    assert (line.upfront_bill_status, line.recurring_bill_status) == (NOT_BILLED, NOT_BILLED)
    # Even a status left Ready to Bill (an import, a manual edit) is not listed.
    SalesOrderLine.objects.filter(pk=line.pk).update(
        upfront_bill_status=READY, recurring_bill_status=READY
    )
    assert not selectors.billing_export_lines(route=affinity).exists()
    cli, products = files(affinity)
    assert cli[1:] == [] and products[1:] == []
    with pytest.raises(ValidationError, match="nothing Ready to Bill"):
        export.billing_transfer(route=affinity, line_ids=[line.pk])


def test_a_new_and_cease_target_ceased_before_its_start_is_no_longer_ready_to_bill(affinity):
    # Reference §5: New & Cease sets the target's Cease Date to the new connection date - 1;
    # a target replaced before its own bill start has nothing to bill.
    set_company(new_and_cease_enabled=True)
    old = ready_line(affinity)  # Ready to Bill from 2026-01-05, never transferred
    order = SalesOrderFactory(
        customer=old.order.customer,
        lines=[
            services.LineSpec(
                inventory_item=old.inventory_item,
                site=old.site,
                action=LineAction.NEW_AND_CEASE,
                target_asset=old.asset,
            )
        ],
    )
    new = services.sales_order_line_convert_to_asset(
        line=order.lines.get(), connection_date=date(2026, 1, 5)
    )
    old.refresh_from_db()
    assert (old.upfront_bill_status, old.recurring_bill_status) == (NOT_BILLED, NOT_BILLED)
    assert list(selectors.billing_export_lines(route=affinity)) == [new.sales_order_line]


def test_the_api_lines_and_files_use_the_same_billable_rule(affinity):
    billable = ready_line(affinity)
    gone = ready_line(affinity, customer=CustomerFactory(name="Gone Ltd"), identifier="07700900002")
    cease(gone.asset, date(2025, 12, 1))
    SalesOrderLine.objects.filter(pk=gone.pk).update(recurring_bill_status=READY)
    client = APIClient()
    client.force_authenticate(billing_user())
    listed = client.get("/api/v1/billing-export/lines/", {"route": "affinity"}).json()
    assert [row["id"] for row in listed["results"]] == [billable.pk]
    response = client.get("/api/v1/billing-export/products.csv", {"route": "affinity"})
    body = rows(b"".join(response.streaming_content).decode())
    assert {row[0] for row in body[1:]} == {str(billable.pk)}


@pytest.mark.parametrize(
    ("status", "cease_date", "override", "expected"),
    [
        (AssetStatus.LIVE, None, None, True),
        (AssetStatus.LIVE, date(2026, 3, 1), None, True),  # a cease import's future date
        (AssetStatus.LIVE, date(2025, 3, 1), None, False),
        (AssetStatus.CEASED, None, None, False),
        (AssetStatus.CEASED, date(2026, 1, 5), None, True),  # ceased on its first day
        (AssetStatus.CEASED, date(2026, 1, 4), None, False),
        (AssetStatus.CEASED, date(2026, 2, 1), date(2026, 3, 1), False),  # override wins
    ],
)
def test_the_billable_span_rule_reads_the_same_in_python_and_in_sql(
    affinity, status, cease_date, override, expected
):
    line = ready_line(affinity)
    Asset.objects.filter(pk=line.asset.pk).update(
        status=status, cease_date=cease_date, billing_start_date_override=override
    )
    asset = Asset.objects.select_related("inventory_item").get(pk=line.asset.pk)
    assert bill_status.asset_bill_span_open(asset) is expected
    in_sql = SalesOrderLine.objects.filter(bill_status.bill_span_open_q(), pk=line.pk).exists()
    assert in_sql is expected


# --- 2. Do Not Bill -----------------------------------------------------------------------
def test_a_do_not_bill_line_is_left_out_of_the_product_file_and_flagged_in_the_cli_file(affinity):
    # Seed 002: the product file holds what "will be uploaded to Affinity for billing"; Do Not
    # Bill is "supported on the supported billing routes" as seed 001's Suppress: the CLI goes,
    # flagged (decision in docs/billing-export.md).
    kept = ready_line(affinity)
    dnb = ready_line(affinity, customer=CustomerFactory(name="Free Ltd"), identifier="07700900002")
    dnb.asset.do_not_bill = True
    services.asset_save(asset=dnb.asset)
    cli, products = files(affinity)
    assert {row[0] for row in products[1:]} == {str(kept.pk)}
    flags = {row[4]: row[7] for row in cli[1:]}
    assert flags == {"07700900001": "No", "07700900002": "Yes"}
    lines = selectors.billing_export_lines(route=affinity)
    (excluded,) = selectors.product_file_exclusions(lines, affinity)
    assert excluded.line_id == dnb.pk and "Do Not Bill" in excluded.reason
    assert selectors.product_file_exclusion_count(lines, affinity) == 1


def test_the_api_product_file_names_do_not_bill_lines_as_left_out(affinity):
    ready_line(affinity)
    dnb = ready_line(affinity, customer=CustomerFactory(name="Free Ltd"), identifier="07700900002")
    dnb.asset.do_not_bill = True
    services.asset_save(asset=dnb.asset)
    client = APIClient()
    client.force_authenticate(billing_user())
    response = client.get("/api/v1/billing-export/products.csv", {"route": "affinity"})
    assert response["X-Excluded-Lines"] == str(dnb.pk)
    listed = client.get("/api/v1/billing-export/lines/", {"route": "affinity"}).json()["results"]
    reasons = {row["id"]: row["excluded_from_product_file"] for row in listed}
    assert "Do Not Bill" in reasons[dnb.pk]


# --- 3. the CLI file holds CLIs only, once each ------------------------------------------
def test_a_serial_is_never_a_cli_in_either_file(affinity):
    # Seed 002: "a file containing information on CLIs"; seed 001: the identifier "may be
    # renamed for each base category ... e.g. Number, CLI, Serial": a Serial is not a CLI.
    hardware = BaseCategory.objects.get(identifier_field="Serial")
    line = ready_line(
        affinity, identifier="YLK46U-0042871", base_category=hardware, item_type=ItemType.PRODUCT
    )
    cli, (header, *products) = files(affinity)
    assert cli[1:] == []
    assert [row[header.index("CLI")] for row in products] == [""]
    page = Client()
    page.force_login(billing_user(is_staff=True))
    html = page.get(reverse("billing-export"), {"route": "affinity"}).content.decode()
    assert "YLK46U-0042871" not in html
    client = APIClient()
    client.force_authenticate(billing_user())
    listed = client.get("/api/v1/billing-export/lines/", {"route": "affinity"}).json()["results"]
    assert [(row["id"], row["cli"]) for row in listed] == [(line.pk, "")]


def test_one_cli_row_per_site_and_the_earliest_live_lines_start_date_wins(affinity):
    # Seed 001: "Billing IDs will only appear against a site once"; a New & Cease pair shares
    # the number: the live (new) line's start date is the CLI's (decision).
    set_company(new_and_cease_enabled=True)
    old = ready_line(affinity, identifier="07700900777")
    customer = old.order.customer
    order = SalesOrderFactory(
        customer=customer,
        lines=[
            services.LineSpec(
                inventory_item=old.inventory_item,
                site=old.site,
                action=LineAction.NEW_AND_CEASE,
                target_asset=old.asset,
            )
        ],
    )
    services.sales_order_line_convert_to_asset(
        line=order.lines.get(), connection_date=date(2026, 3, 1)
    )
    assert selectors.billing_export_lines(route=affinity).count() == 2  # old: billable to 02-28
    cli, _ = files(affinity)
    assert [(row[4], row[5]) for row in cli[1:]] == [("07700900777", "2026-03-01")]


def test_two_live_lines_on_one_number_give_one_row_with_the_earliest_start(affinity):
    first = ready_line(affinity, identifier="07700900777")
    second = ready_line(affinity, customer=first.order.customer, identifier="07700900777")
    second.asset.connection_date = date(2026, 2, 1)
    services.asset_save(asset=second.asset)
    other_site = SiteFactory(customer=first.order.customer, name="York")
    third = ready_line(affinity, customer=first.order.customer, identifier="07700900777")
    Asset.objects.filter(pk=third.asset.pk).update(site=other_site)
    SalesOrderLine.objects.filter(pk=third.pk).update(site=other_site)
    cli, _ = files(affinity)
    assert sorted((row[3], row[4], row[5]) for row in cli[1:]) == [
        ("Leeds", "07700900777", "2026-01-05"),
        ("York", "07700900777", "2026-01-05"),
    ]


# --- 6. the page and the action agree ------------------------------------------------------------
def _abillity_direct(on: bool = True):
    from billing.models import BillingPlatform
    from connectors.engine.entity_settings import entity_settings_ensure

    entity_settings_ensure()
    BillingPlatform.objects.filter(code=PlatformCode.ABILLITY).update(integration_enabled=on)


def _confirm_and_transfer(route, line):
    page = Client()
    page.force_login(billing_user(is_staff=True))
    url = reverse("billing-export")
    confirm = page.post(url, {"route": route.code, "action": "transfer", "lines": [line.pk]})
    said_refused = "will be refused" in confirm.content.decode()
    page.post(url, {"route": route.code, "action": "transfer_confirmed", "lines": [line.pk]})
    transferred = line.transfer_items.exists()
    return said_refused, transferred


def test_a_line_the_confirmation_says_is_refused_is_not_transferred(affinity):
    # Seed 002: without the External SKU "the upload into Affinity will fail".
    line = ready_line(affinity, sku="")
    said_refused, transferred = _confirm_and_transfer(affinity, line)
    assert (said_refused, transferred) == (True, False)


def test_a_route_that_takes_lines_by_api_needs_no_external_sku_and_warns_of_none():
    # The External SKU is Affinity's product code for its file upload (seed 002); Abillity
    # takes charges by its API with charge type ids (seed 001): no SKU, no warning.
    _abillity_direct()
    abillity = platform(PlatformCode.ABILLITY)
    line = ready_line(abillity, sku="")
    page = Client()
    page.force_login(billing_user(is_staff=True))
    html = page.get(reverse("billing-export"), {"route": "abillity"}).content.decode()
    assert "No External SKU" not in html
    assert "left out of the product file" not in html
    said_refused, transferred = _confirm_and_transfer(abillity, line)
    assert (said_refused, transferred) == (False, True)
    client = APIClient()
    client.force_authenticate(billing_user())
    listed = client.get("/api/v1/billing-export/lines/", {"route": "abillity"}).json()
    assert [row["excluded_from_product_file"] for row in listed["results"]] == [""]


def test_the_transfer_refusals_are_the_transfers_own_messages(affinity):
    bad = ready_line(affinity, sku="")
    good = ready_line(affinity, customer=CustomerFactory(name="Good"), identifier="07700900002")
    said = selectors.transfer_refusals(route=affinity, line_ids=[bad.pk, good.pk, 999999])
    with pytest.raises(ValidationError) as refused:
        export.billing_transfer(route=affinity, line_ids=[bad.pk, good.pk, 999999])
    assert refused.value.message_dict["lines"] == said
    assert len(said) == 2


# --- 7. New & Cease takes the target's identifier ---------------------------------------------
def _new_and_cease_line(old, **spec):
    set_company(new_and_cease_enabled=True)
    order = SalesOrderFactory(
        customer=old.order.customer,
        lines=[
            services.LineSpec(
                inventory_item=old.inventory_item,
                site=old.site,
                action=LineAction.NEW_AND_CEASE,
                target_asset=old.asset,
                **spec,
            )
        ],
    )
    return order.lines.get()


def test_new_and_cease_the_new_line_and_asset_take_the_targets_identifier(affinity):
    # Seed 001: choosing the Target Asset "will populate the MSISDN / Number or equivalent
    # field. In turn, this determines what will be ceased".
    old = ready_line(affinity, identifier="07700900777")
    line = _new_and_cease_line(old)
    assert line.cli == "07700900777"
    new = services.sales_order_line_convert_to_asset(line=line, connection_date=date(2026, 3, 1))
    assert new.identifier == "07700900777"


def test_new_and_cease_keeps_the_number_staff_typed(affinity):
    old = ready_line(affinity, identifier="07700900777")
    line = _new_and_cease_line(old, cli="07700900888")
    new = services.sales_order_line_convert_to_asset(
        line=line, identifier="07700900999", connection_date=date(2026, 3, 1)
    )
    assert line.cli == "07700900888" and new.identifier == "07700900999"


# --- 4. a CLI is normalised whether or not an integration is on --------------------------------
# platforms/affinity.md: "CLI values are kept in UK national format (01…, 07…); input in +44…,
# 44… or with spaces is normalised." Seed 002: "Ability to capture CLI at quotation stage".
def test_a_cli_is_normalised_at_every_capture_stage_with_no_integration_on(affinity):
    from customers.models import QuoteLine
    from customers.services import quote_line_save
    from tests.factories import QuoteFactory

    assert not affinity.integration_enabled
    item = InventoryItemFactory(upfront_route=affinity, recurring_route=affinity)
    quote = QuoteFactory()
    quote_line = quote_line_save(
        line=QuoteLine(quote=quote, inventory_item=item, cli="+44 7700 900777")
    )
    assert quote_line.cli == "07700900777"
    customer = CustomerFactory()
    order = SalesOrderFactory(
        customer=customer, lines=[services.LineSpec(inventory_item=item, cli="+44 7700 900777")]
    )
    line = order.lines.get()
    assert line.cli == "07700900777"
    asset = services.sales_order_line_convert_to_asset(
        line=line, identifier="0044 (0)7700-900888", connection_date=date(2026, 1, 5)
    )
    assert asset.identifier == "07700900888"


def test_an_invalid_cli_is_refused_on_its_field_at_capture(affinity):
    item = InventoryItemFactory(upfront_route=affinity, recurring_route=affinity)
    customer = CustomerFactory()
    with pytest.raises(ValidationError) as refused:
        SalesOrderFactory(
            customer=customer, lines=[services.LineSpec(inventory_item=item, cli="0770090")]
        )
    assert "not a UK number" in " ".join(refused.value.message_dict["cli"])
    order = SalesOrderFactory(customer=customer, lines=[services.LineSpec(inventory_item=item)])
    with pytest.raises(ValidationError) as refused:
        services.sales_order_line_convert_to_asset(
            line=order.lines.get(), identifier="+44 7700", connection_date=date(2026, 1, 5)
        )
    assert "identifier" in refused.value.message_dict
    assert not Asset.objects.filter(sales_order_line=order.lines.get()).exists()


def test_no_file_holds_a_cli_in_international_form(affinity):
    line = ready_line(affinity, identifier="+44 7700 900777")
    assert line.asset.identifier == "07700900777"
    cli, (header, *products) = files(affinity)
    assert [row[4] for row in cli[1:]] == ["07700900777"]
    assert {row[header.index("CLI")] for row in products} == {"07700900777"}


# --- 8. invoiceable in The Layer -----------------------------------------------------------------
# Seed 002, Invoicing in The Layer: "Only items with an up-front billing route of The Layer,
# or with no up-front billing route set, will be invoiceable in The Layer."
def test_the_layer_refuses_to_invoice_a_line_billed_elsewhere_and_changes_nothing(affinity):
    line = ready_line(affinity)
    with pytest.raises(ValidationError, match="cannot be invoiced in The Layer"):
        services.sales_order_line_invoice_in_layer(line=line)
    line.refresh_from_db()
    assert line.invoiced_in_layer_at is None


@pytest.mark.parametrize("route", [PlatformCode.THE_LAYER, None])
def test_a_line_routed_to_the_layer_or_blank_is_invoiced_in_the_layer(route):
    item = InventoryItemFactory(upfront_route=platform(route) if route else None)
    order = SalesOrderFactory(lines=[services.LineSpec(inventory_item=item)])
    line = services.sales_order_line_invoice_in_layer(line=order.lines.get())
    assert line.invoiced_in_layer_at is not None
    with pytest.raises(ValidationError, match="already"):
        services.sales_order_line_invoice_in_layer(line=line)


def test_each_order_line_says_whether_it_is_invoiceable_here_and_why_not(affinity):
    elsewhere = ready_line(affinity)
    here = SalesOrderFactory(
        customer=elsewhere.order.customer,
        lines=[services.LineSpec(inventory_item=InventoryItemFactory(upfront_route=None))],
    ).lines.get()
    client = APIClient()
    user = UserFactory()
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="billing", codename="view_salesorder")
    )
    client.force_authenticate(user)
    found = {}
    for order in (elsewhere.order, here.order):
        body = client.get(f"/api/v1/sales-orders/{order.pk}/").json()
        found.update({row["id"]: row for row in body["lines"]})
    assert found[here.pk]["invoiceable_in_layer"] is True
    assert found[here.pk]["not_invoiceable_reason"] == ""
    assert found[elsewhere.pk]["invoiceable_in_layer"] is False
    assert "billed by Affinity" in found[elsewhere.pk]["not_invoiceable_reason"]
    admin_client = Client()
    admin_client.force_login(UserFactory(is_staff=True, is_superuser=True))
    html = admin_client.get(
        reverse("admin:billing_salesorderline_change", args=[elsewhere.pk])
    ).content.decode()
    assert "Invoiceable in The Layer" in html and "No: Line" in html


def test_the_admin_action_invoices_only_lines_the_layer_may_invoice(affinity):
    elsewhere = ready_line(affinity)
    here = SalesOrderFactory(
        customer=elsewhere.order.customer,
        lines=[services.LineSpec(inventory_item=InventoryItemFactory(upfront_route=None))],
    ).lines.get()
    admin_client = Client()
    admin_client.force_login(UserFactory(is_staff=True, is_superuser=True))
    admin_client.post(
        reverse("admin:billing_salesorderline_changelist"),
        {"action": "invoice_in_layer", "_selected_action": [elsewhere.pk, here.pk]},
    )
    elsewhere.refresh_from_db()
    here.refresh_from_db()
    assert elsewhere.invoiced_in_layer_at is None and here.invoiced_in_layer_at is not None


# --- 9. call charges match only at the chosen location ------------------------------------------
# Seed 004, Uploading Call Charges: "Choose your Location - Each import is based on the specific
# location where the charges have incurred ... If the wrong location is selected, your charges
# will not be matched to an account because that account cannot be found in the system, at the
# location you've selected."
def test_call_charges_match_an_account_only_at_the_chosen_location():
    from billing.models import ChargeImportRow
    from tests.billing.call_charge_helpers import import_file, import_settings
    from tests.billing.call_logger_files import call_file, call_row
    from tests.factories import AccountCodeFactory, LocationFactory

    leeds, york = LocationFactory(name="Leeds Hub"), LocationFactory(name="York Hub")
    acme = AccountCodeFactory(code="1001", location=leeds).customer
    AccountCodeFactory(code="2002", location=york, customer=CustomerFactory(name="Zenith"))
    content = call_file(call_row("1001"), call_row("2002"))

    at_leeds = import_file(content, settings=import_settings(location=leeds))

    rows = {row.account_code: row for row in ChargeImportRow.objects.filter(charge_import=at_leeds)}
    assert rows["1001"].customer == acme
    assert rows["2002"].customer is None
    assert "at York Hub, not at Leeds Hub" in rows["2002"].unmatched_reason


def test_an_unmatched_row_says_why():
    from billing.models import ChargeImportRow
    from tests.billing.call_charge_helpers import import_file
    from tests.billing.call_logger_files import call_file, call_row
    from tests.factories import AccountCodeFactory

    nowhere = AccountCodeFactory(code="3003")
    nowhere.location = None
    nowhere.save(update_fields=["location"])
    imported = import_file(call_file(call_row("9999"), call_row("3003")))
    reasons = {
        row.account_code: row.unmatched_reason
        for row in ChargeImportRow.objects.filter(charge_import=imported)
    }
    assert 'No customer has the Connect account code "9999"' in reasons["9999"]
    assert "has no location" in reasons["3003"]


def test_the_data_migration_normalises_stored_clis_and_leaves_other_values(affinity):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("billing.migrations.0006_normalise_stored_clis")
    line = ready_line(affinity)
    SalesOrderLine.objects.filter(pk=line.pk).update(cli="+44 7700 900777")
    Asset.objects.filter(pk=line.asset.pk).update(identifier="0044 7700 900888")
    hardware = BaseCategory.objects.get(identifier_field="Serial")
    serial = ready_line(
        affinity, customer=CustomerFactory(name="Kit Ltd"), identifier="SN-1",
        base_category=hardware, item_type=ItemType.PRODUCT,
    )  # fmt: skip
    Asset.objects.filter(pk=serial.asset.pk).update(identifier="+44 SERIAL")
    migration.normalise_stored_clis(apps, None)
    assert SalesOrderLine.objects.get(pk=line.pk).cli == "07700900777"
    assert Asset.objects.get(pk=line.asset.pk).identifier == "07700900888"
    assert Asset.objects.get(pk=serial.asset.pk).identifier == "+44 SERIAL"
