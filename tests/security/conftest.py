"""Fixtures of the security tests: one row behind every page, and users by permission."""

from __future__ import annotations

import socket

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib.auth.models import Group
from django.utils import timezone

from billing.choices import BillingFrequency
from billing.models import BackgroundImport, BatchSheet, BillingTransfer, ChangeQueueEntry
from connectors.choices import Entity, JobStatus
from connectors.engine.entity_settings import entity_settings_ensure
from connectors.models import Binding, ChargeType, SyncJob, SyncSchedule, ValueMapping
from connectors.schedules import sync_schedule_save
from layer_sync.accounts.services import api_token_issue
from tests.api.conftest import user_with_perms
from tests.billing.call_charge_helpers import import_file
from tests.connectors.fake import PLATFORM
from tests.factories import (
    AccountCodeFactory,
    AccountTypeFactory,
    AssetFactory,
    ContactFactory,
    ContactTypeFactory,
    LeadFactory,
    QuoteFactory,
    SiteAddressFactory,
    UserFactory,
)


@pytest.fixture
def unreachable_platforms(settings):
    """Every platform URL points at a loopback port nothing listens on, so a page that asks
    a platform gets a fast refusal (never another engineer's dev server on :8000)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.SANDBOX_BASE_URL = f"http://127.0.0.1:{port}"
    for name in ("ABILLITY_API_URL", "AFFINITY_API_URL", "CONNECT_API_URL"):
        setattr(settings, name, "")
    settings.SYNC_CONNECT_TIMEOUT = 1.0
    settings.SYNC_READ_TIMEOUT = 1.0


@pytest.fixture
def records(db, unreachable_platforms) -> dict[str, int]:
    """A small data set with a row of every model the admin shows; ids by name."""
    link = SiteAddressFactory()
    site = link.site
    customer = site.customer
    contact = ContactFactory(customer=customer, site=site, contact_type=ContactTypeFactory())
    asset = AssetFactory(customer=customer, site=site)
    owner = UserFactory(username="records-owner")
    job = SyncJob.objects.create(
        platform=PLATFORM,
        entity=Entity.CUSTOMER,
        object_id=customer.pk,
        status=JobStatus.FAILED,
        next_attempt_at=timezone.now(),
        last_error="Refused",
    )
    Binding.objects.create(
        platform=PLATFORM, role="customer", entity=Entity.CUSTOMER, object_id=customer.pk,
        external_id="F-1",
    )  # fmt: skip
    ValueMapping.objects.create(
        platform=PLATFORM, kind="bill_run", layer_value="Monthly 1st", external_value="1"
    )
    ChargeType.objects.create(
        platform=PLATFORM, type_id=2010, name="Line rental", frequency=BillingFrequency.MONTHLY
    )
    sync_schedule_save(schedule=SyncSchedule(platform=PLATFORM, every_minutes=60))
    charge_import = import_file()
    sheet = BatchSheet.objects.create(
        location=charge_import.location, product_group=charge_import.product_group
    )
    background_import = BackgroundImport.objects.create(
        kind="call_charges", file_name="calls.csv", status="succeeded", created_by=owner
    )
    affinity_import = BackgroundImport.objects.create(
        kind="affinity_links", file_name="links.csv", status="succeeded", created_by=owner
    )
    platform = apps.get_model("billing", "BillingPlatform").objects.get(code="affinity")
    ChangeQueueEntry.objects.create(asset=asset, platform=platform, source="asset_edit")
    BillingTransfer.objects.create(route=platform, transferred_by=owner)
    Group.objects.create(name="Billing staff")
    api_token_issue(user=owner)
    # The login lockout's records (django-axes), as a failed login leaves them.
    seen = {"user_agent": "walk", "ip_address": "127.0.0.1", "username": "records-owner"}
    seen |= {"http_accept": "*/*", "path_info": "/admin/login/"}
    AccessAttempt.objects.create(**seen, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**seen)
    AccessFailureLog.objects.create(**seen)
    AccountTypeFactory()
    AccountCodeFactory()
    QuoteFactory(customer=customer)
    apps.get_model("customers", "CustomerClass").objects.create(code="WALK")
    lead = LeadFactory()
    # The fake platform's integration on, after the records are made (none is queued).
    apps.get_model("billing", "BillingPlatform").objects.update_or_create(
        code=PLATFORM, defaults={"name": "Fake platform", "integration_enabled": True}
    )
    entity_settings_ensure()
    return {
        "customer": customer.pk,
        "lead": lead.pk,
        "site": site.pk,
        "address": link.address_id,
        "contact": contact.pk,
        "inventory_item": asset.inventory_item_id,
        "sales_order": asset.sales_order_line.order_id,
        "asset": asset.pk,
        "job": job.pk,
        "charge_import": charge_import.pk,
        "batch_sheet": sheet.pk,
        "background_import": background_import.pk,
        "affinity_import": affinity_import.pk,
        "platform": PLATFORM,
    }


@pytest.fixture
def superuser(db):
    return UserFactory(username="walk-superuser", is_staff=True, is_superuser=True)


def staff_with(*perms: str):
    """A staff user (may enter the admin) holding exactly ``perms``."""
    user = user_with_perms(*perms)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return type(user).objects.get(pk=user.pk)
