"""Writes of the customers app.

Every path that changes a customer, site, address, contact or quote (admin,
API, commands, demo data) goes through these functions, so each rule is
enforced once. They validate before writing: bad input raises ValidationError
naming the field and changes nothing. The rules of a record are its
read-only `<record>_validate` function, which its save service calls and
which an adapter may call first (the admin's forms do, at validation).
"""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, QuerySet, RestrictedError
from django.utils import timezone

from .choices import ConversionSource, CustomerStage, CustomerStatus, LeadOrigin, QuoteStatus
from .models import (
    Address,
    CompanySettings,
    Contact,
    Customer,
    Lead,
    Quote,
    QuoteLine,
    Site,
    SiteAddress,
)
from .selectors import customer_name_clash_error, integration_active
from .signals import customer_created_direct, lead_converted, quote_line_validating

User = AbstractBaseUser


def _customer_lock(*, customer_id: int | None, field: str = "customer") -> Customer:
    """The customer row, locked for the rest of the transaction (serialises its writers)."""
    if customer_id is None:
        raise ValidationError({field: "This field is required."})
    return Customer.objects.select_for_update().get(pk=customer_id)


# --- customers ---------------------------------------------------------------


@transaction.atomic
def customer_save(*, customer: Customer, user: User | None = None) -> Customer:
    """Create or update a customer.

    A new customer always gets its lead record: a lead's is open, and a
    customer created directly (skipping the lead stage) gets one recorded as
    converted at creation (seed 000). An existing lead cannot be turned into
    a customer here; `customer_convert_lead` does that, once.

    Names are unique, compared case-insensitively after trimming; a clash is
    refused with a message naming the customer that holds the name, also
    when a concurrent save took the name between the check and the write.
    """
    creating = customer._state.adding
    previous = None
    if not creating:
        previous = Customer.objects.select_for_update().get(pk=customer.pk)
        if previous.stage == CustomerStage.LEAD and customer.stage == CustomerStage.CUSTOMER:
            raise ValidationError(
                {
                    "stage": "A lead becomes a customer by conversion (the convert action), "
                    "not by editing its stage."
                }
            )
        if previous.stage == CustomerStage.CUSTOMER and customer.stage == CustomerStage.LEAD:
            raise ValidationError({"stage": "A customer cannot be turned back into a lead."})
    customer.name = customer.name.strip()
    customer.full_clean()
    try:
        # A savepoint, so a constraint violation leaves the outer transaction usable.
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        # Another transaction committed the same name after our check: report it as the
        # check would have, not as a server error.
        error = customer_name_clash_error(name=customer.name, exclude_pk=customer.pk)
        if error is None:
            raise
        raise ValidationError({"name": error}) from exc

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
    elif previous.sage_account_number != customer.sage_account_number:
        # Only the Sage number feeds the descriptions (the stage cannot change here), so
        # an ordinary save costs no query per site.
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
    if quote is not None and quote.customer_id != customer.pk:
        raise ValidationError({"quote": "The quote belongs to another customer."})
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
    # Lock the customer before reading its stage: two quotes of one lead won at the same
    # time must convert it once, and the second win must then see a customer, not fail.
    customer = _customer_lock(customer_id=locked.customer_id)
    locked.status = QuoteStatus.WON
    locked.won_at = timezone.now()
    locked.save(update_fields=["status", "won_at", "updated_at"])
    quote.status, quote.won_at = locked.status, locked.won_at
    if customer.stage == CustomerStage.LEAD:
        customer_convert_lead(
            customer=customer, source=ConversionSource.QUOTE_WIN, quote=locked, user=user
        )
    return locked


def quote_validate(*, quote: Quote) -> None:
    """Check a quote against the rules `quote_save` keeps, writing nothing.

    Its contact and invoice address must be its customer's; it never moves
    to another customer; a won quote cannot be reopened. Raises
    ValidationError with a message per field.
    """
    errors: dict[str, str] = {}
    if quote.contact_id and quote.contact.customer_id != quote.customer_id:
        errors["contact"] = "The contact belongs to another customer."
    if quote.invoice_address_id and quote.invoice_address.customer_id != quote.customer_id:
        errors["invoice_address"] = "The invoice address belongs to another customer."
    if not quote._state.adding:
        stored_status, stored_customer_id = Quote.objects.values_list("status", "customer_id").get(
            pk=quote.pk
        )
        if stored_status == QuoteStatus.WON and quote.status != QuoteStatus.WON:
            errors["status"] = f"Quote {quote} is won; a won quote cannot be reopened."
        if stored_customer_id != quote.customer_id:
            # Its lines' sites and its contact belong to the first customer.
            errors["customer"] = "A quote cannot move to another customer; make a new quote."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def quote_save(*, quote: Quote, user: User | None = None) -> Quote:
    """Create or update a quote; its contact and invoice address must be the customer's.

    Setting the status to Won here wins the quote through `quote_mark_won`,
    so the lead conversion event is never skipped; a won quote stays won.
    """
    previous_status = None
    if not quote._state.adding:
        # Locked first: a concurrent win must be seen by the "stays won" rule.
        previous_status = (
            Quote.objects.select_for_update().values_list("status", flat=True).get(pk=quote.pk)
        )
    quote_validate(quote=quote)
    winning = quote.status == QuoteStatus.WON and previous_status != QuoteStatus.WON
    if winning:
        quote.status = previous_status or QuoteStatus.DRAFT
    quote.full_clean()
    quote.save()
    if winning:
        quote_mark_won(quote=quote, user=user)
    return quote


def quote_line_validate(*, line: QuoteLine) -> None:
    """Check a quote line against the rules `quote_line_save` keeps, writing nothing.

    Its site, if any, must be one of the quote customer's.
    """
    # getattr with a default: a line whose quote is not set yet raises AttributeError here;
    # the missing field is field validation's to report.
    quote = getattr(line, "quote", None)
    if quote is not None and line.site_id and line.site.customer_id != quote.customer_id:
        raise ValidationError({"site": "The site belongs to another customer than the quote."})
    if line.inventory_item_id is not None:
        # The billing platforms' rules, by their receiver (billing.receivers): customers
        # does not depend on billing. The CLI comes back normalised.
        quote_line_validating.send(sender=QuoteLine, line=line)


@transaction.atomic
def quote_line_save(*, line: QuoteLine) -> QuoteLine:
    """Create or update a quote line; its site, if any, must be the quote customer's."""
    quote_line_validate(line=line)
    line.full_clean()
    line.save()
    return line


# --- sites ---------------------------------------------------------------------


def site_reference_generate(*, site: Site) -> str:
    """The generated site ref: stable, unique, derived from the site's id."""
    return f"S{site.pk:06d}"


def site_description_for(*, site: Site, company: CompanySettings) -> str:
    """The description a site gets from the customer's Sage reference while Sage sync is on.

    At the customer stage the description is then derived, never typed: the
    Sage number and the site name, or blank while the customer has no number
    (so clearing the number never leaves the old one behind). Otherwise the
    description is the staff's own.
    """
    customer = site.customer
    if not company.sage_sync_active or customer.stage != CustomerStage.CUSTOMER:
        return site.description
    if not customer.sage_account_number:
        return ""
    return f"{customer.sage_account_number} - {site.name}"[:255]


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


def site_validate(*, site: Site) -> None:
    """Check a site against the rules `site_save` keeps, writing nothing.

    - A site never moves to another customer; its integration id never changes.
    - Clearing the flag on the default site is refused: the customer must keep
      exactly one default (make another site the default instead).
    - A Layer subsite (a parent site) is refused while an integration is
      active, and nests one level only, within one customer.

    A site whose customer is not set yet (both added in one form) owns no
    site, so any parent is another customer's. Raises ValidationError with a
    message per field.
    """
    stored = None if site._state.adding else Site.objects.get(pk=site.pk)
    errors: dict[str, str] = {}
    if stored is not None:
        if stored.customer_id != site.customer_id:
            errors["customer"] = (
                "A site cannot move to another customer: its addresses, contacts and assets "
                "are that customer's. Create a site for the other customer instead."
            )
        if stored.integration_id != site.integration_id:
            errors["integration_id"] = "The site integration id is generated and cannot change."
        if stored.is_default and not site.is_default:
            errors["is_default"] = (
                "A customer must have exactly one default site: make another site the default "
                "instead of clearing this one."
            )
    if site.parent_id:
        parent_changed = stored is None or stored.parent_id != site.parent_id
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
        elif stored is not None and stored.subsites.exists():
            errors["parent"] = "This site has subsites of its own; a subsite cannot have subsites."
    if errors:
        raise ValidationError(errors)


def _clear_flag(*, records: QuerySet, field: str) -> None:
    # Row by row rather than QuerySet.update(): post_save must fire (the sync engine
    # listens) and updated_at must move. There is at most one such row.
    for record in records.filter(**{field: True}):
        setattr(record, field, False)
        update_fields = [field]
        if hasattr(record, "updated_at"):
            update_fields.append("updated_at")
        record.save(update_fields=update_fields)


@transaction.atomic
def site_save(*, site: Site, created_automatically: bool = False) -> Site:
    """Create or update a site, keeping exactly one default site per customer.

    - The customer's first site becomes its default; making a site the
      default clears the flag on the others.
    - A site created automatically (with an opportunity or quote) is named
      after the customer unless given a name.
    - The site ref is generated when Auto-Generate Site Reference is on and
      the site has none; with it off, a blank ref defaults to the site name.
    - While Sage sync is on, the description is formed from the Sage number.

    What it refuses is `site_validate`'s: clearing the only default, moving
    to another customer, changing the integration id, and subsites where
    they are not allowed.
    """
    creating = site._state.adding
    # Serialise default-site changes for one customer.
    customer = _customer_lock(customer_id=site.customer_id)
    site.customer = customer
    company = CompanySettings.load()

    if created_automatically and not site.name:
        site.name = customer.name
    site_validate(site=site)

    others = Site.objects.filter(customer=customer).exclude(pk=site.pk)
    current_default = others.filter(is_default=True).exists()
    if creating and not current_default:
        site.is_default = True

    if not company.auto_generate_site_reference and not site.site_ref:
        site.site_ref = site.name
    site.description = site_description_for(site=site, company=company)
    site.full_clean()

    if site.is_default and current_default:
        _clear_flag(records=others, field="is_default")
    site.save()
    if company.auto_generate_site_reference and not site.site_ref:
        site.site_ref = site_reference_generate(site=site)
        site.save(update_fields=["site_ref"])
    return site


@transaction.atomic
def site_delete(*, site: Site) -> None:
    """Delete a site; if it was the default, the customer's oldest other site takes over.

    A site that still has subsites, order lines or assets is refused, with
    what holds it named.
    """
    _customer_lock(customer_id=site.customer_id)
    # The caller's copy may be stale; the flag that matters is the stored one.
    stored = Site.objects.get(pk=site.pk)
    customer_id = stored.customer_id
    try:
        with transaction.atomic():
            stored.delete()
    except (ProtectedError, RestrictedError) as exc:
        holders = getattr(exc, "protected_objects", None) or exc.restricted_objects
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in holders})
        raise ValidationError(
            {"site": f'Site "{stored}" is still used by {", ".join(kinds)}; it cannot be deleted.'}
        ) from exc
    if stored.is_default:
        successor = (
            Site.objects.filter(customer_id=customer_id).order_by("created_at", "id").first()
        )
        if successor:
            successor.is_default = True
            successor.save(update_fields=["is_default", "updated_at"])


# --- addresses -----------------------------------------------------------------


def address_validate(*, address: Address) -> None:
    """Check an address against the rules `address_save` keeps, writing nothing.

    An address never moves to another customer (its site links are its
    customer's).
    """
    if address._state.adding:
        return
    stored_customer_id = Address.objects.values_list("customer_id", flat=True).get(pk=address.pk)
    if stored_customer_id != address.customer_id:
        raise ValidationError(
            {"customer": "An address cannot move to another customer; add a new one."}
        )


@transaction.atomic
def address_save(*, address: Address) -> Address:
    """Create or update an address; marking it the customer default clears the previous one.

    The rules are `address_validate`'s.
    """
    _customer_lock(customer_id=address.customer_id)
    address_validate(address=address)
    address.full_clean()
    if address.is_default:
        _clear_flag(
            records=Address.objects.filter(customer_id=address.customer_id).exclude(pk=address.pk),
            field="is_default",
        )
    address.save()
    return address


def site_address_validate(*, link: SiteAddress) -> None:
    """Check a site-address link against the rules `site_address_save` keeps, writing nothing.

    The address and the site must be one customer's, and an address is
    linked to a site once. A link whose site or address is not set yet is
    left to field validation; one whose site or address is being added in
    the same form (not saved yet) is checked for the customer only.
    """
    # getattr with a default: an unset required relation raises AttributeError.
    site = getattr(link, "site", None)
    address = getattr(link, "address", None)
    if site is None or address is None:
        return
    if address.customer_id != site.customer_id:
        raise ValidationError({"address": "The address belongs to another customer than the site."})
    if site.pk is None or address.pk is None:
        return
    duplicate = SiteAddress.objects.filter(site=site, address=address).exclude(pk=link.pk)
    if duplicate.exists():
        raise ValidationError({"address": f'"{address}" is already associated with site "{site}".'})


@transaction.atomic
def site_address_save(*, link: SiteAddress) -> SiteAddress:
    """Associate an address with a site; one association per site may be its default.

    The rules are `site_address_validate`'s.
    """
    errors: dict[str, str] = {}
    if link.site_id is None:
        errors["site"] = "This field is required."
    if link.address_id is None:
        errors["address"] = "This field is required."
    if errors:
        raise ValidationError(errors)
    # Locked before the checks: two saves linking one address to one site must not both pass.
    Site.objects.select_for_update().get(pk=link.site_id)
    site_address_validate(link=link)
    link.full_clean()
    if link.is_site_default:
        _clear_flag(
            records=SiteAddress.objects.filter(site_id=link.site_id).exclude(pk=link.pk),
            field="is_site_default",
        )
    link.save()
    return link


@transaction.atomic
def site_address_delete(*, link: SiteAddress) -> None:
    """Dissociate an address from a site; the address itself stays on the customer.

    A site left without a default address falls back along the address
    priority chain (see selectors.site_address_for_sync).
    """
    Site.objects.select_for_update().get(pk=link.site_id)
    link.delete()


# --- contacts ------------------------------------------------------------------


def contact_validate(*, contact: Contact) -> None:
    """Check a contact against the rules `contact_save` keeps, writing nothing.

    - A contact never moves to another customer, as sites, addresses and quotes
      never do: the billing platforms hold it under its customer's company and
      site, and none of them moves a contact between companies.
    - Its site, if any, must be one of its customer's (a customer being added
      in the same form owns no site yet).
    """
    if not contact._state.adding and contact.pk is not None:
        stored_customer = (
            Contact.objects.filter(pk=contact.pk).values_list("customer_id", flat=True).first()
        )
        if stored_customer is not None and stored_customer != contact.customer_id:
            raise ValidationError(
                {
                    "customer": "A contact cannot move to another customer: the billing "
                    "platforms hold it under its customer. Add a contact to the other customer "
                    "instead."
                }
            )
    if contact.site_id and contact.site.customer_id != contact.customer_id:
        raise ValidationError({"site": "The site belongs to another customer."})


@transaction.atomic
def contact_save(*, contact: Contact) -> Contact:
    """Create or update a contact; its site, if any, must be one of its customer's."""
    contact_validate(contact=contact)
    contact.full_clean()
    contact.save()
    return contact
