"""The sync engine's admin (*Billing platform sync*).

- ``jobs``: the Sync History and the error queue (retry, skip, map to an existing
  platform record), each job with its HTTP attempts;
- ``setup``: bindings (read-only), entity settings with their export filters, value
  mappings, platforms' charge types;
- ``customer_sync``: the manual customer sync (the summary of a customer, its sites and
  contacts on a platform, mapping to an existing company) and the tick at the top of the
  customer and sales order pages;
- ``records``: a record's sync state on its own admin page (customer, site, contact,
  asset), with Sync now, the preview of what a sync would send, the progress of an open
  job, and Retry and Map to existing for a job in the error queue;
- ``record_badge``: the tick at the top of an asset's page;
- ``customer_list``: the customer list's Sync column (per platform: on it, queued, failed);
- ``dashboard``: the sync dashboard (per platform: queue, error queue's top reasons,
  outcomes per day, latest reconciliation);
- ``progress``: a job's status as JSON, followed by the pages' progress indicator;
- ``affinity_imports``: Affinity's file imports (links, ceases), run in the background;
- ``schedules``: sync schedules (per platform and entity, prepare and/or process, run by
  beat).

Adapters over the engine's services and selectors: nothing here calls a platform. The
panels and the column it adds to other apps' pages are registered by
``admin_panels_register``, from the engine's ``AppConfig.ready``.
"""

from layer_sync.admin import register_change_form_panel, register_changelist_column

from ..base import ENTITY_MODELS
from .affinity_imports import AffinityImportAdmin
from .customer_list import CUSTOMER_SYNC_COLUMN, customer_sync_cell
from .customer_sync import customer_sync_badge
from .jobs import SyncAttemptInline, SyncJobAdmin, jobs_status_summary
from .record_badge import asset_sync_badge
from .records import sync_state_panel
from .schedules import SyncScheduleAdmin
from .setup import (
    BindingAdmin,
    ChargeTypeAdmin,
    EntitySettingAdmin,
    ExportFilterInline,
    ValueMappingAdmin,
)

__all__ = [
    "AffinityImportAdmin",
    "BindingAdmin",
    "ChargeTypeAdmin",
    "EntitySettingAdmin",
    "ExportFilterInline",
    "SyncAttemptInline",
    "SyncJobAdmin",
    "SyncScheduleAdmin",
    "ValueMappingAdmin",
    "asset_sync_badge",
    "customer_sync_badge",
    "customer_sync_cell",
    "jobs_status_summary",
    "sync_state_panel",
]


def admin_panels_register() -> None:
    """Show the engine's views of other apps' records on their admin pages: the sync tick
    at the top of customers, sales orders and assets, a record's sync state below the form
    of each record a platform takes, and the customer list's Sync column."""
    register_changelist_column("customers.Customer", CUSTOMER_SYNC_COLUMN)
    register_change_form_panel("customers.Customer", "billing.SalesOrder", position="top")(
        customer_sync_badge
    )
    register_change_form_panel("billing.Asset", position="top")(asset_sync_badge)
    register_change_form_panel(*sorted(set(ENTITY_MODELS.values())))(sync_state_panel)
