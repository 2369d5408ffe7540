"""Properties of the platform payload builders (connectors/*/mappers.py): for names and
addresses within the platform's limits they never crash and send the values trimmed;
over a limit they raise PermanentError naming the limit (names are never cut).

The mappers are pure: they read unsaved model instances, no database.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.abillity import mappers as abillity
from connectors.affinity import mappers as affinity
from connectors.errors import PermanentError
from customers.choices import CustomerStatus
from customers.models import Address, Contact, Customer, Site

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=70)


def outcome(build):
    """The payload, or the PermanentError's message."""
    try:
        return build(), None
    except PermanentError as error:
        return None, error.message


def check(value: str, limit: int, sent: str | None, message: str | None) -> None:
    """Within the limit: sent trimmed. Over it: refused, the message naming the limit."""
    if len(value.strip()) <= limit:
        assert message is None, message
        assert sent == value.strip()
    else:
        assert sent is None
        assert f"at most {limit}" in message


# --- Abillity ---------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(text, st.sampled_from(CustomerStatus.values))
def test_abillity_company_name_is_sent_trimmed_or_refused_over_50(name, status):
    payload, message = outcome(lambda: abillity.company_payload(Customer(name=name, status=status)))

    check(name, abillity.COMPANY_NAME_LIMIT, payload and payload["Name"], message)
    if payload:
        assert payload["IsCustomer"] is (status != CustomerStatus.CANCELLED)


@settings(max_examples=200, deadline=None)
@given(
    st.fixed_dictionaries(
        {"street1": text, "city": text, "county": text, "postcode": st.text(max_size=25)}
    )
)
def test_abillity_address_fields_are_sent_trimmed_or_refused_over_their_limits(fields):
    address = Address(street2="", street3="", **fields)
    payload, message = outcome(lambda: abillity.address_fields(address))

    limits = {
        "street1": ("Address", abillity.ADDRESS_LIMIT),
        "city": ("Town", abillity.TOWN_LIMIT),
        "county": ("County", abillity.COUNTY_LIMIT),
        "postcode": ("PostCode", abillity.POSTCODE_LIMIT),
    }
    over = [f for f, (_, limit) in limits.items() if len(fields[f].strip()) > limit]
    if over:
        assert payload is None
        assert any(f"at most {limits[f][1]}" in message for f in over)
    else:
        assert message is None
        for name, (key, _) in limits.items():
            assert payload[key] == fields[name].strip()


@settings(max_examples=200, deadline=None)
@given(text, text, st.text(max_size=40))
def test_abillity_site_payload_sends_the_name_and_sage_number_trimmed(name, description, sage):
    site = Site(name=name, description=description, site_ref="")
    payload, message = outcome(
        lambda: abillity.site_payload(site, address=None, sage_account_number=sage, main_site=True)
    )

    if message is None:
        assert payload["SiteName"] == name.strip()
        assert payload["ShortName"] == (description or name).strip()
        assert payload["AccountRef"] == sage.strip()
    else:
        assert "at most" in message
        assert (
            len(name.strip()) > abillity.SITE_NAME_LIMIT
            or len(sage.strip()) > abillity.ACCOUNT_REF_LIMIT
            or len((description or name).strip()) > abillity.SHORT_NAME_LIMIT
        )


@settings(max_examples=200, deadline=None)
@given(text, text, st.text(max_size=40), st.booleans())
def test_abillity_contact_names_are_sent_trimmed_or_refused(first, last, telephone, primary):
    contact = Contact(
        first_name=first, last_name=last, telephone=telephone, email="", is_primary=primary
    )
    payload, message = outcome(lambda: abillity.contact_payload(contact, site_id=7))

    if message is None:
        assert payload["Christian"] == first.strip()
        assert payload["Surname"] == last.strip()
        assert payload["DDI"] == telephone.strip()
        assert payload["MainContact"] is primary
        assert payload["SiteID"] == 7
    else:
        assert (
            len(first.strip()) > abillity.FIRST_NAME_LIMIT
            or len(last.strip()) > abillity.SURNAME_LIMIT
            or len(telephone.strip()) > abillity.DDI_LIMIT
        )


# --- Affinity ---------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=120), text, text)
def test_affinity_account_name_is_sent_trimmed_or_refused_over_100(name, bill_run, telephone):
    customer = Customer(
        pk=12,
        name=name,
        registered_company_name="",
        bill_run=bill_run,
        payment_terms="",
        payment_method="",
        email="",
        telephone=telephone,
        vat_number="",
        status=CustomerStatus.LIVE,
    )
    payload, message = outcome(lambda: affinity.account_payload(customer))

    if message is None:
        assert payload["name"] == name.strip()
        assert payload["bill_run"] == bill_run.strip()
        assert payload["telephone"] == telephone.strip()
        assert payload["reference"] == "LAYER-C12"
    else:
        assert len(name.strip()) > 100 or len(bill_run.strip()) > 50 or len(telephone.strip()) > 30
        assert "at most" in message


street = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60).filter(
    str.strip
)


@settings(max_examples=200, deadline=None)
@given(text, street, text, st.text(max_size=14).filter(str.strip))
def test_affinity_site_address_is_sent_trimmed_or_refused_over_its_limits(
    name, street1, city, postcode
):
    site = Site(pk=3, name=name, site_ref="", is_default=True)
    address = Address(
        street1=street1, street2="", street3="", city=city, county="", postcode=postcode
    )
    payload, message = outcome(
        lambda: affinity.site_payload(site, account_id="A1", parent_site_id=None, address=address)
    )

    if message is None:
        assert payload["name"] == name.strip()
        assert payload["address_line1"] == street1.strip()
        assert payload["town"] == city.strip()
        assert payload["postcode"] == postcode.strip()
        assert payload["is_billing_site"] is True
    else:
        assert len(city.strip()) > 50 or len(postcode.strip()) > 10
        assert "at most" in message


def test_affinity_refuses_a_site_without_a_street_or_postcode():
    site = Site(pk=3, name="Depot", site_ref="", is_default=False)
    address = Address(street1="  ", street2="", street3="", city="", county="", postcode="LS1")

    with pytest.raises(PermanentError) as error:
        affinity.site_payload(site, account_id="A1", parent_site_id=None, address=address)

    assert "street and a postcode" in error.value.message
