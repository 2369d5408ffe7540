"""Customers (and leads), sites, addresses, contacts, quotes and company settings.

Business rules that span records (one default site, unique names, the
address-priority chain, site references) live in `services.py` and
`selectors.py`; the database constraints here are the last line of defence.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from .choices import (
    AddressType,
    ConversionSource,
    CustomerStage,
    CustomerStatus,
    LeadOrigin,
    QuoteStatus,
)


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class CompanySettings(models.Model):
    """The reseller's company customisations (a single row, pk 1)."""

    SINGLETON_PK = 1

    auto_generate_site_reference = models.BooleanField(
        "Auto-Generate Site Reference",
        default=True,
        help_text="Generate each new site's reference automatically. Do not disable this "
        "without good reason: billing platforms use it as the site's short name.",
    )
    new_and_cease_enabled = models.BooleanField(
        "New & Cease enabled",
        default=False,
        help_text="Offer the New & Cease action in data capture. When on, disable the Update "
        "action: it is less compatible with the billing integrations.",
    )
    update_action_enabled = models.BooleanField(
        "Update action enabled",
        default=True,
        help_text="Offer the Update action in data capture.",
    )
    sage_sync_active = models.BooleanField(
        "Sage sync active",
        default=False,
        help_text="When on, each site's description is formed from the customer's Sage "
        "account number.",
    )
    upfront_charge_type_field = models.CharField(
        "Up-front charge type field",
        max_length=40,
        default="data_description",
        help_text="The inventory item field that holds the billing platform's up-front charge "
        "type id.",
    )
    recurring_charge_type_field = models.CharField(
        "Recurring charge type field",
        max_length=40,
        default="pricing_tier",
        help_text="The inventory item field that holds the billing platform's recurring charge "
        "type id.",
    )

    class Meta:
        verbose_name = "company settings"
        verbose_name_plural = "company settings"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="company_settings_single_row"),
        ]

    def __str__(self) -> str:
        return "Company settings"

    def save(self, *args, **kwargs) -> None:
        self.pk = self.SINGLETON_PK
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "CompanySettings":
        """The one settings row, created with defaults on first use."""
        obj, _ = cls.objects.get_or_create(pk=cls.SINGLETON_PK)
        return obj


class CustomerClass(models.Model):
    """A grouping of customers (used, for example, by export filtering conditions)."""

    code = models.CharField(max_length=30, unique=True)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "customer classes"

    def __str__(self) -> str:
        return self.code


class AccountType(models.Model):
    """The kind of account a customer is: Residential, Virtual or a custom type.

    Residential and Virtual (codes ``residential``, ``virtual``) are made by a
    migration; staff add custom types. Connect takes only Residential or
    Virtual: a custom type is sent as Residential.
    """

    RESIDENTIAL = "residential"
    VIRTUAL = "virtual"

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Customer(TimeStampedModel):
    """A lead or a customer of the reseller: the Company of the billing platforms."""

    stage = models.CharField(
        max_length=10, choices=CustomerStage.choices, default=CustomerStage.LEAD
    )
    status = models.CharField(
        max_length=10, choices=CustomerStatus.choices, default=CustomerStatus.PENDING
    )
    name = models.CharField(
        max_length=255,
        help_text="Must be unique (billing platforms match companies by name). For two "
        "companies with the same legal name, keep that name in Registered Company Name.",
    )
    registered_company_name = models.CharField(max_length=255, blank=True)
    bill_run = models.CharField(max_length=50, blank=True)
    payment_terms = models.CharField(max_length=50, blank=True)
    payment_method = models.CharField(max_length=50, blank=True)
    sage_account_number = models.CharField("Sage account number", max_length=30, blank=True)
    customer_class = models.ForeignKey(
        CustomerClass, on_delete=models.PROTECT, null=True, blank=True, related_name="customers"
    )
    account_type = models.ForeignKey(
        AccountType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customers",
        help_text="Residential, Virtual or a custom type. Connect takes Residential or "
        "Virtual: custom types (and none) are sent as Residential.",
    )
    email = models.EmailField(blank=True)
    telephone = models.CharField(max_length=30, blank=True)
    vat_number = models.CharField("VAT number", max_length=20, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="customer_name_unique_ci",
                violation_error_message="A customer with this name already exists.",
            ),
        ]
        indexes = [models.Index(fields=["stage", "status"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        from .selectors import customer_name_clash_error

        error = customer_name_clash_error(name=self.name, exclude_pk=self.pk)
        if error:
            raise ValidationError({"name": error})

    def validate_constraints(self, exclude=None) -> None:
        # clean() checks the unique-name rule with a message that names the
        # clash; skip Django's generic duplicate message for it.
        exclude = set(exclude or ()) | {"name"}
        super().validate_constraints(exclude=exclude)


class Lead(models.Model):
    """The lead record every customer has, even one created directly (seed 000)."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="lead")
    origin = models.CharField(max_length=10, choices=LeadOrigin.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    conversion_source = models.CharField(
        max_length=20, choices=ConversionSource.choices, blank=True
    )
    converted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"Lead record of {self.customer}"


class Address(TimeStampedModel):
    """A postal address owned by a customer, associated with any number of its sites."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    name = models.CharField("address name", max_length=100, blank=True)
    address_type = models.CharField(
        max_length=20, choices=AddressType.choices, default=AddressType.DEFAULT
    )
    street1 = models.CharField("street 1", max_length=255)
    street2 = models.CharField("street 2", max_length=255, blank=True)
    street3 = models.CharField("street 3", max_length=255, blank=True)
    city = models.CharField(max_length=50, blank=True)
    county = models.CharField(max_length=50, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    is_default = models.BooleanField(
        "customer default", default=False, help_text="The customer's default address."
    )
    sites = models.ManyToManyField("Site", through="SiteAddress", related_name="addresses")

    class Meta:
        ordering = ["customer_id", "id"]
        verbose_name_plural = "addresses"
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_default=True),
                name="address_one_customer_default",
                violation_error_message="The customer already has a default address.",
            ),
        ]

    def __str__(self) -> str:
        return ", ".join(part for part in (self.name, self.street1, self.postcode) if part)

    def validate_constraints(self, exclude=None) -> None:
        # address_save keeps one customer default by clearing the previous one; the
        # constraint would refuse a new default before the service could move the flag.
        exclude = set(exclude or ()) | {"is_default"}
        super().validate_constraints(exclude=exclude)


class Site(TimeStampedModel):
    """A customer's site: the Site / Billing Site / Subsite of the billing platforms."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=255)
    description = models.CharField(max_length=255, blank=True)
    is_default = models.BooleanField(
        "default site",
        default=False,
        help_text="The customer's default site (exactly one per customer). On the first sync to "
        "Abillity it becomes the billing site; changing it later must be done by hand in both "
        "systems.",
    )
    site_ref = models.CharField("site ref", max_length=255, blank=True)
    integration_id = models.UUIDField(
        "site integration id", default=uuid.uuid4, editable=False, unique=True
    )
    parent = models.ForeignKey(
        "self",
        # RESTRICT, not PROTECT: a parent site alone cannot be deleted, but
        # deleting the whole customer takes its subsites with it.
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="subsites",
        verbose_name="parent site",
        help_text="Makes this site a Layer subsite. Unavailable while a billing integration "
        "is active.",
    )

    class Meta:
        ordering = ["customer_id", "-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_default=True),
                name="site_one_default_per_customer",
                violation_error_message="The customer already has a default site.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def validate_constraints(self, exclude=None) -> None:
        # site_save keeps one default site per customer by clearing the previous one; the
        # constraint would refuse a new default before the service could move the flag.
        exclude = set(exclude or ()) | {"is_default"}
        super().validate_constraints(exclude=exclude)

    @property
    def is_subsite(self) -> bool:
        return self.parent_id is not None


class SiteAddress(models.Model):
    """The association of an address with a site; one per site may be its default."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="address_links")
    address = models.ForeignKey(Address, on_delete=models.CASCADE, related_name="site_links")
    is_site_default = models.BooleanField("site default", default=False)

    class Meta:
        verbose_name = "site address"
        verbose_name_plural = "site addresses"
        constraints = [
            models.UniqueConstraint(fields=["site", "address"], name="site_address_unique"),
            models.UniqueConstraint(
                fields=["site"],
                condition=Q(is_site_default=True),
                name="site_address_one_default",
                violation_error_message="The site already has a default address.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.address} at {self.site}"

    def validate_constraints(self, exclude=None) -> None:
        # site_address_save keeps one default address per site by clearing the previous
        # one; the constraint would refuse a new default before the service could move it.
        exclude = set(exclude or ()) | {"is_site_default"}
        super().validate_constraints(exclude=exclude)


class ContactType(models.Model):
    """A type of contact; a type with the Billing flag marks billing contacts."""

    name = models.CharField(max_length=50, unique=True)
    is_billing = models.BooleanField("billing", default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Contact(TimeStampedModel):
    """A person at a customer, optionally associated with one of its sites."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(max_length=40)
    last_name = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    telephone = models.CharField(max_length=34, blank=True)
    mobile = models.CharField(max_length=17, blank=True)
    is_primary = models.BooleanField("decision maker / primary", default=False)
    contact_type = models.ForeignKey(
        ContactType, on_delete=models.PROTECT, null=True, blank=True, related_name="contacts"
    )
    site = models.ForeignKey(
        Site, on_delete=models.SET_NULL, null=True, blank=True, related_name="contacts"
    )

    class Meta:
        ordering = ["customer_id", "last_name", "first_name"]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Quote(TimeStampedModel):
    """A quotation to a lead or customer; winning it converts a lead (seed 000)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="quotes")
    reference = models.CharField(max_length=30, blank=True)
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="quotes"
    )
    invoice_address = models.ForeignKey(
        Address, on_delete=models.SET_NULL, null=True, blank=True, related_name="invoice_quotes"
    )
    status = models.CharField(max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT)
    won_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.reference or f"Quote {self.pk}"


class QuoteLine(models.Model):
    """A line of a quote: an inventory item at a price, optionally for a site and CLI."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    inventory_item = models.ForeignKey(
        "billing.InventoryItem", on_delete=models.PROTECT, related_name="quote_lines"
    )
    quantity = models.PositiveIntegerField(default=1)
    sell_price = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    recurring_sell_price = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    site = models.ForeignKey(
        Site, on_delete=models.SET_NULL, null=True, blank=True, related_name="quote_lines"
    )
    cli = models.CharField("CLI", max_length=17, blank=True)

    class Meta:
        ordering = ["quote_id", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.inventory_item}"  # noqa: RUF001
