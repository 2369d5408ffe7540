"""Reconciliation between The Layer and Abillity: companies, sites, site contacts, CLIs
(billing IDs) and service charges, each against its binding and the values The Layer would
send now (issue 21: "Reconciliation on every platform that can be read").

Read with GET calls only: ``api/site`` (every site, one call), ``api/company/{id}/SiteContact``
per bound company, ``api/cli/{id}`` and ``api/servicecharge/{id}`` per bound CLI and charge
(abillity-api.md §1), and the company reads the connector already assumes (``GET
api/company`` and ``api/company/{id}``, §17 and docs/abillity.md: the help pages name no
company GET, yet the connector needs them to find a company before it creates one).

| kind | when |
|---|---|
| ``missing_there`` | bound here, but Abillity has no record with that id |
| ``unknown_here`` | a company, site or contact in Abillity that nothing here is bound to |
| ``value_differs`` | a company's, site's or contact's field differs from what we would send |
| ``cli_differs`` | a billing ID's number or end date differs from its asset's |
| ``charge_differs`` | a service charge's description, price or last payment differs |

Only the fields in ``RECONCILED_FIELDS`` are compared: the ones the sync keeps in step and
that Abillity answers back as sent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import models

from ..base import ReconcileDifference, connector_for, entity_model
from ..choices import Entity
from ..errors import NotFoundError, SyncError
from ..models import Binding
from .charges import ROLE_BILLING_ID, ROLE_CHARGES
from .client import AbillityClient
from .constants import PLATFORM
from .sync import ROLE_BILLING_SITE, ROLE_COMPANY, ROLE_CONTACT, ROLE_SITE

KIND_LABELS = {
    "missing_there": "Bound here, missing in Abillity",
    "unknown_here": "In Abillity, bound to nothing here",
    "value_differs": "Different value",
    "cli_differs": "Different CLI",
    "charge_differs": "Different service charge",
}

# Per binding role: the fields compared, and the kind a difference in them is.
RECONCILED_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    ROLE_COMPANY: ("value_differs", ("Name",)),
    ROLE_SITE: ("value_differs", ("SiteName", "Address", "Town", "County", "PostCode")),
    ROLE_CONTACT: ("value_differs", ("Christian", "Surname", "Email", "DDI")),
    ROLE_BILLING_ID: ("cli_differs", ("CLI", "EndDate")),
    **{
        role: ("charge_differs", ("Description", "SalesPrice", "LastPayment"))
        for role in ROLE_CHARGES.values()
    },
}
# What each role's platform record is called, for staff.
RECORD_NAMES = {
    ROLE_COMPANY: "company",
    ROLE_SITE: "site",
    ROLE_CONTACT: "site contact",
    ROLE_BILLING_ID: "billing ID",
    **{role: role.replace("_", " ") for role in ROLE_CHARGES.values()},
}


def _shown(value: Any) -> str:
    """A field's value as compared and shown: None and "" alike, numbers without noise."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


class _Report:
    """The differences found so far, and how each record is named."""

    def __init__(self) -> None:
        self.found: list[ReconcileDifference] = []

    def add(
        self,
        kind: str,
        *,
        entity: str,
        record: models.Model | None,
        object_id: int | None,
        external_id: str,
        name: str = "",
        **values: str,
    ) -> None:
        customer = getattr(record, "customer", None) if record is not None else None
        self.found.append(
            ReconcileDifference(
                kind=kind,
                label=KIND_LABELS[kind],
                entity=entity,
                object_id=object_id,
                external_id=external_id,
                record=str(record) if record is not None else name,
                customer=str(customer) if customer is not None else "",
                **values,
            )
        )


def _records(bindings: Iterable[Binding]) -> dict[tuple[str, int], models.Model]:
    """The local records of ``bindings``, one query per entity."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for binding in bindings:
        wanted[binding.entity].add(binding.object_id)
    found: dict[tuple[str, int], models.Model] = {}
    for entity, ids in wanted.items():
        manager = entity_model(entity)._default_manager
        if entity in (Entity.SITE, Entity.CONTACT, Entity.ASSET, Entity.CHARGE):
            manager = manager.select_related("customer")
        for pk, record in manager.in_bulk(ids).items():
            found[(entity, pk)] = record
    return found


def _payloads(record: models.Model, entity: str) -> dict[str, dict[str, Any]]:
    """role → the payload a sync of ``record`` would send now ({} when it cannot be built:
    a missing mapping, say, which its job reports in the error queue)."""
    connector = connector_for(PLATFORM)
    try:
        return {role: payload for role, _e, _r, payload in connector.preview_parts(entity, record)}
    except SyncError:
        return {}


def _compare(
    report: _Report,
    binding: Binding,
    record: models.Model | None,
    remote: dict[str, Any],
    ours: dict[str, Any] | None,
) -> None:
    if record is None or ours is None:
        return
    kind, fields = RECONCILED_FIELDS[binding.role]
    for field in fields:
        if field not in ours:
            continue
        layer_value, platform_value = _shown(ours[field]), _shown(remote.get(field))
        if layer_value == platform_value:
            continue
        report.add(
            kind,
            entity=binding.entity,
            record=record,
            object_id=binding.object_id,
            external_id=binding.external_id,
            layer_value=f"{field}: {layer_value or '(empty)'}",
            platform_value=f"{field}: {platform_value or '(empty)'}",
            message=f"{record} has {field} {layer_value or '(empty)'} here; its Abillity "
            f"{RECORD_NAMES[binding.role]} {binding.external_id} has "
            f"{platform_value or '(empty)'}: sync it again (Sync now), or correct Abillity.",
        )


def _missing(report: _Report, binding: Binding, record: models.Model | None) -> None:
    what = RECORD_NAMES[binding.role]
    report.add(
        "missing_there",
        entity=binding.entity,
        record=record,
        object_id=binding.object_id,
        external_id=binding.external_id,
        name=f"{binding.entity} #{binding.object_id} (deleted here)",
        layer_value=f"bound to {what} {binding.external_id}",
        platform_value=f"no {what} {binding.external_id}",
        message=f"{record or 'A deleted record'} is bound to Abillity {what} "
        f"{binding.external_id}, which Abillity does not have: map it to the right one, or "
        "sync it again to create it.",
    )


def _unknown(report: _Report, entity: str, what: str, external_id: str, name: str) -> None:
    report.add(
        "unknown_here",
        entity=entity,
        record=None,
        object_id=None,
        external_id=external_id,
        name=name,
        layer_value="nothing bound",
        platform_value=f"{what} {external_id}",
        message=f"Abillity has {what} {external_id} ({name}), which nothing here is bound "
        "to: map a record here to it, or remove it from Abillity.",
    )


def abillity_differences(*, client: AbillityClient) -> list[ReconcileDifference]:
    """Every difference between our Abillity bindings and records and what Abillity holds."""
    report = _Report()
    bindings: dict[str, list[Binding]] = defaultdict(list)
    for binding in (
        Binding.objects.filter(platform=PLATFORM)
        .exclude(external_id="")
        .order_by("entity", "object_id", "role")
    ):
        bindings[binding.role].append(binding)
    records = _records(b for role in RECONCILED_FIELDS for b in bindings[role])
    payloads: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}

    def ours(binding: Binding) -> tuple[models.Model | None, dict[str, Any] | None]:
        key = (binding.entity, binding.object_id)
        record = records.get(key)
        if record is None:
            return None, None
        if key not in payloads:
            payloads[key] = _payloads(record, binding.entity)
        return record, payloads[key].get(binding.role)

    def check_listed(bound: list[Binding], listed: dict[str, dict[str, Any]]) -> None:
        """Each of ``bound`` against its record in what Abillity listed, or missing."""
        for binding in bound:
            record, payload = ours(binding)
            remote = listed.get(binding.external_id)
            if remote is None:
                _missing(report, binding, record)
            else:
                _compare(report, binding, record, remote, payload)

    # Companies: each bound one read by id; every company listed for those nobody has.
    present_companies: list[str] = []
    for binding in bindings[ROLE_COMPANY]:
        record, payload = ours(binding)
        try:
            company = client.company_get(int(binding.external_id))
        except NotFoundError:
            _missing(report, binding, record)
            continue
        present_companies.append(binding.external_id)
        _compare(report, binding, record, company, payload)
    bound_companies = {b.external_id for b in bindings[ROLE_COMPANY]}
    for company in client.company_list():
        if str(company["Id"]) not in bound_companies:
            _unknown(report, Entity.CUSTOMER, "company", str(company["Id"]), company.get("Name"))

    # Sites: one list of them all.
    sites = {str(site["Id"]): site for site in client.site_list()}
    check_listed(bindings[ROLE_SITE], sites)
    bound_sites = {b.external_id for role in (ROLE_SITE, ROLE_BILLING_SITE) for b in bindings[role]}
    for site_id, site in sites.items():
        if site_id not in bound_sites:
            name = f"{site.get('SiteName') or site.get('ShortName')}, company {site['CompanyId']}"
            _unknown(report, Entity.SITE, "site", site_id, name)

    # Site contacts: those of each bound company that Abillity has.
    contacts: dict[str, dict[str, Any]] = {}
    for company_id in present_companies:
        for contact in client.company_contacts(int(company_id)):
            contacts[str(contact["Id"])] = contact
    check_listed(bindings[ROLE_CONTACT], contacts)
    bound_contacts = {b.external_id for b in bindings[ROLE_CONTACT]}
    for contact_id, contact in sorted(contacts.items()):
        if contact_id not in bound_contacts:
            name = f"{contact.get('Christian', '')} {contact.get('Surname', '')}".strip()
            _unknown(report, Entity.CONTACT, "site contact", contact_id, name)

    # Billing IDs (CLIs) and service charges: each bound one read by id.
    readers = {ROLE_BILLING_ID: client.cli_get}
    readers.update({role: client.service_charge_get for role in ROLE_CHARGES.values()})
    for role, read in readers.items():
        for binding in bindings[role]:
            record, payload = ours(binding)
            try:
                remote = read(int(binding.external_id))
            except NotFoundError:
                _missing(report, binding, record)
                continue
            _compare(report, binding, record, remote, payload)
    return report.found
