"""A record's sync state on its own admin page (customer, site, contact, asset), Sync now,
the preview page, and the panel registry of layer_sync.admin that shows it without the
domain apps importing the engine."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from billing.models import BillingPlatform
from connectors.base import Connector, register, unregister
from connectors.choices import Entity, ErrorKind, JobStatus
from connectors.engine.entity_settings import entity_settings_ensure
from connectors.engine.push import payload_hash
from connectors.models import Binding, SyncJob
from layer_sync.admin import (
    change_form_panels,
    register_change_form_panel,
    unregister_change_form_panel,
)
from layer_sync.registry import registry
from tests.admin_helpers import page_messages
from tests.connectors.fake import PLATFORM
from tests.factories import (
    AssetFactory,
    ContactFactory,
    CustomerFactory,
    SiteFactory,
    UserFactory,
)

VIEW = "connectors.view_syncjob"
ADD = "connectors.add_syncjob"

pytestmark = pytest.mark.django_db


def registered_only(monkeypatch, *identifiers: str) -> None:
    """For the test, no connector registered but those named."""
    for identifier in set(registry["connectors"]) - set(identifiers):
        monkeypatch.delitem(registry["connectors"], identifier)


def fake_integration(*, enabled: bool = True) -> None:
    BillingPlatform.objects.update_or_create(
        code=PLATFORM, defaults={"name": "Fake platform", "integration_enabled": enabled}
    )
    entity_settings_ensure()


def staff_client(*perms: str) -> Client:
    """A client logged in as staff (not a superuser) who may view customers, sites, contacts
    and assets, and holds ``perms`` besides."""
    user = UserFactory(is_staff=True)
    wanted = [
        ("customers", "view_customer"),
        ("customers", "view_site"),
        ("customers", "view_contact"),
        ("billing", "view_asset"),
        *(tuple(perm.split(".")) for perm in perms),
    ]
    for app_label, codename in wanted:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = Client()
    client.force_login(user)
    return client


def change_url(record) -> str:
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])


def job_url(job: SyncJob) -> str:
    return reverse("admin:connectors_syncjob_change", args=[job.pk])


def sync_now_url(entity: str, object_id: int, platform: str = PLATFORM) -> str:
    return reverse("admin:connectors_syncjob_sync_now", args=[platform, entity, object_id])


def preview_url(entity: str, object_id: int, platform: str = PLATFORM) -> str:
    return reverse("admin:connectors_syncjob_preview", args=[platform, entity, object_id])


def make_job(entity: str, object_id: int, **fields) -> SyncJob:
    return SyncJob.objects.create(
        platform=PLATFORM,
        entity=entity,
        object_id=object_id,
        next_attempt_at=timezone.now(),
        **fields,
    )


def bind(entity: str, object_id: int, external_id: str, *, role: str | None = None, **fields):
    now = timezone.now()
    return Binding.objects.create(
        platform=PLATFORM,
        role=role or entity,
        entity=entity,
        object_id=object_id,
        external_id=external_id,
        first_synced_at=now,
        last_synced_at=now,
        **fields,
    )


def panel_of(response) -> str:
    page = response.content.decode()
    start = page.index('id="sync-state"')
    return page[start : page.index("</table>", start)]


@pytest.fixture
def assets_platform():
    """A connector that takes assets (and their charges), integration on."""

    class AssetsPlatform(Connector):
        identifier = "assets-platform"
        name = "Assets Platform"
        entities = (Entity.ASSET, Entity.CHARGE)

    register(AssetsPlatform)
    BillingPlatform.objects.create(
        code=AssetsPlatform.identifier, name=AssetsPlatform.name, integration_enabled=True
    )
    entity_settings_ensure()
    yield AssetsPlatform.identifier
    unregister(AssetsPlatform.identifier)


# --- the panel on each record's page ------------------------------------------------------


def test_the_customer_page_shows_its_external_id_open_job_and_last_job(superuser_client):
    customer = CustomerFactory(name="Acme Ltd")
    bind(Entity.CUSTOMER, customer.pk, "900")
    last = make_job(
        Entity.CUSTOMER,
        customer.pk,
        status=JobStatus.FAILED,
        error_kind=ErrorKind.PERMANENT,
        last_error="name may be at most 50 characters",
        finished_at=timezone.now(),
    )
    pending = make_job(Entity.CUSTOMER, customer.pk)

    response = superuser_client.get(change_url(customer))

    assert response.status_code == 200
    panel = panel_of(response)
    assert f'data-platform="{PLATFORM}" data-entity="customer"' in panel
    assert "Fake platform" in panel
    assert "Customer: Fake platform id <strong>900</strong>" in panel
    assert f'<a href="{job_url(pending)}">#{pending.pk}</a>' in panel
    assert f'<a href="{job_url(last)}">#{last.pk}</a>' in panel
    assert '<span class="sync-status sync-status-error">Failed</span>' in panel
    assert "name may be at most 50 characters" in panel
    assert f'href="{preview_url(Entity.CUSTOMER, customer.pk)}"' in panel
    jobs_link = (
        f"{reverse('admin:connectors_syncjob_changelist')}?platform={PLATFORM}"
        f"&amp;entity__exact=customer&amp;object_id={customer.pk}"
    )
    assert f'href="{jobs_link}"' in panel


def test_the_panel_says_a_record_never_synced_is_not_on_the_platform_yet(superuser_client):
    customer = CustomerFactory()

    panel = panel_of(superuser_client.get(change_url(customer)))

    assert "Not on the platform yet." in panel


@pytest.mark.parametrize("factory", [SiteFactory, ContactFactory])
def test_site_and_contact_pages_show_their_sync_state(superuser_client, factory):
    record = factory()
    entity = Entity.SITE if factory is SiteFactory else Entity.CONTACT
    bind(entity, record.pk, "4242")
    done = make_job(entity, record.pk, status=JobStatus.SUCCEEDED, finished_at=timezone.now())

    panel = panel_of(superuser_client.get(change_url(record)))

    assert f'data-entity="{entity}"' in panel
    assert f"{entity.capitalize()}: Fake platform id <strong>4242</strong>" in panel
    assert f'<a href="{job_url(done)}">#{done.pk}</a>' in panel
    assert '<span class="sync-status sync-status-done">Succeeded</span>' in panel


def test_the_asset_page_shows_the_asset_and_its_charges_on_a_platform_taking_them(
    superuser_client, assets_platform
):
    asset = AssetFactory()
    Binding.objects.create(
        platform=assets_platform,
        role="service",
        entity=Entity.ASSET,
        object_id=asset.pk,
        external_id="SVC-1",
    )

    panel = panel_of(superuser_client.get(change_url(asset)))

    assert f'data-platform="{assets_platform}" data-entity="asset"' in panel
    assert f'data-platform="{assets_platform}" data-entity="charge"' in panel
    assert "Service: " in panel and "id <strong>SVC-1</strong>" in panel
    assert 'data-platform="fake"' not in panel  # the fake platform takes no assets


def test_no_panel_when_no_registered_connector_takes_the_record(superuser_client, monkeypatch):
    asset = AssetFactory()
    # Only the fake platform, which takes customers, sites and contacts, not assets.
    registered_only(monkeypatch, PLATFORM)

    page = superuser_client.get(change_url(asset)).content.decode()

    assert 'id="sync-state"' not in page


def test_no_panel_when_no_connector_is_registered(superuser_client, monkeypatch):
    customer = CustomerFactory()
    registered_only(monkeypatch)

    page = superuser_client.get(change_url(customer)).content.decode()

    assert 'id="sync-state"' not in page


def test_no_panel_for_staff_who_may_not_read_sync_jobs():
    customer = CustomerFactory()

    response = staff_client().get(change_url(customer))

    assert response.status_code == 200
    assert 'id="sync-state"' not in response.content.decode()


def test_sync_now_is_offered_to_staff_who_may_queue_syncs_while_the_platform_exports():
    customer = CustomerFactory()
    fake_integration()
    button = f'action="{sync_now_url(Entity.CUSTOMER, customer.pk)}"'

    reader = panel_of(staff_client(VIEW).get(change_url(customer)))
    requester = panel_of(staff_client(VIEW, ADD).get(change_url(customer)))
    fake_integration(enabled=False)
    integration_off = panel_of(staff_client(VIEW, ADD).get(change_url(customer)))

    assert button not in reader
    assert button in requester
    assert button not in integration_off
    assert "Integration off or entity not exported" in integration_off


def test_the_panel_sits_outside_the_records_form(superuser_client):
    customer = CustomerFactory()
    fake_integration()

    page = superuser_client.get(change_url(customer)).content.decode()

    assert page.index("</form></div>") < page.index('id="sync-state"')


# --- Sync now ------------------------------------------------------------------------------


def test_sync_now_queues_a_job_and_goes_back_to_the_record(superuser, superuser_client):
    customer = CustomerFactory(name="Acme Ltd")
    fake_integration()

    response = superuser_client.post(sync_now_url(Entity.CUSTOMER, customer.pk))

    assert response.status_code == 302
    assert response["Location"] == change_url(customer)
    job = SyncJob.objects.get(entity=Entity.CUSTOMER, object_id=customer.pk)
    assert (job.platform, job.status, job.requested_by) == (
        PLATFORM,
        JobStatus.PENDING,
        superuser,
    )
    (message,) = page_messages(response)
    assert f'queued as <a href="{job_url(job)}">job #{job.pk}</a>' in message
    assert "runs in the background" in message


def test_sync_now_merges_into_the_records_pending_job():
    customer = CustomerFactory()
    fake_integration()
    pending = make_job(Entity.CUSTOMER, customer.pk)

    staff_client(VIEW, ADD).post(sync_now_url(Entity.CUSTOMER, customer.pk))

    assert list(SyncJob.objects.values_list("pk", flat=True)) == [pending.pk]


def test_sync_now_with_the_integration_off_queues_nothing_and_says_why(superuser_client):
    customer = CustomerFactory()
    fake_integration(enabled=False)

    response = superuser_client.post(sync_now_url(Entity.CUSTOMER, customer.pk))

    assert response["Location"] == change_url(customer)
    assert not SyncJob.objects.exists()
    (message,) = page_messages(response)
    assert message.startswith("Nothing was queued: The Fake platform integration is off")


def test_sync_now_needs_the_permission_to_queue_syncs():
    customer = CustomerFactory()
    fake_integration()

    response = staff_client(VIEW).post(sync_now_url(Entity.CUSTOMER, customer.pk))

    assert response.status_code == 403
    assert not SyncJob.objects.exists()


def test_sync_now_answers_post_only(superuser_client):
    customer = CustomerFactory()
    fake_integration()

    response = superuser_client.get(sync_now_url(Entity.CUSTOMER, customer.pk))

    assert response.status_code == 405
    assert not SyncJob.objects.exists()


@pytest.mark.parametrize(
    ("platform", "entity", "object_id"),
    [("nowhere", Entity.CUSTOMER, None), (PLATFORM, Entity.ASSET, None), (PLATFORM, "customer", 0)],
)
def test_sync_now_of_an_unknown_platform_entity_or_record_is_a_404(
    superuser_client, platform, entity, object_id
):
    customer = CustomerFactory()
    fake_integration()

    response = superuser_client.post(
        sync_now_url(entity, customer.pk if object_id is None else object_id, platform)
    )

    assert response.status_code == 404
    assert not SyncJob.objects.exists()


# --- the preview --------------------------------------------------------------------------


def preview_rows(response) -> dict[str, list[str]]:
    """The preview table as {field: [rule, last sent, now, will send]} (cell texts)."""
    rows = {}
    for match in re.finditer(
        r'<tr class="preview-field[^"]*" data-field="([^"]+)">(.*?)</tr>',
        response.content.decode(),
        re.S,
    ):
        cells = re.findall(r"<td>(.*?)</td>", match.group(2), re.S)
        rows[match.group(1)] = [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells[1:]]
    return rows


def test_the_preview_of_a_customer_never_sent_would_create_it_sending_every_field(
    superuser_client,
):
    customer = CustomerFactory(name="Acme Ltd")
    fake_integration()

    response = superuser_client.get(preview_url(Entity.CUSTOMER, customer.pk))

    assert response.status_code == 200
    assert response.context["preview"].action == "create"
    rows = preview_rows(response)
    assert rows["name"] == ["repeated", "never sent", "Acme Ltd", "yes"]
    assert rows["reference"] == ["one-off", "never sent", f"C{customer.pk}", "yes"]
    assert not SyncJob.objects.exists()


def test_the_preview_after_a_sync_sends_only_changed_repeated_fields(superuser_client):
    customer = CustomerFactory(name="Acme Ltd")
    fake_integration()
    sent = {"reference": "C0", "name": "Old name", "status": customer.status, "email": ""}
    bind(Entity.CUSTOMER, customer.pk, "41", payload=sent, payload_hash=payload_hash(sent))

    response = superuser_client.get(preview_url(Entity.CUSTOMER, customer.pk))

    assert response.context["preview"].action == "update"
    rows = preview_rows(response)
    assert rows["name"] == ["repeated", "Old name", "Acme Ltd", "yes"]
    assert rows["reference"] == ["one-off", "C0", f"C{customer.pk}", "no"]
    assert rows["status"][-1] == "no"
    assert 'id="preview-action">update<' in response.content.decode()


def test_the_preview_says_when_the_integration_is_off(superuser_client):
    customer = CustomerFactory()
    fake_integration(enabled=False)

    response = superuser_client.get(preview_url(Entity.CUSTOMER, customer.pk))

    assert response.status_code == 200
    assert "The Fake platform integration is off" in response.content.decode()


def test_the_preview_needs_the_permission_to_read_sync_jobs():
    customer = CustomerFactory()

    response = staff_client().get(preview_url(Entity.CUSTOMER, customer.pk))

    assert response.status_code == 403


def test_the_preview_of_a_missing_record_is_a_404(superuser_client):
    response = superuser_client.get(preview_url(Entity.CUSTOMER, 999999))

    assert response.status_code == 404


# --- the panel registry (layer_sync.admin) --------------------------------------------------


def test_a_panel_provider_shows_on_the_pages_of_the_models_it_names(superuser_client):
    customer = CustomerFactory()
    site = SiteFactory(customer=customer)

    def hello(request, obj):
        return format_html('<p id="hello-panel">hello {}</p>', obj.pk)

    register_change_form_panel("customers.Customer")(hello)
    register_change_form_panel("customers.Customer")(hello)  # twice: shown once
    try:
        customer_page = superuser_client.get(change_url(customer)).content.decode()
        site_page = superuser_client.get(change_url(site)).content.decode()
    finally:
        unregister_change_form_panel(hello)
    after = superuser_client.get(change_url(customer)).content.decode()

    assert customer_page.count(f'<p id="hello-panel">hello {customer.pk}</p>') == 1
    assert 'id="hello-panel"' not in site_page
    assert 'id="hello-panel"' not in after


def test_a_panel_given_as_plain_text_is_escaped(superuser_client):
    customer = CustomerFactory()

    def unsafe(request, obj):
        return "<script>alert(1)</script>"

    register_change_form_panel("customers.Customer")(unsafe)
    try:
        page = superuser_client.get(change_url(customer)).content.decode()
    finally:
        unregister_change_form_panel(unsafe)

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_provider_with_nothing_to_show_adds_nothing(superuser_client, monkeypatch):
    customer = CustomerFactory()
    registered_only(monkeypatch)
    request = superuser_client.get(change_url(customer)).wsgi_request

    assert change_form_panels(request, customer) == []


# --- names staff understand instead of roles and ids (issue 22) ---------------------------


def test_a_role_pointing_at_another_record_names_it_and_unrelated_equal_ids_do_not(
    superuser_client,
):
    """A customer's ``billing_site`` binding holds the id of the platform site it is billed
    on (seed 000: one Layer site syncs as the billing site); staff read that site's name.
    A contact whose platform id happens to equal the company's is not named for it."""
    customer = CustomerFactory(name="Acme Ltd")
    site = SiteFactory(customer=customer, name="Leeds Head Office")
    contact = ContactFactory(customer=customer, site=site)
    bind(Entity.CUSTOMER, customer.pk, "5")  # role "customer"
    Binding.objects.create(
        platform=PLATFORM,
        role="billing_site",
        entity=Entity.CUSTOMER,
        object_id=customer.pk,
        external_id="77",
    )
    Binding.objects.create(
        platform=PLATFORM, role="site", entity=Entity.SITE, object_id=site.pk, external_id="77"
    )
    Binding.objects.create(
        platform=PLATFORM,
        role="site_contact",
        entity=Entity.CONTACT,
        object_id=contact.pk,
        external_id="5",
    )

    panel = panel_of(superuser_client.get(change_url(customer)))

    assert "Billing site: Leeds Head Office (Fake platform id <strong>77</strong>)" in panel
    assert "Customer: Fake platform id <strong>5</strong>" in panel
    assert "billing_site:" not in panel
