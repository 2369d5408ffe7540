"""A client for the public aBILLity REST API ("Rest API Release 1").

HTTP and payloads only: it knows nothing of Django models. Paths, field
names and casing are the API's own (``../shared/platforms/abillity-api.md``);
where the documentation is silent the project's assumptions (its §17, and
docs/abillity.md) are used. Every call carries the header credentials
(``SystemInformation``, ``username``, ``password``); errors are mapped to
the engine's classes by ``PlatformClient``, and the platform's quirk of
answering 404 for an empty list is turned back into an empty list.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..errors import ConfigurationError, NotFoundError
from ..http import PlatformClient
from ..redaction import register_secret

# aBILLity's FrequencyTypeId values.
FREQUENCY_ANNUAL = 1
FREQUENCY_MONTHLY = 2
FREQUENCY_ONE_OFF = 3
FREQUENCY_QUARTERLY = 4


def abillity_date(value: date | None) -> str | None:
    """A date as aBILLity takes it: ``YYYY-MM-DDT00:00:00`` (no offset), or None."""
    return None if value is None else f"{value.isoformat()}T00:00:00"


class AbillityClient(PlatformClient):
    platform_name = "Abillity"

    def __init__(
        self,
        base_url: str,
        *,
        system_information: str,
        username: str,
        password: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(base_url, **kwargs)
        self.system_information = system_information
        self.username = username
        self.password = password
        # Masked in every attempt row, message and log line, wherever they came from.
        register_secret(password)
        register_secret(system_information)

    def auth_headers(self) -> dict[str, str]:
        missing = [
            name
            for name, value in (
                ("ABILLITY_SYSTEM_INFORMATION", self.system_information),
                ("ABILLITY_USERNAME", self.username),
                ("ABILLITY_PASSWORD", self.password),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(f"Abillity credentials are not set: {', '.join(missing)}.")
        return {
            "SystemInformation": self.system_information,
            "username": self.username,
            "password": self.password,
        }

    def refusal_is_configuration(self, status: int, message: str) -> bool:
        """aBILLity reports missing rights as 401, and its site rules as 403 ("Invalid bill
        run id 9", "Non-customers can not have a bill run set"): those refuse the data. A 403
        saying only a CP user may do it is the login's type, a configuration problem."""
        return status == 401 or "cp user" in message.casefold()

    def _list(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """A list route: aBILLity answers 404 ("No … found") when it is empty."""
        try:
            result = self.request("GET", path, params=params)
        except NotFoundError:
            return []
        return list(result or [])

    @staticmethod
    def _id(result: Any) -> int:
        return int(result["Id"])

    # --- companies (project assumption: see docs/abillity.md) ------------------
    def company_list(self, *, name: str = "") -> list[dict[str, Any]]:
        """The companies; with ``name``, asks for those of that name (``?Name=``).

        A system that ignores the parameter answers with every company, so callers
        still compare the names themselves; one that honours it answers in one small
        page instead of a list that grows with the customer base.
        """
        return self._list("company", params={"Name": name} if name else None)

    def company_get(self, company_id: int) -> dict[str, Any]:
        return self.request("GET", f"company/{company_id}")

    def company_create(self, fields: dict[str, Any]) -> int:
        return self._id(self.request("POST", "company", json_body=fields))

    def company_update(self, company_id: int, fields: dict[str, Any]) -> None:
        self.request("PATCH", f"company/{company_id}", json_body=fields)

    # --- sites ---------------------------------------------------------------------
    def site_list(self) -> list[dict[str, Any]]:
        """Every site the login may see (``GET api/site``)."""
        return self._list("site")

    def company_sites(self, company_id: int) -> list[dict[str, Any]]:
        return self._list(f"company/{company_id}/Site")

    def site_get(self, site_id: int) -> dict[str, Any]:
        return self.request("GET", f"site/{site_id}")

    def site_create(self, *, company_id: int, short_name: str, account_ref: str = "") -> int:
        body: dict[str, Any] = {"CompanyId": company_id, "ShortName": short_name}
        if account_ref:
            body["AccountRef"] = account_ref
        return self._id(self.request("POST", "site", json_body=body))

    def site_update(self, site_id: int, fields: dict[str, Any]) -> None:
        self.request("PATCH", f"site/{site_id}", json_body=fields)

    def site_set_billing_address(self, site_id: int, billing_site_id: int) -> None:
        self.request(
            "PATCH", f"site/{site_id}/setbillingaddress", json_body={"Id": billing_site_id}
        )

    def billing_information_put(self, site_id: int, fields: dict[str, Any]) -> None:
        self.request("PUT", f"site/{site_id}/billinginformation", json_body=fields)

    def billing_information_patch(self, site_id: int, fields: dict[str, Any]) -> None:
        self.request("PATCH", f"site/{site_id}/billinginformation", json_body=fields)

    def billing_information_get(self, site_id: int) -> dict[str, Any] | None:
        try:
            return self.request("GET", f"site/{site_id}/billinginformation")
        except NotFoundError:
            return None

    # --- site contacts -------------------------------------------------------------
    def company_contacts(self, company_id: int) -> list[dict[str, Any]]:
        """The contacts of all a company's sites (``GET api/company/{id}/SiteContact``)."""
        return self._list(f"company/{company_id}/SiteContact")

    def site_contacts(self, site_id: int) -> list[dict[str, Any]]:
        return self._list(f"site/{site_id}/SiteContact")

    def site_contact_create(self, fields: dict[str, Any]) -> int:
        return self._id(self.request("POST", "sitecontact", json_body=fields))

    def site_contact_update(self, contact_id: int, fields: dict[str, Any]) -> None:
        self.request("PATCH", f"sitecontact/{contact_id}", json_body=fields)

    # --- CLIs (billing IDs) and service charges ----------------------------------
    def cli_get(self, cli_id: int) -> dict[str, Any]:
        return self.request("GET", f"cli/{cli_id}")

    def clis_by_number(self, cli: str) -> list[dict[str, Any]]:
        return self._list(f"cli/bycli/{cli}")

    def cli_create(self, fields: dict[str, Any]) -> int:
        return self._id(self.request("POST", "cli", json_body=fields))

    def cli_update(self, cli_id: int, fields: dict[str, Any]) -> None:
        self.request("PUT", f"cli/{cli_id}", json_body=fields)

    def site_charges_for_cli(self, site_id: int, cli: str) -> list[dict[str, Any]]:
        return self._list(f"site/{site_id}/servicecharge/cli/{cli}")

    def service_charge_create(self, fields: dict[str, Any]) -> int:
        return self._id(self.request("POST", "servicecharge", json_body=fields))

    def service_charge_update(self, charge_id: int, fields: dict[str, Any]) -> None:
        self.request("PATCH", f"servicecharge/{charge_id}", json_body=fields)

    def service_charge_get(self, charge_id: int) -> dict[str, Any]:
        return self.request("GET", f"servicecharge/{charge_id}")
