"""Customer → Connect client payload (seed 004's "Data Passed Across"): pure functions.

| The Layer | Connect client | rule |
|---|---|---|
| name | name | as it is |
| account type | type | Virtual stays Virtual; Residential, a custom type or none → Residential |
| the moment of sending | start_date | UTC, to the second |
| one year later | end_date | the same date and time a year on (29 February → 28 February) |
| customer id | billing_reference | the id as text |
"""

from __future__ import annotations

from datetime import UTC, datetime

from customers.models import AccountType, Customer

from .client import ClientPayload


def connect_client_type(account_type: AccountType | None) -> str:
    """Connect's client type for an account type: only Virtual is Virtual."""
    if account_type is not None and account_type.code == AccountType.VIRTUAL:
        return "Virtual"
    return "Residential"


def one_year_later(moment: datetime) -> datetime:
    """The same date and time a year on; 29 February becomes 28 February."""
    try:
        return moment.replace(year=moment.year + 1)
    except ValueError:
        return moment.replace(year=moment.year + 1, day=28)


def connect_moment(moment: datetime) -> str:
    """A moment as Connect takes it: ISO 8601 in UTC, to the second (``…Z``)."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def billing_reference(customer: Customer) -> str:
    return str(customer.pk)


def client_payload(customer: Customer, *, sent_at: datetime) -> ClientPayload:
    """The client Send to Connect creates for ``customer`` at ``sent_at``."""
    start = sent_at.astimezone(UTC).replace(microsecond=0)
    return ClientPayload(
        name=customer.name.strip(),
        type=connect_client_type(customer.account_type),
        start_date=connect_moment(start),
        end_date=connect_moment(one_year_later(start)),
        billing_reference=billing_reference(customer),
    )
