"""Receivers that turn domain changes into sync jobs (and nothing else).

They run inside the transaction of the change, so the job commits or rolls
back with it; they only write the outbox row, never call a platform. A
service that changes records with ``QuerySet.update()`` (no signals) calls
``connectors.engine.publish.changes_enqueue`` itself.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save

from billing.models import Asset
from billing.signals import assets_bulk_updated, demo_data_loaded, sales_order_created
from customers.choices import ConversionSource
from customers.models import Address, Contact, Customer, Site, SiteAddress
from customers.selectors import sites_using_address
from customers.signals import lead_converted

from .base import registered
from .choices import Entity
from .engine.publish import changes_enqueue
from .engine.queue import initial_sync_events_record
from .models import InitialSyncEvent
from .selectors import exporting_platforms


def customer_saved(sender: Any, instance: Customer, created: bool, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    changes_enqueue(entity=Entity.CUSTOMER, object_ids=[instance.pk], reason="customer saved")


def site_saved(sender: Any, instance: Site, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    changes_enqueue(entity=Entity.SITE, object_ids=[instance.pk], reason="site saved")


def site_address_changed(sender: Any, instance: SiteAddress, **kwargs: Any) -> None:
    if kwargs.get("raw") or _deleted_with_its_site(kwargs.get("origin")):
        return
    changes_enqueue(
        entity=Entity.SITE, object_ids=[instance.site_id], reason="site's addresses changed"
    )


def _deleted_with_its_site(origin: Any) -> bool:
    """Whether a site address link goes because its site (or customer) is being deleted:
    then there is no site left to sync, only a job that would find it gone."""
    if origin is None:
        return False
    model = origin.model if isinstance(origin, QuerySet) else type(origin)
    return model in (Site, Customer)


def address_saved(sender: Any, instance: Address, **kwargs: Any) -> None:
    """A change to an address resyncs every site that uses it (seed 000)."""
    if kwargs.get("raw"):
        return
    platforms = exporting_platforms(Entity.SITE)
    if not platforms:
        return
    site_ids = sites_using_address(address=instance).values_list("pk", flat=True)
    changes_enqueue(
        entity=Entity.SITE,
        object_ids=site_ids,
        reason="an address of the site changed",
        platforms=platforms,
    )


def contact_saved(sender: Any, instance: Contact, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    changes_enqueue(entity=Entity.CONTACT, object_ids=[instance.pk], reason="contact saved")


def asset_saved(sender: Any, instance: Asset, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    changes_enqueue(entity=Entity.ASSET, object_ids=[instance.pk], reason="asset saved")


def assets_bulk_changed(sender: Any, asset_ids: list[int], **kwargs: Any) -> None:
    """A bulk update (one UPDATE, no post_save): resend each asset, as its save would."""
    changes_enqueue(entity=Entity.ASSET, object_ids=asset_ids, reason="assets bulk updated")


def initial_sync_event(sender: Any, customer: Customer, **kwargs: Any) -> None:
    """Seed 000's initial sync events: a lead converted (by a won quote or by hand) and a
    sales order created (the manual sync is ``engine.queue.job_request``'s). A customer
    created directly is not one: it waits for a manual sync, which can map it to an
    existing company first."""
    if kwargs.get("signal") is lead_converted:
        won = kwargs.get("source") == ConversionSource.QUOTE_WIN
        event = InitialSyncEvent.Event.QUOTE_WIN if won else InitialSyncEvent.Event.LEAD_CONVERSION
        reason = "lead converted"
    else:
        event, reason = InitialSyncEvent.Event.SALES_ORDER, "sales order created"
    initial_sync_events_record(customer_ids=[customer.pk], event=event)
    changes_enqueue(entity=Entity.CUSTOMER, object_ids=[customer.pk], reason=reason)


def demo_prepare(sender, **kwargs) -> str:
    """The demo: each connector talking to its sandbox emulator gets its demo setup."""
    lines = [line for connector in registered().values() if (line := connector.demo_prepare())]
    return "\n".join(lines)


def connect_receivers() -> None:
    demo_data_loaded.connect(demo_prepare, dispatch_uid="sync_demo_prepare")
    post_save.connect(customer_saved, sender=Customer, dispatch_uid="sync_customer_saved")
    post_save.connect(site_saved, sender=Site, dispatch_uid="sync_site_saved")
    post_save.connect(
        site_address_changed, sender=SiteAddress, dispatch_uid="sync_site_address_saved"
    )
    post_delete.connect(
        site_address_changed, sender=SiteAddress, dispatch_uid="sync_site_address_deleted"
    )
    post_save.connect(address_saved, sender=Address, dispatch_uid="sync_address_saved")
    post_save.connect(contact_saved, sender=Contact, dispatch_uid="sync_contact_saved")
    post_save.connect(asset_saved, sender=Asset, dispatch_uid="sync_asset_saved")
    assets_bulk_updated.connect(assets_bulk_changed, dispatch_uid="sync_assets_bulk_updated")
    for signal, uid in (
        (lead_converted, "sync_lead_converted"),
        (sales_order_created, "sync_sales_order_created"),
    ):
        signal.connect(initial_sync_event, dispatch_uid=uid)
