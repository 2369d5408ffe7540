"""Choices of the customers app."""

from django.db import models


class CustomerStage(models.TextChoices):
    LEAD = "lead", "Lead"
    CUSTOMER = "customer", "Customer"


class CustomerStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    LIVE = "live", "Live"
    CANCELLED = "cancelled", "Cancelled"


class LeadOrigin(models.TextChoices):
    """How the lead record of a customer came to be (seed 000)."""

    LEAD = "lead", "Created as a lead"
    DIRECT = "direct", "Created directly as a customer (lead recorded automatically)"


class ConversionSource(models.TextChoices):
    """The initial sync events of seed 000 that turn a lead into a customer."""

    QUOTE_WIN = "quote_win", "Quote won"
    MANUAL = "manual", "Manual conversion (Sales menu)"
    DIRECT = "direct", "Created directly as a customer"


class AddressType(models.TextChoices):
    BILLING = "billing", "Billing"
    DEFAULT = "default", "Default"
    INSTALLATION = "installation", "Installation"
    INVOICE = "invoice", "Invoice"
    MAILING = "mailing", "Mailing"
    REGISTERED = "registered", "Registered"
    SHIPPING = "shipping", "Shipping"
    TRADING = "trading", "Trading"


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class AddressPriorityStep(models.IntegerChoices):
    """The address-priority chain of seed 000, in order."""

    SITE_DEFAULT = 1, "Synced site default address"
    DEFAULT_SITE_DEFAULT = 2, "Default site default address"
    QUOTE_INVOICE = 3, "Quote invoice address"
    CUSTOMER_DEFAULT = 4, "Customer default address"
    FIRST_ON_CUSTOMER = 5, "First address on customer record"
