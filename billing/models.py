"""Billing platforms and routes, inventory, sales orders, assets and bill status."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from customers.models import Customer, Site, TimeStampedModel

from .choices import (
    AssetStatus,
    BillComponent,
    BillingFrequency,
    BillStatus,
    ChangeSource,
    ChangeStatus,
    Classification,
    IdentifierField,
    ItemType,
    LineAction,
    PlatformCode,
)


class BillingPlatform(models.Model):
    """A system that invoices items: The Layer itself or an external platform."""

    code = models.CharField(max_length=20, unique=True, choices=PlatformCode.choices)
    name = models.CharField("platform name", max_length=100, unique=True)
    integration_enabled = models.BooleanField(
        default=False,
        help_text="The integration with this platform is active. While any integration is "
        "active, The Layer's own subsites are unavailable.",
    )
    change_queue_fields = models.JSONField(
        "Change Queue fields",
        default=list,
        blank=True,
        help_text="The asset fields whose in-life changes go to the Change Queue for this "
        "platform (field names, e.g. identifier, site, recurring_sell_price). Empty: the "
        "standard set (billing.change_queue.STANDARD_FIELDS).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_the_layer(self) -> bool:
        return self.code == PlatformCode.THE_LAYER


class BillingRoutes(models.Model):
    """The up-front and recurring billing routes, set independently.

    An inventory item holds the defaults; a sales order line copies them and
    may change them; its asset copies the line's. A blank route, like The
    Layer, means the component is invoiced in The Layer.
    """

    upfront_route = models.ForeignKey(
        BillingPlatform,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="up-front billing route",
    )
    recurring_route = models.ForeignKey(
        BillingPlatform,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="recurring billing route",
    )

    class Meta:
        abstract = True


class BaseCategory(models.Model):
    """A base category of inventory; it names the field that identifies its assets."""

    name = models.CharField(max_length=100, unique=True)
    identifier_field = models.CharField(
        max_length=10, choices=IdentifierField.choices, default=IdentifierField.MSISDN
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "base categories"

    def __str__(self) -> str:
        return self.name


class InventoryItem(BillingRoutes, TimeStampedModel):
    """A product or service in the price book, with its billing routes."""

    name = models.CharField("product name", max_length=100)
    item_type = models.CharField(max_length=10, choices=ItemType.choices)
    base_category = models.ForeignKey(
        BaseCategory, on_delete=models.PROTECT, related_name="inventory_items"
    )
    data_description = models.CharField(
        max_length=100, blank=True, help_text="By default, the up-front charge type id."
    )
    pricing_tier = models.CharField(
        max_length=100, blank=True, help_text="By default, the recurring charge type id."
    )
    custom_field_1 = models.CharField(max_length=100, blank=True)
    custom_field_2 = models.CharField(max_length=100, blank=True)
    external_sku = models.CharField(
        "external SKU", max_length=100, blank=True, help_text="The Affinity product code."
    )
    rrp = models.DecimalField("RRP", max_digits=12, decimal_places=2, null=True, blank=True)
    billing_frequency = models.CharField(
        max_length=10, choices=BillingFrequency.choices, default=BillingFrequency.MONTHLY
    )
    sell_price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    recurring_sell_price = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0")
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sell_price__gte=0) & Q(recurring_sell_price__gte=0),
                name="inventory_item_prices_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def identifier_label(self) -> str:
        return self.base_category.identifier_field


class SalesOrder(TimeStampedModel):
    """A sales order: from a won quote or entered directly."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="sales_orders")
    quote = models.OneToOneField(
        "customers.Quote",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sales_order",
    )
    reference = models.CharField(max_length=30, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.reference or f"SO{self.pk}"


class SalesOrderLine(BillingRoutes):
    """A line of a sales order, with its data-capture action and bill status."""

    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="lines")
    inventory_item = models.ForeignKey(
        InventoryItem, on_delete=models.PROTECT, related_name="order_lines"
    )
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="order_lines"
    )
    quantity = models.PositiveIntegerField(default=1)
    sell_price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    recurring_sell_price = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0")
    )
    classification = models.CharField(
        max_length=10, choices=Classification.choices, default=Classification.NEW
    )
    action = models.CharField(max_length=15, choices=LineAction.choices, default=LineAction.NEW)
    target_asset = models.ForeignKey(
        "Asset",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="targeted_by_lines",
        help_text="The existing asset that Update changes or New & Cease ceases.",
    )
    cli = models.CharField("captured CLI", max_length=17, blank=True)
    upfront_bill_status = models.CharField(
        "up-front bill status",
        max_length=15,
        choices=BillStatus.choices,
        default=BillStatus.NOT_BILLED,
    )
    recurring_bill_status = models.CharField(
        max_length=15, choices=BillStatus.choices, default=BillStatus.NOT_BILLED
    )

    class Meta:
        ordering = ["order_id", "id"]
        permissions = [
            (
                "allow_update_billing",
                "Allow update billing (bill statuses and bill start override)",
            ),
        ]
        indexes = [
            # The Billing Export reads (status, route) per component.
            models.Index(
                fields=["upfront_bill_status", "upfront_route"], name="line_upfront_status_route"
            ),
            models.Index(
                fields=["recurring_bill_status", "recurring_route"],
                name="line_recurring_status_route",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order} · {self.inventory_item}"


class Asset(BillingRoutes, TimeStampedModel):
    """A product or service asset made from a sales order line."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="assets")
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="assets"
    )
    inventory_item = models.ForeignKey(
        InventoryItem, on_delete=models.PROTECT, related_name="assets"
    )
    sales_order_line = models.OneToOneField(
        SalesOrderLine,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="asset",
    )
    identifier = models.CharField(
        max_length=40,
        blank=True,
        help_text="The asset's unique identifier: MSISDN, or the field its base category names.",
    )
    status = models.CharField(max_length=10, choices=AssetStatus.choices, default=AssetStatus.LIVE)
    connection_date = models.DateField(null=True, blank=True)
    issue_date = models.DateField(null=True, blank=True)
    billing_start_date_override = models.DateField(null=True, blank=True)
    fixed_billing = models.BooleanField(default=False)
    end_date = models.DateField(null=True, blank=True)
    cease_date = models.DateField(null=True, blank=True)
    cost_centre = models.CharField(max_length=50, blank=True)
    do_not_bill = models.BooleanField(default=False)
    quantity = models.PositiveIntegerField(default=1)
    sell_price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    recurring_sell_price = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0")
    )

    class Meta:
        ordering = ["customer_id", "id"]
        indexes = [models.Index(fields=["identifier"])]

    def __str__(self) -> str:
        label = self.identifier or f"#{self.pk}"
        return f"{self.inventory_item} {label}"

    @property
    def is_live(self) -> bool:
        return self.status == AssetStatus.LIVE


# --- the Billing Export and the Change Queue -------------------------------------------

# The staff role of the billing apps (the Billing Export and the Change Queue): "Apps -
# Change Queue" in The Layer.
BILLING_APPS_PERMISSION = "billing.use_billing_apps"


class BillingTransfer(models.Model):
    """One *Transfer to Billing*: the components it moved from Ready to Bill to In Billing,
    on one billing route, by whom and when."""

    route = models.ForeignKey(BillingPlatform, on_delete=models.PROTECT, related_name="+")
    transferred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    transferred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-transferred_at", "-id"]
        permissions = [("use_billing_apps", "Apps - Change Queue (the billing apps)")]

    def __str__(self) -> str:
        return f"Transfer #{self.pk} to {self.route}"


class BillingTransferItem(models.Model):
    """A line's component moved to In Billing by a transfer. A component moves once."""

    transfer = models.ForeignKey(BillingTransfer, on_delete=models.CASCADE, related_name="items")
    line = models.ForeignKey(
        SalesOrderLine, on_delete=models.CASCADE, related_name="transfer_items"
    )
    component = models.CharField(max_length=10, choices=BillComponent.choices)

    class Meta:
        ordering = ["transfer_id", "line_id", "component"]
        constraints = [
            models.UniqueConstraint(
                fields=["line", "component"], name="billing_transfer_once_per_component"
            )
        ]

    def __str__(self) -> str:
        return f"{self.line} ({self.get_component_display()})"


class ChangeQueueEntry(models.Model):
    """An in-life change to an in-billing service asset, to repeat by hand on a billing
    platform that has no live link for it. ``changes`` lists each tracked field that
    changed: ``[{"field", "label", "old", "new"}]`` (values as text)."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="change_entries")
    platform = models.ForeignKey(
        BillingPlatform, on_delete=models.PROTECT, related_name="change_entries"
    )
    source = models.CharField(max_length=25, choices=ChangeSource.choices)
    changes = models.JSONField(default=list)
    status = models.CharField(
        max_length=10, choices=ChangeStatus.choices, default=ChangeStatus.PENDING
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actioned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actioned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "Change Queue entry"
        verbose_name_plural = "Change Queue"
        indexes = [models.Index(fields=["platform", "status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.asset} on {self.platform}: {self.get_source_display()}"
