"""What is sent to Abillity when (seed 000): the connector and its one-off/repeated table.

Record mapping:

- a customer → a Company (``IsCustomer`` ticked for Live or Pending);
- its default site, at the initial sync → the billing site and head office
  (``MainSite``); every other site → a subsite billed to it. The Layer's own
  subsites are not synced. A later change of default does not move it;
- Bill Run, Payment Terms and Payment Method (customer fields) → each site's
  bill run and billing information, once, when the site is created;
- the billing contact → the site's billing information, once;
- the Sage account number → every site's ``AccountRef``, resent on change;
- contacts → the people (site contacts) of their site, or of the billing site
  when they have none.

A customer sync also queues its sites and contacts, so a change to the
customer (its Sage number, say) reaches every site and contacts are synced
"whenever a customer record syncs".
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q

from billing.models import BillingPlatform
from customers.choices import CustomerStage, CustomerStatus
from customers.models import Contact, Customer, Site
from customers.selectors import (
    customer_default_site,
    customer_quote_for_sync,
    site_address_for_sync,
)

from ..base import Connector, RemoteRecord, register
from ..choices import Entity, FieldRule, Operation
from ..engine.publish import changes_enqueue
from ..engine.push import payload_hash, push_single
from ..engine.queue import initial_sync_happened
from ..engine.run import SyncContext
from ..engine.scope import synced_inline
from ..errors import NotFoundError, PermanentError
from ..models import Binding, ChargeType, InitialSyncEvent, ValueMapping
from ..selectors import binding_for
from . import charges, mappers
from .client import AbillityClient
from .sandbox import PLATFORM, SANDBOX_CHARGE_TYPES, SANDBOX_CREDENTIALS

ROLE_COMPANY = "company"
ROLE_BILLING_SITE = "billing_site"  # on the customer: the Abillity site invoiced for all others
ROLE_SITE = "site"
ROLE_BILLING_INFORMATION = "billing_information"  # on a site: its one-off billing details
ROLE_CONTACT = "site_contact"

# The annotation a job's record carries: whether its customer has been synced (seed 000).
SYNC_STARTED = "abillity_sync_started"


def _sync_started(customer: OuterRef) -> Exists:
    """Whether the customer had an initial sync event or has a company (one query with the
    record, not one per job step)."""
    return Exists(InitialSyncEvent.objects.filter(customer_id=customer)) | Exists(
        Binding.objects.filter(
            platform=PLATFORM, role=ROLE_COMPANY, entity=Entity.CUSTOMER, object_id=customer
        ).exclude(external_id="")
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


# aBILLity's FrequencyTypeId → Billing Frequency.
FREQUENCIES = {number: frequency for frequency, number in mappers.FREQUENCY_TYPE_IDS.items()}


def sandbox_charge_types_ensure() -> None:
    """The emulator's service charge types in the charge types list (the demo, the tests)."""
    for type_id, (name, frequency, _rental) in SANDBOX_CHARGE_TYPES.items():
        ChargeType.objects.update_or_create(
            platform=PLATFORM,
            type_id=type_id,
            defaults={"name": name, "frequency": FREQUENCIES[frequency]},
        )


def _repeated(role: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if FIELD_RULES[role].get(k, REPEATED) == REPEATED}


@register
class AbillityConnector(Connector):
    identifier = PLATFORM
    name = "Abillity"
    not_reconciled_because = (
        "Abillity's API cannot read companies back (it documents no GET api/company), so "
        "our customers cannot be compared with its companies; each customer's state is on "
        "its page (Sync Abillity Customer)"
    )
    entities = (Entity.CUSTOMER, Entity.SITE, Entity.CONTACT, Entity.ASSET)
    secrets = ("ABILLITY_PASSWORD", "ABILLITY_SYSTEM_INFORMATION")
    field_rules = {
        Entity.CUSTOMER: FIELD_RULES[ROLE_COMPANY],
        Entity.SITE: FIELD_RULES[ROLE_SITE],
        Entity.CONTACT: FIELD_RULES[ROLE_CONTACT],
        Entity.ASSET: charges.CHARGE_RULES,
    }

    # --- configuration --------------------------------------------------------
    def client(self, observer=None, session=None) -> AbillityClient:
        url = self.api_url()
        credentials = {
            "system_information": settings.ABILLITY_SYSTEM_INFORMATION,
            "username": settings.ABILLITY_USERNAME,
            "password": settings.ABILLITY_PASSWORD,
        }
        if not settings.ABILLITY_API_URL and not any(credentials.values()):
            # The embedded emulator, with its own sandbox login.
            credentials = {
                "system_information": SANDBOX_CREDENTIALS["systeminformation"],
                "username": SANDBOX_CREDENTIALS["username"],
                "password": SANDBOX_CREDENTIALS["password"],
            }
        return AbillityClient(
            url, timeout=self.timeout(), observer=observer, session=session, **credentials
        )

    def is_enabled(self) -> bool:
        return BillingPlatform.objects.filter(code=PLATFORM, integration_enabled=True).exists()

    # The emulator's bill runs and payment conditions (sandbox.py), for the demo customers.
    DEMO_MAPPINGS = (
        (MAPPING_BILL_RUN, "Monthly 1st", "1"),
        (MAPPING_BILL_RUN, "Monthly 15th", "2"),
        (MAPPING_PAYMENT_METHOD, "Direct Debit", "1"),
        (MAPPING_PAYMENT_METHOD, "BACS", "2"),
        (MAPPING_PAYMENT_METHOD, "Card", "3"),
    )

    def demo_prepare(self) -> str:
        """Against the emulator only: the integration on and the emulator's ids mapped.

        Turned on with ``update()``, which queues nothing: the demo's customers are
        synced by staff (their page's *Sync Abillity Customer*) or by ``manage.py sync``.
        """
        if settings.ABILLITY_API_URL:
            return ""
        BillingPlatform.objects.filter(code=PLATFORM).update(integration_enabled=True)
        for kind, value, external in self.DEMO_MAPPINGS:
            ValueMapping.objects.get_or_create(
                platform=PLATFORM,
                kind=kind,
                layer_value=value,
                defaults={"external_value": external},
            )
        sandbox_charge_types_ensure()
        return (
            "Abillity integration on, against the sandbox emulator (/sandbox/abillity/). "
            "Sync a customer from its admin page (Sync Abillity Customer), or all of them "
            "with: manage.py sync --platform abillity --process (while the server runs)."
        )

    # --- records ---------------------------------------------------------------
    def queryset(self, entity: str) -> models.QuerySet:
        if entity == Entity.CUSTOMER:
            return Customer.objects.filter(stage=CustomerStage.CUSTOMER)
        if entity == Entity.SITE:
            return Site.objects.filter(customer__stage=CustomerStage.CUSTOMER, parent__isnull=True)
        if entity == Entity.ASSET:
            return charges.assets_taken().filter(customer__stage=CustomerStage.CUSTOMER)
        return Contact.objects.filter(customer__stage=CustomerStage.CUSTOMER)

    def record_queryset(self, entity: str) -> models.QuerySet:
        joined = {
            Entity.SITE: ("customer",),
            Entity.CONTACT: ("customer", "site"),
            Entity.ASSET: charges.ASSET_JOINS,
        }.get(entity, ())
        loaded = super().record_queryset(entity).select_related(*joined)
        # What ``skip_reason`` reads, answered in the query that loads the record.
        customer = OuterRef("pk" if entity == Entity.CUSTOMER else "customer_id")
        loaded = loaded.annotate(**{SYNC_STARTED: _sync_started(customer)})
        if entity == Entity.ASSET:
            loaded = charges.with_replacement_known(loaded)
        return loaded

    def role(self, entity: str, record: models.Model) -> str:
        return {
            Entity.CUSTOMER: ROLE_COMPANY,
            Entity.SITE: ROLE_SITE,
            Entity.ASSET: charges.ROLE_BILLING_ID,
        }.get(entity, ROLE_CONTACT)

    def rule(self, entity: str, field: str) -> FieldRule:
        if entity == Entity.ASSET:
            return charges.CHARGE_RULES.get(field, REPEATED)
        return FIELD_RULES[self.role(entity, None)].get(field, REPEATED)

    def skip_reason(self, entity: str, record: models.Model) -> str:
        customer = record if entity == Entity.CUSTOMER else record.customer
        if customer.stage != CustomerStage.CUSTOMER:
            return f"{customer} is a lead; leads are synced to Abillity once converted."
        if not self._initial_sync_happened(record):
            return (
                f"{customer} has not been synced to Abillity: a customer created directly "
                "waits for a manual sync (Sync Abillity Customer on its page, which can map "
                "it to an existing Abillity company first)."
            )
        if entity == Entity.ASSET:
            return charges.asset_skip_reason(record)
        if entity == Entity.SITE and record.parent_id:
            return f"Site {record} is a Layer subsite; Layer subsites are not synced to Abillity."
        return ""

    def _initial_sync_happened(self, record: models.Model) -> bool:
        """Seed 000: a customer is synced from one of its initial sync events on (a quote
        won, a lead converted by hand, a sales order created, a manual sync); one with a
        company already (synced or imported before) is too. A job's record has the answer
        joined in (``record_queryset``); any other record is read here."""
        known = getattr(record, SYNC_STARTED, None)
        if known is not None:
            return known
        customer = record if isinstance(record, Customer) else record.customer
        company = binding_for(PLATFORM, ROLE_COMPANY, Entity.CUSTOMER, customer.pk)
        if company is not None and company.external_id:
            return True
        return initial_sync_happened(customer.pk)

    def dependencies(self, entity: str, record: models.Model) -> list[tuple[str, models.Model]]:
        if entity == Entity.ASSET:
            return charges.asset_dependencies(record)
        if entity == Entity.SITE:
            return [(Entity.CUSTOMER, record.customer)]
        if entity == Entity.CONTACT:
            found = [(Entity.CUSTOMER, record.customer)]
            if record.site_id and not record.site.parent_id:
                found.append((Entity.SITE, record.site))
            return found
        return []

    def missing_key_fields(self, entity: str, record: models.Model) -> list[str]:
        if entity == Entity.CONTACT and not record.email.strip():
            return [
                f"Contact {record} has no email address; Abillity needs one for every "
                "person. Add it in The Layer and sync again."
            ]
        if entity == Entity.CUSTOMER and customer_default_site(customer=record) is None:
            return [
                f"Customer {record} has no site; Abillity needs a billing site. Add a site "
                "and sync again."
            ]
        return []

    def describe(self, entity: str, record: models.Model) -> str:
        if entity == Entity.SITE:
            return f"{record.name} ({record.customer})"[:255]
        if entity == Entity.CONTACT:
            return f"{record} ({record.customer})"[:255]
        return str(record)[:255]

    def warnings(self, entity: str, record: models.Model) -> list[str]:
        """The default site moved after the initial sync: Abillity's billing site did not."""
        if entity == Entity.CUSTOMER:
            customer = record
        elif entity == Entity.SITE:
            customer = record.customer
        else:
            return []
        billing = binding_for(PLATFORM, ROLE_BILLING_SITE, Entity.CUSTOMER, customer.pk)
        if billing is None or not billing.external_id:
            return []
        default = customer_default_site(customer=customer)
        billing_site = (
            Binding.objects.filter(
                platform=PLATFORM,
                role=ROLE_SITE,
                entity=Entity.SITE,
                external_id=billing.external_id,
            )
            .values_list("object_id", flat=True)
            .first()
        )
        if default is None or billing_site is None or billing_site == default.pk:
            return []
        if entity == Entity.SITE and record.pk not in (default.pk, billing_site):
            return []
        synced_as = Site.objects.filter(pk=billing_site).first()
        return [
            f"The default site is now {default.name}, but Abillity's billing site and head "
            f"office is still {synced_as.name if synced_as else 'the site first synced'} "
            f"(Abillity site {billing.external_id}): the default flag decides the billing site "
            "only at the initial sync. To move it, change both systems by hand."
        ]

    def search(self, entity: str, text: str, client: AbillityClient):
        """Abillity companies whose name contains ``text`` (all of them for "")."""
        if entity != Entity.CUSTOMER:
            return None
        wanted = text.strip().casefold()
        found = []
        for company in client.company_list():
            name = str(company.get("Name") or "").strip()
            if wanted in name.casefold():
                kind = "customer" if company.get("IsCustomer") else "not a customer"
                found.append(
                    RemoteRecord(
                        external_id=str(company["Id"]),
                        name=name,
                        detail=f"company {company['Id']}, {kind}",
                    )
                )
        return sorted(found, key=lambda company: (company.name.casefold(), company.external_id))

    # --- payloads --------------------------------------------------------------
    def build_payload(self, entity: str, record: models.Model) -> dict[str, Any]:
        if entity == Entity.ASSET:
            parts = charges.asset_payloads(record)
            return dict(parts[0][1]) if parts else {}
        if entity == Entity.CUSTOMER:
            return dict(mappers.company_payload(record))
        if entity == Entity.SITE:
            return dict(self._site_payload(record))
        return dict(mappers.contact_payload(record, site_id=self._contact_site_id(record) or 0))

    def preview_parts(self, entity: str, record: models.Model):
        if entity == Entity.ASSET:
            try:
                site_id = charges._site_id(record)
            except PermanentError:
                site_id = 0
            return [
                (role, Entity.ASSET, record, payload)
                for role, payload in charges.asset_payloads(record, site_id=site_id)
            ]
        parts = [(self.role(entity, record), entity, record, self.build_payload(entity, record))]
        if entity == Entity.SITE:
            parts.append(
                (
                    ROLE_BILLING_INFORMATION,
                    Entity.SITE,
                    record,
                    self._billing_values(record.customer),
                )
            )
        return parts

    def _site_payload(self, site: Site) -> mappers.SitePayload:
        billing = binding_for(PLATFORM, ROLE_BILLING_SITE, Entity.CUSTOMER, site.customer_id)
        own = binding_for(PLATFORM, ROLE_SITE, Entity.SITE, site.pk)
        if billing and billing.external_id:
            main = bool(own and own.external_id == billing.external_id)
        else:
            main = site.is_default  # the initial sync: the default site becomes the billing site
        return mappers.site_payload(
            site,
            address=site_address_for_sync(site=site).address,
            sage_account_number=site.customer.sage_account_number,
            main_site=main,
        )

    def _billing_values(self, customer: Customer) -> dict[str, Any]:
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
        method = _mapped(
            mappings, MAPPING_PAYMENT_METHOD, customer.payment_method, "payment method"
        )
        if method is not None:
            values["PaymentConditionsId"] = method
        return values

    def _contact_site_id(self, contact: Contact) -> int | None:
        """The Abillity site of a contact: its own site's, else the billing site's."""
        if contact.site_id and not contact.site.parent_id:
            binding = binding_for(PLATFORM, ROLE_SITE, Entity.SITE, contact.site_id)
        else:
            binding = binding_for(PLATFORM, ROLE_BILLING_SITE, Entity.CUSTOMER, contact.customer_id)
        return int(binding.external_id) if binding and binding.external_id else None

    # --- platform calls --------------------------------------------------------
    def lookup(self, entity, record, payload, client: AbillityClient):
        if entity == Entity.CUSTOMER:
            wanted = payload["Name"].strip().casefold()
            for company in client.company_list(name=payload["Name"].strip()):
                if str(company.get("Name", "")).strip().casefold() == wanted:
                    return str(company["Id"])
            return None
        if entity == Entity.CONTACT:
            key = (payload["Email"].casefold(), payload["Christian"].casefold())
            for person in client.site_contacts(payload["SiteID"]):
                found = (
                    str(person.get("Email") or "").casefold(),
                    str(person.get("Christian") or "").casefold(),
                )
                if found == key:
                    return str(person["Id"])
        return None

    def record_exists(self, entity, external_id) -> bool | None:
        if entity != Entity.CUSTOMER:
            return None
        if not external_id.isdigit():
            return False  # aBILLity's company ids are numbers
        try:
            self.client().company_get(int(external_id))
        except NotFoundError:
            return False
        return True

    def create(self, entity, record, payload, client: AbillityClient) -> str:
        if entity == Entity.CUSTOMER:
            return str(client.company_create(payload))
        return str(client.site_contact_create(payload))

    def update(self, entity, record, external_id, payload, client: AbillityClient) -> None:
        if not payload:
            return
        if entity == Entity.CUSTOMER:
            client.company_update(int(external_id), payload)
        else:
            client.site_contact_update(int(external_id), self._contact_modify(record, payload))

    @staticmethod
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

    def push(self, context: SyncContext) -> Operation:
        if context.entity == Entity.ASSET:
            return charges.asset_push(context, context.record)
        if context.entity == Entity.CUSTOMER:
            return self._push_customer(context)
        if context.entity == Entity.SITE:
            return self._push_site(context, context.record)
        if self._contact_site_id(context.record) is None:
            raise PermanentError(
                f"Contact {context.record} has no Abillity site to go to yet: sync its customer "
                "first."
            )
        return push_single(context, role=ROLE_CONTACT)

    # --- customers ----------------------------------------------------------------
    def _push_customer(self, context: SyncContext) -> Operation:
        customer: Customer = context.record
        operations = [push_single(context, role=ROLE_COMPANY)]
        billing = context.binding(ROLE_BILLING_SITE, Entity.CUSTOMER, customer.pk)
        if not billing.external_id:
            default = customer_default_site(customer=customer)
            if default is None or default.parent_id:
                raise PermanentError(
                    f"Customer {customer} has no default site to be its Abillity billing site."
                )
            # Through the site's own job (claimed and run here, or waited for when another
            # worker has it): pushing it inline could race that job and make it twice.
            had_site = binding_for(PLATFORM, ROLE_SITE, Entity.SITE, default.pk)
            context.ensure(Entity.SITE, default)
            if had_site is None or not had_site.external_id:
                operations.append(Operation.INSERTED)
        # Every customer sync reaches its sites (the Sage number, say) and contacts; those
        # synced just now, after the customer (its billing site and contact), need not go
        # again.
        reason = f"customer {customer} synced"
        sites_done, contacts_done = synced_inline(Entity.SITE), synced_inline(Entity.CONTACT)
        site_ids = [
            pk
            for pk in self.queryset(Entity.SITE)
            .filter(customer=customer)
            .values_list("pk", flat=True)
            if pk not in sites_done
        ]
        contact_ids = [
            pk for pk in customer.contacts.values_list("pk", flat=True) if pk not in contacts_done
        ]
        changes_enqueue(
            entity=Entity.SITE, object_ids=site_ids, reason=reason, platforms=[PLATFORM]
        )
        changes_enqueue(
            entity=Entity.CONTACT, object_ids=contact_ids, reason=reason, platforms=[PLATFORM]
        )
        return _combined(operations)

    # --- sites -----------------------------------------------------------------------
    def _push_site(self, context: SyncContext, site: Site) -> Operation:
        """Create or update one site; on creation also its billing details, once."""
        customer = site.customer
        company = binding_for(PLATFORM, ROLE_COMPANY, Entity.CUSTOMER, customer.pk)
        if company is None or not company.external_id:
            raise PermanentError(f"Customer {customer} has no Abillity company yet.")
        company_id = int(company.external_id)
        billing = context.binding(ROLE_BILLING_SITE, Entity.CUSTOMER, customer.pk)
        binding = context.binding(ROLE_SITE, Entity.SITE, site.pk)
        is_billing_site = (
            billing.external_id == binding.external_id if billing.external_id else site.is_default
        )
        payload = dict(self._site_payload(site))
        payload["MainSite"] = bool(is_billing_site)
        client: AbillityClient = context.client
        operation = Operation.NONE
        made_now = False
        if not binding.external_id:
            external_id = self._find_site(client, company_id, payload["ShortName"])
            if external_id is None:
                made_now = True
                external_id = client.site_create(
                    company_id=company_id,
                    short_name=payload["ShortName"],
                    account_ref=payload["AccountRef"],
                )
            _bind(binding, str(external_id), payload={}, digest="")
            if is_billing_site:
                _bind(billing, str(external_id), payload={}, digest="")
            operation = Operation.INSERTED
        site_id = int(binding.external_id)
        if site.pk == context.record.pk and context.entity == Entity.SITE:
            context.external_id = binding.external_id
        repeated = _repeated(ROLE_SITE, payload)
        digest = payload_hash(repeated)
        details = Operation.NONE
        if not binding.payload:
            # Never completed: the billing details first (aBILLity refuses a site update
            # needing them before they exist: abillity-api.md §6, §16.10), then every
            # field, then the billing site.
            details = self._push_billing_information(
                context, site, site_id, is_billing_site, made_now=made_now
            )
            client.site_update(site_id, payload)
            if not is_billing_site:
                client.site_set_billing_address(site_id, int(billing.external_id))
            _bind(binding, binding.external_id, payload=payload, digest=digest)
            operation = Operation.INSERTED
        elif binding.payload_hash != digest or context.job.force:
            changed = {k: v for k, v in repeated.items() if binding.payload.get(k) != v}
            # SiteName and ShortName go with every PATCH: aBILLity may require them.
            body = {"SiteName": payload["SiteName"], "ShortName": payload["ShortName"], **changed}
            client.site_update(site_id, body)
            _bind(
                binding, binding.external_id, payload={**binding.payload, **repeated}, digest=digest
            )
            operation = operation or Operation.UPDATED
        if details == Operation.NONE:
            details = self._push_billing_information(context, site, site_id, is_billing_site)
        return _combined([operation, details])

    @staticmethod
    def _find_site(client: AbillityClient, company_id: int, short_name: str) -> int | None:
        for found in client.company_sites(company_id):
            if str(found.get("ShortName", "")).strip() == short_name:
                return int(found["Id"])
        return None

    def _push_billing_information(
        self,
        context: SyncContext,
        site: Site,
        site_id: int,
        is_billing_site: bool,
        *,
        made_now: bool = False,
    ) -> Operation:
        """Bill run, payment terms, payment method and billing contact: once per site.
        ``made_now``: this push created the site, so it has no billing information yet
        (not read first)."""
        binding = context.binding(ROLE_BILLING_INFORMATION, Entity.SITE, site.pk)
        if binding.external_id:
            return Operation.NONE
        customer = site.customer
        values = self._billing_values(customer)
        if "BillRunID" in values and customer.status == CustomerStatus.CANCELLED:
            # aBILLity refuses a bill run on a company that is not a customer.
            del values["BillRunID"]
            context.notes.append(
                f"Bill run not set on site {site}: the customer is cancelled, and Abillity "
                "takes bill runs only for customers."
            )
        self._check_sites_agree(customer, values)
        contact = self._billing_contact(site, is_billing_site)
        information = {k: v for k, v in values.items() if k != "BillRunID"}
        if contact is not None:
            person = context.ensure(Entity.CONTACT, contact)
            information["BillingContactId"] = int(person.external_id)
        client: AbillityClient = context.client
        existing = None if made_now else client.billing_information_get(site_id)
        if existing is None:
            # None yet: PUT adds it (§7), also with nothing but a bill run to set, since
            # aBILLity refuses a bill run on a site without one (§6).
            client.billing_information_put(site_id, information)
        else:
            # A site found in aBILLity (adopted): PUT would replace the record and wipe what
            # was typed there (billing e-mails); PATCH only what differs (§3, §7).
            changed = {k: v for k, v in information.items() if existing.get(k) != v}
            if changed:
                client.billing_information_patch(site_id, changed)
        if "BillRunID" in values:
            # After the billing information: aBILLity refuses a bill run on a site without it.
            client.site_update(
                site_id,
                {
                    "SiteName": site.name.strip(),
                    "ShortName": mappers.site_short_name(site),
                    "BillRunID": values["BillRunID"],
                },
            )
        done = {**values, **information}
        _bind(binding, str(site_id), payload=done, digest=payload_hash({}))
        return Operation.INSERTED if (information or values) else Operation.NONE

    def _check_sites_agree(self, customer: Customer, values: dict[str, Any]) -> None:
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

    def _billing_contact(self, site: Site, is_billing_site: bool) -> Contact | None:
        """A site contact whose type has the Billing flag, else (billing site) the quote's."""
        contact = (
            site.contacts.filter(contact_type__is_billing=True)
            .exclude(email="")
            .order_by("pk")
            .first()
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


def _bind(binding: Binding, external_id: str, *, payload: dict[str, Any], digest: str) -> None:
    from django.utils import timezone

    from ..engine.push import binding_bind as bind

    bind(binding, external_id, payload=payload, digest=digest, now=timezone.now())


def _combined(operations: list[str]) -> Operation:
    for operation in (Operation.INSERTED, Operation.CEASED, Operation.UPDATED):
        if operation in operations:
            return operation
    return Operation.NONE
