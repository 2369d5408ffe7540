"""The database constraints of the customers models: the last line of defence when a
write bypasses the services (a raw query, a bulk import, a bug)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from customers.models import Address, CompanySettings, Customer, Site, SiteAddress
from tests.factories import (
    AddressFactory,
    CustomerFactory,
    SiteAddressFactory,
    SiteFactory,
)

pytestmark = pytest.mark.django_db


def test_database_refuses_a_raw_duplicate_customer_name_in_another_case():
    CustomerFactory(name="Acme Telecom Ltd")

    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(name="ACME TELECOM LTD")


def test_customer_full_clean_reports_a_name_clash_once_with_the_message_naming_the_holder():
    holder = CustomerFactory(name="Acme Telecom Ltd")

    with pytest.raises(ValidationError) as raised:
        Customer(name="acme telecom ltd").full_clean()

    messages = raised.value.message_dict["name"]
    assert len(messages) == 1
    assert f"#{holder.pk}" in messages[0]


def test_database_refuses_two_default_sites_for_one_customer():
    site = SiteFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Site.objects.create(customer=site.customer, name="Second", is_default=True)


def test_database_allows_one_default_site_per_customer_across_customers():
    SiteFactory()

    Site.objects.create(customer=CustomerFactory(), name="Other", is_default=True)

    assert Site.objects.filter(is_default=True).count() == 2


def test_database_refuses_two_default_addresses_for_one_customer():
    address = AddressFactory(is_default=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.create(customer=address.customer, street1="2 Low Road", is_default=True)


def test_database_refuses_two_site_default_address_links_for_one_site():
    link = SiteAddressFactory(is_site_default=True)
    other = AddressFactory(customer=link.site.customer)

    with pytest.raises(IntegrityError), transaction.atomic():
        SiteAddress.objects.create(site=link.site, address=other, is_site_default=True)


def test_database_refuses_linking_one_address_to_one_site_twice():
    link = SiteAddressFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        SiteAddress.objects.create(site=link.site, address=link.address)


def test_site_integration_id_is_not_editable_in_forms_and_unique_in_the_database():
    field = Site._meta.get_field("integration_id")
    site = SiteFactory()

    assert field.editable is False
    with pytest.raises(IntegrityError), transaction.atomic():
        Site.objects.create(customer=site.customer, name="Copy", integration_id=site.integration_id)


def test_company_settings_is_one_row_whatever_pk_is_asked_for():
    first = CompanySettings.load()

    second = CompanySettings(pk=7, sage_sync_active=True)
    second.save()

    assert CompanySettings.objects.count() == 1
    assert second.pk == first.pk == CompanySettings.SINGLETON_PK
    assert CompanySettings.load().sage_sync_active is True
