"""Admin for the billing app: platforms, base categories, inventory, sales orders, lines
and assets, and the sales order side of quotes (see .orders); the Billing Export and the
Change Queue (see .billing_apps)."""

from .billing_apps import BillingTransferAdmin, ChangeQueueEntryAdmin
from .inventory import BaseCategoryAdmin, BillingPlatformAdmin, InventoryItemAdmin
from .orders import (
    AssetAdmin,
    AssetForm,
    QuoteAdmin,
    SalesOrderAdmin,
    SalesOrderForm,
    SalesOrderLineAdmin,
    SalesOrderLineForm,
    SalesOrderLineInline,
    billing_fields_locked,
    line_spec,
)

__all__ = [
    "AssetAdmin",
    "AssetForm",
    "BaseCategoryAdmin",
    "BillingPlatformAdmin",
    "BillingTransferAdmin",
    "ChangeQueueEntryAdmin",
    "InventoryItemAdmin",
    "QuoteAdmin",
    "SalesOrderAdmin",
    "SalesOrderForm",
    "SalesOrderLineAdmin",
    "SalesOrderLineForm",
    "SalesOrderLineInline",
    "billing_fields_locked",
    "line_spec",
]
