"""The Abillity records of customers, sites and contacts (seed 000), as declarations.

- a customer → a **company** (found by name before it is made);
- a site → a **site** of its company, made in two steps (aBILLity makes a site from its
  short name and account reference, then takes the rest), found by short name first;
  the default site at the initial sync also becomes the customer's **billing site**;
- a site → its **billing information** (bill run, payment terms and method, billing
  contact), sent once, before the site's first full update (aBILLity refuses a site
  update that needs it before it exists: abillity-api.md §6, §16.10);
- a contact → a **person** (site contact) of its site, or of the billing site, found by
  e-mail and first name first.

The engine (``connectors.engine.records``) applies the field rules below, hashes, looks
up before create and binds; these say what is sent and how.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from customers.choices import CustomerStatus
from customers.models import Contact, Customer, Site
from customers.selectors import customer_quote_for_sync, site_address_for_sync

from ..choices import Entity, FieldRule
from ..engine.records import PlatformRecord, record_push
from ..engine.run import SyncContext
from ..errors import PermanentError
from ..models import Binding, ValueMapping
from ..selectors import binding_for
from . import charges, mappers
from .client import AbillityClient
from .constants import PLATFORM
from .roles import (
    ROLE_BILLING_INFORMATION,
    ROLE_BILLING_SITE,
    ROLE_COMPANY,
    ROLE_CONTACT,
    ROLE_SITE,
)

MAPPING_BILL_RUN = "bill_run"
MAPPING_PAYMENT_METHOD = "payment_method"

ONE_OFF = FieldRule.ONE_OFF
REPEATED = FieldRule.REPEATED

# Seed 000's "One-off vs repeat syncs" table, plus the fields the API needs that the
# table does not name (marked). One place: the connector, the preview and the tests
# read it.
FIELD_RULES: dict[str, dict[str, FieldRule]] = {
    # Asset → billing ID and service charges (seed 001): connectors/abillity/charges.py
    **charges.FIELD_RULES,
    # Customer → Company
    ROLE_COMPANY: {
        "IsCustomer": REPEATED,  # Status (Pending / Live) → Contact Type "Customer"
        "Name": REPEATED,  # not in the table: a renamed customer is renamed in Abillity
    },
    # Site → Site / subsite
    ROLE_SITE: {
        "SiteName": REPEATED,  # Name → Site Name
        "ShortName": REPEATED,  # Description → Site Ref.
        "Address": REPEATED,  # Address → Address
        "Town": REPEATED,
        "County": REPEATED,
        "PostCode": REPEATED,
        "AccountRef": REPEATED,  # Sage Reference → Ref.: resent on change (see docs)
        "MainSite": ONE_OFF,  # the default flag decides the billing site once
    },
    # Customer billing details → each site, on its creation
    ROLE_BILLING_INFORMATION: {
        "BillRunID": ONE_OFF,  # Bill Run → Bill Run
        "PaymentTerms": ONE_OFF,  # Payment Terms → Payment Terms
        "PaymentConditionsId": ONE_OFF,  # Payment Method → Payment Method
        "BillingContactId": ONE_OFF,  # Contact Name → Billing Contact
    },
    # Contact → person of a site
    ROLE_CONTACT: {
        "Christian": REPEATED,  # First Name → Name
        "Surname": REPEATED,  # Last Name → Name
        "DDI": REPEATED,  # Telephone → DDI
        "MainContact": REPEATED,  # Decision Maker / Primary → Main Contact
        "SiteID": ONE_OFF,  # not in the table: a person stays on the site it was made on
        "Email": ONE_OFF,  # not in the table: required by the API to create a person
    },
}


# --- payloads ----------------------------------------------------------------------------------
def site_payload(site: Site) -> dict[str, Any]:
    """The site's fields; ``MainSite``: it is (or, at the initial sync, becomes) the billing
    site."""
    billing = binding_for(PLATFORM, ROLE_BILLING_SITE, Entity.CUSTOMER, site.customer_id)
    own = binding_for(PLATFORM, ROLE_SITE, Entity.SITE, site.pk)
    if billing and billing.external_id:
        main = bool(own and own.external_id == billing.external_id)
    else:
        main = site.is_default  # the initial sync: the default site becomes the billing site
    return dict(
        mappers.site_payload(
            site,
            address=site_address_for_sync(site=site).address,
            sage_account_number=site.customer.sage_account_number,
            main_site=main,
        )
    )


def billing_values(customer: Customer) -> dict[str, Any]:
    """The customer's bill run, payment terms and payment method as Abillity ids."""
    values: dict[str, Any] = {}
    mappings = _mappings(
        {MAPPING_BILL_RUN: customer.bill_run, MAPPING_PAYMENT_METHOD: customer.payment_method}
    )
    bill_run = _mapped(mappings, MAPPING_BILL_RUN, customer.bill_run, "bill run")
    if bill_run is not None:
        values["BillRunID"] = bill_run
    days = mappers.payment_terms_days(customer.payment_terms)
    if days is not None:
        values["PaymentTerms"] = days
    method = _mapped(mappings, MAPPING_PAYMENT_METHOD, customer.payment_method, "payment method")
    if method is not None:
        values["PaymentConditionsId"] = method
    return values


def contact_site_id(contact: Contact) -> int | None:
    """The Abillity site of a contact: its own site's, else the billing site's."""
    if contact.site_id and not contact.site.parent_id:
        binding = binding_for(PLATFORM, ROLE_SITE, Entity.SITE, contact.site_id)
    else:
        binding = binding_for(PLATFORM, ROLE_BILLING_SITE, Entity.CUSTOMER, contact.customer_id)
    return int(binding.external_id) if binding and binding.external_id else None


def _check_sites_agree(customer: Customer, values: dict[str, Any]) -> None:
    """Bill run, payment terms and method are the customer's: every site shares them."""
    site_ids = customer.sites.values("pk")  # a subquery: one round trip
    for other in Binding.objects.filter(
        platform=PLATFORM,
        role=ROLE_BILLING_INFORMATION,
        entity=Entity.SITE,
        object_id__in=site_ids,
    ).exclude(external_id=""):
        for field in ("BillRunID", "PaymentTerms", "PaymentConditionsId"):
            if other.payload.get(field) != values.get(field):
                raise PermanentError(
                    f"Customer {customer}'s {_FIELD_LABELS[field]} ({values.get(field)}) "
                    f"differs from what its other Abillity sites were given "
                    f"({other.payload.get(field)}). All sites of a customer share bill run, "
                    "payment terms and payment method: set the customer back, or make "
                    "another customer for sites that need different ones."
                )


def _billing_contact(site: Site, is_billing_site: bool) -> Contact | None:
    """A site contact whose type has the Billing flag, else (billing site) the quote's."""
    contact = (
        site.contacts.filter(contact_type__is_billing=True).exclude(email="").order_by("pk").first()
    )
    if contact is not None or not is_billing_site:
        return contact
    quote = customer_quote_for_sync(customer=site.customer)
    quoted = quote.contact if quote is not None and quote.contact_id else None
    if quoted is None or not quoted.email:
        return None
    if quoted.site_id and quoted.site_id != site.pk and not quoted.site.parent_id:
        return None  # a person of another site cannot be this site's billing contact
    return quoted


_FIELD_LABELS = {
    "BillRunID": "bill run",
    "PaymentTerms": "payment terms",
    "PaymentConditionsId": "payment method",
}


def _mappings(values: dict[str, str]) -> dict[tuple[str, str], ValueMapping]:
    """The value mappings of these (kind: Layer value) pairs, in one query, by (kind, the
    value in lower case); a value with none is missing."""
    wanted = Q()
    for kind, value in values.items():
        if (value or "").strip():
            wanted |= Q(kind=kind, layer_value__iexact=value.strip())
    if not wanted:
        return {}
    found: dict[tuple[str, str], ValueMapping] = {}
    for mapping in ValueMapping.objects.filter(wanted, platform=PLATFORM):
        # Two spellings of one value (differing in case): the first in order, as before.
        found.setdefault((mapping.kind, mapping.layer_value.lower()), mapping)
    return found


def _mapped(
    mappings: dict[tuple[str, str], ValueMapping], kind: str, value: str, label: str
) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    mapping = mappings.get((kind, value.lower()))
    if mapping is None:
        raise PermanentError(
            f'No Abillity {label} id is set for "{value}". Add it under Billing platform sync → '
            "Value mappings, then retry."
        )
    try:
        return int(mapping.external_value)
    except ValueError:
        raise PermanentError(
            f'The Abillity {label} id for "{value}" is "{mapping.external_value}", not a number.'
        ) from None


# --- look-ups and calls ------------------------------------------------------------------------
def company_found(client: AbillityClient, payload: dict[str, Any]) -> str | None:
    """The company of the same name (trimmed, case aside), if Abillity has one."""
    wanted = payload["Name"].strip().casefold()
    for company in client.company_list(name=payload["Name"].strip()):
        if str(company.get("Name", "")).strip().casefold() == wanted:
            return str(company["Id"])
    return None


def person_found(client: AbillityClient, payload: dict[str, Any]) -> str | None:
    """The person of the site with the same e-mail and first name, if any."""
    key = (payload["Email"].casefold(), payload["Christian"].casefold())
    for person in client.site_contacts(payload["SiteID"]):
        found = (
            str(person.get("Email") or "").casefold(),
            str(person.get("Christian") or "").casefold(),
        )
        if found == key:
            return str(person["Id"])
    return None


def _find_site(client: AbillityClient, company_id: int, short_name: str) -> int | None:
    for found in client.company_sites(company_id):
        if str(found.get("ShortName", "")).strip() == short_name:
            return int(found["Id"])
    return None


def _contact_modify(contact: Contact, payload: dict[str, Any]) -> dict[str, Any]:
    """``SiteContactModify`` marks ``Christian`` and ``Email`` Required (abillity-api.md
    §8), on PATCH too: both go with every update. Email is one-off (sent when the
    person is made), so the one sent then goes again, not a later change."""
    binding = binding_for(PLATFORM, ROLE_CONTACT, Entity.CONTACT, contact.pk)
    sent = binding.payload if binding is not None else {}
    email = sent.get("Email") or contact.email.strip()
    return {
        **payload,
        "Christian": payload.get("Christian", contact.first_name.strip()),
        "Email": email,
    }


def _company_id(site: Site) -> int:
    company = binding_for(PLATFORM, ROLE_COMPANY, Entity.CUSTOMER, site.customer_id)
    if company is None or not company.external_id:
        raise PermanentError(f"Customer {site.customer} has no Abillity company yet.")
    return int(company.external_id)


def _site(context: SyncContext | None, site: Site) -> dict[str, Any]:
    if context is not None:
        _company_id(site)  # a site goes to its customer's company, made first
    return site_payload(site)


def _site_found(context: SyncContext, site: Site, payload: dict[str, Any]) -> str | None:
    found = _find_site(context.client, _company_id(site), payload["ShortName"])
    return str(found) if found is not None else None


def _site_create(context: SyncContext, site: Site, payload: dict[str, Any]) -> str:
    made = context.client.site_create(
        company_id=_company_id(site),
        short_name=payload["ShortName"],
        account_ref=payload["AccountRef"],
    )
    return str(made)


def _site_complete(
    context: SyncContext, site: Site, external_id: str, payload: dict[str, Any]
) -> None:
    """A site made (or found) and bound: its billing details first, then every field, then
    (any other site) the billing site it is invoiced to."""
    site_id = int(external_id)
    record_push(context, BILLING_INFORMATION, record=site)
    context.client.site_update(site_id, payload)
    if not payload["MainSite"]:
        billing = context.binding(ROLE_BILLING_SITE, Entity.CUSTOMER, site.customer_id)
        context.client.site_set_billing_address(site_id, int(billing.external_id))


def _billing_site_too(
    context: SyncContext, site: Site, payload: dict[str, Any]
) -> list[tuple[str, str, int]]:
    """The site that becomes the billing site is the customer's billing site from then on."""
    return [(ROLE_BILLING_SITE, Entity.CUSTOMER, site.customer_id)] if payload["MainSite"] else []


def _billing_information(context: SyncContext | None, site: Site) -> dict[str, Any]:
    """Bill run, payment terms, payment method and billing contact (the preview: the first
    three)."""
    customer = site.customer
    values = billing_values(customer)
    if context is None:
        return values
    if "BillRunID" in values and customer.status == CustomerStatus.CANCELLED:
        # aBILLity refuses a bill run on a company that is not a customer.
        del values["BillRunID"]
        context.notes.append(
            f"Bill run not set on site {site}: the customer is cancelled, and Abillity "
            "takes bill runs only for customers."
        )
    _check_sites_agree(customer, values)
    billing = context.binding(ROLE_BILLING_SITE, Entity.CUSTOMER, customer.pk)
    own = context.binding(ROLE_SITE, Entity.SITE, site.pk)
    is_billing_site = (
        billing.external_id == own.external_id if billing.external_id else site.is_default
    )
    contact = _billing_contact(site, is_billing_site)
    if contact is not None:
        person = context.ensure(Entity.CONTACT, contact)
        values["BillingContactId"] = int(person.external_id)
    return values


def _billing_information_send(context: SyncContext, site: Site, payload: dict[str, Any]) -> str:
    """PUT the billing information of a site made now or that has none (§7; with nothing
    but a bill run to set too, since aBILLity refuses a bill run on a site without it);
    PATCH what differs on a site found in aBILLity (PUT would wipe what was typed there:
    §3, §7). Then the bill run, which needs the billing information first."""
    client: AbillityClient = context.client
    site_id = int(context.record_ids[ROLE_SITE])
    information = {k: v for k, v in payload.items() if k != "BillRunID"}
    existing = None if ROLE_SITE in context.created else client.billing_information_get(site_id)
    if existing is None:
        client.billing_information_put(site_id, information)
    else:
        changed = {k: v for k, v in information.items() if existing.get(k) != v}
        if changed:
            client.billing_information_patch(site_id, changed)
    if "BillRunID" in payload:
        client.site_update(
            site_id,
            {
                "SiteName": site.name.strip(),
                "ShortName": mappers.site_short_name(site),
                "BillRunID": payload["BillRunID"],
            },
        )
    return str(site_id)


def _person(context: SyncContext | None, contact: Contact) -> dict[str, Any]:
    site_id = contact_site_id(contact)
    if context is not None and site_id is None:
        raise PermanentError(
            f"Contact {contact} has no Abillity site to go to yet: sync its customer first."
        )
    return dict(mappers.contact_payload(contact, site_id=site_id or 0))


def _person_update(
    context: SyncContext, contact: Contact, external_id: str, body: dict[str, Any]
) -> None:
    if body:
        context.client.site_contact_update(int(external_id), _contact_modify(contact, body))


def _company_update(
    context: SyncContext, customer: Customer, external_id: str, body: dict[str, Any]
) -> None:
    if body:
        context.client.company_update(int(external_id), body)


COMPANY = PlatformRecord(
    role=ROLE_COMPANY,
    entity=Entity.CUSTOMER,
    fields=FIELD_RULES[ROLE_COMPANY],
    payload=lambda context, customer: dict(mappers.company_payload(customer)),
    lookup=lambda context, customer, payload: company_found(context.client, payload),
    create=lambda context, customer, payload: str(context.client.company_create(payload)),
    update=_company_update,
)
BILLING_INFORMATION = PlatformRecord(
    role=ROLE_BILLING_INFORMATION,
    entity=Entity.SITE,
    label="billing information",
    fields=FIELD_RULES[ROLE_BILLING_INFORMATION],
    payload=_billing_information,
    create=_billing_information_send,
    update=lambda context, site, external_id, body: None,  # one-off: never updated
    depends_on=(ROLE_SITE,),
    once=True,
)
# SiteName and ShortName go with every PATCH: aBILLity may require them.
SITE = PlatformRecord(
    role=ROLE_SITE,
    entity=Entity.SITE,
    fields=FIELD_RULES[ROLE_SITE],
    payload=_site,
    lookup=_site_found,
    create=_site_create,
    update=lambda context, site, external_id, body: context.client.site_update(
        int(external_id), body
    ),
    sends_changed=True,
    always_sent=("SiteName", "ShortName"),
    complete=_site_complete,
    also_binds=_billing_site_too,
)
CONTACT = PlatformRecord(
    role=ROLE_CONTACT,
    entity=Entity.CONTACT,
    fields=FIELD_RULES[ROLE_CONTACT],
    payload=_person,
    lookup=lambda context, contact, payload: person_found(context.client, payload),
    create=lambda context, contact, payload: str(context.client.site_contact_create(payload)),
    update=_person_update,
)
RECORDS: dict[str, tuple[PlatformRecord, ...]] = {
    Entity.CUSTOMER: (COMPANY,),
    Entity.SITE: (SITE, BILLING_INFORMATION),
    Entity.CONTACT: (CONTACT,),
    Entity.ASSET: charges.RECORDS,
}
