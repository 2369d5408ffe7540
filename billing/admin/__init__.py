"""Admin for the billing app: platforms, base categories, inventory, sales orders, lines
and assets, and the sales order side of quotes (see .orders); the Billing Export and the
Change Queue (see .billing_apps); call charges from Connect and batch sheets (see
.call_charges)."""

from .background_imports import BackgroundImportAdmin
from .billing_apps import BillingTransferAdmin, ChangeQueueEntryAdmin
from .call_charges import (
    AccountCodeAdmin,
    BatchSheetAdmin,
    ChargeImportAdmin,
    LocationAdmin,
    ProductGroupAdmin,
)
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
    "AccountCodeAdmin",
    "AssetAdmin",
    "AssetForm",
    "BackgroundImportAdmin",
    "BaseCategoryAdmin",
    "BatchSheetAdmin",
    "BillingPlatformAdmin",
    "BillingTransferAdmin",
    "ChangeQueueEntryAdmin",
    "ChargeImportAdmin",
    "InventoryItemAdmin",
    "LocationAdmin",
    "ProductGroupAdmin",
    "QuoteAdmin",
    "SalesOrderAdmin",
    "SalesOrderForm",
    "SalesOrderLineAdmin",
    "SalesOrderLineForm",
    "SalesOrderLineInline",
    "billing_fields_locked",
    "line_spec",
]
