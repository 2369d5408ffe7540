"""The platforms' rules before anything is sent: at quote, sales order and data capture,
each failure a clear message on the field where it is fixed."""

from datetime import date

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from billing import services
from billing.choices import PlatformCode
from billing.models import BaseCategory, BillingPlatform
from customers import services as customer_services
from customers.models import QuoteLine
from tests.factories import (
    CustomerFactory,
    InventoryItemFactory,
    QuoteFactory,
    SalesOrderFactory,
    SiteFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def affinity():
    route = BillingPlatform.objects.get(code=PlatformCode.AFFINITY)
    route.integration_enabled = True
    route.save()
    return route


def _customer(**fields):
    defaults = {"payment_terms": "30 days", "payment_method": "Direct Debit"}
    customer = CustomerFactory(**{**defaults, **fields})
    SiteFactory(customer=customer, is_default=True)
    return customer


def _item(route, *, sku="MOB-SIM-30", category="Mobile"):
    return InventoryItemFactory(
        upfront_route=route,
        recurring_route=route,
        external_sku=sku,
        base_category=BaseCategory.objects.get(name=category),
    )


def _order_line(customer, item, *, cli="07700900123", site=True):
    return services.LineSpec(
        inventory_item=item, site=customer.sites.first() if site else None, cli=cli
    )


def _errors(excinfo) -> dict:
    return excinfo.value.message_dict


def test_a_sales_order_line_cli_is_normalised_to_national_format(affinity):
    customer = _customer()
    order = SalesOrderFactory(
        customer=customer, lines=[_order_line(customer, _item(affinity), cli="+44 7700 900123")]
    )
    assert order.lines.get().cli == "07700900123"


def test_a_cli_based_affinity_line_without_a_cli_is_refused_on_the_cli(affinity):
    customer = _customer()
    with pytest.raises(ValidationError) as excinfo:
        SalesOrderFactory(customer=customer, lines=[_order_line(customer, _item(affinity), cli="")])
    assert "enter its CLI on the sales order" in " ".join(_errors(excinfo)["cli"])


def test_an_invalid_cli_is_refused_on_the_cli(affinity):
    customer = _customer()
    with pytest.raises(ValidationError) as excinfo:
        SalesOrderFactory(
            customer=customer, lines=[_order_line(customer, _item(affinity), cli="123")]
        )
    assert "no leading 0" in " ".join(_errors(excinfo)["cli"])


def test_an_affinity_product_without_an_external_sku_is_refused_on_the_item(affinity):
    customer = _customer()
    with pytest.raises(ValidationError) as excinfo:
        SalesOrderFactory(customer=customer, lines=[_order_line(customer, _item(affinity, sku=""))])
    assert "no External SKU" in " ".join(_errors(excinfo)["inventory_item"])


def test_an_affinity_line_needs_a_site(affinity):
    customer = _customer()
    with pytest.raises(ValidationError) as excinfo:
        SalesOrderFactory(
            customer=customer, lines=[_order_line(customer, _item(affinity), site=False)]
        )
    assert "need a site" in " ".join(_errors(excinfo)["site"])


def test_missing_billing_details_are_named_for_the_customer_record(affinity):
    customer = _customer(payment_method="")
    with pytest.raises(ValidationError) as excinfo:
        SalesOrderFactory(customer=customer, lines=[_order_line(customer, _item(affinity))])
    message = " ".join(_errors(excinfo)[NON_FIELD_ERRORS])
    assert "no payment method" in message and "customer record" in message


def test_the_rules_are_off_while_the_affinity_integration_is_off():
    route = BillingPlatform.objects.get(code=PlatformCode.AFFINITY)
    customer = _customer(payment_method="")
    order = SalesOrderFactory(
        customer=customer, lines=[_order_line(customer, _item(route, sku=""), cli="")]
    )
    assert order.lines.count() == 1


def test_a_quote_line_is_checked_at_quote_stage_and_its_cli_normalised(affinity):
    customer = _customer()
    quote = QuoteFactory(customer=customer)
    item = _item(affinity)
    with pytest.raises(ValidationError) as excinfo:
        customer_services.quote_line_save(
            line=QuoteLine(quote=quote, inventory_item=item, site=customer.sites.first())
        )
    assert "enter its CLI on the quote" in " ".join(_errors(excinfo)["cli"])
    line = customer_services.quote_line_save(
        line=QuoteLine(
            quote=quote, inventory_item=item, site=customer.sites.first(), cli="447700900123"
        )
    )
    assert line.cli == "07700900123"


def test_cli_presence_at_quote_stage_is_a_setting(affinity, settings):
    settings.AFFINITY_CLI_REQUIRED_STAGES = ("sales_order", "data_capture")
    customer = _customer()
    line = customer_services.quote_line_save(
        line=QuoteLine(
            quote=QuoteFactory(customer=customer),
            inventory_item=_item(affinity),
            site=customer.sites.first(),
        )
    )
    assert line.pk


def test_data_capture_checks_and_normalises_the_assets_identifier(affinity):
    customer = _customer()
    order = SalesOrderFactory(customer=customer, lines=[_order_line(customer, _item(affinity))])
    line = order.lines.get()
    with pytest.raises(ValidationError) as excinfo:
        services.sales_order_line_convert_to_asset(line=line, identifier="12345")
    assert "no leading 0" in " ".join(_errors(excinfo)["identifier"])
    asset = services.sales_order_line_convert_to_asset(
        line=line, identifier="+44 7700 900999", connection_date=date(2024, 4, 1)
    )
    assert asset.identifier == "07700900999"


def test_an_abillity_line_cli_is_normalised_and_at_most_17_characters():
    route = BillingPlatform.objects.get(code=PlatformCode.ABILLITY)
    route.integration_enabled = True
    route.save()
    customer = _customer()
    item = _item(route, sku="")
    order = SalesOrderFactory(
        customer=customer,
        lines=[
            _order_line(customer, item, cli=""),
            _order_line(customer, item, cli="+44 113 496 0000"),
            _order_line(customer, item, cli="LL-HG1-100M"),  # a circuit reference
        ],
    )
    assert [line.cli for line in order.lines.all()] == ["", "01134960000", "LL-HG1-100M"]
    with pytest.raises(ValidationError) as excinfo:
        SalesOrderFactory(
            customer=customer, lines=[_order_line(customer, item, cli="CIRCUIT-0123456789")]
        )
    assert "at most 17" in " ".join(_errors(excinfo)["cli"])


def test_a_serial_item_is_not_cli_based(affinity):
    customer = _customer()
    item = _item(affinity, sku="HW-ROUTER", category="Hardware")
    order = SalesOrderFactory(customer=customer, lines=[_order_line(customer, item, cli="SN-1")])
    assert order.lines.get().cli == "SN-1"
