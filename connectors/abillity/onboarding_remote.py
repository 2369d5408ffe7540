"""What the onboarding import (``onboarding.py``) reads of Abillity: a company's sites
and their people as Abillity holds them (``RemoteSite``, ``RemotePerson``), refused when
The Layer could not sync them back (``CompanyRefused``), and the reverse of the mappers'
choices (the billing site, the street lines of Abillity's one address text).

Reading only: HTTP through the client, no models; ``onboarding.py`` makes the records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .client import AbillityClient


class CompanyRefused(Exception):
    """A company the import cannot take as Abillity holds it; the message says why."""


def remote_text(record: dict[str, Any], key: str) -> str:
    """A text field of an Abillity record, trimmed ("" when missing or null)."""
    return str(record.get(key) or "").strip()


@dataclass(frozen=True)
class RemotePerson:
    id: int
    first_name: str
    last_name: str
    email: str
    telephone: str
    main_contact: bool

    @classmethod
    def read(cls, person: dict[str, Any]) -> RemotePerson:
        return cls(
            id=int(person["Id"]),
            first_name=remote_text(person, "Christian"),
            last_name=remote_text(person, "Surname"),
            email=remote_text(person, "Email"),
            telephone=remote_text(person, "DDI"),
            main_contact=bool(person.get("MainContact")),
        )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def as_payload(self) -> dict[str, Any]:
        """Its repeated fields as the connector would send them."""
        return {
            "Christian": self.first_name,
            "Surname": self.last_name,
            "DDI": self.telephone,
            "MainContact": self.main_contact,
        }


@dataclass(frozen=True)
class RemoteSite:
    id: int
    name: str
    short_name: str
    address: str
    town: str
    county: str
    postcode: str
    account_ref: str
    main_site: bool
    billed_to: int | None
    people: tuple[RemotePerson, ...] = ()

    @classmethod
    def read(cls, site: dict[str, Any], people: Iterable[dict[str, Any]]) -> RemoteSite:
        short_name = remote_text(site, "ShortName")
        billed_to = site.get("BillingAddress")
        return cls(
            id=int(site["Id"]),
            name=remote_text(site, "SiteName") or short_name,
            short_name=short_name,
            address=remote_text(site, "Address"),
            town=remote_text(site, "Town"),
            county=remote_text(site, "County"),
            postcode=remote_text(site, "PostCode"),
            account_ref=remote_text(site, "AccountRef"),
            main_site=bool(site.get("MainSite")),
            billed_to=int(billed_to) if billed_to not in (None, "") else None,
            people=tuple(
                sorted((RemotePerson.read(p) for p in people), key=lambda person: person.id)
            ),
        )

    @property
    def address_key(self) -> tuple[str, ...]:
        return (self.address, self.town, self.county, self.postcode)

    def as_payload(self) -> dict[str, Any]:
        """Its repeated fields as the connector would send them."""
        return {
            "SiteName": self.name,
            "ShortName": self.short_name,
            "Address": self.address,
            "Town": self.town,
            "County": self.county,
            "PostCode": self.postcode,
            "AccountRef": self.account_ref,
        }


def remote_sites(client: AbillityClient, company_id: int) -> list[RemoteSite]:
    """The company's sites with their people, refused when The Layer could not sync them."""
    found = [
        RemoteSite.read(site, client.site_contacts(int(site["Id"])))
        for site in client.company_sites(company_id)
    ]
    if not found:
        raise CompanyRefused(
            "It has no sites in Abillity; a Layer customer synced to Abillity needs a billing "
            "site. Add one in Abillity and run the import again."
        )
    for site in found:
        for person in site.people:
            if not person.email:
                raise CompanyRefused(
                    f'Person "{person.full_name}" (Abillity id {person.id}) at site '
                    f'"{site.name}" has no email address; The Layer needs one to sync a '
                    "contact to Abillity. Add it in Abillity and run the import again."
                )
            if not person.first_name:
                raise CompanyRefused(
                    f'Person {person.id} at site "{site.name}" has no first name (Christian); '
                    "a Layer contact needs one. Add it in Abillity and run the import again."
                )
    return sorted(found, key=lambda site: site.id)


def billing_site_of(sites: list[RemoteSite]) -> RemoteSite:
    """The site that becomes the default: the MainSite, else the first site billed to
    itself (a billing site rather than a subsite), else the first site."""
    for site in sites:
        if site.main_site:
            return site
    for site in sites:
        if site.billed_to in (None, site.id):
            return site
    return sites[0]


def street_lines(address: str) -> tuple[str, str, str]:
    """Abillity's one address text as street lines, the reverse of the mapper's join by
    ", ": joined again they give the same text (else it all stays in the first line)."""
    parts = address.split(", ")
    if len(parts) > 3:
        parts = [parts[0], parts[1], ", ".join(parts[2:])]
    lines = (*parts, "", "")[:3]
    rejoined = ", ".join(line.strip() for line in lines if line.strip())
    if rejoined != address:
        return (address, "", "")
    return (lines[0], lines[1], lines[2])
