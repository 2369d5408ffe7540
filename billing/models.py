"""Billing platforms and routes, inventory, sales orders, assets and bill status."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from customers.models import Customer, Site, TimeStampedModel

from .choices import (
    AssetStatus,
    BackgroundImportStatus,
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

    def clean(self) -> None:
        """The billing platforms' rules on the item (``billing.item_rules``), per field."""
        from django.core.exceptions import ValidationError

        from .item_rules import item_platform_errors

        super().clean()
        errors = item_platform_errors(self)
        if errors:
            raise ValidationError(errors)

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
    invoiced_in_layer_at = models.DateTimeField(
        "invoiced in The Layer",
        null=True,
        blank=True,
        help_text="When The Layer invoiced the line (only a line whose up-front billing route "
        "is The Layer or blank may be).",
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


# --- essensys Connect: locations, account codes, call charge imports, batch sheets ------
# (seed 004; the file format and the rules are in docs/connect.md)


class CallChargeImportType(models.TextChoices):
    """The file formats a call charge import reads (the "Import Type" of seed 004)."""

    ESSENSYS_CALL_LOGGER = "essensys_call_logger", "essensys call logger"


class ChargeImportStatus(models.TextChoices):
    MATCHED = "matched", "All rows matched"
    UNMATCHED_ROWS = "unmatched_rows", "Unmatched rows"


class Location(TimeStampedModel):
    """A location of the reseller whose calls essensys Connect logs (a Connect site)."""

    name = models.CharField(max_length=100, unique=True)
    connect_site_id = models.CharField(
        "Connect Site ID",
        max_length=50,
        blank=True,
        help_text="The id of this location's site in essensys Connect.",
    )
    connect_call_logger = models.BooleanField(
        "Connect Call Logger",
        default=False,
        help_text="Connect logs this location's calls: its call charge files may be imported.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["connect_site_id"],
                condition=~Q(connect_site_id=""),
                name="location_connect_site_id_unique",
                violation_error_message="Another location has this Connect Site ID.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ProductGroup(models.Model):
    """A group of ad-hoc charges ("Telephone Charges"); a batch sheet holds one group."""

    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AccountCode(models.Model):
    """The code an external platform knows a customer by in the files it sends back.

    Call charge rows from Connect are matched to customers by this code (for
    Connect: the client's Billing Reference), only in files imported at the
    code's location. One code per customer and platform; a code belongs to one
    customer of a platform (compared case-insensitively).
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="account_codes")
    platform = models.ForeignKey(BillingPlatform, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=50)
    location = models.ForeignKey(
        "Location",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="account_codes",
        help_text="The location the customer's account is at: call charge files imported at "
        "another location do not match it (seed 004).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["platform_id", "code"]
        constraints = [
            models.UniqueConstraint(
                models.F("platform"),
                models.functions.Lower("code"),
                name="account_code_unique_per_platform",
                violation_error_message="Another customer has this account code.",
            ),
            models.UniqueConstraint(
                fields=["customer", "platform"],
                name="one_account_code_per_customer_and_platform",
                violation_error_message="The customer has an account code for this platform.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.customer})"


class BatchSheet(TimeStampedModel):
    """Ad-hoc charges of one location and product group, checked and approved before billing.

    Open (charges are added), then completed (totals checked, nothing added),
    then approved (needs ``billing.approve_batchsheet``): an approved sheet
    never changes again. A location and product group has one open sheet at a
    time of each name.
    """

    CALL_LOGGER_NAME = "essensys call logger v2"

    name = models.CharField(max_length=100, default=CALL_LOGGER_NAME)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="batch_sheets")
    product_group = models.ForeignKey(
        ProductGroup, on_delete=models.PROTECT, related_name="batch_sheets"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    approved_charge_count = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("approve_batchsheet", "Can approve batch sheets")]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "product_group", "name"],
                condition=Q(completed_at__isnull=True),
                name="one_open_batch_sheet",
            ),
            models.CheckConstraint(
                condition=Q(approved_at__isnull=True) | Q(completed_at__isnull=False),
                name="batch_sheet_approved_only_when_completed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} · {self.location} · {self.product_group} (#{self.pk})"

    @property
    def is_completed(self) -> bool:
        return self.completed_at is not None

    @property
    def is_approved(self) -> bool:
        return self.approved_at is not None

    @property
    def state(self) -> str:
        return "approved" if self.is_approved else "completed" if self.is_completed else "open"

    def save(self, *args, **kwargs) -> None:
        # The last line of defence behind the services: an approved sheet never changes.
        if self.pk and BatchSheet.objects.filter(pk=self.pk, approved_at__isnull=False).exists():
            from django.core.exceptions import ValidationError

            raise ValidationError(f"Batch sheet #{self.pk} is approved: it can no longer change.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.is_approved:
            from django.core.exceptions import ValidationError

            raise ValidationError(f"Batch sheet #{self.pk} is approved: it can no longer change.")
        return super().delete(*args, **kwargs)


class ChargeImport(models.Model):
    """One call charge file imported into batch sheets, and who imported it."""

    import_type = models.CharField(
        max_length=30,
        choices=CallChargeImportType.choices,
        default=CallChargeImportType.ESSENSYS_CALL_LOGGER,
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="charge_imports")
    product_group = models.ForeignKey(
        ProductGroup, on_delete=models.PROTECT, related_name="charge_imports"
    )
    product = models.ForeignKey(
        InventoryItem, on_delete=models.PROTECT, related_name="charge_imports"
    )
    batch_date = models.DateField(help_text="The date the charges are billed to.")
    reference_date = models.DateField()
    reference_text = models.CharField(max_length=100, blank=True)
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField("file SHA-256", max_length=64, db_index=True)
    file_size = models.PositiveIntegerField(default=0)
    ignore_zero_values = models.BooleanField(
        default=False, help_text="Rows with a zero amount were skipped instead of refused."
    )
    forced_duplicate = models.BooleanField(
        default=False, help_text="Imported although the same file had been imported before."
    )
    status = models.CharField(
        max_length=20, choices=ChargeImportStatus.choices, default=ChargeImportStatus.MATCHED
    )
    row_count = models.PositiveIntegerField(default=0)
    matched_count = models.PositiveIntegerField(default=0)
    unmatched_count = models.PositiveIntegerField(default=0)
    ignored_count = models.PositiveIntegerField(
        default=0, help_text="Zero-value rows skipped (with ignore zero values)."
    )
    total_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "call charge import"

    def __str__(self) -> str:
        return f"Import #{self.pk}: {self.file_name}"


class ChargeImportRow(models.Model):
    """A data row of an imported file: what it said, and the customer it matched (or why not)."""

    charge_import = models.ForeignKey(ChargeImport, on_delete=models.CASCADE, related_name="rows")
    line_number = models.PositiveIntegerField()
    raw = models.JSONField(default=list, help_text="The row's cells as they were in the file.")
    account_code = models.CharField(max_length=50)
    called_at = models.DateTimeField()
    cli = models.CharField("CLI", max_length=30)
    dialled_number = models.CharField(max_length=30)
    destination = models.CharField(max_length=100, blank=True)
    duration_seconds = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unmatched_reason = models.CharField(max_length=300, blank=True)
    matched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["charge_import_id", "line_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["charge_import", "line_number"], name="one_import_row_per_line"
            ),
        ]

    def __str__(self) -> str:
        return f"Line {self.line_number} of import #{self.charge_import_id}"

    @property
    def is_matched(self) -> bool:
        return self.customer_id is not None


class BatchCharge(models.Model):
    """An ad-hoc charge to a customer on a batch sheet (a matched call charge row)."""

    batch_sheet = models.ForeignKey(BatchSheet, on_delete=models.PROTECT, related_name="charges")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="batch_charges")
    product = models.ForeignKey(InventoryItem, on_delete=models.PROTECT, related_name="+")
    import_row = models.OneToOneField(
        ChargeImportRow, on_delete=models.PROTECT, null=True, blank=True, related_name="charge"
    )
    batch_date = models.DateField()
    reference_date = models.DateField()
    reference_text = models.CharField(max_length=100, blank=True)
    description = models.CharField(max_length=255)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["batch_sheet_id", "customer_id", "id"]

    def __str__(self) -> str:
        return f"{self.customer}: {self.amount} ({self.description})"

    def save(self, *args, **kwargs) -> None:
        self._refuse_if_locked()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_if_locked()
        return super().delete(*args, **kwargs)

    def _refuse_if_locked(self) -> None:
        locked = BatchSheet.objects.filter(pk=self.batch_sheet_id, completed_at__isnull=False)
        if locked.exists():
            from django.core.exceptions import ValidationError

            raise ValidationError(
                f"Batch sheet #{self.batch_sheet_id} is completed or approved: its charges can "
                "no longer change."
            )


class BackgroundImport(models.Model):
    """A file import run in the background (a Celery task): its file, progress and outcome.

    The page that takes the file saves one of these and queues the task; the task
    runs the import kind's service (``billing.background_imports`` holds the kinds:
    call charges here, Affinity's imports in ``connectors``) and reports how far it
    has got, so the page can show progress and then the result. The file's bytes are
    dropped once the import has run.
    """

    kind = models.CharField(max_length=40)
    status = models.CharField(
        max_length=20,
        choices=BackgroundImportStatus.choices,
        default=BackgroundImportStatus.QUEUED,
        db_index=True,
    )
    file_name = models.CharField(max_length=255)
    file_size = models.PositiveIntegerField(default=0)
    content = models.BinaryField(default=b"", help_text="The file, until it has been imported.")
    parameters = models.JSONField(
        default=dict, blank=True, help_text="The import's settings (ids, dates, options)."
    )
    phase = models.CharField(max_length=100, blank=True, help_text="What it is doing now.")
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, help_text="The outcome, in a sentence or two.")
    errors = models.JSONField(
        default=list, blank=True, help_text="Each problem found: line (or none) and message."
    )
    result = models.JSONField(default=dict, blank=True, help_text="The outcome's counts.")
    charge_import = models.ForeignKey(
        ChargeImport,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="background_imports",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "file import"

    def __str__(self) -> str:
        return f"File import #{self.pk}: {self.file_name}"

    @property
    def is_finished(self) -> bool:
        return self.status in (
            BackgroundImportStatus.SUCCEEDED,
            BackgroundImportStatus.REFUSED,
            BackgroundImportStatus.FAILED,
        )
