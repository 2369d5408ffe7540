"""factory_boy factories. Records are saved through the services, so the
factories obey the same rules as the admin and the API (lead records, one
default site, generated site refs)."""

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils.text import slugify

from billing import services as billing_services
from billing.choices import BillingFrequency, ItemType, PlatformCode
from billing.models import (
    Asset,
    BaseCategory,
    BillingPlatform,
    InventoryItem,
    SalesOrder,
    SalesOrderLine,
)
from customers import services
from customers.choices import CustomerStage, CustomerStatus
from customers.models import (
    Address,
    Contact,
    ContactType,
    Customer,
    Quote,
    QuoteLine,
    Site,
    SiteAddress,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password("correct-horse-battery")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n} Ltd")
    stage = CustomerStage.CUSTOMER
    status = CustomerStatus.PENDING
    email = factory.LazyAttribute(
        lambda c: f"accounts@{slugify(c.name) or 'customer'}.example.test"
    )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.customer_save(customer=model_class(*args, **kwargs))


class LeadFactory(CustomerFactory):
    stage = CustomerStage.LEAD


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"Site {n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.site_save(site=model_class(*args, **kwargs))


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    customer = factory.SubFactory(CustomerFactory)
    street1 = factory.Sequence(lambda n: f"{n} High Street")
    city = "Leeds"
    county = "West Yorkshire"
    postcode = "LS1 4AP"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.address_save(address=model_class(*args, **kwargs))


class SiteAddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SiteAddress

    site = factory.SubFactory(SiteFactory)
    address = factory.SubFactory(AddressFactory, customer=factory.SelfAttribute("..site.customer"))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.site_address_save(link=model_class(*args, **kwargs))


class ContactTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactType
        django_get_or_create = ("name",)

    name = "Billing"
    is_billing = True


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    first_name = factory.Faker("first_name", locale="en_GB")
    last_name = factory.Faker("last_name", locale="en_GB")
    email = factory.LazyAttribute(lambda c: f"{c.first_name.lower()}@example.test")
    telephone = "0113 496 0000"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.contact_save(contact=model_class(*args, **kwargs))


class QuoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quote

    customer = factory.SubFactory(LeadFactory)
    reference = factory.Sequence(lambda n: f"Q{n:05d}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.quote_save(quote=model_class(*args, **kwargs))


def platform(code: PlatformCode) -> BillingPlatform:
    """One of the billing platforms every installation has (made by a migration)."""
    return BillingPlatform.objects.get(code=code)


class InventoryItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InventoryItem

    name = factory.Sequence(lambda n: f"Business Mobile {n}")
    item_type = ItemType.SERVICE
    base_category = factory.LazyFunction(lambda: BaseCategory.objects.get(name="Mobile"))
    billing_frequency = BillingFrequency.MONTHLY
    sell_price = Decimal("25.00")
    recurring_sell_price = Decimal("12.50")


class QuoteLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuoteLine

    quote = factory.SubFactory(QuoteFactory)
    inventory_item = factory.SubFactory(InventoryItemFactory)
    sell_price = factory.LazyAttribute(lambda line: line.inventory_item.sell_price)
    recurring_sell_price = factory.LazyAttribute(
        lambda line: line.inventory_item.recurring_sell_price
    )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.quote_line_save(line=model_class(*args, **kwargs))


class SalesOrderFactory(factory.django.DjangoModelFactory):
    """A sales order made by `sales_order_create` (so `sales_order_created` is sent).

    Pass `lines=[LineSpec(...)]`, `quote=` or `user=` as `sales_order_create` takes them.
    """

    class Meta:
        model = SalesOrder

    customer = factory.SubFactory(CustomerFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return billing_services.sales_order_create(**kwargs)


class SalesOrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesOrderLine

    order = factory.SubFactory(SalesOrderFactory)
    inventory_item = factory.SubFactory(InventoryItemFactory)
    sell_price = factory.LazyAttribute(lambda line: line.inventory_item.sell_price)
    recurring_sell_price = factory.LazyAttribute(
        lambda line: line.inventory_item.recurring_sell_price
    )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return billing_services.sales_order_line_save(line=model_class(*args, **kwargs))


class AssetFactory(factory.django.DjangoModelFactory):
    """A live asset, made as staff make one: a New line on an order, converted.

    Converting makes a Pending customer Live, as the service does.
    """

    class Meta:
        model = Asset

    customer = factory.SubFactory(CustomerFactory)
    inventory_item = factory.SubFactory(InventoryItemFactory)
    site = None
    identifier = factory.Sequence(lambda n: f"07700{n:06d}")
    connection_date = date(2024, 4, 1)
    issue_date = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        order = billing_services.sales_order_create(
            customer=kwargs["customer"],
            lines=[
                billing_services.LineSpec(
                    inventory_item=kwargs["inventory_item"], site=kwargs["site"]
                )
            ],
        )
        return billing_services.sales_order_line_convert_to_asset(
            line=order.lines.get(),
            identifier=kwargs["identifier"],
            connection_date=kwargs["connection_date"],
            issue_date=kwargs["issue_date"],
        )


# --- essensys Connect: account types, locations, account codes (seed 004) ----------------
class AccountTypeFactory(factory.django.DjangoModelFactory):
    """A custom account type (Residential and Virtual are made by a migration)."""

    class Meta:
        model = "customers.AccountType"
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Custom type {n}")
    code = factory.LazyAttribute(lambda t: slugify(t.name))


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "billing.Location"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Location {n}")
    connect_site_id = factory.Sequence(lambda n: f"SITE-{n:04d}")
    connect_call_logger = True


class ProductGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "billing.ProductGroup"
        django_get_or_create = ("name",)

    name = "Telephone Charges"


class AccountCodeFactory(factory.django.DjangoModelFactory):
    """A customer's Connect account code, set through the service."""

    class Meta:
        model = "billing.AccountCode"

    customer = factory.SubFactory(CustomerFactory)
    code = factory.Sequence(lambda n: f"ACC{n:05d}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from billing.call_charges import account_code_set

        location = kwargs.get("location")
        if location is None:
            # The location the call charge tests import at (tests/billing/call_charge_helpers).
            location = LocationFactory(name="Leeds Hub")
        return account_code_set(
            customer=kwargs["customer"],
            platform_code=kwargs.get("platform_code", PlatformCode.CONNECT),
            code=kwargs["code"],
            location=location,
        )
