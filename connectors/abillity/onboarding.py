"""The onboarding import: existing Abillity companies become Layer customers (seed 003).

Seed 003's import direction: records that already live in the billing
platform are brought into The Layer, new customers taking a default
customer class. Each Abillity company becomes a customer created directly
(stage customer), its sites become sites, their people become contacts, and
every local record is bound to its Abillity record in the roles the
connector uses (``sync.py``), so the connector carries on from there: it
updates these records, never creates them again.

The field mapping is ``mappers.py``'s, read backwards:

- Company ``Name`` → customer name; ``IsCustomer`` ticked → Live, else Cancelled;
- site ``SiteName`` → site name (its ``ShortName`` when blank), ``ShortName`` →
  description; ``Address`` (split back into street lines at ", "), ``Town``,
  ``County``, ``PostCode`` → an address linked as the site's default;
  ``AccountRef`` → the customer's Sage account number when every site has the
  same one; the ``MainSite`` (else the site billed to itself) → the default site;
- person ``Christian``, ``Surname``, ``Email``, ``DDI``, ``MainContact`` →
  contact first and last name, email, telephone, decision maker / primary.

Records are made through ``customers.services``, so every domain rule holds
(lead record, one default site, generated site refs, Sage-formed
descriptions). Each company is read first (HTTP, no transaction open), then
made and bound in one transaction of its own: the sync jobs its saves queue
commit with the bindings, so when they run they find each record bound with
the payload hash the connector computes for it, and end as *no change*
without a call to Abillity. A company that fails leaves nothing behind and
does not stop the others.

What Abillity holds is read by ``onboarding_remote.py`` (a company's sites and people,
refused when The Layer could not sync them); this module makes and binds the records.

Rerunning is safe: a company bound already is skipped. A company whose name
an unbound local customer holds is reported as a conflict, to be mapped by
hand (the sync page's map-to-existing), never duplicated.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from customers.choices import CustomerStage, CustomerStatus
from customers.models import Address, Contact, Customer, CustomerClass, Site, SiteAddress
from customers.selectors import customer_with_name
from customers.services import (
    address_save,
    contact_save,
    customer_save,
    site_address_save,
    site_save,
)

from ..base import connector_for
from ..choices import Entity
from ..engine.push import binding_bind, payload_hash, repeated_fields
from ..errors import ConfigurationError, NotFoundError, SyncError
from ..models import Binding
from ..prepare import Progress
from .client import AbillityClient
from .constants import PLATFORM
from .onboarding_remote import (
    CompanyRefused,
    RemotePerson,
    RemoteSite,
    billing_site_of,
    remote_sites,
    remote_text,
    street_lines,
)
from .roles import (
    ROLE_BILLING_INFORMATION,
    ROLE_BILLING_SITE,
    ROLE_COMPANY,
    ROLE_CONTACT,
    ROLE_SITE,
)
from .sync import AbillityConnector

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    IMPORTED = "imported"  # in a dry run: would be imported
    ALREADY_IMPORTED = "already imported"
    CONFLICT = "conflict"
    ERROR = "error"


@dataclass
class CompanyImport:
    """What the import did (or, in a dry run, would do) with one Abillity company."""

    company_id: int
    name: str
    outcome: Outcome = Outcome.IMPORTED
    message: str = ""
    customer_id: int | None = None  # the local customer (none in a dry run)
    sites: int = 0
    contacts: int = 0
    addresses: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "outcome": str(self.outcome)}


@dataclass
class ImportSummary:
    """The outcome of one run of the import, company by company."""

    dry_run: bool
    customer_class: str | None
    companies: list[CompanyImport] = field(default_factory=list)

    def _with(self, outcome: Outcome) -> list[CompanyImport]:
        return [company for company in self.companies if company.outcome == outcome]

    @property
    def imported(self) -> list[CompanyImport]:
        return self._with(Outcome.IMPORTED)

    @property
    def already_imported(self) -> list[CompanyImport]:
        return self._with(Outcome.ALREADY_IMPORTED)

    @property
    def conflicts(self) -> list[CompanyImport]:
        return self._with(Outcome.CONFLICT)

    @property
    def errors(self) -> list[CompanyImport]:
        return self._with(Outcome.ERROR)

    def counts(self) -> dict[str, int]:
        return {
            "companies": len(self.imported),
            "sites": sum(company.sites for company in self.imported),
            "contacts": sum(company.contacts for company in self.imported),
            "addresses": sum(company.addresses for company in self.imported),
            "already_imported": len(self.already_imported),
            "conflicts": len(self.conflicts),
            "errors": len(self.errors),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "customer_class": self.customer_class,
            "counts": self.counts(),
            "companies": [company.as_dict() for company in self.companies],
        }


# --- the import --------------------------------------------------------------------------
def abillity_companies_import(
    *,
    client: AbillityClient,
    customer_class: CustomerClass | None,
    company_ids: list[int] | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import Abillity companies (all, or those of ``company_ids``) as bound customers.

    Each company is made in its own transaction; one that cannot be imported is
    reported in the summary with the reason, and the others go on. Companies
    bound already are skipped; one named like an unbound local customer is a
    conflict. ``dry_run`` does everything in transactions it rolls back, so the
    summary says what would be made and nothing is kept. A configuration error
    (credentials refused) stops the run: it is raised.
    """
    connector = connector_for(PLATFORM)
    assert isinstance(connector, AbillityConnector)
    summary = ImportSummary(
        dry_run=dry_run, customer_class=customer_class.code if customer_class else None
    )
    companies = _companies(client, company_ids, summary)
    if progress is not None:
        progress.start("companies", len(companies))
    names_taken: set[str] = set()
    for company in companies:
        outcome = _company_import(
            connector,
            client,
            company,
            customer_class=customer_class,
            dry_run=dry_run,
            names_taken=names_taken,
        )
        summary.companies.append(outcome)
        if progress is not None:
            progress.advance(1)
    return summary


def _companies(
    client: AbillityClient, company_ids: list[int] | None, summary: ImportSummary
) -> list[dict[str, Any]]:
    """The companies to import; a named one Abillity does not have is an error row."""
    if company_ids is None:
        return sorted(client.company_list(), key=lambda company: int(company["Id"]))
    found = []
    for company_id in dict.fromkeys(company_ids):
        try:
            found.append(client.company_get(company_id))
        except NotFoundError:
            summary.companies.append(
                CompanyImport(
                    company_id=company_id,
                    name="",
                    outcome=Outcome.ERROR,
                    message=f"Abillity has no company {company_id}.",
                )
            )
    return found


def _company_import(
    connector: AbillityConnector,
    client: AbillityClient,
    company: dict[str, Any],
    *,
    customer_class: CustomerClass | None,
    dry_run: bool,
    names_taken: set[str],
) -> CompanyImport:
    result = CompanyImport(company_id=int(company["Id"]), name=remote_text(company, "Name"))
    bound = Binding.objects.filter(
        platform=PLATFORM, role=ROLE_COMPANY, external_id=str(result.company_id)
    ).first()
    if bound is not None:
        result.outcome = Outcome.ALREADY_IMPORTED
        result.customer_id = bound.object_id
        result.message = f"Already imported: bound to customer #{bound.object_id}."
        return result
    if not result.name:
        return _refused(result, "It has no name in Abillity.")
    existing = customer_with_name(name=result.name)
    if existing is not None:
        result.outcome = Outcome.CONFLICT
        result.message = (
            f'A customer named "{existing.name}" #{existing.pk} already exists; map it to '
            f"Abillity company {result.company_id} with the sync page's map-to-existing "
            "instead of importing it."
        )
        return result
    if result.name.casefold() in names_taken:  # a dry run keeps no customer to clash with
        result.outcome = Outcome.CONFLICT
        result.message = (
            f'Another company of this import is named "{result.name}" too, and customer '
            "names are unique; rename one in Abillity, or map it to an existing customer."
        )
        return result
    try:
        sites = remote_sites(client, result.company_id)  # read before any transaction opens
        with transaction.atomic():
            _company_make(connector, company, sites, result, customer_class=customer_class)
            if dry_run:
                transaction.set_rollback(True)
                result.customer_id = None
    except ConfigurationError:
        raise
    except CompanyRefused as exc:
        return _refused(result, str(exc))
    except ValidationError as exc:
        return _refused(result, f"The Layer refused it: {_validation_text(exc)}")
    except SyncError as exc:
        return _refused(result, exc.message)
    except Exception as exc:
        # A defect of ours or data we did not expect: this company only, the run goes on.
        logger.exception("The Abillity import of company %s failed", result.company_id)
        return _refused(result, f"Internal error ({type(exc).__name__}: {exc}); see the log.")
    names_taken.add(result.name.casefold())
    return result


def _refused(result: CompanyImport, message: str) -> CompanyImport:
    result.outcome = Outcome.ERROR
    result.message = message
    result.customer_id = None
    result.sites = result.contacts = result.addresses = 0
    result.notes = []
    return result


def _validation_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)


def _company_make(
    connector: AbillityConnector,
    company: dict[str, Any],
    sites: list[RemoteSite],
    result: CompanyImport,
    *,
    customer_class: CustomerClass | None,
) -> None:
    """Make the customer, its sites, addresses and contacts, then bind them all."""
    refs = sorted({site.account_ref for site in sites})
    sage_account_number = refs[0] if len(refs) == 1 else ""
    if len(refs) > 1:
        shown = ", ".join(ref or "(none)" for ref in refs)
        result.notes.append(
            f"Its sites have different AccountRefs ({shown}); the customer's Sage account "
            "number is left blank."
        )
    customer = customer_save(
        customer=Customer(
            name=result.name,
            stage=CustomerStage.CUSTOMER,
            status=CustomerStatus.LIVE if company.get("IsCustomer") else CustomerStatus.CANCELLED,
            customer_class=customer_class,
            sage_account_number=sage_account_number,
        )
    )
    result.customer_id = customer.pk
    billing = billing_site_of(sites)
    if not billing.main_site:
        result.notes.append(
            f'No site is marked MainSite in Abillity; "{billing.name}" becomes the default site.'
        )
    made_sites: list[tuple[RemoteSite, Site]] = []
    made_contacts: list[tuple[RemotePerson, Contact]] = []
    addresses: dict[tuple[str, ...], Address] = {}
    # The billing site first: the customer's first site is its default (site_save).
    for remote in [billing, *(site for site in sites if site is not billing)]:
        site = site_save(
            site=Site(
                customer=customer,
                name=remote.name,
                description=remote.short_name,
                is_default=remote is billing,
            )
        )
        made_sites.append((remote, site))
        address = _site_address(customer, remote, addresses, result)
        if address is not None:
            site_address_save(link=SiteAddress(site=site, address=address, is_site_default=True))
        for person in remote.people:
            contact = contact_save(
                contact=Contact(
                    customer=customer,
                    site=site,
                    first_name=person.first_name,
                    last_name=person.last_name,
                    email=person.email,
                    telephone=person.telephone,
                    is_primary=person.main_contact,
                )
            )
            made_contacts.append((person, contact))
    result.sites = len(made_sites)
    result.contacts = len(made_contacts)
    result.addresses = len(addresses)
    remote_company = {"Name": result.name, "IsCustomer": bool(company.get("IsCustomer"))}
    _bindings_write(connector, customer, remote_company, billing, made_sites, made_contacts, result)


def _site_address(
    customer: Customer,
    remote: RemoteSite,
    addresses: dict[tuple[str, ...], Address],
    result: CompanyImport,
) -> Address | None:
    """The site's address, made once per distinct address of the company."""
    if not any(remote.address_key):
        return None
    if not remote.address:
        result.notes.append(
            f'Site "{remote.name}" has a town or postcode but no street address in Abillity; '
            "no address was made for it (a Layer address needs a street)."
        )
        return None
    if remote.address_key not in addresses:
        street1, street2, street3 = street_lines(remote.address)
        addresses[remote.address_key] = address_save(
            address=Address(
                customer=customer,
                street1=street1,
                street2=street2,
                street3=street3,
                city=remote.town,
                county=remote.county,
                postcode=remote.postcode,
            )
        )
    return addresses[remote.address_key]


def _bindings_write(
    connector: AbillityConnector,
    customer: Customer,
    remote_company: dict[str, Any],
    billing: RemoteSite,
    sites: list[tuple[RemoteSite, Site]],
    contacts: list[tuple[RemotePerson, Contact]],
    result: CompanyImport,
) -> None:
    """Bind every record as the connector would after creating it, with the payload it
    builds now: its next sync compares equal and sends nothing."""
    company = connector.build_payload(Entity.CUSTOMER, customer)
    _bound(connector, ROLE_COMPANY, Entity.CUSTOMER, customer, result.company_id, company)
    result.notes += _differences(
        connector, Entity.CUSTOMER, f'Customer "{customer}"', company, remote_company
    )
    _bound(connector, ROLE_BILLING_SITE, Entity.CUSTOMER, customer, billing.id, None)
    for remote, site in sites:
        # Bound without a payload first: the site payload reads which site is the billing one.
        _bound(connector, ROLE_SITE, Entity.SITE, site, remote.id, None)
        payload = connector.build_payload(Entity.SITE, site)
        _bound(connector, ROLE_SITE, Entity.SITE, site, remote.id, payload)
        # Its billing details are Abillity's already: the one-off push must not happen.
        _bound(connector, ROLE_BILLING_INFORMATION, Entity.SITE, site, remote.id, {})
        result.notes += _differences(
            connector, Entity.SITE, f'Site "{site}"', payload, remote.as_payload()
        )
    for person, contact in contacts:
        payload = connector.build_payload(Entity.CONTACT, contact)
        _bound(connector, ROLE_CONTACT, Entity.CONTACT, contact, person.id, payload)
        result.notes += _differences(
            connector, Entity.CONTACT, f'Contact "{contact}"', payload, person.as_payload()
        )


def _bound(
    connector: AbillityConnector,
    role: str,
    entity: str,
    record: models.Model,
    external_id: int,
    payload: dict[str, Any] | None,
) -> None:
    """Write a binding: ``payload`` as sent (hashed on its repeated fields), or None for a
    binding the connector keeps without one (the billing site)."""
    binding, _ = Binding.objects.get_or_create(
        platform=PLATFORM, role=role, entity=entity, object_id=record.pk
    )
    if payload is None:
        binding_bind(binding, str(external_id), payload={}, digest="", now=timezone.now())
        return
    digest = payload_hash(repeated_fields(connector, entity, payload))
    binding_bind(binding, str(external_id), payload=payload, digest=digest, now=timezone.now())


def _differences(
    connector: AbillityConnector,
    entity: str,
    label: str,
    local: dict[str, Any],
    remote: dict[str, Any],
) -> list[str]:
    """Notes for repeated fields The Layer's rules made differ from what Abillity holds."""
    notes = []
    for name, value in repeated_fields(connector, entity, local).items():
        if name in remote and remote[name] != value:
            notes.append(
                f'{label}: {name} is "{value}" in The Layer and "{remote[name]}" in Abillity; '
                "a later change in The Layer may send The Layer's value."
            )
    return notes
