"""The rules of customers.services: names, lead records, conversion events, sites,
addresses and contacts. Each test names the rule it proves."""

import contextlib
import re
import threading
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext

from billing.choices import PlatformCode
from billing.models import BillingPlatform
from customers import services
from customers.choices import (
    ConversionSource,
    CustomerStage,
    CustomerStatus,
    LeadOrigin,
    QuoteStatus,
)
from customers.models import (
    Address,
    CompanySettings,
    Contact,
    Customer,
    Lead,
    Quote,
    QuoteLine,
    Site,
    SiteAddress,
)
from customers.signals import customer_created_direct, lead_converted
from tests.factories import (
    AddressFactory,
    ContactFactory,
    CustomerFactory,
    InventoryItemFactory,
    LeadFactory,
    QuoteFactory,
    QuoteLineFactory,
    SiteAddressFactory,
    SiteFactory,
    UserFactory,
)
from tests.helpers import message_of, on_postgresql, run_concurrently, set_company

pytestmark = pytest.mark.django_db


@pytest.fixture
def company() -> CompanySettings:
    return CompanySettings.load()


# --- unique names ------------------------------------------------------------------


def test_customer_names_are_unique_case_insensitively():
    CustomerFactory(name="Acme Telecom Ltd")

    with pytest.raises(ValidationError) as raised:
        services.customer_save(customer=Customer(name="ACME telecom ltd"))

    assert "name" in raised.value.message_dict
    assert Customer.objects.filter(name__iexact="acme telecom ltd").count() == 1


def test_customer_name_is_trimmed_before_it_is_checked_and_stored():
    first = services.customer_save(customer=Customer(name="  Acme Telecom Ltd \t"))
    assert first.name == "Acme Telecom Ltd"

    with pytest.raises(ValidationError):
        services.customer_save(customer=Customer(name=" acme telecom ltd  "))
    assert Customer.objects.count() == 1


def test_a_lead_cannot_take_the_name_of_a_customer():
    CustomerFactory(name="Acme Telecom Ltd")

    with pytest.raises(ValidationError):
        services.customer_save(customer=Customer(name="Acme Telecom Ltd", stage="lead"))


def test_duplicate_name_error_names_the_existing_customer_and_suggests_registered_company_name():
    existing = CustomerFactory(name="Acme Telecom Ltd")

    with pytest.raises(ValidationError) as raised:
        services.customer_save(customer=Customer(name="acme telecom ltd"))

    message = message_of(raised.value, "name")
    assert f"#{existing.pk}" in message
    assert '"Acme Telecom Ltd"' in message
    assert "Registered Company Name" in message


def test_customer_can_be_saved_again_under_its_own_name_even_in_another_case():
    customer = CustomerFactory(name="Acme Telecom Ltd")

    customer.telephone = "0113 496 0000"
    services.customer_save(customer=customer)
    customer.name = "ACME Telecom Ltd"
    services.customer_save(customer=customer)

    customer.refresh_from_db()
    assert customer.name == "ACME Telecom Ltd"
    assert customer.telephone == "0113 496 0000"


def test_renaming_a_customer_to_another_customers_name_is_refused():
    CustomerFactory(name="Acme Telecom Ltd")
    other = CustomerFactory(name="Bolt Networks Ltd")

    other.name = "acme telecom LTD"
    with pytest.raises(ValidationError) as raised:
        services.customer_save(customer=other)

    assert "Acme Telecom Ltd" in message_of(raised.value, "name")
    assert Customer.objects.get(pk=other.pk).name == "Bolt Networks Ltd"


def test_two_customers_may_share_a_registered_company_name():
    CustomerFactory(name="Acme (Leeds)", registered_company_name="Acme Ltd")
    CustomerFactory(name="Acme (York)", registered_company_name="Acme Ltd")

    assert Customer.objects.filter(registered_company_name="Acme Ltd").count() == 2


def test_name_taken_between_the_check_and_the_write_is_still_reported_as_a_name_error(
    monkeypatch,
):
    # As when a concurrent save commits the name after our check ran: the check sees
    # nothing, and the database constraint catches the clash.
    existing = CustomerFactory(name="Acme Telecom Ltd")
    monkeypatch.setattr(Customer, "clean", lambda self: None)

    with pytest.raises(ValidationError) as raised:
        services.customer_save(customer=Customer(name="ACME TELECOM LTD"))

    assert f"#{existing.pk}" in message_of(raised.value, "name")
    # The outer transaction is still usable after the refused write.
    assert Customer.objects.count() == 1


@on_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_creations_of_one_name_make_one_customer_and_one_clear_name_error(
    monkeypatch,
):
    barrier = threading.Barrier(2, timeout=10)
    original_clean = Customer.clean

    def clean_then_wait(self):
        original_clean(self)
        # Both saves have passed the name check before either writes.
        barrier.wait()

    monkeypatch.setattr(Customer, "clean", clean_then_wait)

    _results, errors = run_concurrently(
        lambda: services.customer_save(customer=Customer(name="Acme Telecom Ltd")),
        lambda: services.customer_save(customer=Customer(name="acme telecom ltd")),
    )

    assert Customer.objects.count() == 1
    assert Lead.objects.count() == 1
    refused = [error for error in errors if error is not None]
    assert len(refused) == 1
    assert isinstance(refused[0], ValidationError)
    assert "is already named" in message_of(refused[0], "name")


# --- lead records ----------------------------------------------------------------------


def test_creating_a_lead_opens_its_lead_record():
    lead = services.customer_save(customer=Customer(name="Acme Telecom Ltd"))

    record = Lead.objects.get(customer=lead)
    assert lead.stage == CustomerStage.LEAD
    assert record.origin == LeadOrigin.LEAD
    assert record.converted_at is None
    assert record.conversion_source == ""


def test_customer_created_directly_gets_a_lead_record_marked_direct_and_converted():
    user = UserFactory()

    customer = services.customer_save(
        customer=Customer(name="Acme Telecom Ltd", stage=CustomerStage.CUSTOMER), user=user
    )

    record = Lead.objects.get(customer=customer)
    assert record.origin == LeadOrigin.DIRECT
    assert record.converted_at is not None
    assert record.conversion_source == ConversionSource.DIRECT
    assert record.converted_by == user


def test_customer_created_directly_sends_customer_created_direct_once(record_signal):
    direct = record_signal(customer_created_direct)
    converted = record_signal(lead_converted)

    customer = services.customer_save(
        customer=Customer(name="Acme Telecom Ltd", stage=CustomerStage.CUSTOMER)
    )
    services.customer_save(customer=customer)  # an edit is not a creation

    assert len(direct) == 1
    assert direct[0]["customer"] == customer
    assert direct[0]["sender"] is Customer
    assert converted == []


def test_creating_a_lead_sends_no_initial_sync_event(record_signal):
    direct = record_signal(customer_created_direct)
    converted = record_signal(lead_converted)

    LeadFactory()

    assert direct == []
    assert converted == []


def test_editing_a_leads_stage_to_customer_is_refused(record_signal):
    converted = record_signal(lead_converted)
    lead = LeadFactory()

    lead.stage = CustomerStage.CUSTOMER
    with pytest.raises(ValidationError) as raised:
        services.customer_save(customer=lead)

    assert "conversion" in message_of(raised.value, "stage")
    assert Customer.objects.get(pk=lead.pk).stage == CustomerStage.LEAD
    assert converted == []


def test_editing_a_customers_stage_back_to_lead_is_refused():
    customer = CustomerFactory()

    customer.stage = CustomerStage.LEAD
    with pytest.raises(ValidationError) as raised:
        services.customer_save(customer=customer)

    assert "stage" in raised.value.message_dict
    assert Customer.objects.get(pk=customer.pk).stage == CustomerStage.CUSTOMER


# --- conversion events -------------------------------------------------------------------


def test_manual_conversion_sends_lead_converted_once_with_source_manual(record_signal):
    converted = record_signal(lead_converted)
    lead = LeadFactory()
    user = UserFactory()

    services.customer_convert_lead(customer=lead, source=ConversionSource.MANUAL, user=user)

    assert len(converted) == 1
    call = converted[0]
    assert call["customer"].pk == lead.pk
    assert call["source"] == ConversionSource.MANUAL
    assert call["quote"] is None
    assert call["user"] == user


def test_manual_conversion_makes_a_pending_customer_and_closes_the_lead_record():
    lead = LeadFactory(status=CustomerStatus.LIVE)

    services.customer_convert_lead(customer=lead)

    lead.refresh_from_db()
    assert lead.stage == CustomerStage.CUSTOMER
    assert lead.status == CustomerStatus.PENDING
    record = Lead.objects.get(customer=lead)
    assert record.origin == LeadOrigin.LEAD
    assert record.converted_at is not None
    assert record.conversion_source == ConversionSource.MANUAL


def test_converting_a_lead_a_second_time_is_refused_and_sends_nothing(record_signal):
    lead = LeadFactory()
    services.customer_convert_lead(customer=lead)
    converted = record_signal(lead_converted)

    with pytest.raises(ValidationError) as raised:
        services.customer_convert_lead(customer=lead)

    assert "already a customer" in message_of(raised.value, "stage")
    assert converted == []


def test_converting_a_customer_created_directly_is_refused(record_signal):
    converted = record_signal(lead_converted)
    customer = CustomerFactory()

    with pytest.raises(ValidationError):
        services.customer_convert_lead(customer=customer)

    assert converted == []


def test_conversion_source_direct_is_not_a_conversion_event():
    lead = LeadFactory()

    with pytest.raises(ValidationError) as raised:
        services.customer_convert_lead(customer=lead, source=ConversionSource.DIRECT)

    assert "source" in raised.value.message_dict
    assert Customer.objects.get(pk=lead.pk).stage == CustomerStage.LEAD


def test_conversion_naming_a_quote_of_another_customer_is_refused():
    lead = LeadFactory()
    foreign_quote = QuoteFactory()

    with pytest.raises(ValidationError) as raised:
        services.customer_convert_lead(
            customer=lead, source=ConversionSource.QUOTE_WIN, quote=foreign_quote
        )

    assert "quote" in raised.value.message_dict
    assert Customer.objects.get(pk=lead.pk).stage == CustomerStage.LEAD


def test_winning_a_leads_quote_converts_it_with_source_quote_win_and_sends_lead_converted_once(
    record_signal,
):
    converted = record_signal(lead_converted)
    quote = QuoteFactory()

    services.quote_mark_won(quote=quote)

    assert len(converted) == 1
    assert converted[0]["source"] == ConversionSource.QUOTE_WIN
    assert converted[0]["quote"].pk == quote.pk
    quote.customer.refresh_from_db()
    assert quote.customer.stage == CustomerStage.CUSTOMER
    assert quote.customer.status == CustomerStatus.PENDING
    assert Lead.objects.get(customer=quote.customer).conversion_source == ConversionSource.QUOTE_WIN
    assert quote.status == QuoteStatus.WON
    assert quote.won_at is not None


def test_winning_a_quote_of_an_existing_customer_sends_no_lead_converted(record_signal):
    converted = record_signal(lead_converted)
    quote = QuoteFactory(customer=CustomerFactory())

    services.quote_mark_won(quote=quote)

    assert converted == []
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.WON


def test_winning_a_second_quote_after_conversion_does_not_convert_again(record_signal):
    lead = LeadFactory()
    first, second = QuoteFactory(customer=lead), QuoteFactory(customer=lead)
    converted = record_signal(lead_converted)

    services.quote_mark_won(quote=first)
    services.quote_mark_won(quote=second)

    assert len(converted) == 1
    assert converted[0]["quote"].pk == first.pk


def test_winning_a_quote_twice_is_refused(record_signal):
    quote = QuoteFactory()
    services.quote_mark_won(quote=quote)
    converted = record_signal(lead_converted)

    with pytest.raises(ValidationError) as raised:
        services.quote_mark_won(quote=quote)

    assert "already won" in message_of(raised.value, "status")
    assert converted == []


def test_a_lost_quote_cannot_be_won():
    quote = QuoteFactory(status=QuoteStatus.LOST)

    with pytest.raises(ValidationError):
        services.quote_mark_won(quote=quote)

    assert Customer.objects.get(pk=quote.customer_id).stage == CustomerStage.LEAD


def test_setting_a_quote_won_through_quote_save_converts_the_lead_once(record_signal):
    converted = record_signal(lead_converted)
    quote = QuoteFactory()

    quote.status = QuoteStatus.WON
    services.quote_save(quote=quote)

    assert len(converted) == 1
    assert converted[0]["source"] == ConversionSource.QUOTE_WIN
    stored = Quote.objects.get(pk=quote.pk)
    assert stored.status == QuoteStatus.WON
    assert stored.won_at is not None


def test_a_quote_created_won_converts_its_lead():
    lead = LeadFactory()

    quote = services.quote_save(quote=Quote(customer=lead, status=QuoteStatus.WON))

    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.WON
    assert Customer.objects.get(pk=lead.pk).stage == CustomerStage.CUSTOMER


def test_a_won_quote_cannot_be_reopened():
    quote = QuoteFactory()
    services.quote_mark_won(quote=quote)

    quote.status = QuoteStatus.DRAFT
    with pytest.raises(ValidationError) as raised:
        services.quote_save(quote=quote)

    assert "status" in raised.value.message_dict
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.WON


def test_a_quote_never_moves_to_another_customer():
    quote = QuoteFactory()
    original_customer_id = quote.customer_id

    quote.customer = LeadFactory()
    with pytest.raises(ValidationError) as raised:
        services.quote_save(quote=quote)

    assert "another customer" in raised.value.message_dict["customer"][0]
    assert Quote.objects.get(pk=quote.pk).customer_id == original_customer_id


def test_quote_contact_and_invoice_address_of_another_customer_are_refused():
    lead = LeadFactory()
    stranger = CustomerFactory()

    with pytest.raises(ValidationError) as raised:
        services.quote_save(
            quote=Quote(
                customer=lead,
                contact=ContactFactory(customer=stranger),
                invoice_address=AddressFactory(customer=stranger),
            )
        )

    assert set(raised.value.message_dict) == {"contact", "invoice_address"}
    assert not Quote.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rolled_back_manual_conversion_leaves_a_lead_and_no_conversion():
    lead = LeadFactory()

    with pytest.raises(RuntimeError), transaction.atomic():
        services.customer_convert_lead(customer=lead)
        raise RuntimeError("the caller fails after converting")

    lead.refresh_from_db()
    assert lead.stage == CustomerStage.LEAD
    record = Lead.objects.get(customer=lead)
    assert record.converted_at is None
    assert record.conversion_source == ""


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rolled_back_quote_win_leaves_the_quote_open_and_the_lead_unconverted():
    quote = QuoteFactory()

    with pytest.raises(RuntimeError), transaction.atomic():
        services.quote_mark_won(quote=quote)
        raise RuntimeError("the caller fails after winning")

    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.DRAFT
    assert Customer.objects.get(pk=quote.customer_id).stage == CustomerStage.LEAD
    assert Lead.objects.get(customer_id=quote.customer_id).converted_at is None


@on_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_quotes_of_one_lead_won_at_once_both_win_and_convert_it_once(record_signal):
    lead = LeadFactory()
    first, second = QuoteFactory(customer=lead), QuoteFactory(customer=lead)
    converted = record_signal(lead_converted)
    barrier = threading.Barrier(2, timeout=1)

    def hold_until_both_are_winning(sender, instance, **kwargs):
        # Lines both wins up before either reads the customer's stage, where the
        # locking allows it; a win that must wait for the other passes after a second.
        if instance.status == QuoteStatus.WON:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()

    pre_save.connect(hold_until_both_are_winning, sender=Quote, weak=False)
    try:
        _results, errors = run_concurrently(
            lambda: services.quote_mark_won(quote=Quote.objects.get(pk=first.pk)),
            lambda: services.quote_mark_won(quote=Quote.objects.get(pk=second.pk)),
        )
    finally:
        pre_save.disconnect(hold_until_both_are_winning, sender=Quote)

    assert errors == [None, None]
    assert Quote.objects.filter(status=QuoteStatus.WON).count() == 2
    assert len(converted) == 1
    assert Customer.objects.get(pk=lead.pk).stage == CustomerStage.CUSTOMER


# --- Sage descriptions -----------------------------------------------------------------


def test_site_description_is_formed_from_the_sage_number_while_sage_sync_is_active():
    set_company(sage_sync_active=True)
    customer = CustomerFactory(sage_account_number="ACME001")

    site = SiteFactory(customer=customer, name="Leeds Office", description="typed by hand")

    assert site.description == "ACME001 - Leeds Office"


def test_changing_the_sage_number_reforms_every_site_description():
    set_company(sage_sync_active=True)
    customer = CustomerFactory(sage_account_number="ACME001")
    leeds = SiteFactory(customer=customer, name="Leeds")
    york = SiteFactory(customer=customer, name="York")

    customer.sage_account_number = "ACME002"
    services.customer_save(customer=customer)

    leeds.refresh_from_db()
    york.refresh_from_db()
    assert leeds.description == "ACME002 - Leeds"
    assert york.description == "ACME002 - York"


def test_clearing_the_sage_number_blanks_the_derived_site_descriptions():
    set_company(sage_sync_active=True)
    customer = CustomerFactory(sage_account_number="ACME001")
    site = SiteFactory(customer=customer, name="Leeds")

    customer.sage_account_number = ""
    services.customer_save(customer=customer)

    site.refresh_from_db()
    assert site.description == ""


def test_site_description_is_untouched_while_sage_sync_is_off():
    set_company(sage_sync_active=False)
    customer = CustomerFactory(sage_account_number="ACME001")
    site = SiteFactory(customer=customer, name="Leeds", description="Main office")

    customer.sage_account_number = "ACME002"
    services.customer_save(customer=customer)

    site.refresh_from_db()
    assert site.description == "Main office"


def test_a_leads_site_gets_its_sage_description_only_when_it_becomes_a_customer():
    set_company(sage_sync_active=True)
    lead = LeadFactory(sage_account_number="ACME001")
    site = SiteFactory(customer=lead, name="Leeds", description="Prospect office")
    assert site.description == "Prospect office"

    services.customer_convert_lead(customer=lead)

    site.refresh_from_db()
    assert site.description == "ACME001 - Leeds"


# --- default site -------------------------------------------------------------------------


def test_a_customers_first_site_becomes_its_default():
    customer = CustomerFactory()

    first = SiteFactory(customer=customer, is_default=False)
    second = SiteFactory(customer=customer)

    assert first.is_default is True
    assert second.is_default is False


def test_making_another_site_the_default_leaves_exactly_one_default():
    customer = CustomerFactory()
    first = SiteFactory(customer=customer)
    second = SiteFactory(customer=customer)
    third = SiteFactory(customer=customer)

    second.is_default = True
    services.site_save(site=second)
    services.site_save(site=SiteFactory.build(customer=customer, is_default=True))

    defaults = Site.objects.filter(customer=customer, is_default=True)
    assert defaults.count() == 1
    assert defaults.get().pk not in (first.pk, second.pk, third.pk)


def test_the_site_that_loses_the_default_flag_is_saved_with_signals_and_a_new_timestamp():
    customer = CustomerFactory()
    first = SiteFactory(customer=customer)
    second = SiteFactory(customer=customer)
    before = Site.objects.get(pk=first.pk).updated_at
    saved = []

    def receiver(sender, instance, **kwargs):
        saved.append(instance.pk)

    post_save.connect(receiver, sender=Site, weak=False)
    try:
        second.is_default = True
        services.site_save(site=second)
    finally:
        post_save.disconnect(receiver, sender=Site)

    assert first.pk in saved
    assert Site.objects.get(pk=first.pk).updated_at > before


def test_clearing_the_default_flag_on_the_default_site_is_refused():
    site = SiteFactory()

    site.is_default = False
    with pytest.raises(ValidationError) as raised:
        services.site_save(site=site)

    assert "make another site the default" in message_of(raised.value, "is_default")
    assert Site.objects.get(pk=site.pk).is_default is True


def test_deleting_the_default_site_makes_the_oldest_other_site_the_default():
    customer = CustomerFactory()
    default = SiteFactory(customer=customer, name="Head Office")
    oldest_other = SiteFactory(customer=customer, name="Zeta")
    SiteFactory(customer=customer, name="Alpha")

    services.site_delete(site=default)

    assert list(Site.objects.filter(customer=customer, is_default=True)) == [oldest_other]


def test_deleting_a_stale_copy_of_the_default_site_still_hands_the_default_on():
    customer = CustomerFactory()
    first = SiteFactory(customer=customer)
    second = SiteFactory(customer=customer)
    stale_copy = Site.objects.get(pk=second.pk)  # loaded while not the default
    second.is_default = True
    services.site_save(site=second)

    services.site_delete(site=stale_copy)

    assert list(Site.objects.filter(customer=customer, is_default=True)) == [first]


def test_deleting_another_site_keeps_the_default():
    customer = CustomerFactory()
    default = SiteFactory(customer=customer)
    other = SiteFactory(customer=customer)

    services.site_delete(site=other)

    assert list(Site.objects.filter(customer=customer, is_default=True)) == [default]


def test_deleting_a_site_that_has_subsites_is_refused_with_a_clear_error():
    parent = SiteFactory()
    SiteFactory(customer=parent.customer, parent=parent)

    with pytest.raises(ValidationError) as raised:
        services.site_delete(site=parent)

    assert "sites" in message_of(raised.value, "site")
    assert Site.objects.filter(pk=parent.pk).exists()


def test_deleting_a_customer_takes_its_subsites_with_its_sites():
    parent = SiteFactory()
    SiteFactory(customer=parent.customer, parent=parent)

    parent.customer.delete()

    assert not Site.objects.filter(customer_id=parent.customer_id).exists()


def test_the_default_site_of_one_customer_is_unaffected_by_another_customers_sites():
    a_default = SiteFactory()
    b_first = SiteFactory()
    b_second = SiteFactory(customer=b_first.customer)

    b_second.is_default = True
    services.site_save(site=b_second)
    services.site_delete(site=b_second)

    assert Site.objects.get(pk=a_default.pk).is_default is True
    assert Site.objects.get(pk=b_first.pk).is_default is True


def test_a_site_cannot_move_to_another_customer():
    site = SiteFactory()
    other_customer = CustomerFactory()

    site.customer = other_customer
    with pytest.raises(ValidationError) as raised:
        services.site_save(site=site)

    assert "customer" in raised.value.message_dict
    assert Site.objects.get(pk=site.pk).customer_id != other_customer.pk


def test_a_site_without_a_customer_is_a_field_error():
    with pytest.raises(ValidationError) as raised:
        services.site_save(site=Site(name="Nowhere"))

    assert "customer" in raised.value.message_dict


# --- site name, ref and integration id ------------------------------------------------------


def test_site_ref_is_generated_when_auto_generate_is_on():
    set_company(auto_generate_site_reference=True)

    site = SiteFactory(site_ref="")

    assert re.fullmatch(r"S\d{6}", site.site_ref)
    assert site.site_ref == f"S{site.pk:06d}"
    assert Site.objects.get(pk=site.pk).site_ref == site.site_ref


def test_site_ref_given_is_kept_when_auto_generate_is_on():
    set_company(auto_generate_site_reference=True)

    site = SiteFactory(site_ref="LEEDS-HQ")

    assert Site.objects.get(pk=site.pk).site_ref == "LEEDS-HQ"


def test_blank_site_ref_defaults_to_the_site_name_when_auto_generate_is_off():
    set_company(auto_generate_site_reference=False)

    site = SiteFactory(name="Leeds Office", site_ref="")

    assert Site.objects.get(pk=site.pk).site_ref == "Leeds Office"


def test_site_ref_given_is_kept_when_auto_generate_is_off():
    set_company(auto_generate_site_reference=False)

    site = SiteFactory(name="Leeds Office", site_ref="LEEDS-HQ")

    assert Site.objects.get(pk=site.pk).site_ref == "LEEDS-HQ"


def test_generated_site_ref_is_kept_when_the_site_is_saved_again():
    site = SiteFactory()
    generated = site.site_ref

    site.name = "Renamed"
    services.site_save(site=site)

    assert Site.objects.get(pk=site.pk).site_ref == generated


def test_site_integration_ids_are_generated_and_unique():
    first, second = SiteFactory(), SiteFactory()

    assert isinstance(first.integration_id, uuid.UUID)
    assert first.integration_id != second.integration_id


def test_site_integration_id_cannot_be_changed():
    site = SiteFactory()
    generated = site.integration_id

    site.integration_id = uuid.uuid4()
    with pytest.raises(ValidationError) as raised:
        services.site_save(site=site)

    assert "integration_id" in raised.value.message_dict
    assert Site.objects.get(pk=site.pk).integration_id == generated


def test_a_site_created_automatically_without_a_name_takes_the_customer_name():
    customer = CustomerFactory(name="Acme Telecom Ltd")

    site = services.site_save(site=Site(customer=customer), created_automatically=True)

    assert site.name == "Acme Telecom Ltd"


def test_a_site_created_automatically_keeps_a_name_it_is_given():
    customer = CustomerFactory(name="Acme Telecom Ltd")

    site = services.site_save(
        site=Site(customer=customer, name="Leeds"), created_automatically=True
    )

    assert site.name == "Leeds"


def test_a_site_created_by_hand_needs_a_name():
    customer = CustomerFactory()

    with pytest.raises(ValidationError) as raised:
        services.site_save(site=Site(customer=customer))

    assert "name" in raised.value.message_dict
    assert not Site.objects.exists()


# --- Layer subsites ---------------------------------------------------------------------------


def test_a_subsite_is_allowed_while_no_integration_is_active():
    parent = SiteFactory()

    subsite = SiteFactory(customer=parent.customer, parent=parent)

    assert subsite.is_subsite
    assert list(parent.subsites.all()) == [subsite]


@pytest.mark.parametrize("code", [code for code in PlatformCode])
def test_a_subsite_is_refused_while_any_integration_is_enabled(code):
    BillingPlatform.objects.filter(code=code).update(integration_enabled=True)
    parent = SiteFactory()

    with pytest.raises(ValidationError) as raised:
        SiteFactory(customer=parent.customer, parent=parent)

    assert "integration" in message_of(raised.value, "parent")
    assert not parent.subsites.exists()


def test_an_existing_subsite_can_still_be_edited_after_an_integration_is_enabled():
    parent = SiteFactory()
    subsite = SiteFactory(customer=parent.customer, parent=parent)
    BillingPlatform.objects.filter(code=PlatformCode.ABILLITY).update(integration_enabled=True)

    subsite.name = "Renamed"
    services.site_save(site=subsite)

    assert Site.objects.get(pk=subsite.pk).name == "Renamed"


def test_a_parent_site_of_another_customer_is_refused():
    foreign_parent = SiteFactory()
    customer = CustomerFactory()

    with pytest.raises(ValidationError) as raised:
        SiteFactory(customer=customer, parent=foreign_parent)

    assert "another customer" in message_of(raised.value, "parent")


def test_a_subsite_of_a_subsite_is_refused():
    parent = SiteFactory()
    subsite = SiteFactory(customer=parent.customer, parent=parent)

    with pytest.raises(ValidationError) as raised:
        SiteFactory(customer=parent.customer, parent=subsite)

    assert "itself a subsite" in message_of(raised.value, "parent")


def test_a_site_with_subsites_cannot_become_a_subsite():
    customer = CustomerFactory()
    top = SiteFactory(customer=customer)
    middle = SiteFactory(customer=customer)
    SiteFactory(customer=customer, parent=middle)

    middle.parent = top
    with pytest.raises(ValidationError) as raised:
        services.site_save(site=middle)

    assert "subsites of its own" in message_of(raised.value, "parent")
    assert Site.objects.get(pk=middle.pk).parent_id is None


def test_a_site_cannot_be_its_own_parent():
    site = SiteFactory()

    site.parent = site
    with pytest.raises(ValidationError) as raised:
        services.site_save(site=site)

    assert "own parent" in message_of(raised.value, "parent")


# --- addresses -------------------------------------------------------------------------


def test_a_customer_has_one_default_address_and_setting_another_clears_the_previous():
    customer = CustomerFactory()
    first = AddressFactory(customer=customer, is_default=True)
    second = AddressFactory(customer=customer, is_default=True)

    assert list(Address.objects.filter(customer=customer, is_default=True)) == [second]
    first.refresh_from_db()
    assert first.is_default is False


def test_the_default_address_of_one_customer_is_unaffected_by_another():
    a_default = AddressFactory(is_default=True)

    AddressFactory(is_default=True)

    assert Address.objects.get(pk=a_default.pk).is_default is True


def test_an_address_cannot_move_to_another_customer():
    address = AddressFactory()

    address.customer = CustomerFactory()
    with pytest.raises(ValidationError) as raised:
        services.address_save(address=address)

    assert "customer" in raised.value.message_dict


def test_a_site_has_one_default_address_link_and_setting_another_clears_the_previous():
    site = SiteFactory()
    first = SiteAddressFactory(site=site, is_site_default=True)
    second = SiteAddressFactory(site=site, is_site_default=True)

    assert list(SiteAddress.objects.filter(site=site, is_site_default=True)) == [second]
    first.refresh_from_db()
    assert first.is_site_default is False


def test_site_default_links_of_different_sites_are_independent():
    customer = CustomerFactory()
    address = AddressFactory(customer=customer)
    leeds, york = SiteFactory(customer=customer), SiteFactory(customer=customer)

    SiteAddressFactory(site=leeds, address=address, is_site_default=True)
    SiteAddressFactory(site=york, address=address, is_site_default=True)

    assert SiteAddress.objects.filter(address=address, is_site_default=True).count() == 2


def test_linking_an_address_of_another_customer_to_a_site_is_refused():
    site = SiteFactory()
    foreign_address = AddressFactory()

    with pytest.raises(ValidationError) as raised:
        services.site_address_save(link=SiteAddress(site=site, address=foreign_address))

    assert "another customer" in message_of(raised.value, "address")
    assert not SiteAddress.objects.exists()


def test_linking_an_address_to_the_same_site_twice_is_refused_with_a_clear_error():
    link = SiteAddressFactory()

    with pytest.raises(ValidationError) as raised:
        services.site_address_save(link=SiteAddress(site=link.site, address=link.address))

    assert "already associated" in message_of(raised.value, "address")
    assert SiteAddress.objects.count() == 1


# --- contacts ---------------------------------------------------------------------------------


def test_a_contact_at_a_site_of_another_customer_is_refused():
    customer = CustomerFactory()
    foreign_site = SiteFactory()

    with pytest.raises(ValidationError) as raised:
        services.contact_save(
            contact=Contact(customer=customer, first_name="Ada", site=foreign_site)
        )

    assert "another customer" in message_of(raised.value, "site")
    assert not Contact.objects.exists()


def test_a_contact_at_one_of_its_customers_sites_is_saved():
    site = SiteFactory()

    contact = services.contact_save(
        contact=Contact(customer=site.customer, first_name="Ada", last_name="Lovelace", site=site)
    )

    assert Contact.objects.get(pk=contact.pk).site == site
    assert contact.full_name == "Ada Lovelace"


def test_a_contact_cannot_move_to_another_customer():
    """As a site, an address and a quote never move (docs/domain.md): the platforms hold a
    contact under its customer's company."""
    contact = ContactFactory(first_name="Ada")
    other_customer = CustomerFactory()

    contact.customer = other_customer
    with pytest.raises(ValidationError) as raised:
        services.contact_save(contact=contact)

    assert "cannot move to another customer" in message_of(raised.value, "customer")
    assert Contact.objects.get(pk=contact.pk).customer_id != other_customer.pk


# --- validators: the read-only checks the admin runs at form validation ---------------------


def _site_clearing_the_only_default():
    site = SiteFactory()
    site.is_default = False
    return services.site_validate, {"site": site}, "is_default"


def _site_under_a_parent_of_another_customer():
    site = SiteFactory.build(customer=CustomerFactory(), parent=SiteFactory())
    return services.site_validate, {"site": site}, "parent"


def _site_of_a_customer_not_saved_yet_under_an_existing_parent():
    site = Site(customer=Customer(name="Not Saved Yet Ltd"), name="Annexe", parent=SiteFactory())
    return services.site_validate, {"site": site}, "parent"


def _site_moved_to_another_customer():
    site = SiteFactory()
    site.customer = CustomerFactory()
    return services.site_validate, {"site": site}, "customer"


def _site_with_a_new_integration_id():
    site = SiteFactory()
    site.integration_id = uuid.uuid4()
    return services.site_validate, {"site": site}, "integration_id"


def _address_moved_to_another_customer():
    address = AddressFactory()
    address.customer = CustomerFactory()
    return services.address_validate, {"address": address}, "customer"


def _link_to_an_address_of_another_customer():
    link = SiteAddress(site=SiteFactory(), address=AddressFactory())
    return services.site_address_validate, {"link": link}, "address"


def _second_link_of_one_address_to_one_site():
    existing = SiteAddressFactory()
    link = SiteAddress(site=existing.site, address=existing.address)
    return services.site_address_validate, {"link": link}, "address"


def _contact_at_a_site_of_another_customer():
    contact = Contact(customer=CustomerFactory(), first_name="Ada", site=SiteFactory())
    return services.contact_validate, {"contact": contact}, "site"


def _won_quote_reopened():
    quote = QuoteFactory(customer=CustomerFactory())
    services.quote_mark_won(quote=quote)
    quote.status = QuoteStatus.DRAFT
    return services.quote_validate, {"quote": quote}, "status"


def _quote_with_a_contact_of_another_customer():
    quote = Quote(customer=CustomerFactory(), contact=ContactFactory())
    return services.quote_validate, {"quote": quote}, "contact"


def _quote_line_at_a_site_of_another_customer():
    line = QuoteLine(
        quote=QuoteFactory(), inventory_item=InventoryItemFactory(), site=SiteFactory()
    )
    return services.quote_line_validate, {"line": line}, "site"


def _line_of_a_quote_not_saved_yet_at_a_site_of_another_customer():
    line = QuoteLine(
        quote=Quote(customer=CustomerFactory()),
        inventory_item=InventoryItemFactory(),
        site=SiteFactory(),
    )
    return services.quote_line_validate, {"line": line}, "site"


REFUSED_BY_A_VALIDATOR = [
    _site_clearing_the_only_default,
    _site_under_a_parent_of_another_customer,
    _site_of_a_customer_not_saved_yet_under_an_existing_parent,
    _site_moved_to_another_customer,
    _site_with_a_new_integration_id,
    _address_moved_to_another_customer,
    _link_to_an_address_of_another_customer,
    _second_link_of_one_address_to_one_site,
    _contact_at_a_site_of_another_customer,
    _won_quote_reopened,
    _quote_with_a_contact_of_another_customer,
    _quote_line_at_a_site_of_another_customer,
    _line_of_a_quote_not_saved_yet_at_a_site_of_another_customer,
]


@pytest.mark.parametrize("case", REFUSED_BY_A_VALIDATOR, ids=lambda case: case.__name__[1:])
def test_a_validator_refuses_with_an_error_on_the_field_and_only_reads(case):
    validate, arguments, field = case()

    with CaptureQueriesContext(connection) as queries, pytest.raises(ValidationError) as raised:
        validate(**arguments)

    assert field in raised.value.message_dict
    statements = [query["sql"].split(None, 1)[0].upper() for query in queries.captured_queries]
    assert set(statements) <= {"SELECT"}


def test_validators_accept_records_that_keep_the_rules():
    site = SiteFactory()
    address = AddressFactory(customer=site.customer)
    contact = ContactFactory(customer=site.customer, site=site)

    services.site_validate(site=SiteFactory.build(customer=site.customer, parent=site))
    services.address_validate(address=address)
    services.site_address_validate(link=SiteAddress(site=site, address=address))
    services.contact_validate(contact=contact)
    services.quote_validate(
        quote=Quote(customer=site.customer, contact=contact, invoice_address=address)
    )
    services.quote_line_validate(
        line=QuoteLine(
            quote=Quote(customer=site.customer), inventory_item=InventoryItemFactory(), site=site
        )
    )


@pytest.mark.parametrize(
    ("validator", "save"),
    [
        ("site_validate", lambda: SiteFactory()),
        ("address_validate", lambda: AddressFactory()),
        ("site_address_validate", lambda: SiteAddressFactory()),
        ("contact_validate", lambda: ContactFactory()),
        ("quote_validate", lambda: QuoteFactory()),
        ("quote_line_validate", lambda: QuoteLineFactory()),
    ],
)
def test_the_save_service_refuses_what_its_validator_refuses(monkeypatch, validator, save):
    def refuse(**kwargs):
        raise ValidationError({"name": "refused by the validator"})

    monkeypatch.setattr(services, validator, refuse)

    with pytest.raises(ValidationError) as raised:
        save()

    assert raised.value.message_dict == {"name": ["refused by the validator"]}


# --- quote lines ------------------------------------------------------------------------------


def test_a_quote_line_at_a_site_of_another_customer_is_refused():
    quote = QuoteFactory()

    with pytest.raises(ValidationError) as raised:
        services.quote_line_save(
            line=QuoteLine(quote=quote, inventory_item=InventoryItemFactory(), site=SiteFactory())
        )

    assert "another customer" in message_of(raised.value, "site")
    assert not QuoteLine.objects.exists()


def test_a_quote_line_at_a_site_of_the_quote_customer_is_saved():
    quote = QuoteFactory()
    site = SiteFactory(customer=quote.customer)

    line = services.quote_line_save(
        line=QuoteLine(
            quote=quote, inventory_item=InventoryItemFactory(), site=site, cli="0113 496 0000"
        )
    )

    assert QuoteLine.objects.get(pk=line.pk).site == site


def test_a_quote_line_needs_an_inventory_item():
    with pytest.raises(ValidationError) as raised:
        services.quote_line_save(line=QuoteLine(quote=QuoteFactory()))

    assert "inventory_item" in raised.value.message_dict
    assert not QuoteLine.objects.exists()
