"""The sites endpoints: /api/v1/sites/."""

import uuid

import pytest

from customers.models import CompanySettings, Site
from tests.factories import CustomerFactory, SiteFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/sites/"


def detail(pk: int) -> str:
    return f"{URL}{pk}/"


def defaults_of(customer) -> list[str]:
    return list(
        Site.objects.filter(customer=customer, is_default=True).values_list("name", flat=True)
    )


def test_a_customers_first_site_becomes_its_default_with_a_generated_ref(staff_api):
    customer = CustomerFactory()

    response = staff_api.post(URL, {"customer": customer.pk, "name": "Head Office"})

    assert response.status_code == 201, response.data
    body = response.json()
    assert body["is_default"] is True
    assert body["site_ref"] == f"S{body['id']:06d}"
    assert uuid.UUID(body["integration_id"])
    assert body["parent"] is None


def test_a_second_default_site_leaves_exactly_one_default(staff_api):
    first = SiteFactory(name="Head Office")
    customer = first.customer

    response = staff_api.post(
        URL, {"customer": customer.pk, "name": "Warehouse", "is_default": True}
    )

    assert response.status_code == 201, response.data
    assert defaults_of(customer) == ["Warehouse"]
    first.refresh_from_db()
    assert first.is_default is False


def test_patch_making_another_site_the_default_moves_the_flag(staff_api):
    first = SiteFactory(name="Head Office")
    second = SiteFactory(customer=first.customer, name="Warehouse")

    response = staff_api.patch(detail(second.pk), {"is_default": True})

    assert response.status_code == 200, response.data
    assert defaults_of(first.customer) == ["Warehouse"]


def test_clearing_the_only_default_site_is_a_400_and_changes_nothing(staff_api):
    site = SiteFactory(name="Head Office")

    response = staff_api.patch(detail(site.pk), {"is_default": False, "name": "Renamed"})

    assert response.status_code == 400
    assert "exactly one default site" in response.json()["is_default"][0]
    site.refresh_from_db()
    assert site.is_default is True
    assert site.name == "Head Office"


def test_integration_id_is_read_only(staff_api):
    customer = CustomerFactory()
    given = str(uuid.uuid4())

    created = staff_api.post(
        URL, {"customer": customer.pk, "name": "Head Office", "integration_id": given}
    )
    assert created.status_code == 201, created.data
    generated = created.json()["integration_id"]
    assert generated != given

    patched = staff_api.patch(detail(created.json()["id"]), {"integration_id": given})
    assert patched.status_code == 200
    assert patched.json()["integration_id"] == generated
    assert str(Site.objects.get().integration_id) == generated


def test_site_ref_defaults_to_the_name_when_auto_generation_is_off(staff_api):
    company = CompanySettings.load()
    company.auto_generate_site_reference = False
    company.save()
    customer = CustomerFactory()

    response = staff_api.post(URL, {"customer": customer.pk, "name": "Leeds Office"})

    assert response.status_code == 201, response.data
    assert response.json()["site_ref"] == "Leeds Office"


@pytest.mark.parametrize(
    "value",
    [999_999, "abc", None, 10**20],
    ids=["unknown id", "not a number", "null", "out of range"],
)
def test_a_bad_customer_is_a_400_on_customer_and_creates_nothing(staff_api, value):
    response = staff_api.post(URL, {"customer": value, "name": "Head Office"})

    assert response.status_code == 400
    assert set(response.json()) == {"customer"}
    assert not Site.objects.exists()


def test_a_site_cannot_move_to_another_customer(staff_api):
    site = SiteFactory()
    other = CustomerFactory()

    response = staff_api.patch(detail(site.pk), {"customer": other.pk})

    assert response.status_code == 400
    assert "customer" in response.json()
    site.refresh_from_db()
    assert site.customer_id != other.pk


def test_a_parent_site_of_another_customer_is_a_400_on_parent(staff_api):
    site = SiteFactory()
    foreign = SiteFactory()

    response = staff_api.post(
        URL, {"customer": site.customer_id, "name": "Annex", "parent": foreign.pk}
    )

    assert response.status_code == 400
    assert "another customer" in response.json()["parent"][0]
    assert Site.objects.count() == 2


def test_a_subsite_of_the_same_customer_is_accepted(staff_api):
    site = SiteFactory()

    response = staff_api.post(
        URL, {"customer": site.customer_id, "name": "Annex", "parent": site.pk}
    )

    assert response.status_code == 201, response.data
    assert response.json()["parent"] == site.pk


def test_list_filters_by_customer_and_default_flag(staff_api):
    head = SiteFactory(name="Head Office")
    SiteFactory(customer=head.customer, name="Warehouse")
    SiteFactory(name="Elsewhere")

    def names(params):
        response = staff_api.get(URL, params)
        assert response.status_code == 200, response.data
        return sorted(row["name"] for row in response.json()["results"])

    assert names({"customer": head.customer_id}) == ["Head Office", "Warehouse"]
    assert names({"customer": head.customer_id, "is_default": "true"}) == ["Head Office"]
    assert names({"is_default": "false"}) == ["Warehouse"]
    assert staff_api.get(URL, {"customer": "abc"}).status_code == 400
