"""The billing admin: pages load, orders and lines go through the services, billing fields
need their permission."""

import itertools
from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from billing import admin as billing_admin
from billing import services
from billing.choices import BillStatus, Classification, LineAction, PlatformCode
from billing.models import Asset, InventoryItem, SalesOrder, SalesOrderLine
from billing.signals import sales_order_created
from customers.models import Customer
from customers.services import quote_mark_won
from tests.admin_helpers import (
    add_inline_row,
    admin_form_data,
    changelist_query_counts,
    inline_formset,
    page_messages,
)
from tests.factories import (
    CustomerFactory,
    InventoryItemFactory,
    LeadFactory,
    QuoteFactory,
    QuoteLineFactory,
    SiteFactory,
    UserFactory,
    platform,
)

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)


def new_line(item: InventoryItem, **fields: str) -> dict[str, str]:
    """The fields of a new line row in the order's line inline."""
    return {
        "inventory_item": str(item.pk),
        "quantity": "1",
        "sell_price": "0",
        "recurring_sell_price": "0",
        "classification": "new",
        "action": LineAction.NEW,
        "upfront_bill_status": BillStatus.NOT_BILLED,
        "recurring_bill_status": BillStatus.NOT_BILLED,
        **fields,
    }


def routed_item() -> InventoryItem:
    return InventoryItemFactory(
        upfront_route=platform(PlatformCode.AFFINITY),
        recurring_route=platform(PlatformCode.ABILLITY),
    )


def customer_with_orders() -> Customer:
    """A customer with a won quote ordered (one line), and a direct order whose line is an
    asset."""
    number = next(_numbers)
    customer = CustomerFactory()
    site = SiteFactory(customer=customer)
    item = routed_item()
    quote = QuoteFactory(customer=customer)
    QuoteLineFactory(quote=quote, inventory_item=item, site=site, cli=f"0113{number:07d}")
    quote_mark_won(quote=quote)
    services.sales_order_create_from_quote(quote=quote)
    order = services.sales_order_create(
        customer=customer,
        lines=[services.LineSpec(inventory_item=item, site=site, cli=f"07700{number:06d}")],
    )
    services.sales_order_line_convert_to_asset(
        line=order.lines.get(), connection_date=date(2024, 4, 1)
    )
    return customer


def populate(count: int) -> None:
    for _ in range(count):
        customer_with_orders()


def staff_client(client, *, billing: bool):
    """A logged-in staff user who may change orders, lines and assets, and update billing
    only when `billing`."""
    user = UserFactory(is_staff=True)
    codenames = [
        f"{action}_{model}"
        for action in ("view", "change")
        for model in ("salesorder", "salesorderline", "asset")
    ]
    if billing:
        codenames.append("allow_update_billing")
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="billing", codename__in=codenames)
    )
    client.force_login(user)
    return client


MODELS = [
    "billingplatform",
    "basecategory",
    "inventoryitem",
    "salesorder",
    "salesorderline",
    "asset",
]


# --- pages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "add_status"),
    [
        ("billingplatform", 403),  # a fixed set, made by a migration
        ("basecategory", 200),
        ("inventoryitem", 200),
        ("salesorder", 200),
        ("salesorderline", 200),
        ("asset", 403),  # made from order lines (Convert to asset)
    ],
)
def test_changelist_and_add_page_load_for_a_superuser(superuser_client, model, add_status):
    populate(2)

    changelist = superuser_client.get(reverse(f"admin:billing_{model}_changelist"))
    add_page = superuser_client.get(reverse(f"admin:billing_{model}_add"))

    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count >= 1
    assert add_page.status_code == add_status


@pytest.mark.parametrize(
    ("model", "record"),
    [
        ("billingplatform", lambda customer: platform(PlatformCode.ABILLITY)),
        (
            "basecategory",
            lambda customer: Asset.objects.get(customer=customer).inventory_item.base_category,
        ),
        ("inventoryitem", lambda customer: Asset.objects.get(customer=customer).inventory_item),
        ("salesorder", lambda customer: customer.sales_orders.first()),
        (
            "salesorderline",
            lambda customer: SalesOrderLine.objects.filter(order__customer=customer).first(),
        ),
        ("asset", lambda customer: Asset.objects.get(customer=customer)),
    ],
)
def test_change_page_loads_for_a_superuser(superuser_client, model, record):
    obj = record(customer_with_orders())

    response = superuser_client.get(reverse(f"admin:billing_{model}_change", args=[obj.pk]))

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("url_name", "rows_grow"),
    [
        # Platforms and base categories are fixed sets (made by a migration).
        ("admin:billing_billingplatform_changelist", False),
        ("admin:billing_basecategory_changelist", False),
        ("admin:billing_inventoryitem_changelist", True),
        ("admin:billing_salesorder_changelist", True),
        ("admin:billing_salesorderline_changelist", True),
        ("admin:billing_asset_changelist", True),
        ("admin:customers_quote_changelist", True),
    ],
)
def test_changelist_queries_do_not_grow_with_the_number_of_rows(
    superuser_client, url_name, rows_grow
):
    small, large, rows = changelist_query_counts(superuser_client, reverse(url_name), populate)

    assert (rows[1] > rows[0]) is rows_grow
    assert small == large
    assert large <= 15


def test_quote_list_shows_its_sales_order(superuser_client):
    customer = customer_with_orders()
    order = customer.sales_orders.get(quote__isnull=False)

    response = superuser_client.get(reverse("admin:customers_quote_changelist"))

    assert str(order) in response.content.decode()


# --- bill statuses and the billing start date override ----------------------------


@pytest.mark.parametrize(("billing", "editable"), [(False, False), (True, True)])
def test_line_bill_statuses_need_the_allow_update_billing_permission(client, billing, editable):
    line = SalesOrderLine.objects.filter(order__customer=customer_with_orders()).first()
    client = staff_client(client, billing=billing)
    url = reverse("admin:billing_salesorderline_change", args=[line.pk])
    page = client.get(url)
    data = admin_form_data(page)
    data.update(
        upfront_bill_status=BillStatus.READY_TO_BILL, recurring_bill_status=BillStatus.IN_BILLING
    )

    response = client.post(url, data)

    assert response.status_code == 302
    fields = page.context["adminform"].form.fields
    assert ("upfront_bill_status" in fields) is editable
    assert ("recurring_bill_status" in fields) is editable
    line.refresh_from_db()
    expected = (
        (BillStatus.READY_TO_BILL, BillStatus.IN_BILLING)
        if editable
        else (BillStatus.NOT_BILLED, BillStatus.NOT_BILLED)
    )
    assert (line.upfront_bill_status, line.recurring_bill_status) == expected


@pytest.mark.parametrize(("billing", "editable"), [(False, False), (True, True)])
def test_order_line_inline_bill_statuses_need_the_permission(client, billing, editable):
    order = customer_with_orders().sales_orders.first()
    client = staff_client(client, billing=billing)
    url = reverse("admin:billing_salesorder_change", args=[order.pk])
    page = client.get(url)
    data = admin_form_data(page)
    before = order.lines.get().upfront_bill_status
    data["lines-0-upfront_bill_status"] = BillStatus.IN_BILLING

    response = client.post(url, data)

    assert response.status_code == 302
    assert ("upfront_bill_status" in inline_formset(page, "lines").forms[0].fields) is editable
    status = order.lines.get().upfront_bill_status
    assert before != BillStatus.IN_BILLING
    assert status == (BillStatus.IN_BILLING if editable else before)


@pytest.mark.parametrize(("billing", "editable"), [(False, False), (True, True)])
def test_asset_billing_start_date_override_needs_the_permission(client, billing, editable):
    asset = Asset.objects.get(customer=customer_with_orders())
    client = staff_client(client, billing=billing)
    url = reverse("admin:billing_asset_change", args=[asset.pk])
    page = client.get(url)
    data = admin_form_data(page)
    data.update(billing_start_date_override="2024-05-01", cost_centre="Sales")

    response = client.post(url, data)

    assert response.status_code == 302
    assert ("billing_start_date_override" in page.context["adminform"].form.fields) is editable
    asset.refresh_from_db()
    assert asset.cost_centre == "Sales"
    assert asset.billing_start_date_override == (date(2024, 5, 1) if editable else None)


# --- sales orders through the services -----------------------------------------------


def test_adding_a_sales_order_with_lines_goes_through_the_services(superuser_client, superuser):
    customer = CustomerFactory()
    item = routed_item()
    events = []
    sales_order_created.connect(
        lambda **kwargs: events.append(kwargs["order"].pk), weak=False, dispatch_uid="test-so"
    )
    url = reverse("admin:billing_salesorder_add")
    data = admin_form_data(superuser_client.get(url))
    data["customer"] = customer.pk
    add_inline_row(
        data, "lines", **new_line(item, quantity="2", sell_price="30", recurring_sell_price="15")
    )
    try:
        response = superuser_client.post(url, data)
    finally:
        sales_order_created.disconnect(dispatch_uid="test-so")

    assert response.status_code == 302
    order = SalesOrder.objects.get(customer=customer)
    assert order.reference == f"SO{order.pk:06d}"
    assert order.created_by == superuser
    assert events == [order.pk]
    line = order.lines.get()
    assert line.quantity == 2
    # sales_order_line_save gives a new line its item's billing routes.
    assert (line.upfront_route, line.recurring_route) == (item.upfront_route, item.recurring_route)


def test_sales_order_created_from_the_admin_is_sent_once_its_lines_exist(superuser_client):
    customer = customer_with_orders()
    target = Asset.objects.get(customer=customer)
    item = routed_item()
    seen = []

    def receiver(order, **kwargs):
        seen.append(
            list(
                order.lines.order_by("id").values_list(
                    "action", "target_asset", "classification", "upfront_route__code"
                )
            )
        )

    sales_order_created.connect(receiver, weak=False, dispatch_uid="test-so-lines")
    url = reverse("admin:billing_salesorder_add")
    data = admin_form_data(superuser_client.get(url))
    data["customer"] = customer.pk
    add_inline_row(data, "lines", **new_line(item))
    add_inline_row(
        data,
        "lines",
        **new_line(
            item,
            action=LineAction.UPDATE,
            target_asset=str(target.pk),
            classification=Classification.UPGRADE,
            upfront_route=str(platform(PlatformCode.CONNECT).pk),
        ),
    )
    try:
        response = superuser_client.post(url, data)
    finally:
        sales_order_created.disconnect(dispatch_uid="test-so-lines")

    assert response.status_code == 302
    assert seen == [
        [
            (LineAction.NEW, None, Classification.NEW, PlatformCode.AFFINITY),
            (LineAction.UPDATE, target.pk, Classification.UPGRADE, PlatformCode.CONNECT),
        ]
    ]


def test_a_new_orders_lines_start_not_billed_even_for_a_billing_user(superuser_client):
    customer = CustomerFactory()
    url = reverse("admin:billing_salesorder_add")
    page = superuser_client.get(url)
    data = admin_form_data(page)
    data["customer"] = customer.pk
    add_inline_row(
        data, "lines", **new_line(routed_item(), upfront_bill_status=BillStatus.READY_TO_BILL)
    )

    response = superuser_client.post(url, data)

    assert response.status_code == 302
    assert "upfront_bill_status" not in inline_formset(page, "lines").form.base_fields
    line = SalesOrderLine.objects.get(order__customer=customer)
    assert line.upfront_bill_status == BillStatus.NOT_BILLED


def test_a_sales_order_for_a_lead_is_refused_on_the_customer_field(superuser_client):
    lead = LeadFactory(name="Still A Lead Ltd")
    url = reverse("admin:billing_salesorder_add")
    data = admin_form_data(superuser_client.get(url))
    data["customer"] = lead.pk
    add_inline_row(data, "lines", **new_line(routed_item()))

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    (error,) = response.context["adminform"].form.errors["customer"]
    assert "still a lead" in error
    assert not SalesOrder.objects.exists()
    assert not SalesOrderLine.objects.exists()


def test_an_order_refused_by_the_service_after_validation_saves_nothing(
    superuser_client, monkeypatch
):
    # As if the customer were turned back into a lead between validation and save.
    monkeypatch.setattr(billing_admin.SalesOrderForm, "service_validate", lambda form, obj: None)
    lead = LeadFactory()
    url = reverse("admin:billing_salesorder_add")
    data = admin_form_data(superuser_client.get(url))
    data["customer"] = lead.pk
    add_inline_row(data, "lines", **new_line(routed_item()))

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    (error,) = response.context["adminform"].form.errors["customer"]
    assert "still a lead" in error
    assert not SalesOrder.objects.exists()
    assert not SalesOrderLine.objects.exists()


def test_an_update_line_without_target_is_refused_on_that_field_and_changes_nothing(
    superuser_client,
):
    order = customer_with_orders().sales_orders.get(quote__isnull=False)
    url = reverse("admin:billing_salesorder_change", args=[order.pk])
    data = admin_form_data(superuser_client.get(url))
    data["lines-0-quantity"] = "5"
    add_inline_row(data, "lines", **new_line(routed_item(), action=LineAction.UPDATE))

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    (error,) = inline_formset(response, "lines").forms[1].errors["target_asset"]
    assert "needs a target asset" in error
    assert order.lines.count() == 1
    assert order.lines.get().quantity == 1


def test_create_sales_order_action_orders_a_won_quote_once_and_refuses_others(superuser_client):
    customer = CustomerFactory()
    item = routed_item()
    won = QuoteFactory(customer=customer, reference="Q-WON")
    QuoteLineFactory(quote=won, inventory_item=item, quantity=3)
    quote_mark_won(quote=won)
    draft = QuoteFactory(customer=customer, reference="Q-DRAFT")
    url = reverse("admin:customers_quote_changelist")

    first = superuser_client.post(
        url, {"action": "create_sales_orders", "_selected_action": [won.pk, draft.pk]}, follow=True
    )
    again = superuser_client.post(
        url, {"action": "create_sales_orders", "_selected_action": [won.pk]}, follow=True
    )

    order = SalesOrder.objects.get()
    assert order.quote == won
    assert [(line.inventory_item, line.quantity) for line in order.lines.all()] == [(item, 3)]
    assert not SalesOrder.objects.filter(quote=draft).exists()
    assert "Sales orders created: 1." in page_messages(first)
    assert any("Q-DRAFT" in m and "not won" in m for m in page_messages(first))
    assert any("already has a sales order" in m for m in page_messages(again))


def test_convert_to_asset_action_makes_one_asset_per_line(superuser_client):
    customer = CustomerFactory()
    order = services.sales_order_create(
        customer=customer,
        lines=[services.LineSpec(inventory_item=routed_item(), cli="07700900123")],
    )
    line = order.lines.get()
    url = reverse("admin:billing_salesorderline_changelist")

    first = superuser_client.post(
        url, {"action": "convert_to_asset", "_selected_action": [line.pk]}, follow=True
    )
    again = superuser_client.post(
        url, {"action": "convert_to_asset", "_selected_action": [line.pk]}, follow=True
    )

    asset = Asset.objects.get(sales_order_line=line)
    assert asset.identifier == "07700900123"
    assert "Converted to assets: 1." in page_messages(first)
    assert any("already converted" in m for m in page_messages(again))
    assert Asset.objects.count() == 1


def _staff_with(client, *codenames: str):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["customers", "billing"], codename__in=codenames
        )
    )
    client.force_login(user)
    return client


@pytest.mark.parametrize("may_add_orders", [False, True])
def test_create_sales_order_action_needs_the_add_sales_order_permission(client, may_add_orders):
    customer = CustomerFactory()
    quote = QuoteFactory(customer=customer)
    quote_mark_won(quote=quote)
    codenames = ["view_quote", "change_quote"] + (["add_salesorder"] if may_add_orders else [])
    staff = _staff_with(client, *codenames)

    staff.post(
        reverse("admin:customers_quote_changelist"),
        {"action": "create_sales_orders", "_selected_action": [quote.pk]},
    )

    assert SalesOrder.objects.filter(quote=quote).exists() is may_add_orders


@pytest.mark.parametrize("may_add_assets", [False, True])
def test_convert_to_asset_action_needs_the_add_asset_permission(client, may_add_assets):
    order = services.sales_order_create(
        customer=CustomerFactory(), lines=[services.LineSpec(inventory_item=routed_item())]
    )
    codenames = ["view_salesorderline", "change_salesorderline"]
    staff = _staff_with(client, *codenames, *(["add_asset"] if may_add_assets else []))

    staff.post(
        reverse("admin:billing_salesorderline_changelist"),
        {"action": "convert_to_asset", "_selected_action": [order.lines.get().pk]},
    )

    assert Asset.objects.filter(sales_order_line__order=order).exists() is may_add_assets


@pytest.mark.parametrize(
    ("model", "field", "term", "expected"),
    [
        ("salesorderline", "target_asset", "07700", lambda c: Asset.objects.get(customer=c)),
        ("salesorderline", "order", "SO", lambda c: c.sales_orders.get(quote__isnull=True)),
        ("salesorder", "quote", "Q-AUTO", lambda c: c.quotes.get()),
        ("asset", "site", "Main Site", lambda c: c.sites.get()),
    ],
)
def test_foreign_keys_to_large_tables_are_searchable_by_autocomplete(
    superuser_client, model, field, term, expected
):
    customer = CustomerFactory()
    SiteFactory(customer=customer, name="Main Site")
    item = routed_item()
    QuoteFactory(customer=customer, reference="Q-AUTO")
    order = services.sales_order_create(
        customer=customer, lines=[services.LineSpec(inventory_item=item, cli="07700900555")]
    )
    services.sales_order_line_convert_to_asset(line=order.lines.get())

    response = superuser_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "billing", "model_name": model, "field_name": field, "term": term},
    )

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(expected(customer).pk)]


def test_an_asset_site_of_another_customer_is_refused(superuser_client):
    asset = Asset.objects.get(customer=customer_with_orders())
    url = reverse("admin:billing_asset_change", args=[asset.pk])
    data = admin_form_data(superuser_client.get(url))
    data["site"] = SiteFactory().pk

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    (error,) = response.context["adminform"].form.errors["site"]
    assert "another customer" in error
    site_id = asset.site_id
    asset.refresh_from_db()
    assert asset.site_id == site_id


def test_a_line_of_a_new_order_is_checked_against_the_chosen_customer_at_validation(
    superuser_client, monkeypatch
):
    customer = CustomerFactory()
    foreign_asset = Asset.objects.get(customer=customer_with_orders())
    calls = []
    monkeypatch.setattr(services, "sales_order_create", lambda **kwargs: calls.append(kwargs))
    url = reverse("admin:billing_salesorder_add")
    data = admin_form_data(superuser_client.get(url))
    data["customer"] = customer.pk
    add_inline_row(
        data,
        "lines",
        **new_line(routed_item(), action=LineAction.UPDATE, target_asset=str(foreign_asset.pk)),
    )

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    (error,) = inline_formset(response, "lines").forms[0].errors["target_asset"]
    assert "another customer" in error
    assert calls == []
    assert not SalesOrder.objects.filter(customer=customer).exists()


def test_an_asset_edited_in_the_admin_is_saved_through_asset_save(superuser_client, monkeypatch):
    asset = Asset.objects.get(customer=customer_with_orders())
    saved = []
    real_save = services.asset_save

    def spy(*, asset, **kwargs):
        saved.append(asset.pk)
        return real_save(asset=asset, **kwargs)

    monkeypatch.setattr(services, "asset_save", spy)
    url = reverse("admin:billing_asset_change", args=[asset.pk])
    data = admin_form_data(superuser_client.get(url))
    data["cost_centre"] = "Operations"

    response = superuser_client.post(url, data)

    assert response.status_code == 302
    assert saved == [asset.pk]
    asset.refresh_from_db()
    assert asset.cost_centre == "Operations"
