"""The sync engine's admin (*Billing platform sync*).

- ``jobs``: the Sync History and the error queue (retry, skip, map to an existing
  platform record), each job with its HTTP attempts;
- ``setup``: bindings (read-only), entity settings with their export filters, value
  mappings;
- ``records``: a record's sync state on its own admin page (customer, site, contact,
  asset), with Sync now and the preview of what a sync would send.

Adapters over the engine's services and selectors: nothing here calls a platform.
"""

from .jobs import SyncAttemptInline, SyncJobAdmin, jobs_status_summary
from .records import sync_state_panel
from .setup import BindingAdmin, EntitySettingAdmin, ExportFilterInline, ValueMappingAdmin

__all__ = [
    "BindingAdmin",
    "EntitySettingAdmin",
    "ExportFilterInline",
    "SyncAttemptInline",
    "SyncJobAdmin",
    "ValueMappingAdmin",
    "jobs_status_summary",
    "sync_state_panel",
]
