"""The addresses endpoints: /api/v1/addresses/, with their site associations."""

import pytest

from customers.models import Address, SiteAddress
from tests.factories import AddressFactory, CustomerFactory, SiteAddressFactory, SiteFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/addresses/"


def detail(pk: int) -> str:
    return f"{URL}{pk}/"


def links_of(address_id: int) -> set[tuple[int, bool]]:
    return set(
        SiteAddress.objects.filter(address_id=address_id).values_list("site_id", "is_site_default")
    )


@pytest.fixture
def two_sites():
    head = SiteFactory(name="Head Office")
    warehouse = SiteFactory(customer=head.customer, name="Warehouse")
    return head, warehouse


def test_an_address_is_created_with_its_site_associations(staff_api, two_sites):
    head, warehouse = two_sites

    response = staff_api.post(
        URL,
        {
            "customer": head.customer_id,
            "street1": "1 Park Row",
            "city": "Leeds",
            "postcode": "LS1 5HD",
            "sites": [
                {"site": warehouse.pk},
                {"site": head.pk, "is_site_default": True},
            ],
        },
    )

    assert response.status_code == 201, response.data
    body = response.json()
    assert body["sites"] == [
        {"site": head.pk, "is_site_default": True},
        {"site": warehouse.pk, "is_site_default": False},
    ]
    assert links_of(body["id"]) == {(head.pk, True), (warehouse.pk, False)}


def test_patch_with_sites_replaces_the_associations(staff_api, two_sites):
    head, warehouse = two_sites
    link = SiteAddressFactory(site=head, is_site_default=True)

    response = staff_api.patch(
        detail(link.address_id), {"sites": [{"site": warehouse.pk, "is_site_default": True}]}
    )

    assert response.status_code == 200, response.data
    assert response.json()["sites"] == [{"site": warehouse.pk, "is_site_default": True}]
    assert links_of(link.address_id) == {(warehouse.pk, True)}


def test_patch_with_an_empty_sites_list_removes_every_association(staff_api, two_sites):
    head, _ = two_sites
    link = SiteAddressFactory(site=head)

    response = staff_api.patch(detail(link.address_id), {"sites": []})

    assert response.status_code == 200, response.data
    assert links_of(link.address_id) == set()


def test_patch_can_change_the_site_default_flag_of_a_kept_association(staff_api, two_sites):
    head, _ = two_sites
    link = SiteAddressFactory(site=head, is_site_default=False)

    response = staff_api.patch(
        detail(link.address_id), {"sites": [{"site": head.pk, "is_site_default": True}]}
    )

    assert response.status_code == 200, response.data
    assert links_of(link.address_id) == {(head.pk, True)}
    assert SiteAddress.objects.get().pk == link.pk


def test_patch_without_sites_keeps_the_associations(staff_api, two_sites):
    head, _ = two_sites
    link = SiteAddressFactory(site=head, is_site_default=True)

    response = staff_api.patch(detail(link.address_id), {"postcode": "LS2 7EW"})

    assert response.status_code == 200, response.data
    assert links_of(link.address_id) == {(head.pk, True)}
    assert Address.objects.get(pk=link.address_id).postcode == "LS2 7EW"


def test_a_site_default_taken_by_this_address_is_cleared_on_the_other(staff_api, two_sites):
    head, _ = two_sites
    previous = SiteAddressFactory(site=head, is_site_default=True)

    response = staff_api.post(
        URL,
        {
            "customer": head.customer_id,
            "street1": "2 Park Row",
            "sites": [{"site": head.pk, "is_site_default": True}],
        },
    )

    assert response.status_code == 201, response.data
    previous.refresh_from_db()
    assert previous.is_site_default is False
    assert SiteAddress.objects.filter(site=head, is_site_default=True).count() == 1


def test_a_site_of_another_customer_is_a_400_on_sites_and_creates_nothing(staff_api, two_sites):
    head, _ = two_sites
    foreign = SiteFactory()

    response = staff_api.post(
        URL,
        {
            "customer": head.customer_id,
            "street1": "1 Park Row",
            "sites": [{"site": head.pk}, {"site": foreign.pk}],
        },
    )

    assert response.status_code == 400
    # The service validator's rule and message, naming the site it refused.
    assert response.json()["sites"] == [
        f'Site {foreign.pk} "{foreign}": The address belongs to another customer than the site.'
    ]
    assert not Address.objects.exists()
    assert not SiteAddress.objects.exists()


def test_a_patch_with_a_bad_site_changes_nothing(staff_api, two_sites):
    head, _ = two_sites
    link = SiteAddressFactory(site=head, is_site_default=True)
    foreign = SiteFactory()

    response = staff_api.patch(
        detail(link.address_id), {"street1": "Changed", "sites": [{"site": foreign.pk}]}
    )

    assert response.status_code == 400
    assert "sites" in response.json()
    assert links_of(link.address_id) == {(head.pk, True)}
    assert Address.objects.get(pk=link.address_id).street1 != "Changed"


@pytest.mark.parametrize("value", [999_999, "abc"], ids=["unknown id", "not a number"])
def test_a_bad_site_id_is_a_400_on_sites(staff_api, two_sites, value):
    head, _ = two_sites

    response = staff_api.post(
        URL, {"customer": head.customer_id, "street1": "1 Park Row", "sites": [{"site": value}]}
    )

    assert response.status_code == 400
    # The error names the list, the item's index and the item's field.
    assert set(response.json()["sites"]["0"]) == {"site"}
    assert not Address.objects.exists()


def test_sites_that_is_not_a_list_is_a_400_on_sites(staff_api, two_sites):
    head, _ = two_sites

    response = staff_api.post(
        URL, {"customer": head.customer_id, "street1": "1 Park Row", "sites": str(head.pk)}
    )

    assert response.status_code == 400
    assert set(response.json()) == {"sites"}
    assert not Address.objects.exists()


def test_a_site_listed_twice_is_a_400(staff_api, two_sites):
    head, _ = two_sites

    response = staff_api.post(
        URL,
        {
            "customer": head.customer_id,
            "street1": "1 Park Row",
            "sites": [{"site": head.pk}, {"site": head.pk, "is_site_default": True}],
        },
    )

    assert response.status_code == 400
    assert "more than once" in response.json()["sites"][0]
    assert not Address.objects.exists()


def test_a_missing_street_and_an_unknown_customer_are_400s_naming_the_fields(staff_api):
    response = staff_api.post(URL, {"customer": 999_999, "city": "Leeds"})

    assert response.status_code == 400
    assert set(response.json()) == {"customer", "street1"}


def test_a_new_customer_default_address_clears_the_previous_one(staff_api):
    previous = AddressFactory(is_default=True)

    response = staff_api.post(
        URL, {"customer": previous.customer_id, "street1": "3 Park Row", "is_default": True}
    )

    assert response.status_code == 201, response.data
    previous.refresh_from_db()
    assert previous.is_default is False
    assert Address.objects.filter(customer=previous.customer, is_default=True).count() == 1


def test_an_address_cannot_move_to_another_customer(staff_api):
    address = AddressFactory()
    other = CustomerFactory()

    response = staff_api.patch(detail(address.pk), {"customer": other.pk})

    assert response.status_code == 400
    assert "customer" in response.json()
    address.refresh_from_db()
    assert address.customer_id != other.pk


def test_list_filters_by_customer_and_site(staff_api, two_sites):
    head, warehouse = two_sites
    at_head = SiteAddressFactory(site=head).address
    at_warehouse = SiteAddressFactory(site=warehouse).address
    AddressFactory()

    def ids(params):
        response = staff_api.get(URL, params)
        assert response.status_code == 200, response.data
        return sorted(row["id"] for row in response.json()["results"])

    assert ids({"customer": head.customer_id}) == sorted([at_head.pk, at_warehouse.pk])
    assert ids({"site": warehouse.pk}) == [at_warehouse.pk]
