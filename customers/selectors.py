"""Reads of the customers app. Each rule that decides something lives here once."""

from dataclasses import dataclass

from django.apps import apps
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Lower

from .choices import AddressPriorityStep, QuoteStatus
from .models import Address, Customer, Quote, Site, SiteAddress


def customer_with_name(*, name: str, exclude_pk: int | None = None) -> Customer | None:
    """The customer already holding `name` (compared case-insensitively), if any.

    Compared with the database's LOWER(), exactly as the `customer_name_unique_ci`
    constraint compares, so this check and the constraint never disagree
    (`iexact` uses UPPER() on PostgreSQL, which folds a few letters differently).
    """
    clashes = Customer.objects.annotate(name_lower=Lower("name")).filter(
        name_lower=Lower(Value(name.strip()))
    )
    if exclude_pk is not None:
        clashes = clashes.exclude(pk=exclude_pk)
    return clashes.only("pk", "name").first()


def customer_name_clash_error(*, name: str, exclude_pk: int | None = None) -> str | None:
    """The message for a name that another customer already has, or None when it is free."""
    if not name:
        return None
    existing = customer_with_name(name=name, exclude_pk=exclude_pk)
    if existing is None:
        return None
    return (
        f'Customer #{existing.pk} is already named "{existing.name}". Customer names must be '
        "unique to sync to the billing platforms: choose a distinguishing name (a town or "
        "trading name) and keep the shared legal name in Registered Company Name."
    )


def integration_active() -> bool:
    """Whether any billing integration is switched on (Layer subsites are then unavailable)."""
    billing_platform = apps.get_model("billing", "BillingPlatform")
    return billing_platform.objects.filter(integration_enabled=True).exists()


def customer_default_site(*, customer: Customer) -> Site | None:
    """The customer's default site (there is one as soon as it has any site)."""
    return customer.sites.filter(is_default=True).first()


def site_default_address(*, site: Site) -> Address | None:
    """The address whose association with `site` carries the site-default flag, if any."""
    link = (
        SiteAddress.objects.filter(site=site, is_site_default=True)
        .select_related("address")
        .first()
    )
    return link.address if link else None


def customer_quote_for_sync(*, customer: Customer) -> Quote | None:
    """The quote whose details an initial sync falls back on: the latest won, else the latest."""
    # NULLs last explicitly: PostgreSQL sorts them first in a descending order, SQLite last.
    quotes = customer.quotes.order_by(F("won_at").desc(nulls_last=True), "-created_at", "-id")
    return quotes.filter(status=QuoteStatus.WON).first() or quotes.first()


@dataclass(frozen=True)
class AddressChoice:
    """The address chosen for a site, and the step of the priority chain that chose it."""

    address: Address | None
    step: AddressPriorityStep | None

    @property
    def reason(self) -> str:
        return self.step.label if self.step else "The customer has no address"


def site_address_for_sync(*, site: Site, quote: Quote | None = None) -> AddressChoice:
    """The one address synced for `site`, by seed 000's priority chain.

    1. the site's own default address;
    2. the customer's default site's default address;
    3. the quote's invoice address (`quote`, else `customer_quote_for_sync`'s: the
       customer's latest won quote, or its latest quote when none is won);
    4. the customer's default address;
    5. the first address on the customer record.

    A step with nothing to offer falls through to the next. `quote`, when
    given, is used instead of the customer's own choice; it must be a quote of
    the site's customer.
    """
    customer = site.customer
    if quote is not None and quote.customer_id != customer.pk:
        raise ValueError(f"Quote {quote.pk} is not a quote of {customer}, the site's customer.")
    address = site_default_address(site=site)
    if address:
        return AddressChoice(address, AddressPriorityStep.SITE_DEFAULT)

    default_site = customer_default_site(customer=customer)
    if default_site and default_site.pk != site.pk:
        address = site_default_address(site=default_site)
        if address:
            return AddressChoice(address, AddressPriorityStep.DEFAULT_SITE_DEFAULT)

    quote = quote or customer_quote_for_sync(customer=customer)
    if quote and quote.invoice_address_id:
        return AddressChoice(quote.invoice_address, AddressPriorityStep.QUOTE_INVOICE)

    address = customer.addresses.filter(is_default=True).first()
    if address:
        return AddressChoice(address, AddressPriorityStep.CUSTOMER_DEFAULT)

    address = customer.addresses.order_by("created_at", "id").first()
    if address:
        return AddressChoice(address, AddressPriorityStep.FIRST_ON_CUSTOMER)
    return AddressChoice(None, None)


def sites_using_address(*, address: Address) -> QuerySet[Site]:
    """Sites whose synced address may be `address` (every site of its customer).

    Through steps 2 to 5 of the chain, an address can be synced to sites it
    is not linked to, so a change to it concerns all the customer's sites.
    """
    return Site.objects.filter(customer_id=address.customer_id)
