"""The rules of billing.services: sales orders (an initial sync event), their lines'
data-capture actions, and converting lines to assets. Each test names its rule."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from billing import services
from billing.choices import AssetStatus, Classification, LineAction, PlatformCode
from billing.models import Asset, SalesOrder, SalesOrderLine
from billing.services import LineSpec
from billing.signals import sales_order_created
from customers import services as customer_services
from customers.choices import CustomerStage, CustomerStatus, QuoteStatus
from customers.models import CompanySettings, Customer
from customers.signals import lead_converted
from tests.factories import (
    AssetFactory,
    CustomerFactory,
    InventoryItemFactory,
    LeadFactory,
    QuoteFactory,
    QuoteLineFactory,
    SalesOrderFactory,
    SalesOrderLineFactory,
    SiteFactory,
    UserFactory,
    platform,
)
from tests.helpers import message_of, on_postgresql, run_concurrently, set_company

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_and_cease_on() -> CompanySettings:
    return set_company(new_and_cease_enabled=True)


def won_quote_of_a_lead():
    quote = QuoteFactory()
    customer_services.quote_mark_won(quote=quote)
    return quote


# --- sales orders ------------------------------------------------------------------------------


def test_sales_order_create_sends_sales_order_created_once(record_signal):
    created = record_signal(sales_order_created)
    customer = CustomerFactory()
    user = UserFactory()

    order = services.sales_order_create(
        customer=customer, lines=[LineSpec(inventory_item=InventoryItemFactory())], user=user
    )

    assert len(created) == 1
    call = created[0]
    assert call["sender"] is SalesOrder
    assert call["order"] == order
    assert call["customer"] == customer
    assert call["user"] == user
    # The lines exist when receivers run: the event is sent after them.
    assert order.lines.count() == 1


def test_a_line_spec_carries_action_target_classification_and_routes():
    customer = CustomerFactory()
    target = AssetFactory(customer=customer)
    item = InventoryItemFactory(
        upfront_route=platform(PlatformCode.ABILLITY),
        recurring_route=platform(PlatformCode.AFFINITY),
    )

    order = services.sales_order_create(
        customer=customer,
        lines=[
            LineSpec(inventory_item=item),
            LineSpec(
                inventory_item=item,
                action=LineAction.UPDATE,
                target_asset=target,
                classification=Classification.RENEWAL,
                upfront_route=platform(PlatformCode.CONNECT),
            ),
        ],
    )

    plain, update = order.lines.order_by("id")
    assert (plain.action, plain.target_asset, plain.classification) == (
        LineAction.NEW,
        None,
        Classification.NEW,
    )
    assert (update.action, update.target_asset, update.classification) == (
        LineAction.UPDATE,
        target,
        Classification.RENEWAL,
    )
    # A route left None is the item's.
    assert (update.upfront_route, update.recurring_route) == (
        platform(PlatformCode.CONNECT),
        platform(PlatformCode.AFFINITY),
    )


def test_an_order_with_a_line_breaking_a_rule_is_not_made_and_sends_nothing(record_signal):
    created = record_signal(sales_order_created)
    customer = CustomerFactory()

    with pytest.raises(ValidationError) as raised:
        services.sales_order_create(
            customer=customer,
            lines=[LineSpec(inventory_item=InventoryItemFactory(), action=LineAction.UPDATE)],
        )

    assert "needs a target asset" in message_of(raised.value, "target_asset")
    assert created == []
    assert not SalesOrder.objects.filter(customer=customer).exists()


def test_adding_a_line_to_an_existing_order_sends_no_second_sales_order_created(record_signal):
    order = SalesOrderFactory()
    created = record_signal(sales_order_created)

    SalesOrderLineFactory(order=order)

    assert created == []


def test_a_sales_order_for_a_lead_is_refused_and_sends_nothing(record_signal):
    created = record_signal(sales_order_created)
    lead = LeadFactory()

    with pytest.raises(ValidationError) as raised:
        services.sales_order_create(customer=lead)

    assert "still a lead" in message_of(raised.value, "customer")
    assert created == []
    assert not SalesOrder.objects.exists()


def test_a_sales_order_gets_a_reference_when_none_is_given():
    order = SalesOrderFactory()

    assert order.reference == f"SO{order.pk:06d}"
    assert SalesOrderFactory(reference="PO-778").reference == "PO-778"


def test_a_sales_order_from_a_won_quote_copies_its_lines_prices_site_and_cli():
    quote = won_quote_of_a_lead()
    site = SiteFactory(customer=quote.customer)
    item = InventoryItemFactory(
        upfront_route=platform(PlatformCode.ABILLITY),
        recurring_route=platform(PlatformCode.AFFINITY),
    )
    QuoteLineFactory(
        quote=quote,
        inventory_item=item,
        quantity=3,
        sell_price=Decimal("9.99"),
        recurring_sell_price=Decimal("4.50"),
        site=site,
        cli="07700900123",
    )
    QuoteLineFactory(quote=quote)

    order = services.sales_order_create_from_quote(quote=quote)

    assert order.quote == quote
    assert order.customer == quote.customer
    first, second = order.lines.order_by("id")
    assert first.inventory_item == item
    assert first.quantity == 3
    assert first.sell_price == Decimal("9.99")
    assert first.recurring_sell_price == Decimal("4.50")
    assert first.site == site
    assert first.cli == "07700900123"
    assert first.upfront_route == platform(PlatformCode.ABILLITY)
    assert first.recurring_route == platform(PlatformCode.AFFINITY)
    assert first.action == LineAction.NEW
    assert second.site is None


def test_a_sales_order_from_a_won_quote_sends_sales_order_created_once(record_signal):
    quote = won_quote_of_a_lead()
    created = record_signal(sales_order_created)

    order = services.sales_order_create_from_quote(quote=quote)

    assert [call["order"] for call in created] == [order]


def test_an_order_reads_the_company_settings_once_whatever_its_number_of_lines():
    customer = CustomerFactory()
    lines = [LineSpec(inventory_item=InventoryItemFactory()) for _ in range(3)]
    CompanySettings.load()  # the row exists, as in any installation

    with CaptureQueriesContext(connection) as queries:
        services.sales_order_create(customer=customer, lines=lines)

    settings_reads = [
        query
        for query in queries.captured_queries
        if query["sql"].startswith("SELECT") and "customers_companysettings" in query["sql"]
    ]
    assert len(settings_reads) == 1
    assert SalesOrderLine.objects.filter(order__customer=customer).count() == 3


def test_a_lead_quote_won_then_ordered_fires_each_initial_sync_event_once(record_signal):
    converted = record_signal(lead_converted)
    created = record_signal(sales_order_created)
    quote = QuoteFactory()

    customer_services.quote_mark_won(quote=quote)
    services.sales_order_create_from_quote(quote=quote)

    assert len(converted) == 1
    assert len(created) == 1


def test_a_quote_already_ordered_is_refused(record_signal):
    quote = won_quote_of_a_lead()
    services.sales_order_create_from_quote(quote=quote)
    created = record_signal(sales_order_created)

    with pytest.raises(ValidationError) as raised:
        services.sales_order_create_from_quote(quote=quote)

    assert "already has a sales order" in message_of(raised.value, "quote")
    assert created == []
    assert SalesOrder.objects.filter(quote=quote).count() == 1


def test_a_quote_not_won_cannot_be_ordered():
    quote = QuoteFactory(customer=CustomerFactory())

    with pytest.raises(ValidationError) as raised:
        services.sales_order_create_from_quote(quote=quote)

    assert "not won" in message_of(raised.value, "quote")


def test_a_leads_open_quote_is_refused_as_not_won():
    quote = QuoteFactory()

    with pytest.raises(ValidationError) as raised:
        services.sales_order_create_from_quote(quote=quote)

    assert "not won" in message_of(raised.value, "quote")


def test_a_stale_copy_of_a_quote_is_checked_as_stored():
    quote = won_quote_of_a_lead()
    stale = type(quote).objects.get(pk=quote.pk)
    stale.status = QuoteStatus.DRAFT  # an out-of-date copy in the caller's hands
    services.sales_order_create(customer=quote.customer, quote=stale)

    assert SalesOrder.objects.get().quote_id == quote.pk


def test_a_sales_order_naming_a_quote_of_another_customer_is_refused():
    quote = won_quote_of_a_lead()

    with pytest.raises(ValidationError) as raised:
        services.sales_order_create(customer=CustomerFactory(), quote=quote)

    assert "another customer" in message_of(raised.value, "quote")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rolled_back_sales_order_leaves_no_order_and_no_lines():
    customer = CustomerFactory()

    with pytest.raises(RuntimeError), transaction.atomic():
        services.sales_order_create(
            customer=customer, lines=[LineSpec(inventory_item=InventoryItemFactory())]
        )
        raise RuntimeError("the caller fails after ordering")

    assert not SalesOrder.objects.exists()
    assert not SalesOrderLine.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rolled_back_quote_win_and_order_leave_the_lead_unconverted():
    quote = QuoteFactory()

    with pytest.raises(RuntimeError), transaction.atomic():
        customer_services.quote_mark_won(quote=quote)
        services.sales_order_create_from_quote(quote=quote)
        raise RuntimeError("the caller fails after ordering")

    assert Customer.objects.get(pk=quote.customer_id).stage == CustomerStage.LEAD
    assert not SalesOrder.objects.exists()


@on_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_quote_ordered_twice_at_once_makes_one_order():
    quote = won_quote_of_a_lead()

    results, errors = run_concurrently(
        lambda: services.sales_order_create_from_quote(quote=quote),
        lambda: services.sales_order_create_from_quote(quote=quote),
    )

    assert SalesOrder.objects.filter(quote=quote).count() == 1
    assert sum(result is not None for result in results) == 1
    refused = next(error for error in errors if error is not None)
    assert "already has a sales order" in message_of(refused, "quote")


# --- lines: data-capture actions ----------------------------------------------------------------


def test_a_new_line_takes_its_billing_routes_from_the_inventory_item():
    item = InventoryItemFactory(
        upfront_route=platform(PlatformCode.THE_LAYER),
        recurring_route=platform(PlatformCode.ABILLITY),
    )

    line = SalesOrderLineFactory(inventory_item=item)

    assert line.upfront_route == platform(PlatformCode.THE_LAYER)
    assert line.recurring_route == platform(PlatformCode.ABILLITY)


def test_a_route_set_on_a_new_line_is_kept():
    item = InventoryItemFactory(recurring_route=platform(PlatformCode.ABILLITY))

    line = SalesOrderLineFactory(
        inventory_item=item, recurring_route=platform(PlatformCode.AFFINITY)
    )

    assert line.recurring_route == platform(PlatformCode.AFFINITY)


def test_changing_the_items_routes_later_does_not_change_a_saved_line():
    item = InventoryItemFactory(recurring_route=platform(PlatformCode.ABILLITY))
    line = SalesOrderLineFactory(inventory_item=item)

    item.recurring_route = platform(PlatformCode.AFFINITY)
    item.save()
    line.quantity = 2
    services.sales_order_line_save(line=line)

    assert SalesOrderLine.objects.get(pk=line.pk).recurring_route == platform(PlatformCode.ABILLITY)


def test_a_new_line_with_a_target_asset_is_refused():
    order = SalesOrderFactory()
    target = AssetFactory(customer=order.customer)

    with pytest.raises(ValidationError) as raised:
        SalesOrderLineFactory(order=order, action=LineAction.NEW, target_asset=target)

    assert "no target" in message_of(raised.value, "target_asset")


@pytest.mark.parametrize("action", [LineAction.UPDATE, LineAction.NEW_AND_CEASE])
def test_update_and_new_and_cease_need_a_target_asset(action, new_and_cease_on):
    with pytest.raises(ValidationError) as raised:
        SalesOrderLineFactory(action=action, target_asset=None)

    assert "needs a target asset" in message_of(raised.value, "target_asset")
    assert not SalesOrderLine.objects.exists()


def test_new_and_cease_is_refused_while_disabled_in_company_settings():
    set_company(new_and_cease_enabled=False)
    order = SalesOrderFactory()
    target = AssetFactory(customer=order.customer)

    with pytest.raises(ValidationError) as raised:
        SalesOrderLineFactory(order=order, action=LineAction.NEW_AND_CEASE, target_asset=target)

    assert "not enabled" in message_of(raised.value, "action")


def test_update_is_refused_while_disabled_in_company_settings():
    set_company(update_action_enabled=False)
    order = SalesOrderFactory()
    target = AssetFactory(customer=order.customer)

    with pytest.raises(ValidationError) as raised:
        SalesOrderLineFactory(order=order, action=LineAction.UPDATE, target_asset=target)

    assert "disabled" in message_of(raised.value, "action")


def test_a_target_asset_of_another_customer_is_refused(new_and_cease_on):
    foreign_asset = AssetFactory()

    with pytest.raises(ValidationError) as raised:
        SalesOrderLineFactory(action=LineAction.NEW_AND_CEASE, target_asset=foreign_asset)

    assert "another customer" in message_of(raised.value, "target_asset")


def test_a_ceased_target_asset_is_refused_for_a_new_line(new_and_cease_on):
    order = SalesOrderFactory()
    target = AssetFactory(customer=order.customer)
    Asset.objects.filter(pk=target.pk).update(status=AssetStatus.CEASED)

    with pytest.raises(ValidationError) as raised:
        SalesOrderLineFactory(order=order, action=LineAction.NEW_AND_CEASE, target_asset=target)

    assert "already ceased" in message_of(raised.value, "target_asset")


def test_a_line_site_of_another_customer_is_refused():
    with pytest.raises(ValidationError) as raised:
        SalesOrderLineFactory(site=SiteFactory())

    assert "another customer" in message_of(raised.value, "site")


def test_an_unknown_action_is_a_field_error_not_a_crash():
    with pytest.raises(ValidationError) as raised:
        SalesOrderLineFactory(action="teleport")

    assert "action" in raised.value.message_dict


def test_editing_a_captured_new_and_cease_line_after_the_setting_is_switched_off_is_allowed(
    new_and_cease_on,
):
    order = SalesOrderFactory()
    target = AssetFactory(customer=order.customer)
    line = SalesOrderLineFactory(order=order, action=LineAction.NEW_AND_CEASE, target_asset=target)
    set_company(new_and_cease_enabled=False)

    line.cli = "07700900999"
    services.sales_order_line_save(line=line)

    assert SalesOrderLine.objects.get(pk=line.pk).cli == "07700900999"


# --- converting lines to assets ------------------------------------------------------------


def test_converting_a_line_makes_an_asset_carrying_the_lines_values():
    site = SiteFactory()
    item = InventoryItemFactory(recurring_route=platform(PlatformCode.ABILLITY))
    order = SalesOrderFactory(customer=site.customer)
    line = SalesOrderLineFactory(
        order=order, inventory_item=item, site=site, quantity=2, cli="07700900321"
    )

    asset = services.sales_order_line_convert_to_asset(
        line=line, connection_date=date(2025, 3, 3), issue_date=date(2025, 3, 1)
    )

    assert asset.customer == site.customer
    assert asset.site == site
    assert asset.inventory_item == item
    assert asset.sales_order_line == line
    assert asset.identifier == "07700900321"  # the captured CLI, when none is given
    assert asset.connection_date == date(2025, 3, 3)
    assert asset.issue_date == date(2025, 3, 1)
    assert asset.quantity == 2
    assert asset.sell_price == line.sell_price
    assert asset.recurring_sell_price == line.recurring_sell_price
    assert asset.recurring_route == platform(PlatformCode.ABILLITY)
    assert asset.status == AssetStatus.LIVE


def test_an_identifier_given_at_conversion_wins_over_the_captured_cli():
    line = SalesOrderLineFactory(cli="07700900321")

    asset = services.sales_order_line_convert_to_asset(line=line, identifier="07700900999")

    assert asset.identifier == "07700900999"


def test_new_and_cease_ceases_the_target_the_day_before_the_new_connection_date(
    new_and_cease_on,
):
    order = SalesOrderFactory()
    target = AssetFactory(customer=order.customer)
    line = SalesOrderLineFactory(order=order, action=LineAction.NEW_AND_CEASE, target_asset=target)

    new = services.sales_order_line_convert_to_asset(line=line, connection_date=date(2025, 3, 1))

    target.refresh_from_db()
    assert target.status == AssetStatus.CEASED
    assert target.cease_date == date(2025, 2, 28)
    assert new.status == AssetStatus.LIVE


def test_new_and_cease_without_a_connection_date_is_refused(new_and_cease_on):
    order = SalesOrderFactory()
    target = AssetFactory(customer=order.customer)
    line = SalesOrderLineFactory(order=order, action=LineAction.NEW_AND_CEASE, target_asset=target)

    with pytest.raises(ValidationError) as raised:
        services.sales_order_line_convert_to_asset(line=line)

    assert "connection date" in message_of(raised.value, "connection_date")
    target.refresh_from_db()
    assert target.status == AssetStatus.LIVE
    assert not Asset.objects.filter(sales_order_line=line).exists()


def test_a_converted_new_and_cease_line_can_still_be_edited(new_and_cease_on):
    order = SalesOrderFactory()
    target = AssetFactory(customer=order.customer)
    line = SalesOrderLineFactory(order=order, action=LineAction.NEW_AND_CEASE, target_asset=target)
    services.sales_order_line_convert_to_asset(line=line, connection_date=date(2025, 3, 1))

    line.refresh_from_db()
    line.cli = "07700900999"
    services.sales_order_line_save(line=line)  # its target is ceased by now

    assert SalesOrderLine.objects.get(pk=line.pk).cli == "07700900999"


def test_a_converted_lines_action_and_target_can_no_longer_change(new_and_cease_on):
    order = SalesOrderFactory()
    target = AssetFactory(customer=order.customer)
    line = SalesOrderLineFactory(order=order)
    services.sales_order_line_convert_to_asset(line=line)

    line.refresh_from_db()
    line.action, line.target_asset = LineAction.NEW_AND_CEASE, target
    with pytest.raises(ValidationError) as raised:
        services.sales_order_line_save(line=line)

    assert "already converted" in message_of(raised.value, "action")


def test_converting_a_line_twice_is_refused():
    line = SalesOrderLineFactory()
    services.sales_order_line_convert_to_asset(line=line)

    with pytest.raises(ValidationError) as raised:
        services.sales_order_line_convert_to_asset(line=line)

    assert "already converted" in message_of(raised.value, "line")
    assert Asset.objects.filter(sales_order_line=line).count() == 1


def test_the_first_asset_makes_a_pending_customer_live():
    customer = CustomerFactory(status=CustomerStatus.PENDING)
    line = SalesOrderLineFactory(order=SalesOrderFactory(customer=customer))

    services.sales_order_line_convert_to_asset(line=line)

    assert Customer.objects.get(pk=customer.pk).status == CustomerStatus.LIVE


def test_a_converted_lead_becomes_live_with_its_first_asset():
    quote = won_quote_of_a_lead()
    QuoteLineFactory(quote=quote)
    order = services.sales_order_create_from_quote(quote=quote)
    assert Customer.objects.get(pk=quote.customer_id).status == CustomerStatus.PENDING

    services.sales_order_line_convert_to_asset(line=order.lines.get())

    assert Customer.objects.get(pk=quote.customer_id).status == CustomerStatus.LIVE


def test_an_asset_does_not_revive_a_cancelled_customer():
    customer = CustomerFactory(status=CustomerStatus.CANCELLED)
    line = SalesOrderLineFactory(order=SalesOrderFactory(customer=customer))

    services.sales_order_line_convert_to_asset(line=line)

    assert Customer.objects.get(pk=customer.pk).status == CustomerStatus.CANCELLED


def test_an_update_line_is_not_converted_to_a_new_asset():
    order = SalesOrderFactory()
    target = AssetFactory(customer=order.customer)
    line = SalesOrderLineFactory(order=order, action=LineAction.UPDATE, target_asset=target)

    with pytest.raises(ValidationError) as raised:
        services.sales_order_line_convert_to_asset(line=line)

    assert "action" in raised.value.message_dict
    assert not Asset.objects.filter(sales_order_line=line).exists()


def test_a_target_ceased_since_the_line_was_captured_blocks_the_conversion(new_and_cease_on):
    order = SalesOrderFactory()
    target = AssetFactory(customer=order.customer)
    first = SalesOrderLineFactory(order=order, action=LineAction.NEW_AND_CEASE, target_asset=target)
    second = SalesOrderLineFactory(
        order=order, action=LineAction.NEW_AND_CEASE, target_asset=target
    )
    services.sales_order_line_convert_to_asset(line=first, connection_date=date(2025, 3, 1))

    with pytest.raises(ValidationError) as raised:
        services.sales_order_line_convert_to_asset(line=second, connection_date=date(2025, 4, 1))

    assert "already ceased" in message_of(raised.value, "target_asset")
    target.refresh_from_db()
    assert target.cease_date == date(2025, 2, 28)


@on_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_line_converted_twice_at_once_makes_one_asset():
    line = SalesOrderLineFactory()

    results, errors = run_concurrently(
        lambda: services.sales_order_line_convert_to_asset(line=line),
        lambda: services.sales_order_line_convert_to_asset(line=line),
    )

    assert Asset.objects.filter(sales_order_line=line).count() == 1
    assert sum(result is not None for result in results) == 1
    assert sum(isinstance(error, ValidationError) for error in errors) == 1


# --- validators: the read-only checks the admin runs at form validation ---------------------


def _update_line_without_a_target():
    line = SalesOrderLine(
        order=SalesOrderFactory(), inventory_item=InventoryItemFactory(), action=LineAction.UPDATE
    )
    return services.sales_order_line_validate, {"line": line}, "target_asset"


def _line_of_an_order_not_saved_yet_targeting_another_customers_asset():
    line = SalesOrderLine(
        order=SalesOrder(customer=CustomerFactory()),
        inventory_item=InventoryItemFactory(),
        action=LineAction.UPDATE,
        target_asset=AssetFactory(),
    )
    return services.sales_order_line_validate, {"line": line}, "target_asset"


def _line_targeting_an_asset_ceased_since_the_caller_loaded_it():
    order = SalesOrderFactory()
    target = AssetFactory(customer=order.customer)
    Asset.objects.filter(pk=target.pk).update(status=AssetStatus.CEASED)
    line = SalesOrderLine(
        order=order,
        inventory_item=InventoryItemFactory(),
        action=LineAction.UPDATE,
        target_asset=target,  # the caller's copy still says live
    )
    return services.sales_order_line_validate, {"line": line}, "target_asset"


def _converted_line_given_another_action():
    order = SalesOrderFactory()
    target = AssetFactory(customer=order.customer)
    line = SalesOrderLineFactory(order=order)
    services.sales_order_line_convert_to_asset(line=line)
    line.refresh_from_db()
    line.action, line.target_asset = LineAction.UPDATE, target
    return services.sales_order_line_validate, {"line": line}, "action"


def _asset_at_a_site_of_another_customer():
    asset = AssetFactory()
    asset.site = SiteFactory()
    return services.asset_validate, {"asset": asset}, "site"


def _asset_made_from_a_line_of_another_customers_order():
    asset = AssetFactory()
    asset.sales_order_line = SalesOrderLineFactory()
    return services.asset_validate, {"asset": asset}, "sales_order_line"


def _order_for_a_lead():
    return services.sales_order_create_validate, {"customer": LeadFactory()}, "customer"


def _order_of_a_quote_already_ordered():
    quote = won_quote_of_a_lead()
    services.sales_order_create_from_quote(quote=quote)
    arguments = {"customer": Customer.objects.get(pk=quote.customer_id), "quote": quote}
    return services.sales_order_create_validate, arguments, "quote"


def _order_of_a_quote_of_another_customer():
    arguments = {"customer": CustomerFactory(), "quote": won_quote_of_a_lead()}
    return services.sales_order_create_validate, arguments, "quote"


REFUSED_BY_A_VALIDATOR = [
    _update_line_without_a_target,
    _line_of_an_order_not_saved_yet_targeting_another_customers_asset,
    _line_targeting_an_asset_ceased_since_the_caller_loaded_it,
    _converted_line_given_another_action,
    _asset_at_a_site_of_another_customer,
    _asset_made_from_a_line_of_another_customers_order,
    _order_for_a_lead,
    _order_of_a_quote_already_ordered,
    _order_of_a_quote_of_another_customer,
]


@pytest.mark.parametrize("case", REFUSED_BY_A_VALIDATOR, ids=lambda case: case.__name__[1:])
def test_a_validator_refuses_with_an_error_on_the_field_and_only_reads(case):
    validate, arguments, field = case()

    with CaptureQueriesContext(connection) as queries, pytest.raises(ValidationError) as raised:
        validate(**arguments)

    assert field in raised.value.message_dict
    statements = [query["sql"].split(None, 1)[0].upper() for query in queries.captured_queries]
    assert set(statements) <= {"SELECT"}


def test_validators_accept_an_order_and_lines_that_keep_the_rules():
    quote = won_quote_of_a_lead()
    customer = Customer.objects.get(pk=quote.customer_id)
    target = AssetFactory(customer=customer)
    new_order = SalesOrder(customer=customer, quote=quote)

    services.sales_order_create_validate(customer=customer, quote=quote)
    services.sales_order_line_validate(
        line=SalesOrderLine(
            order=new_order,
            inventory_item=InventoryItemFactory(),
            site=SiteFactory(customer=customer),
            action=LineAction.UPDATE,
            target_asset=target,
        )
    )


@pytest.mark.parametrize(
    ("validator", "save"),
    [
        ("sales_order_create_validate", lambda: SalesOrderFactory()),
        ("sales_order_line_validate", lambda: SalesOrderLineFactory()),
        ("asset_validate", lambda: AssetFactory()),
    ],
)
def test_the_save_service_refuses_what_its_validator_refuses(monkeypatch, validator, save):
    def refuse(**kwargs):
        raise ValidationError({"customer": "refused by the validator"})

    monkeypatch.setattr(services, validator, refuse)

    with pytest.raises(ValidationError) as raised:
        save()

    assert raised.value.message_dict == {"customer": ["refused by the validator"]}


# --- assets ------------------------------------------------------------------------------------


def test_an_asset_edit_within_the_rules_is_saved():
    asset = AssetFactory()
    site = SiteFactory(customer=asset.customer)

    asset.site, asset.cost_centre = site, "Sales"
    services.asset_save(asset=asset)

    stored = Asset.objects.get(pk=asset.pk)
    assert (stored.site, stored.cost_centre) == (site, "Sales")


def test_an_asset_at_a_site_of_another_customer_is_refused_and_unchanged():
    asset = AssetFactory()

    asset.site = SiteFactory()
    with pytest.raises(ValidationError) as raised:
        services.asset_save(asset=asset)

    assert "another customer" in message_of(raised.value, "site")
    assert Asset.objects.get(pk=asset.pk).site is None


def test_an_asset_made_from_a_line_of_another_customers_order_is_refused():
    asset = AssetFactory()
    line_id = asset.sales_order_line_id

    asset.sales_order_line = SalesOrderLineFactory()
    with pytest.raises(ValidationError) as raised:
        services.asset_save(asset=asset)

    assert "another customer" in message_of(raised.value, "sales_order_line")
    assert Asset.objects.get(pk=asset.pk).sales_order_line_id == line_id


def test_an_asset_needs_an_inventory_item():
    asset = AssetFactory()

    asset.inventory_item = None
    with pytest.raises(ValidationError) as raised:
        services.asset_save(asset=asset)

    assert "inventory_item" in raised.value.message_dict
