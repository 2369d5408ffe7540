"""Admin for the billing app: platforms, base categories, inventory, sales orders, lines
and assets, and the sales order side of quotes (see .orders)."""

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
