"""The Billing Export (seed 002): the lines Ready to Bill on a route, both files' exact
columns and their defence against formulas, and Transfer to Billing."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from billing import export, selectors
from billing.bill_status import line_billable_now_q
from billing.choices import BillComponent, BillingFrequency, BillStatus, ItemType, PlatformCode
from billing.models import BillingTransfer, SalesOrderLine
from tests.factories import (
    AssetFactory,
    CustomerFactory,
    InventoryItemFactory,
    SiteFactory,
    UserFactory,
    platform,
)
from tests.helpers import on_postgresql

pytestmark = pytest.mark.django_db

READY, IN = BillStatus.READY_TO_BILL, BillStatus.IN_BILLING


@pytest.fixture
def affinity():
    return platform(PlatformCode.AFFINITY)


def ready_line(affinity, *, customer=None, sku="AFF-MOB-10", identifier="07700900001", **item):
    customer = customer or CustomerFactory(name="Acme Ltd")
    site = SiteFactory(customer=customer, name="Leeds", is_default=True)
    asset = AssetFactory(
        customer=customer,
        site=site,
        identifier=identifier,
        connection_date=date(2026, 1, 5),
        issue_date=date(2026, 1, 6),
        inventory_item=InventoryItemFactory(
            upfront_route=affinity, recurring_route=affinity, external_sku=sku, **item
        ),
    )
    return asset.sales_order_line


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# --- the lines ------------------------------------------------------------------------------
def test_the_lines_are_those_with_a_component_ready_to_bill_on_the_route(affinity):
    ready = ready_line(affinity)
    elsewhere = ready_line(
        platform(PlatformCode.ABILLITY),
        customer=CustomerFactory(name="Other"),
        identifier="07700900002",
    )
    billed = ready_line(affinity, customer=CustomerFactory(name="Billed"), identifier="07700900003")
    SalesOrderLine.objects.filter(pk=billed.pk).update(
        upfront_bill_status=IN, recurring_bill_status=IN
    )
    assert list(selectors.billing_export_lines(route=affinity)) == [ready]
    assert elsewhere not in selectors.billing_export_lines(route=affinity)


def test_the_lines_can_be_searched_by_customer_product_or_cli(affinity):
    acme = ready_line(affinity)
    other = ready_line(affinity, customer=CustomerFactory(name="Zenith"), identifier="07700900999")
    assert list(selectors.billing_export_lines(route=affinity, search="acme")) == [acme]
    assert list(selectors.billing_export_lines(route=affinity, search="900999")) == [other]


def test_a_line_without_an_external_sku_is_flagged_and_listed_with_its_reason(affinity):
    line = ready_line(affinity, sku="", name="Mystery Router")
    lines = selectors.billing_export_lines(route=affinity)
    assert lines.get().missing_sku is True
    (excluded,) = selectors.product_file_exclusions(lines)
    assert excluded.line_id == line.pk
    assert "Mystery Router has no External SKU" in excluded.reason


def test_line_ids_are_parsed_strictly():
    assert export.line_ids_parse("1, 2,3") == [1, 2, 3]
    assert export.line_ids_parse(None) is None
    with pytest.raises(ValidationError, match='"x" is not a line id'):
        export.line_ids_parse("1,x")


# --- the files ------------------------------------------------------------------------------
def test_the_cli_file_has_its_columns_and_one_row_per_cli(affinity):
    line = ready_line(affinity)
    customer = line.order.customer
    text = export.export_text(selectors.cli_file(selectors.billing_export_lines(route=affinity)))
    header, *body = rows(text)
    assert header == [
        "Customer Reference",
        "Customer Name",
        "Site Reference",
        "Site Name",
        "CLI",
        "Start Date",
        "Cost Centre",
        "Do Not Bill",
    ]
    assert body == [
        [str(customer.pk), "Acme Ltd", line.site.site_ref, "Leeds", "07700900001", "2026-01-05",
         "", "No"]
    ]  # fmt: skip


def test_the_product_file_has_a_row_per_ready_component_with_its_columns(affinity):
    line = ready_line(affinity, name="Business Mobile 10GB")
    text = export.export_text(
        selectors.product_file(selectors.billing_export_lines(route=affinity), affinity)
    )
    header, upfront, recurring = rows(text)
    assert header == [
        "Line Reference",
        "Sales Order",
        "Customer Reference",
        "Customer Name",
        "Site Reference",
        "CLI",
        "Product Code",
        "Description",
        "Charge",
        "Quantity",
        "Unit Price",
        "Frequency",
        "Start Date",
        "End Date",
    ]
    common = [str(line.pk), str(line.order), str(line.order.customer_id), "Acme Ltd"]
    assert upfront[:4] == common
    assert upfront[5:] == ["07700900001", "AFF-MOB-10", "Business Mobile 10GB", "Up-front", "1",
                           "25.00", "One off", "2026-01-05", ""]  # fmt: skip
    assert recurring[8:12] == ["Recurring", "1", "12.50", "Monthly"]


def test_the_product_file_leaves_out_lines_without_an_external_sku(affinity):
    ready_line(affinity, sku="")
    kept = ready_line(affinity, customer=CustomerFactory(name="Kept"), identifier="07700900002")
    text = export.export_text(
        selectors.product_file(selectors.billing_export_lines(route=affinity), affinity)
    )
    assert {row[0] for row in rows(text)[1:]} == {str(kept.pk)}


def test_only_the_component_ready_on_this_route_is_in_the_product_file(affinity):
    line = ready_line(affinity, item_type=ItemType.PRODUCT)
    text = export.export_text(
        selectors.product_file(selectors.billing_export_lines(route=affinity), affinity)
    )
    assert [(row[0], row[8], row[12]) for row in rows(text)[1:]] == [
        (str(line.pk), "Up-front", "2026-01-06")  # a product starts on its issue date
    ]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_cells_that_could_run_as_formulas_are_neutralised(affinity, start):
    hostile = f"{start}HYPERLINK(1)"
    line = ready_line(affinity, customer=CustomerFactory(name=f"Evil {start}Corp"))
    line.asset.cost_centre = hostile
    line.asset.save(update_fields=["cost_centre"])
    line.inventory_item.name = hostile
    line.inventory_item.save(update_fields=["name"])
    lines = selectors.billing_export_lines(route=affinity)
    for file in (selectors.cli_file(lines), selectors.product_file(lines, affinity)):
        cells = [cell for row in rows(export.export_text(file)) for cell in row]
        assert f"'{hostile}" in cells
        assert f"Evil {start}Corp" in cells  # only a cell's first character matters
        assert not any(cell.startswith(export.FORMULA_STARTS) for cell in cells)


def test_a_negative_price_is_a_number_not_a_neutralised_cell(affinity):
    line = ready_line(affinity)
    SalesOrderLine.objects.filter(pk=line.pk).update(sell_price=Decimal("-5.00"))
    text = export.export_text(
        selectors.product_file(selectors.billing_export_lines(route=affinity), affinity)
    )
    assert rows(text)[1][10] == "-5.00"


@on_postgresql
def test_postgresql_copy_and_the_python_writer_give_the_same_bytes(affinity):
    for n in range(5):
        ready_line(
            affinity,
            customer=CustomerFactory(name=f'Customer "{n}", =odd'),
            identifier=f"0770090000{n}",
            sku="" if n == 3 else f"SKU-{n}",
        )
    lines = selectors.billing_export_lines(route=affinity)
    assert connection.vendor == "postgresql"
    for file in (selectors.cli_file(lines), selectors.product_file(lines, affinity)):
        copied = b"".join(export._copy_stream(file))
        written = b"".join(export._python_stream(file))
        assert copied == written
        assert copied.count(b"\n") > 1


def _product_rows_by_union(lines, route):
    """The product file's rows as the export built them before issue 24: one SELECT per
    component, UNION ALL, sorted by line then Charge (up-front first)."""
    usable = lines.exclude(asset__do_not_bill=True).order_by()
    if selectors.route_needs_external_sku(route):
        usable = usable.exclude(inventory_item__external_sku="")
    parts = [
        selectors._annotated(
            usable.filter(line_billable_now_q(route, component)),
            selectors._product_columns(component),
        )
        for component in (BillComponent.UPFRONT, BillComponent.RECURRING)
    ]
    rows = parts[0].union(parts[1], all=True).order_by("c0", "-c8")
    return selectors.ExportFile("products", selectors.PRODUCT_COLUMNS, rows)


def test_the_one_pass_product_file_gives_the_bytes_of_the_union_it_replaced(affinity):
    # Issue 24: "the export's query in one pass ... the same bytes" (docs/billing-export.md,
    # Product file: one row per component billable now, up-front first, sorted by line).
    abillity = platform(PlatformCode.ABILLITY)
    ready_line(affinity, customer=CustomerFactory(name='=Both, "quoted"'))
    ready_line(
        affinity,
        customer=CustomerFactory(name="Product"),
        identifier="07700900002",
        item_type=ItemType.PRODUCT,
    )
    upfront_only = ready_line(
        affinity,
        customer=CustomerFactory(name="Up-front only"),
        identifier="07700900003",
        billing_frequency=BillingFrequency.QUARTERLY,
    )
    SalesOrderLine.objects.filter(pk=upfront_only.pk).update(recurring_route=abillity)
    recurring_only = ready_line(
        affinity,
        customer=CustomerFactory(name="Recurring only"),
        identifier="07700900004",
        billing_frequency=BillingFrequency.ANNUAL,
    )
    SalesOrderLine.objects.filter(pk=recurring_only.pk).update(upfront_bill_status=IN)
    ready_line(affinity, customer=CustomerFactory(name="No SKU"), identifier="07700900005", sku="")
    flagged = ready_line(affinity, customer=CustomerFactory(name="DNB"), identifier="07700900006")
    flagged.asset.do_not_bill = True
    flagged.asset.save()
    ceasing = ready_line(
        affinity, customer=CustomerFactory(name="+Ceasing"), identifier="07700900007"
    )
    ceasing.asset.cease_date = date(2026, 3, 1)
    ceasing.asset.save()
    lines = selectors.billing_export_lines(route=affinity)
    one_pass = selectors.product_file(lines, affinity)

    expected = export.export_text(_product_rows_by_union(lines, affinity))
    assert export.export_text(one_pass) == expected
    assert b"".join(export._python_stream(one_pass)).decode() == expected
    assert len(rows(expected)) == 1 + 2 + 1 + 1 + 1 + 2  # header; both, product, one, one, ceasing


def test_the_files_stream_in_chunks(affinity, monkeypatch):
    monkeypatch.setattr(export, "CHUNK_ROWS", 2)
    customer = CustomerFactory(name="Many")
    for n in range(5):
        ready_line(affinity, customer=customer, identifier=f"0770090010{n}")
    chunks = list(
        export._python_stream(selectors.cli_file(selectors.billing_export_lines(route=affinity)))
    )
    assert len(chunks) >= 3


@on_postgresql
def test_copy_hands_over_chunks_of_many_rows_not_one_row_each(affinity, monkeypatch):
    # Issue 24: through gunicorn "the COPY path yields one chunk per row"; the file is to
    # be "streamed to HTTP in chunks of tens of kilobytes" (CHUNK_BYTES; 300 here).
    monkeypatch.setattr(export, "CHUNK_BYTES", 300)
    customer = CustomerFactory(name="Many")
    for n in range(8):
        ready_line(affinity, customer=customer, identifier=f"0770090010{n}")
    file = selectors.product_file(selectors.billing_export_lines(route=affinity), affinity)
    chunks = list(export._copy_stream(file))
    assert b"".join(chunks).count(b"\n") == 1 + 16
    assert 1 < len(chunks) < 1 + 16
    assert all(len(chunk) >= 300 for chunk in chunks[:-1])


@on_postgresql
def test_the_export_plan_settings_end_with_the_file(affinity):
    # docs/billing-export.md, Large files: enable_sort and jit are off "for that
    # transaction only"; inside a caller's transaction they are put back after the file.
    ready_line(affinity)
    file = selectors.product_file(selectors.billing_export_lines(route=affinity), affinity)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_sort'), current_setting('jit')")
        before = cursor.fetchone()
        assert b"".join(export._copy_stream(file)).count(b"\n") == 3
        cursor.execute("SELECT current_setting('enable_sort'), current_setting('jit')")
        assert cursor.fetchone() == before
    assert before[0] == "on"


# --- Transfer to Billing ----------------------------------------------------------------------
def test_a_transfer_moves_the_ready_components_to_in_billing_and_records_who_and_when(affinity):
    line = ready_line(affinity)
    user = UserFactory()

    transfer = export.billing_transfer(route=affinity, line_ids=[line.pk], user=user)

    line.refresh_from_db()
    assert (line.upfront_bill_status, line.recurring_bill_status) == (IN, IN)
    assert transfer.transferred_by == user and transfer.transferred_at
    assert sorted(transfer.items.values_list("component", flat=True)) == ["recurring", "upfront"]


def test_a_transfer_is_all_or_nothing(affinity):
    good = ready_line(affinity)
    no_sku = ready_line(
        affinity, sku="", customer=CustomerFactory(name="B"), identifier="07700900002"
    )

    with pytest.raises(ValidationError) as refused:
        export.billing_transfer(route=affinity, line_ids=[good.pk, no_sku.pk, 999999])

    text = " ".join(refused.value.messages)
    assert "Line 999999 does not exist" in text
    assert f"Line {no_sku.pk}" in text and "External SKU" in text
    good.refresh_from_db()
    assert good.upfront_bill_status == READY
    assert not BillingTransfer.objects.exists()


def test_a_line_transferred_already_cannot_be_transferred_again(affinity):
    line = ready_line(affinity)
    export.billing_transfer(route=affinity, line_ids=[line.pk])
    with pytest.raises(ValidationError, match="nothing Ready to Bill on Affinity"):
        export.billing_transfer(route=affinity, line_ids=[line.pk])


def test_a_transfer_moves_only_the_component_on_its_route(affinity):
    abillity = platform(PlatformCode.ABILLITY)
    customer = CustomerFactory()
    asset = AssetFactory(
        customer=customer,
        inventory_item=InventoryItemFactory(
            upfront_route=affinity, recurring_route=abillity, external_sku="X"
        ),
    )
    line = asset.sales_order_line
    export.billing_transfer(route=affinity, line_ids=[line.pk])
    line.refresh_from_db()
    assert (line.upfront_bill_status, line.recurring_bill_status) == (IN, READY)
