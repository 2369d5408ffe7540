"""Writes of the customers app.

Every path that changes a customer, site, address or contact (admin, API,
commands, demo data) goes through these functions, so each rule is enforced
once. They validate before writing: bad input raises ValidationError naming
the field and changes nothing.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .choices import ConversionSource, CustomerStage, CustomerStatus, LeadOrigin, QuoteStatus
from .models import Address, CompanySettings, Contact, Customer, Lead, Quote, Site, SiteAddress
from .selectors import integration_active
from .signals import customer_created_direct, lead_converted

User = AbstractBaseUser


# --- customers ---------------------------------------------------------------


@transaction.atomic
def customer_save(*, customer: Customer, user: User | None = None) -> Customer:
    """Create or update a customer.

    A new customer always gets its lead record: a lead's is open, and a
    customer created directly (skipping the lead stage) gets one recorded as
    converted at creation (seed 000). An existing lead cannot be turned into
    a customer here; `customer_convert_lead` does that, once.
    """
    creating = customer._state.adding
    if not creating:
        previous = Customer.objects.select_for_update().get(pk=customer.pk)
        if previous.stage == CustomerStage.LEAD and customer.stage == CustomerStage.CUSTOMER:
            raise ValidationError(
                {"stage": "A lead becomes a customer by conversion (the convert action), "
                 "not by editing its stage."}
            )
        if previous.stage == CustomerStage.CUSTOMER and customer.stage == CustomerStage.LEAD:
            raise ValidationError({"stage": "A customer cannot be turned back into a lead."})
    customer.name = customer.name.strip()
    customer.full_clean()
    customer.save()

    if creating:
        if customer.stage == CustomerStage.CUSTOMER:
            Lead.objects.create(
                customer=customer,
                origin=LeadOrigin.DIRECT,
                converted_at=timezone.now(),
                conversion_source=ConversionSource.DIRECT,
                converted_by=user,
            )
            customer_created_direct.send(sender=Customer, customer=customer, user=user)
        else:
            Lead.objects.create(customer=customer, origin=LeadOrigin.LEAD)
    else:
        site_descriptions_refresh(customer=customer)
    return customer


@transaction.atomic
def customer_convert_lead(
    *,
    customer: Customer,
    source: ConversionSource = ConversionSource.MANUAL,
    quote: Quote | None = None,
    user: User | None = None,
) -> Customer:
    """Convert a lead to a customer (status Pending) and send `lead_converted`, once.

    `source` is QUOTE_WIN (a quote on the lead was won) or MANUAL (the Sales
    menu, the API's convert). Converting a customer is refused.
    """
    if source not in (ConversionSource.QUOTE_WIN, ConversionSource.MANUAL):
        raise ValidationError({"source": f"Unknown conversion source {source!r}."})
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.stage != CustomerStage.LEAD:
        raise ValidationError(
            {"stage": f'"{locked.name}" is already a customer; only a lead can be converted.'}
        )
    locked.stage = CustomerStage.CUSTOMER
    locked.status = CustomerStatus.PENDING
    locked.save(update_fields=["stage", "status", "updated_at"])
    lead, _ = Lead.objects.get_or_create(customer=locked, defaults={"origin": LeadOrigin.LEAD})
    lead.converted_at = timezone.now()
    lead.conversion_source = source
    lead.converted_by = user
    lead.save(update_fields=["converted_at", "conversion_source", "converted_by"])

    customer.stage, customer.status = locked.stage, locked.status
    site_descriptions_refresh(customer=locked)
    lead_converted.send(sender=Customer, customer=locked, source=source, quote=quote, user=user)
    return locked


# --- quotes --------------------------------------------------------------------


@transaction.atomic
def quote_mark_won(*, quote: Quote, user: User | None = None) -> Quote:
    """Mark a quote won; a lead it was made for is converted (event: quote win)."""
    locked = Quote.objects.select_for_update().get(pk=quote.pk)
    if locked.status == QuoteStatus.WON:
        raise ValidationError({"status": f"Quote {locked} is already won."})
    if locked.status == QuoteStatus.LOST:
        raise ValidationError({"status": f"Quote {locked} was lost; it cannot be won."})
    locked.status = QuoteStatus.WON
    locked.won_at = timezone.now()
    locked.save(update_fields=["status", "won_at", "updated_at"])
    quote.status, quote.won_at = locked.status, locked.won_at
    if locked.customer.stage == CustomerStage.LEAD:
        customer_convert_lead(
            customer=locked.customer, source=ConversionSource.QUOTE_WIN, quote=locked, user=user
        )
    return locked


@transaction.atomic
def quote_save(*, quote: Quote) -> Quote:
    """Create or update a quote; its contact and invoice address must be the customer's."""
    errors = {}
    if quote.contact_id and quote.contact.customer_id != quote.customer_id:
        errors["contact"] = "The contact belongs to another customer."
    if quote.invoice_address_id and quote.invoice_address.customer_id != quote.customer_id:
        errors["invoice_address"] = "The invoice address belongs to another customer."
    if errors:
        raise ValidationError(errors)
    quote.full_clean()
    quote.save()
    return quote


# --- sites ---------------------------------------------------------------------


def site_reference_generate(*, site: Site) -> str:
    """The generated site ref: stable, unique, derived from the site's id."""
    return f"S{site.pk:06d}"


def site_description_for(*, site: Site, company: CompanySettings) -> str:
    """The description a site gets from the customer's Sage reference while Sage sync is on."""
    customer = site.customer
    if (
        company.sage_sync_active
        and customer.stage == CustomerStage.CUSTOMER
        and customer.sage_account_number
    ):
        return f"{customer.sage_account_number} - {site.name}"[:255]
    return site.description


def site_descriptions_refresh(*, customer: Customer) -> None:
    """Re-form the customer's site descriptions after its Sage reference or stage changed."""
    company = CompanySettings.load()
    if not company.sage_sync_active:
        return
    for site in customer.sites.all():
        description = site_description_for(site=site, company=company)
        if description != site.description:
            site.description = description
            site.save(update_fields=["description", "updated_at"])


def _site_validate(*, site: Site, creating: bool) -> None:
    errors: dict[str, str] = {}
    if site.parent_id:
        parent_changed = creating or Site.objects.filter(pk=site.pk).exclude(
            parent_id=site.parent_id
        ).exists()
        if parent_changed and integration_active():
            errors["parent"] = (
                "Layer subsites are unavailable while a billing integration is active; "
                "create a separate site instead."
            )
        elif site.parent.customer_id != site.customer_id:
            errors["parent"] = "The parent site belongs to another customer."
        elif site.parent_id == site.pk:
            errors["parent"] = "A site cannot be its own parent."
        elif site.parent.parent_id:
            errors["parent"] = "The parent is itself a subsite; choose a top-level site."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def site_save(*, site: Site, created_automatically: bool = False) -> Site:
    """Create or update a site, keeping exactly one default site per customer.

    - The customer's first site becomes its default; making a site the
      default clears the flag on the others; clearing the flag on the default
      site is refused (make another the default instead).
    - A site created automatically (with an opportunity or quote) is named
      after the customer unless given a name.
    - The site ref is generated when Auto-Generate Site Reference is on and
      the site has none; with it off, a blank ref defaults to the site name.
    - While Sage sync is on, the description is formed from the Sage number.
    """
    creating = site._state.adding
    # Serialise default-site changes for one customer.
    customer = Customer.objects.select_for_update().get(pk=site.customer_id)
    site.customer = customer
    company = CompanySettings.load()

    if created_automatically and not site.name:
        site.name = customer.name
    _site_validate(site=site, creating=creating)

    others = Site.objects.filter(customer=customer).exclude(pk=site.pk)
    current_default = others.filter(is_default=True).exists()
    was_default = not creating and Site.objects.filter(pk=site.pk, is_default=True).exists()
    if creating and not current_default:
        site.is_default = True
    if was_default and not site.is_default:
        raise ValidationError(
            {"is_default": "A customer must have exactly one default site: make another site "
             "the default instead of clearing this one."}
        )

    if not company.auto_generate_site_reference and not site.site_ref:
        site.site_ref = site.name
    site.description = site_description_for(site=site, company=company)
    site.full_clean(validate_constraints=False)

    if site.is_default and current_default:
        others.filter(is_default=True).update(is_default=False)
    site.save()
    if company.auto_generate_site_reference and not site.site_ref:
        site.site_ref = site_reference_generate(site=site)
        site.save(update_fields=["site_ref"])
    return site


@transaction.atomic
def site_delete(*, site: Site) -> None:
    """Delete a site; if it was the default, the customer's oldest other site takes over."""
    Customer.objects.select_for_update().get(pk=site.customer_id)
    was_default = site.is_default
    customer_id = site.customer_id
    site.delete()
    if was_default:
        successor = Site.objects.filter(customer_id=customer_id).order_by("created_at", "id").first()
        if successor:
            successor.is_default = True
            successor.save(update_fields=["is_default", "updated_at"])


# --- addresses -----------------------------------------------------------------


@transaction.atomic
def address_save(*, address: Address) -> Address:
    """Create or update an address; marking it the customer default clears the previous one."""
    Customer.objects.select_for_update().get(pk=address.customer_id)
    address.full_clean(validate_constraints=False)
    if address.is_default:
        Address.objects.filter(customer_id=address.customer_id, is_default=True).exclude(
            pk=address.pk
        ).update(is_default=False)
    address.save()
    return address


@transaction.atomic
def site_address_save(*, link: SiteAddress) -> SiteAddress:
    """Associate an address with a site; one association per site may be its default."""
    if link.address.customer_id != link.site.customer_id:
        raise ValidationError(
            {"address": "The address belongs to another customer than the site."}
        )
    Site.objects.select_for_update().get(pk=link.site_id)
    link.full_clean(validate_constraints=False)
    if link.is_site_default:
        SiteAddress.objects.filter(site_id=link.site_id, is_site_default=True).exclude(
            pk=link.pk
        ).update(is_site_default=False)
    link.save()
    return link


# --- contacts ------------------------------------------------------------------


@transaction.atomic
def contact_save(*, contact: Contact) -> Contact:
    """Create or update a contact; its site, if any, must be one of its customer's."""
    if contact.site_id and contact.site.customer_id != contact.customer_id:
        raise ValidationError({"site": "The site belongs to another customer."})
    contact.full_clean()
    contact.save()
    return contact
