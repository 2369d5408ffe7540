"""Seed 004's data passed across: client name, type, start and end dates, Billing Reference."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors.connect import mappers
from customers.models import AccountType
from tests.factories import AccountTypeFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def built_in(code: str) -> AccountType:
    return AccountType.objects.get(code=code)


def test_virtual_account_type_is_sent_as_virtual():
    assert mappers.connect_client_type(built_in(AccountType.VIRTUAL)) == "Virtual"


def test_residential_account_type_is_sent_as_residential():
    assert mappers.connect_client_type(built_in(AccountType.RESIDENTIAL)) == "Residential"


def test_custom_account_types_are_sent_as_residential():
    custom = AccountTypeFactory(name="Serviced Office")
    named_like_virtual = AccountTypeFactory(name="Virtual Plus", code="virtual-plus")
    assert mappers.connect_client_type(custom) == "Residential"
    assert mappers.connect_client_type(named_like_virtual) == "Residential"


def test_a_customer_without_account_type_is_sent_as_residential():
    assert mappers.connect_client_type(None) == "Residential"


def test_end_date_is_the_same_moment_one_year_after_the_start():
    start = datetime(2025, 3, 4, 10, 15, 30, tzinfo=UTC)
    assert mappers.one_year_later(start) == datetime(2026, 3, 4, 10, 15, 30, tzinfo=UTC)


def test_a_start_on_29_february_ends_on_28_february_next_year():
    start = datetime(2024, 2, 29, 8, 0, tzinfo=UTC)
    assert mappers.one_year_later(start) == datetime(2025, 2, 28, 8, 0, tzinfo=UTC)


def test_client_payload_takes_name_type_sending_moment_and_customer_id():
    customer = CustomerFactory(name="  Acme Serviced Offices  ", account_type=built_in("virtual"))
    london_summer = timezone(timedelta(hours=1))
    sent_at = datetime(2025, 7, 1, 9, 30, 15, 123456, tzinfo=london_summer)

    payload = mappers.client_payload(customer, sent_at=sent_at)

    assert payload == {
        "name": "Acme Serviced Offices",
        "type": "Virtual",
        "start_date": "2025-07-01T08:30:15Z",
        "end_date": "2026-07-01T08:30:15Z",
        "billing_reference": str(customer.pk),
    }
