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

The records themselves are declared in ``records.py`` (customers, sites, contacts) and
``charges.py`` (assets); this module is the connector: which records, when, and what
comes around their push.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef

from billing.models import BillingPlatform
from customers.choices import CustomerStage
from customers.models import Contact, Customer, Site
from customers.selectors import (
    customer_default_site,
)

from ..base import Connector, RemoteRecord
from ..choices import Entity, Operation
from ..engine.publish import changes_enqueue
from ..engine.queue import initial_sync_happened
from ..engine.records import operations_combined, record_push
from ..engine.run import SyncContext
from ..engine.scope import synced_inline
from ..errors import NotFoundError, PermanentError
from ..models import Binding, ChargeType, InitialSyncEvent, ValueMapping
from ..selectors import binding_for
from . import charges, mappers
from .client import AbillityClient
from .constants import PLATFORM, SANDBOX_CHARGE_TYPES, SANDBOX_CREDENTIALS
from .records import (
    COMPANY,
    FIELD_RULES,
    MAPPING_BILL_RUN,
    MAPPING_PAYMENT_METHOD,
    RECORDS,
    company_found,
    person_found,
)
from .roles import ROLE_BILLING_SITE, ROLE_COMPANY, ROLE_CONTACT, ROLE_SITE

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


class AbillityConnector(Connector):
    identifier = PLATFORM
    name = "Abillity"
    entities = (Entity.CUSTOMER, Entity.SITE, Entity.CONTACT, Entity.ASSET)
    secrets = ("ABILLITY_PASSWORD", "ABILLITY_SYSTEM_INFORMATION")
    field_rules = {
        Entity.CUSTOMER: FIELD_RULES[ROLE_COMPANY],
        Entity.SITE: FIELD_RULES[ROLE_SITE],
        Entity.CONTACT: FIELD_RULES[ROLE_CONTACT],
        Entity.ASSET: charges.CHARGE_RULES,
    }
    records = RECORDS

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

    # --- the platform records ---------------------------------------------------
    def lookup(self, entity, record, payload, client: AbillityClient):
        """The company or person matching by natural key, as the declarations find them
        (``records.company_found``, ``records.person_found``)."""
        if entity == Entity.CUSTOMER:
            return company_found(client, payload)
        return person_found(client, payload) if entity == Entity.CONTACT else None

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

    def reconcile(self, client: AbillityClient) -> list:
        """Companies, sites, contacts, CLIs and charges against their bindings and our
        values (``connectors.abillity.reconcile``)."""
        from .reconcile import abillity_differences

        return abillity_differences(client=client)

    def push(self, context: SyncContext) -> Operation:
        if context.entity == Entity.ASSET:
            return charges.asset_push(context, context.record)
        if context.entity == Entity.CUSTOMER:
            return self._push_customer(context)
        return super().push(context)

    # --- customers ----------------------------------------------------------------
    def _push_customer(self, context: SyncContext) -> Operation:
        customer: Customer = context.record
        operations = [record_push(context, COMPANY)]
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
        return operations_combined(operations)
