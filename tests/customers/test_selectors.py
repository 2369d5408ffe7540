"""The reads of customers.selectors, above all seed 000's address-priority chain.

`site_address_for_sync` picks one address for a site, by these steps in order:
1. the synced site's default address; 2. the default site's default address;
3. the quote invoice address; 4. the customer default address; 5. the first
address on the customer. Each step's test gives every lower step an address
too, so the step can only pass by winning over them.
"""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import BillingPlatform
from customers import services
from customers.choices import AddressPriorityStep, QuoteStatus
from customers.models import Customer, Quote
from customers.selectors import (
    customer_name_clash_error,
    customer_quote_for_sync,
    customer_with_name,
    integration_active,
    site_address_for_sync,
)
from tests.factories import (
    AddressFactory,
    CustomerFactory,
    QuoteFactory,
    SiteAddressFactory,
    SiteFactory,
)

pytestmark = pytest.mark.django_db


class Book:
    """A customer with a default site and a second site (the one synced), and helpers
    that give each step of the chain its own, recognisable address."""

    def __init__(self):
        self.customer = CustomerFactory()
        self.default_site = SiteFactory(customer=self.customer, name="Head Office")
        self.synced_site = SiteFactory(customer=self.customer, name="Branch")
        # Step 5 is always available once any address exists; make it first.
        self.first = AddressFactory(customer=self.customer, name="first on record")

    def address(self, name: str, **fields):
        return AddressFactory(customer=self.customer, name=name, **fields)

    def give_step_1(self):
        address = self.address("synced site default")
        SiteAddressFactory(site=self.synced_site, address=address, is_site_default=True)
        return address

    def give_step_2(self):
        address = self.address("default site default")
        SiteAddressFactory(site=self.default_site, address=address, is_site_default=True)
        return address

    def give_step_3(self):
        address = self.address("quote invoice")
        quote = QuoteFactory(customer=self.customer, invoice_address=address)
        services.quote_mark_won(quote=quote)
        return address

    def give_step_4(self):
        return self.address("customer default", is_default=True)

    def choose(self, **kwargs):
        return site_address_for_sync(site=self.synced_site, **kwargs)


@pytest.fixture
def book() -> Book:
    return Book()


# --- each step wins over all lower steps ---------------------------------------------------


def test_step_1_synced_site_default_address_wins_over_all_lower_steps(book):
    expected = book.give_step_1()
    book.give_step_2()
    book.give_step_3()
    book.give_step_4()

    choice = book.choose()

    assert choice.address == expected
    assert choice.step == AddressPriorityStep.SITE_DEFAULT


def test_step_2_default_site_default_address_wins_over_steps_3_to_5(book):
    expected = book.give_step_2()
    book.give_step_3()
    book.give_step_4()

    choice = book.choose()

    assert choice.address == expected
    assert choice.step == AddressPriorityStep.DEFAULT_SITE_DEFAULT


def test_step_3_quote_invoice_address_wins_over_steps_4_and_5(book):
    expected = book.give_step_3()
    book.give_step_4()

    choice = book.choose()

    assert choice.address == expected
    assert choice.step == AddressPriorityStep.QUOTE_INVOICE


def test_step_4_customer_default_address_wins_over_step_5(book):
    expected = book.give_step_4()

    choice = book.choose()

    assert choice.address == expected
    assert choice.step == AddressPriorityStep.CUSTOMER_DEFAULT


def test_step_5_first_address_on_the_customer_is_the_last_resort(book):
    book.address("added later")

    choice = book.choose()

    assert choice.address == book.first
    assert choice.step == AddressPriorityStep.FIRST_ON_CUSTOMER


def test_no_address_at_all_gives_no_address_and_says_why():
    site = SiteFactory()

    choice = site_address_for_sync(site=site)

    assert choice.address is None
    assert choice.step is None
    assert choice.reason == "The customer has no address"


# --- an empty step falls through to the next --------------------------------------------------


def test_step_1_is_skipped_when_the_synced_sites_links_have_no_site_default(book):
    SiteAddressFactory(site=book.synced_site, address=book.address("linked, not default"))
    expected = book.give_step_2()

    assert book.choose().address == expected


def test_step_2_is_skipped_when_the_default_site_has_no_default_address(book):
    SiteAddressFactory(site=book.default_site, address=book.address("linked, not default"))
    expected = book.give_step_3()

    assert book.choose().step == AddressPriorityStep.QUOTE_INVOICE
    assert book.choose().address == expected


def test_step_2_does_not_apply_when_the_synced_site_is_the_default_site(book):
    expected = book.give_step_4()

    choice = site_address_for_sync(site=book.default_site)

    assert choice.address == expected
    assert choice.step == AddressPriorityStep.CUSTOMER_DEFAULT


def test_step_3_is_skipped_when_the_quote_has_no_invoice_address(book):
    services.quote_mark_won(quote=QuoteFactory(customer=book.customer, invoice_address=None))
    expected = book.give_step_4()

    assert book.choose().address == expected


def test_step_4_is_skipped_when_the_customer_has_no_default_address(book):
    book.address("not default", is_default=False)

    assert book.choose().address == book.first


def test_another_customers_addresses_are_never_chosen():
    site = SiteFactory()
    AddressFactory(is_default=True)  # of another customer

    assert site_address_for_sync(site=site).address is None


# --- which quote step 3 reads ----------------------------------------------------------------


def test_the_quote_argument_overrides_the_latest_won_quote(book):
    book.give_step_3()  # the latest won quote's invoice address
    given = book.address("given quote invoice")
    quote = QuoteFactory(customer=book.customer, invoice_address=given)

    choice = book.choose(quote=quote)

    assert choice.address == given
    assert choice.step == AddressPriorityStep.QUOTE_INVOICE


def test_the_latest_won_quote_is_preferred_to_a_newer_open_quote(book):
    won = book.give_step_3()
    QuoteFactory(customer=book.customer, invoice_address=book.address("newer draft"))

    assert book.choose().address == won


def test_a_won_quote_with_a_win_time_comes_before_a_won_quote_without_one(book):
    # Databases disagree on where NULLs sort in a descending order; the rule must not.
    dated = QuoteFactory(customer=book.customer)
    services.quote_mark_won(quote=dated)
    undated = QuoteFactory(customer=book.customer)
    Quote.objects.filter(pk=undated.pk).update(status=QuoteStatus.WON, won_at=None)

    assert customer_quote_for_sync(customer=book.customer) == dated


def test_the_latest_won_quote_by_win_time_is_the_one_read(book):
    earlier, later = QuoteFactory(customer=book.customer), QuoteFactory(customer=book.customer)
    now = timezone.now()
    Quote.objects.filter(pk=later.pk).update(status=QuoteStatus.WON, won_at=now)
    Quote.objects.filter(pk=earlier.pk).update(
        status=QuoteStatus.WON, won_at=now - timezone.timedelta(days=1)
    )

    assert customer_quote_for_sync(customer=book.customer) == later


def test_a_quote_of_another_customer_is_refused(book):
    with pytest.raises(ValueError, match="not a quote of"):
        book.choose(quote=QuoteFactory())


# --- names and integrations --------------------------------------------------------------------


def test_customer_with_name_finds_the_holder_case_insensitively_and_trimmed():
    holder = CustomerFactory(name="Acme Telecom Ltd")

    assert customer_with_name(name="  ACME telecom LTD ") == holder
    assert customer_with_name(name="Acme Telecom Ltd", exclude_pk=holder.pk) is None
    assert customer_with_name(name="Acme Telecom") is None


def test_a_blank_name_never_clashes():
    CustomerFactory(name="Acme Telecom Ltd")

    assert customer_name_clash_error(name="") is None


@pytest.mark.parametrize(
    "candidate",
    [
        "acme telecom ltd",
        "ACME TELECOM LTD",
        "\u212aelvin networks",  # KELVIN SIGN: lowercases to "k" where the database folds it
        "kelvin networks",
        "Ωmega Σοφία Ltd",
        "ωmega σοφία ltd",
        "ωmega σοφίας ltd",
    ],
)
def test_the_name_check_agrees_with_the_database_constraint(candidate):
    CustomerFactory(name="ACME Telecom Ltd")
    CustomerFactory(name="KELVIN Networks")
    CustomerFactory(name="ΩMEGA ΣΟΦΊΑ LTD")

    check_says_taken = customer_with_name(name=candidate) is not None
    try:
        with transaction.atomic():
            Customer.objects.create(name=candidate)
        database_says_taken = False
    except IntegrityError:
        database_says_taken = True

    assert check_says_taken == database_says_taken


def test_integration_active_is_true_only_while_a_platform_integration_is_enabled():
    assert integration_active() is False
    BillingPlatform.objects.filter(code="affinity").update(integration_enabled=True)
    assert integration_active() is True
