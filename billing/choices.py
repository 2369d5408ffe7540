"""Choices of the billing app."""

from django.db import models


class PlatformCode(models.TextChoices):
    """Stable identifiers of the billing platforms (connectors register by these)."""

    THE_LAYER = "layer", "The Layer"
    ABILLITY = "abillity", "Abillity"
    AFFINITY = "affinity", "Affinity"
    CONNECT = "connect", "Connect"


class IdentifierField(models.TextChoices):
    """What a base category calls an asset's unique identifier (seed 001)."""

    MSISDN = "MSISDN", "MSISDN"
    NUMBER = "Number", "Number"
    CLI = "CLI", "CLI"
    SERIAL = "Serial", "Serial"


class ItemType(models.TextChoices):
    PRODUCT = "product", "Product"
    SERVICE = "service", "Service"


class BillingFrequency(models.TextChoices):
    """Billing frequencies, in the order of aBILLity's FrequencyTypeId where it has one."""

    ANNUAL = "annual", "Annual"
    MONTHLY = "monthly", "Monthly"
    ONE_OFF = "one_off", "One off"
    QUARTERLY = "quarterly", "Quarterly"


class Classification(models.TextChoices):
    NEW = "new", "New"
    RENEWAL = "renewal", "Renewal"
    UPGRADE = "upgrade", "Upgrade"


class LineAction(models.TextChoices):
    """The data-capture action chosen for a sales order line (seed 001)."""

    NEW = "new", "New"
    UPDATE = "update", "Update"
    NEW_AND_CEASE = "new_and_cease", "New & Cease"


class BillStatus(models.TextChoices):
    NOT_BILLED = "not_billed", "Not Billed"
    READY_TO_BILL = "ready_to_bill", "Ready to Bill"
    IN_BILLING = "in_billing", "In Billing"


class AssetStatus(models.TextChoices):
    LIVE = "live", "Live"
    CEASED = "ceased", "Ceased"


class BillComponent(models.TextChoices):
    """The two billed components of a line, each with its own route and bill status."""

    UPFRONT = "upfront", "Up-front"
    RECURRING = "recurring", "Recurring"


class ChangeSource(models.TextChoices):
    """Where an in-life change to an asset came from (the Change Queue's captured events)."""

    ASSET_EDIT = "asset_edit", "Asset edited"
    DATA_CAPTURE_UPGRADE = "data_capture_upgrade", "Upgraded in data capture"
    BULK_UPDATE = "bulk_update", "Bulk update"


class ChangeStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"


class BackgroundImportStatus(models.TextChoices):
    """Where a file import run in the background has got (billing.background_imports)."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Done"
    REFUSED = "refused", "Refused: nothing imported"
    FAILED = "failed", "Failed"
