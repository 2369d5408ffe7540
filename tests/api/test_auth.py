"""Authentication and permissions on every API endpoint.

Anonymous requests are refused everywhere; reading needs the model's view
permission, writing its add or change permission, and converting a lead the
change-customer permission. Token and session authentication both work.
"""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from connectors.choices import Entity, JobStatus
from connectors.models import SyncJob
from customers.choices import CustomerStage
from customers.models import Address, Contact, Customer, Site
from tests.api.conftest import token_key_for, user_with_perms
from tests.connectors.fake import PLATFORM
from tests.factories import AssetFactory, ContactFactory, LeadFactory, SiteAddressFactory

pytestmark = pytest.mark.django_db

WRITABLE = {
    "customers": "customers.%s_customer",
    "sites": "customers.%s_site",
    "addresses": "customers.%s_address",
    "contacts": "customers.%s_contact",
}
READ_ONLY = {
    "inventory-items": "billing.%s_inventoryitem",
    "sales-orders": "billing.%s_salesorder",
    "assets": "billing.%s_asset",
}
ENDPOINTS = {**WRITABLE, **READ_ONLY}
# The sync engine's endpoints (method, URL template); they need the connectors permissions.
SYNC_REQUESTS = [
    ("get", "/api/v1/sync-jobs/"),
    ("get", "/api/v1/sync-jobs/{sync-jobs}/"),
    ("post", "/api/v1/sync-jobs/{sync-jobs}/retry/"),
    ("post", "/api/v1/sync-jobs/{sync-jobs}/skip/"),
    ("post", "/api/v1/customers/{customers}/sync/"),
    ("get", "/api/v1/customers/{customers}/sync-status/?platform=" + PLATFORM),
    ("get", "/api/v1/sync-preview/?platform=" + PLATFORM + "&entity=customer&id={customers}"),
]


@pytest.fixture
def records() -> dict[str, int]:
    """One record behind each endpoint, so detail URLs name rows that exist."""
    link = SiteAddressFactory()
    site = link.site
    contact = ContactFactory(customer=site.customer, site=site)
    asset = AssetFactory(customer=site.customer, site=site)
    job = SyncJob.objects.create(
        platform=PLATFORM,
        entity=Entity.CUSTOMER,
        object_id=site.customer_id,
        status=JobStatus.FAILED,
        next_attempt_at=timezone.now(),
    )
    return {
        "customers": site.customer_id,
        "lead": LeadFactory().pk,
        "sites": site.pk,
        "addresses": link.address_id,
        "contacts": contact.pk,
        "inventory-items": asset.inventory_item_id,
        "sales-orders": asset.sales_order_line.order_id,
        "assets": asset.pk,
        "sync-jobs": job.pk,
    }


def every_request() -> list[tuple[str, str]]:
    """(method, URL template) of every endpoint; templates name a key of `records`."""
    requests = [("get", "/api/v1/"), ("get", "/api/schema/"), ("get", "/api/docs/")]
    for prefix in ENDPOINTS:
        requests += [
            ("get", f"/api/v1/{prefix}/"),
            ("post", f"/api/v1/{prefix}/"),
            ("get", f"/api/v1/{prefix}/{{{prefix}}}/"),
            ("patch", f"/api/v1/{prefix}/{{{prefix}}}/"),
        ]
    requests.append(("post", "/api/v1/customers/{lead}/convert/"))
    return requests + SYNC_REQUESTS


@pytest.mark.parametrize(("method", "url"), every_request(), ids=" ".join)
def test_anonymous_requests_are_refused_on_every_endpoint(api_client, records, method, url):
    counts = (Customer.objects.count(), Site.objects.count(), Contact.objects.count())
    jobs = list(SyncJob.objects.values_list("pk", "status"))

    response = getattr(api_client, method)(
        url.format(**records),
        {"name": "Anonymous Ltd", "first_name": "X", "platform": PLATFORM},
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert (Customer.objects.count(), Site.objects.count(), Contact.objects.count()) == counts
    assert Customer.objects.get(pk=records["lead"]).stage == CustomerStage.LEAD
    assert list(SyncJob.objects.values_list("pk", "status")) == jobs


def test_a_bad_token_is_refused(api_client, records):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")

    assert api_client.get("/api/v1/customers/").status_code == 401


@pytest.mark.parametrize("prefix", list(ENDPOINTS))
def test_an_authenticated_user_without_permissions_is_refused(api_as, records, prefix):
    client = api_as()

    assert client.get(f"/api/v1/{prefix}/").status_code == 403
    assert client.get(f"/api/v1/{prefix}/{records[prefix]}/").status_code == 403
    assert client.post(f"/api/v1/{prefix}/", {}).status_code == 403


@pytest.mark.parametrize("prefix", list(ENDPOINTS))
def test_the_view_permission_allows_reading_but_not_writing(api_as, records, prefix):
    client = api_as(ENDPOINTS[prefix] % "view")

    listed = client.get(f"/api/v1/{prefix}/")
    assert listed.status_code == 200
    assert listed.json()["count"] >= 1
    assert client.get(f"/api/v1/{prefix}/{records[prefix]}/").status_code == 200
    assert client.post(f"/api/v1/{prefix}/", {}).status_code == 403
    assert client.patch(f"/api/v1/{prefix}/{records[prefix]}/", {}).status_code == 403


@pytest.mark.parametrize(("method", "url"), SYNC_REQUESTS, ids=" ".join)
def test_an_authenticated_user_without_permissions_is_refused_on_every_sync_endpoint(
    api_as, records, method, url
):
    client = api_as()
    jobs = list(SyncJob.objects.values_list("pk", "status"))

    body = {"platform": PLATFORM} if method == "post" else None

    response = getattr(client, method)(url.format(**records), body)

    assert response.status_code == 403
    assert list(SyncJob.objects.values_list("pk", "status")) == jobs


def test_reading_one_model_does_not_allow_reading_another(api_as, records):
    client = api_as("customers.view_customer")

    assert client.get("/api/v1/customers/").status_code == 200
    assert client.get("/api/v1/sites/").status_code == 403
    assert client.get("/api/v1/assets/").status_code == 403


def test_the_add_permission_allows_creating_but_not_changing(api_as, records):
    client = api_as("customers.add_customer")
    customer_url = f"/api/v1/customers/{records['customers']}/"

    assert client.post("/api/v1/customers/", {"name": "New Ltd"}).status_code == 201
    assert client.patch(customer_url, {"bill_run": "BR9"}).status_code == 403
    assert Customer.objects.get(pk=records["customers"]).bill_run == ""


def test_the_change_permission_allows_patching(api_as, records):
    client = api_as("customers.change_contact")

    response = client.patch(f"/api/v1/contacts/{records['contacts']}/", {"first_name": "Zed"})

    assert response.status_code == 200
    assert Contact.objects.get(pk=records["contacts"]).first_name == "Zed"


@pytest.mark.parametrize(
    "perm", ["customers.view_customer", "customers.add_customer"], ids=["view", "add"]
)
def test_convert_is_refused_without_the_change_customer_permission(api_as, records, perm):
    client = api_as(perm)

    response = client.post(f"/api/v1/customers/{records['lead']}/convert/")

    assert response.status_code == 403
    assert Customer.objects.get(pk=records["lead"]).stage == CustomerStage.LEAD


def test_convert_is_allowed_with_the_change_customer_permission(api_as, records):
    client = api_as("customers.change_customer")

    response = client.post(f"/api/v1/customers/{records['lead']}/convert/")

    assert response.status_code == 200, response.data
    assert Customer.objects.get(pk=records["lead"]).stage == CustomerStage.CUSTOMER


def test_token_authentication_works(records):
    user = user_with_perms("customers.view_address")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(user)}")

    response = client.get("/api/v1/addresses/")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [records["addresses"]]
    assert Address.objects.count() == 1


def test_session_authentication_works_and_enforces_csrf_on_writes(records):
    client = APIClient(enforce_csrf_checks=True)
    username = user_with_perms("customers.view_customer", "customers.add_customer").username
    assert client.login(username=username, password="correct-horse-battery")

    assert client.get("/api/v1/customers/").status_code == 200
    refused = client.post("/api/v1/customers/", {"name": "Forged Ltd"}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not Customer.objects.filter(name="Forged Ltd").exists()
