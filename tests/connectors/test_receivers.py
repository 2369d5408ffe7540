"""Changes become jobs in their own transaction: rollbacks, bursts, receivers, publishing.

These tests look at what is queued, so publishing is recorded instead of sent
(``publish_calls``); with no broker it would run the job at once. They use
real transactions (``transactional_db``), so a commit is a commit.
"""

import pytest
from django.db import connection, transaction
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import BaseCategory
from billing.signals import sales_order_created
from connectors.choices import Direction, Entity, JobStatus
from connectors.engine.claim import job_claim
from connectors.engine.publish import changes_enqueue
from connectors.models import EntitySetting, SyncJob
from connectors.receivers import customer_saved
from customers import services as customer_services
from customers.models import Customer
from customers.signals import lead_converted
from tests.connectors.engine_helpers import integration_off, integration_set, job_of, jobs_of
from tests.connectors.fake import PLATFORM
from tests.factories import (
    AddressFactory,
    AssetFactory,
    ContactFactory,
    CustomerFactory,
    SiteAddressFactory,
    SiteFactory,
)

pytestmark = pytest.mark.usefixtures("transactional_db")


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def integration_on(transactional_db):
    integration_set(enabled=True)


def rename(customer: Customer, name: str) -> Customer:
    customer.name = name
    return customer_services.customer_save(customer=customer)


# --- the outbox shares the change's transaction --------------------------------------------
def test_a_rolled_back_change_leaves_no_job_and_publishes_nothing(publish_calls):
    with pytest.raises(Boom), transaction.atomic():
        CustomerFactory(name="Never Ltd")
        assert SyncJob.objects.count() == 1  # written with the change, inside its transaction
        raise Boom

    assert not Customer.objects.exists()
    assert SyncJob.objects.count() == 0
    assert publish_calls == []


def test_a_committed_change_leaves_exactly_one_job_published_once_after_commit(publish_calls):
    with transaction.atomic():
        customer = CustomerFactory(name="Kept Ltd")
        assert publish_calls == []  # nothing is published before the commit

    job = job_of(customer)
    assert (job.status, job.attempts, job.reason) == (JobStatus.PENDING, 0, "customer saved")
    # Saved, then "customer created directly": two changes, one job, one message.
    assert publish_calls == [(PLATFORM, Entity.CUSTOMER, customer.pk, 0)]


def test_a_burst_of_saves_in_one_transaction_merges_into_one_pending_job_and_one_publish(
    publish_calls,
):
    with transaction.atomic():
        customer = CustomerFactory(name="Burst Ltd")
        for n in range(5):
            rename(customer, f"Burst {n} Ltd")

    assert len(jobs_of(customer)) == 1
    assert publish_calls == [(PLATFORM, Entity.CUSTOMER, customer.pk, 0)]


def test_saves_across_transactions_merge_into_the_one_pending_job(publish_calls):
    customer = CustomerFactory(name="Spread Ltd")
    for n in range(3):
        rename(customer, f"Spread {n} Ltd")

    (job,) = jobs_of(customer)
    assert job.status == JobStatus.PENDING
    # One message per commit (each may be the first to reach a worker), one job for all.
    assert publish_calls == [(PLATFORM, Entity.CUSTOMER, customer.pk, 0)] * 4


def test_a_change_while_the_job_is_in_flight_queues_one_new_pending_job(publish_calls):
    customer = CustomerFactory(name="Busy Ltd")
    running = job_claim(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk)

    rename(customer, "Busy Again Ltd")
    rename(customer, "Busy Once More Ltd")

    statuses = [job.status for job in jobs_of(customer)]
    assert statuses == [JobStatus.IN_FLIGHT, JobStatus.PENDING]
    assert jobs_of(customer)[0].pk == running.pk


def test_a_savepoint_rollback_drops_its_jobs_and_every_committed_job_is_published(
    publish_calls,
):
    with integration_off():
        kept, dropped = CustomerFactory(name="Kept Ltd"), CustomerFactory(name="Dropped Ltd")

    with transaction.atomic():
        rename(kept, "Kept Again Ltd")
        with pytest.raises(Boom), transaction.atomic():
            rename(dropped, "Dropped Again Ltd")
            rename(kept, "Kept Once More Ltd")
            raise Boom

    assert jobs_of(dropped) == []
    assert job_of(kept).status == JobStatus.PENDING
    published = [(c[1], c[2]) for c in publish_calls]
    # The rolled-back record may be published for nothing (its task finds no job);
    # the committed one is published once.
    assert published.count((Entity.CUSTOMER, kept.pk)) == 1


def test_a_record_queued_again_after_its_savepoint_rolled_back_is_still_published(
    publish_calls,
):
    with integration_off():
        customer = CustomerFactory(name="Again Ltd")

    with transaction.atomic():
        with pytest.raises(Boom), transaction.atomic():
            rename(customer, "Again 1 Ltd")
            raise Boom
        rename(customer, "Again 2 Ltd")

    assert job_of(customer).status == JobStatus.PENDING
    assert publish_calls == [(PLATFORM, Entity.CUSTOMER, customer.pk, 0)]


def test_records_queued_together_are_published_dependencies_first(publish_calls):
    with integration_off():
        customer = CustomerFactory()
        site = SiteFactory(customer=customer)
        contact = ContactFactory(customer=customer, site=site)

    with transaction.atomic():
        changes_enqueue(entity=Entity.CONTACT, object_ids=[contact.pk], reason="test")
        changes_enqueue(entity=Entity.SITE, object_ids=[site.pk], reason="test")
        changes_enqueue(entity=Entity.CUSTOMER, object_ids=[customer.pk], reason="test")

    assert [c[1] for c in publish_calls] == [Entity.CUSTOMER, Entity.SITE, Entity.CONTACT]


def test_saving_with_the_integration_on_costs_at_most_two_extra_queries(publish_calls):
    customer = CustomerFactory(name="Counted Ltd")
    SyncJob.objects.all().delete()

    post_save.disconnect(sender=Customer, dispatch_uid="sync_customer_saved")
    try:
        with CaptureQueriesContext(connection) as without_engine:
            rename(customer, "Counted 1 Ltd")
    finally:
        post_save.connect(customer_saved, sender=Customer, dispatch_uid="sync_customer_saved")
    with CaptureQueriesContext(connection) as with_engine:
        rename(customer, "Counted 2 Ltd")

    assert len(with_engine) - len(without_engine) <= 2
    assert len(jobs_of(customer)) == 1


# --- which changes queue what ------------------------------------------------------------
def test_each_domain_change_queues_its_record(publish_calls):
    with integration_off():
        customer = CustomerFactory()
        site = SiteFactory(customer=customer)
        other_site = SiteFactory(customer=customer)
        address = AddressFactory(customer=customer)
        contact = ContactFactory(customer=customer, site=site)

    SiteAddressFactory(site=site, address=address)
    assert [j.reason for j in jobs_of(site, Entity.SITE)] == ["site's addresses changed"]

    SiteAddressFactory(site=other_site, address=address)
    SyncJob.objects.all().delete()
    address.street1 = "1 New Street"
    customer_services.address_save(address=address)
    queued = set(SyncJob.objects.values_list("entity", "object_id", "reason"))
    assert queued == {
        (Entity.SITE, site.pk, "an address of the site changed"),
        (Entity.SITE, other_site.pk, "an address of the site changed"),
    }

    SyncJob.objects.all().delete()
    contact.telephone = "0113 496 0999"
    customer_services.contact_save(contact=contact)
    site.name = "Renamed"
    customer_services.site_save(site=site)
    assert set(SyncJob.objects.values_list("entity", "object_id", "reason")) == {
        (Entity.CONTACT, contact.pk, "contact saved"),
        (Entity.SITE, site.pk, "site saved"),
    }


def test_removing_an_address_from_a_site_queues_the_site(publish_calls):
    with integration_off():
        link = SiteAddressFactory()
    site = link.site

    customer_services.site_address_delete(link=link)

    assert [j.reason for j in jobs_of(site, Entity.SITE)] == ["site's addresses changed"]


def test_deleting_a_site_queues_no_job_for_the_site_that_is_gone(publish_calls):
    with integration_off():
        customer = CustomerFactory()
        SiteFactory(customer=customer)  # the default site stays
        link = SiteAddressFactory(site=SiteFactory(customer=customer))
    site = link.site

    customer_services.site_delete(site=site)

    assert jobs_of(site, Entity.SITE) == []


def test_deleting_a_customer_queues_no_job_for_its_sites(publish_calls):
    with integration_off():
        link = SiteAddressFactory()
    site, customer = link.site, link.site.customer

    customer.delete()

    assert jobs_of(site, Entity.SITE) == []
    assert SyncJob.objects.count() == 0


def test_deleting_an_address_queues_the_sites_that_used_it(publish_calls):
    with integration_off():
        link = SiteAddressFactory()

    link.address.delete()

    assert [j.reason for j in jobs_of(link.site, Entity.SITE)] == ["site's addresses changed"]


def test_an_asset_change_queues_it_for_a_platform_exporting_assets(publish_calls):
    # Transactional tests start from an empty database: the migrations' category is gone.
    BaseCategory.objects.get_or_create(name="Mobile")
    EntitySetting.objects.create(platform=PLATFORM, entity=Entity.ASSET)

    asset = AssetFactory()

    assert [j.reason for j in jobs_of(asset, Entity.ASSET)] == ["asset saved"]


def test_initial_sync_events_queue_the_customer_with_their_reason(publish_calls):
    with integration_off():
        converted, ordered = CustomerFactory(), CustomerFactory()

    with transaction.atomic():
        lead_converted.send(sender=Customer, customer=converted, source="manual", quote=None)
        sales_order_created.send(sender=None, order=None, customer=ordered, user=None)

    assert job_of(converted).reason == "lead converted"
    assert job_of(ordered).reason == "sales order created"


@pytest.mark.parametrize(
    "switch_off",
    [
        pytest.param(lambda: integration_set(enabled=False), id="integration off"),
        pytest.param(
            lambda: EntitySetting.objects.filter(platform=PLATFORM).update(active=False),
            id="entity inactive",
        ),
        pytest.param(
            lambda: EntitySetting.objects.filter(platform=PLATFORM).update(
                direction=Direction.IMPORT
            ),
            id="import only",
        ),
    ],
)
def test_a_platform_that_does_not_export_the_entity_gets_no_job(publish_calls, switch_off):
    switch_off()

    CustomerFactory()

    assert SyncJob.objects.count() == 0
    assert publish_calls == []


def test_a_raw_save_from_a_fixture_queues_nothing(publish_calls):
    now = timezone.now()
    customer = Customer(name="Fixture Ltd", stage="customer", created_at=now, updated_at=now)

    customer.save_base(raw=True)

    assert SyncJob.objects.count() == 0
