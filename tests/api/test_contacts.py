"""The contacts endpoints: /api/v1/contacts/."""

import pytest

from customers.models import Contact
from tests.factories import ContactFactory, ContactTypeFactory, CustomerFactory, SiteFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/contacts/"


def detail(pk: int) -> str:
    return f"{URL}{pk}/"


def test_a_contact_is_created_at_a_site_with_its_type_and_primary_flag(staff_api):
    site = SiteFactory()
    ContactTypeFactory(name="Billing", is_billing=True)

    response = staff_api.post(
        URL,
        {
            "customer": site.customer_id,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.test",
            "telephone": "0113 496 0001",
            "mobile": "07700 900001",
            "is_primary": True,
            "contact_type": "Billing",
            "site": site.pk,
        },
    )

    assert response.status_code == 201, response.data
    contact = Contact.objects.get(pk=response.json()["id"])
    assert contact.site == site
    assert contact.contact_type.name == "Billing"
    assert contact.is_primary is True
    assert response.json()["contact_type"] == "Billing"


def test_a_site_of_another_customer_is_a_400_on_site_and_creates_nothing(staff_api):
    customer = CustomerFactory()
    foreign = SiteFactory()

    response = staff_api.post(
        URL, {"customer": customer.pk, "first_name": "Ada", "site": foreign.pk}
    )

    assert response.status_code == 400
    assert "another customer" in response.json()["site"][0]
    assert not Contact.objects.exists()


def test_patching_to_a_site_of_another_customer_is_a_400_and_changes_nothing(staff_api):
    site = SiteFactory()
    contact = ContactFactory(customer=site.customer, site=site, first_name="Ada")
    foreign = SiteFactory()

    response = staff_api.patch(detail(contact.pk), {"site": foreign.pk, "first_name": "Bob"})

    assert response.status_code == 400
    assert set(response.json()) == {"site"}
    contact.refresh_from_db()
    assert contact.site == site
    assert contact.first_name == "Ada"


@pytest.mark.parametrize("with_site", [False, True], ids=["customer only", "customer and site"])
def test_a_contact_cannot_move_to_another_customer(staff_api, with_site):
    """Refused like a site, an address and a quote (docs/domain.md): the platforms hold the
    contact under its customer's company and site, and would keep it there."""
    site = SiteFactory()
    contact = ContactFactory(customer=site.customer, site=site, first_name="Ada")
    other_site = SiteFactory()
    body = {"customer": other_site.customer_id, "first_name": "Bob"}
    if with_site:
        body["site"] = other_site.pk

    response = staff_api.patch(detail(contact.pk), body)

    assert response.status_code == 400
    assert set(response.json()) == {"customer"}
    assert "cannot move to another customer" in response.json()["customer"][0]
    contact.refresh_from_db()
    assert (contact.customer_id, contact.site_id) == (site.customer_id, site.pk)
    assert contact.first_name == "Ada"


def test_patching_a_contact_with_its_own_customer_is_still_allowed(staff_api):
    contact = ContactFactory(first_name="Ada")

    response = staff_api.patch(
        detail(contact.pk), {"customer": contact.customer_id, "first_name": "Bob"}
    )

    assert response.status_code == 200, response.json()
    contact.refresh_from_db()
    assert contact.first_name == "Bob"


def test_patch_changes_the_contact(staff_api):
    contact = ContactFactory(first_name="Ada", is_primary=False)

    response = staff_api.patch(detail(contact.pk), {"is_primary": True, "telephone": "0113 1"})

    assert response.status_code == 200, response.data
    contact.refresh_from_db()
    assert contact.is_primary is True
    assert contact.telephone == "0113 1"
    assert contact.first_name == "Ada"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"customer": 999_999}, "customer"),
        ({"customer": "abc"}, "customer"),
        ({"site": 999_999}, "site"),
        ({"contact_type": "No Such Type"}, "contact_type"),
        ({"is_primary": "perhaps"}, "is_primary"),
        ({"first_name": ""}, "first_name"),
    ],
    ids=[
        "unknown customer",
        "customer not a number",
        "unknown site",
        "unknown type",
        "flag not a boolean",
        "blank first name",
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(staff_api, payload, field):
    customer = CustomerFactory()

    response = staff_api.post(URL, {"customer": customer.pk, "first_name": "Ada", **payload})

    assert response.status_code == 400
    assert set(response.json()) == {field}
    assert not Contact.objects.exists()


def test_list_filters_by_customer_site_and_primary_flag(staff_api):
    site = SiteFactory()
    at_site = ContactFactory(customer=site.customer, site=site, is_primary=True)
    elsewhere = ContactFactory(customer=site.customer)
    ContactFactory()

    def ids(params):
        response = staff_api.get(URL, params)
        assert response.status_code == 200, response.data
        return sorted(row["id"] for row in response.json()["results"])

    assert ids({"customer": site.customer_id}) == sorted([at_site.pk, elsewhere.pk])
    assert ids({"site": site.pk}) == [at_site.pk]
    assert ids({"customer": site.customer_id, "is_primary": "true"}) == [at_site.pk]
