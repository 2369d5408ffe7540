"""Helpers of the Abillity tests: run the queue dry, read the emulator."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from connectors.choices import JobStatus
from connectors.engine.queue import job_request
from connectors.engine.sweep import jobs_process_due
from connectors.models import Binding, SyncJob


def drain(rounds: int = 10) -> None:
    """Run every pending job, including those waiting on a busy record, until none is left."""
    for _ in range(rounds):
        pending = SyncJob.objects.filter(status=JobStatus.PENDING)
        if not pending.exists():
            return
        pending.update(next_attempt_at=timezone.now())
        jobs_process_due()


def sync(customer, *, user=None) -> SyncJob:
    """A manual sync of a customer (seed 000's "Sync Abillity Customer"), run to the end."""
    job = job_request(
        platform="abillity", entity="customer", object_id=customer.pk, reason="manual", user=user
    )
    drain()
    job.refresh_from_db()
    return job


def external_id(role: str, entity: str, record) -> str:
    binding = Binding.objects.filter(
        platform="abillity", role=role, entity=entity, object_id=record.pk
    ).first()
    return binding.external_id if binding else ""


def company_of(emulator, customer) -> dict[str, Any]:
    return emulator.state["companies"][external_id("company", "customer", customer)]


def site_of(emulator, site) -> dict[str, Any]:
    return emulator.state["sites"][external_id("site", "site", site)]


def person_of(emulator, contact) -> dict[str, Any]:
    return emulator.state["site_contacts"][external_id("site_contact", "contact", contact)]


def writes(emulator) -> list[dict[str, Any]]:
    """The calls that changed something on the platform."""
    return [call for call in emulator.requests if call["method"] != "GET"]


def last_job(entity: str, record) -> SyncJob:
    return SyncJob.objects.filter(platform="abillity", entity=entity, object_id=record.pk).first()


def integration(on: bool) -> None:
    """Turn the Abillity integration on or off (off: build records without syncing them)."""
    from billing.models import BillingPlatform

    BillingPlatform.objects.filter(code="abillity").update(integration_enabled=on)


def synced_customer(name: str):
    """A customer with its default site (Head Office), made with the integration off, then
    synced to Abillity by a manual sync (seed 000's initial sync event)."""
    from tests.factories import CustomerFactory, SiteFactory

    integration(False)
    customer = CustomerFactory(name=name, bill_run="Monthly 1st")
    SiteFactory(customer=customer, name="Head Office", is_default=True)
    integration(True)
    sync(customer)
    return customer


def abillity_item(**fields):
    """A mobile item routed to Abillity both ways, with charge types that suit its billing
    frequency (1001 One off, 2010 Monthly); ``fields`` override."""
    from decimal import Decimal

    from billing.choices import PlatformCode
    from tests.factories import InventoryItemFactory, platform

    route = platform(PlatformCode.ABILLITY)
    values = {
        "name": "Business Mobile 10GB",
        "upfront_route": route,
        "recurring_route": route,
        "data_description": "1001",
        "pricing_tier": "2010",
        "sell_price": Decimal("25.00"),
        "recurring_sell_price": Decimal("12.50"),
        "rrp": Decimal("18.00"),
        **fields,
    }
    return InventoryItemFactory(**values)
