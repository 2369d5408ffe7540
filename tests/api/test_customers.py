"""The customers endpoints: /api/v1/customers/ and /api/v1/customers/{id}/convert/."""

import pytest

from customers.choices import ConversionSource, CustomerStage, CustomerStatus, LeadOrigin
from customers.models import AccountType, Customer, CustomerClass, Lead
from customers.signals import customer_created_direct, lead_converted
from tests.factories import CustomerFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/"


def detail(pk: int) -> str:
    return f"{URL}{pk}/"


def convert(pk: int) -> str:
    return f"{URL}{pk}/convert/"


@pytest.fixture
def signal_log():
    """Every lead_converted and customer_created_direct sent while the test runs."""
    sent: list[tuple[str, dict]] = []

    def on_converted(sender, **kwargs):
        sent.append(("lead_converted", kwargs))

    def on_direct(sender, **kwargs):
        sent.append(("customer_created_direct", kwargs))

    lead_converted.connect(on_converted, dispatch_uid="test-api-lead-converted")
    customer_created_direct.connect(on_direct, dispatch_uid="test-api-created-direct")
    yield sent
    lead_converted.disconnect(dispatch_uid="test-api-lead-converted")
    customer_created_direct.disconnect(dispatch_uid="test-api-created-direct")


# --- create ------------------------------------------------------------------


def test_customer_created_directly_gets_a_lead_record_of_origin_direct(
    staff_api, staff_user, signal_log
):
    CustomerClass.objects.create(code="SME")
    response = staff_api.post(
        URL,
        {
            "name": "Acme Telecom Ltd",
            "registered_company_name": "Acme Telecommunications Limited",
            "stage": "customer",
            "status": "live",
            "bill_run": "BR1",
            "payment_terms": "30 days",
            "payment_method": "Direct Debit",
            "sage_account_number": "ACME001",
            "customer_class": "SME",
            "email": "accounts@acme.example.test",
            "telephone": "0113 496 0000",
            "vat_number": "GB123456789",
        },
    )

    assert response.status_code == 201, response.data
    body = response.json()
    assert body["stage"] == "customer"
    assert body["customer_class"] == "SME"
    assert body["lead"]["origin"] == "direct"
    assert body["lead"]["conversion_source"] == "direct"
    assert body["lead"]["converted_at"] is not None
    lead = Lead.objects.get(customer_id=body["id"])
    assert lead.origin == LeadOrigin.DIRECT
    assert lead.converted_by == staff_user
    assert [name for name, _ in signal_log] == ["customer_created_direct"]


def test_customer_created_as_lead_gets_an_open_lead_record(staff_api):
    response = staff_api.post(URL, {"name": "Prospect Ltd"})

    assert response.status_code == 201, response.data
    body = response.json()
    assert body["stage"] == "lead"
    assert body["status"] == "pending"
    assert body["lead"] == {"origin": "lead", "converted_at": None, "conversion_source": ""}
    assert Lead.objects.get(customer_id=body["id"]).origin == LeadOrigin.LEAD


def test_duplicate_name_is_a_400_on_name_naming_the_clash_and_creates_nothing(staff_api):
    existing = CustomerFactory(name="Acme Telecom Ltd")

    response = staff_api.post(URL, {"name": "  acme TELECOM ltd ", "stage": "customer"})

    assert response.status_code == 400
    [message] = response.json()["name"]
    assert f"Customer #{existing.pk}" in message
    assert '"Acme Telecom Ltd"' in message
    assert Customer.objects.count() == 1
    assert Lead.objects.count() == 1


def test_renaming_onto_another_customers_name_is_a_400_and_changes_nothing(staff_api):
    existing = CustomerFactory(name="Acme Telecom Ltd")
    other = CustomerFactory(name="Beta Comms Ltd")

    response = staff_api.patch(detail(other.pk), {"name": "ACME Telecom Ltd"})

    assert response.status_code == 400
    assert f"Customer #{existing.pk}" in response.json()["name"][0]
    other.refresh_from_db()
    assert other.name == "Beta Comms Ltd"


def test_read_only_fields_are_ignored_on_create(staff_api):
    response = staff_api.post(
        URL,
        {
            "name": "Gamma Ltd",
            "id": 4242,
            "created_at": "2001-01-01T00:00:00Z",
            "lead": {"origin": "direct"},
        },
    )

    assert response.status_code == 201, response.data
    body = response.json()
    assert body["id"] != 4242
    assert not body["created_at"].startswith("2001")
    assert body["lead"]["origin"] == "lead"


# --- bad input -----------------------------------------------------------------


def test_unknown_customer_class_is_a_400_naming_the_field(staff_api):
    response = staff_api.post(URL, {"name": "Delta Ltd", "customer_class": "NOPE"})

    assert response.status_code == 400
    assert set(response.json()) == {"customer_class"}
    assert not Customer.objects.exists()


def test_wrong_types_are_a_400_naming_each_field_and_create_nothing(staff_api):
    response = staff_api.post(
        URL,
        {"name": ["not", "a", "string"], "status": "bogus", "email": "not-an-email"},
    )

    assert response.status_code == 400
    assert set(response.json()) == {"name", "status", "email"}
    assert not Customer.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(staff_api):
    response = staff_api.post(URL, ["Acme"])

    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert not Customer.objects.exists()


# --- update ----------------------------------------------------------------------


def test_patch_changes_the_given_fields_only(staff_api):
    customer = CustomerFactory(name="Acme Telecom Ltd", bill_run="BR1")

    response = staff_api.patch(detail(customer.pk), {"payment_terms": "14 days", "status": "live"})

    assert response.status_code == 200, response.data
    customer.refresh_from_db()
    assert customer.payment_terms == "14 days"
    assert customer.status == CustomerStatus.LIVE
    assert customer.bill_run == "BR1"
    assert customer.name == "Acme Telecom Ltd"


def test_patch_cannot_turn_a_lead_into_a_customer_by_its_stage(staff_api, signal_log):
    lead = LeadFactory()

    response = staff_api.patch(detail(lead.pk), {"stage": "customer"})

    assert response.status_code == 400
    assert "convert" in response.json()["stage"][0]
    lead.refresh_from_db()
    assert lead.stage == CustomerStage.LEAD
    assert signal_log == []


def test_put_and_delete_are_not_allowed(staff_api):
    customer = CustomerFactory(name="Acme Telecom Ltd")

    assert staff_api.put(detail(customer.pk), {"name": "Other"}).status_code == 405
    assert staff_api.delete(detail(customer.pk)).status_code == 405
    customer.refresh_from_db()
    assert customer.name == "Acme Telecom Ltd"


# --- convert -----------------------------------------------------------------------


def test_convert_turns_a_lead_into_a_customer_once_then_is_a_400(staff_api, staff_user, signal_log):
    lead = LeadFactory(status=CustomerStatus.PENDING)

    first = staff_api.post(convert(lead.pk))

    assert first.status_code == 200, first.data
    assert first.json()["stage"] == "customer"
    assert first.json()["status"] == "pending"
    assert first.json()["lead"]["conversion_source"] == "manual"
    record = Lead.objects.get(customer=lead)
    assert record.conversion_source == ConversionSource.MANUAL
    assert record.converted_at is not None
    assert record.converted_by == staff_user

    second = staff_api.post(convert(lead.pk))

    assert second.status_code == 400
    assert "already a customer" in second.json()["stage"][0]
    assert [name for name, _ in signal_log] == ["lead_converted"]
    assert signal_log[0][1]["source"] == ConversionSource.MANUAL
    assert signal_log[0][1]["user"] == staff_user


def test_convert_of_an_unknown_customer_is_a_404(staff_api):
    assert staff_api.post(convert(999_999)).status_code == 404


# --- filters, search, ordering -------------------------------------------------------


def names(response) -> list[str]:
    assert response.status_code == 200, response.data
    return [row["name"] for row in response.json()["results"]]


def test_list_filters_by_stage_status_class_and_name(staff_api):
    sme = CustomerClass.objects.create(code="SME")
    CustomerFactory(name="Acme Telecom Ltd", customer_class=sme, status=CustomerStatus.LIVE)
    CustomerFactory(name="Beta Comms Ltd")
    LeadFactory(name="Acme Prospects Ltd")

    assert names(staff_api.get(URL, {"stage": "lead"})) == ["Acme Prospects Ltd"]
    assert names(staff_api.get(URL, {"status": "live"})) == ["Acme Telecom Ltd"]
    assert names(staff_api.get(URL, {"customer_class": "SME"})) == ["Acme Telecom Ltd"]
    assert names(staff_api.get(URL, {"name": "acme"})) == [
        "Acme Prospects Ltd",
        "Acme Telecom Ltd",
    ]
    assert staff_api.get(URL, {"stage": "bogus"}).status_code == 400


def test_search_covers_name_registered_company_name_and_sage_number(staff_api):
    CustomerFactory(name="Acme Telecom Ltd", sage_account_number="ACME001")
    CustomerFactory(name="Beta Comms Ltd", registered_company_name="Beta Holdings plc")
    CustomerFactory(name="Gamma Ltd")

    assert names(staff_api.get(URL, {"search": "acme001"})) == ["Acme Telecom Ltd"]
    assert names(staff_api.get(URL, {"search": "holdings"})) == ["Beta Comms Ltd"]
    assert names(staff_api.get(URL, {"search": "gamma"})) == ["Gamma Ltd"]


def test_ordering_by_name_descending(staff_api):
    for name in ("Beta Ltd", "Acme Ltd", "Gamma Ltd"):
        CustomerFactory(name=name)

    assert names(staff_api.get(URL, {"ordering": "-name"})) == ["Gamma Ltd", "Beta Ltd", "Acme Ltd"]


def test_detail_shows_the_customer_with_its_lead_record(staff_api):
    customer = CustomerFactory(name="Acme Telecom Ltd")

    response = staff_api.get(detail(customer.pk))

    assert response.status_code == 200
    assert response.json()["name"] == "Acme Telecom Ltd"
    assert response.json()["lead"]["origin"] == "direct"


def test_a_customers_account_type_is_read_and_set_by_its_code(api_client):
    user = UserFactory(is_staff=True, is_superuser=True)
    api_client.force_authenticate(user)
    created = api_client.post(
        "/api/v1/customers/", {"name": "Typed Ltd", "account_type": "virtual"}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["account_type"] == "virtual"
    assert Customer.objects.get(name="Typed Ltd").account_type == AccountType.objects.get(
        code="virtual"
    )
    refused = api_client.patch(
        f"/api/v1/customers/{created.json()['id']}/", {"account_type": "martian"}, format="json"
    )
    assert refused.status_code == 400 and "account_type" in refused.json()
