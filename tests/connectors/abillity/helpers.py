"""Helpers of the Abillity tests: run the queue dry, read the emulator."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from connectors.choices import JobStatus
from connectors.models import Binding, SyncJob
from connectors.services import job_request, jobs_process_due


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
