"""A client of the Affinity API as the project assumes it (docs/affinity.md).

HTTP and payloads only: nothing of Django models. Every call carries the API key in
the ``X-API-Key`` header (``AFFINITY_API_KEY``); errors are mapped to the engine's
classes by ``PlatformClient``, with Affinity's ``{"message", "field"}`` bodies shown as
"field: message". Lists are paged (``offset``/``limit``, ``next_offset``); the list
methods here read every page. This is the one module to change when the real API's
contract is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import requests

from ..errors import ConfigurationError, NotFoundError
from ..http import PlatformClient
from ..redaction import register_secret
from .constants import API_KEY_HEADER

PAGE_SIZE = 500
MAX_PAGES = 10_000


def ended(record: Mapping[str, Any], today: date | None = None) -> bool:
    """Whether a CTN or site product (as Affinity answers it) has ended: its end date is
    today or past."""
    end = record.get("end_date")
    return bool(end) and date.fromisoformat(end) <= (today or date.today())


class AffinityClient(PlatformClient):
    platform_name = "Affinity"

    def __init__(self, base_url: str, *, api_key: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self.api_key = api_key
        register_secret(api_key)

    def auth_headers(self) -> dict[str, str]:
        if not self.api_key:
            raise ConfigurationError("The Affinity API key is not set: AFFINITY_API_KEY.")
        return {API_KEY_HEADER: self.api_key}

    def error_message(self, response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return super().error_message(response)
        if isinstance(body, Mapping) and body.get("message"):
            field = body.get("field")
            return f"{field}: {body['message']}" if field else str(body["message"])
        return super().error_message(response)

    # --- lists -------------------------------------------------------------------------
    def _list(self, path: str, **filters: str) -> list[dict[str, Any]]:
        """Every record of a list route matching ``filters``, page by page."""
        found: list[dict[str, Any]] = []
        offset: int | None = 0
        for _ in range(MAX_PAGES):
            page = self.request(
                "GET", path, params={**filters, "offset": offset, "limit": PAGE_SIZE}
            )
            found.extend(page.get("results") or [])
            offset = page.get("next_offset")
            if offset is None:
                break
        return found

    def _get_or_none(self, path: str) -> dict[str, Any] | None:
        try:
            return self.request("GET", path)
        except NotFoundError:
            return None

    @staticmethod
    def _id(record: Mapping[str, Any]) -> str:
        return str(record["id"])

    # --- accounts (customers) ----------------------------------------------------------
    def accounts_find(self, reference: str) -> list[dict[str, Any]]:
        return self._list("accounts", reference=reference)

    def account_get(self, account_id: str) -> dict[str, Any] | None:
        return self._get_or_none(f"accounts/{account_id}")

    def account_create(self, fields: Mapping[str, Any]) -> str:
        return self._id(self.request("POST", "accounts", json_body=dict(fields)))

    def account_update(self, account_id: str, fields: Mapping[str, Any]) -> None:
        self.request("PATCH", f"accounts/{account_id}", json_body=dict(fields))

    # --- sites -------------------------------------------------------------------------
    def sites_find(self, account_id: str, reference: str) -> list[dict[str, Any]]:
        return self._list("sites", account_id=account_id, reference=reference)

    def site_get(self, site_id: str) -> dict[str, Any] | None:
        return self._get_or_none(f"sites/{site_id}")

    def site_create(self, fields: Mapping[str, Any]) -> str:
        return self._id(self.request("POST", "sites", json_body=dict(fields)))

    def site_update(self, site_id: str, fields: Mapping[str, Any]) -> None:
        self.request("PATCH", f"sites/{site_id}", json_body=dict(fields))

    # --- contacts ----------------------------------------------------------------------
    def contacts_find(self, account_id: str, reference: str) -> list[dict[str, Any]]:
        return self._list("contacts", account_id=account_id, reference=reference)

    def contact_get(self, contact_id: str) -> dict[str, Any] | None:
        return self._get_or_none(f"contacts/{contact_id}")

    def contact_create(self, fields: Mapping[str, Any]) -> str:
        return self._id(self.request("POST", "contacts", json_body=dict(fields)))

    def contact_update(self, contact_id: str, fields: Mapping[str, Any]) -> None:
        self.request("PATCH", f"contacts/{contact_id}", json_body=dict(fields))

    # --- the price book ----------------------------------------------------------------
    def product_get(self, code: str) -> dict[str, Any] | None:
        return self._get_or_none(f"products/{code}")

    def product_create(self, fields: Mapping[str, Any]) -> str:
        return str(self.request("POST", "products", json_body=dict(fields))["code"])

    def products_list(self) -> list[dict[str, Any]]:
        return self._list("products")

    # --- CTNs --------------------------------------------------------------------------
    def ctns_find(self, site_id: str, number: str) -> list[dict[str, Any]]:
        return self._list("ctns", site_id=site_id, number=number)

    def ctn_get(self, ctn_id: str) -> dict[str, Any] | None:
        return self._get_or_none(f"ctns/{ctn_id}")

    def ctn_create(self, fields: Mapping[str, Any]) -> str:
        return self._id(self.request("POST", "ctns", json_body=dict(fields)))

    def ctn_update(self, ctn_id: str, fields: Mapping[str, Any]) -> None:
        self.request("PATCH", f"ctns/{ctn_id}", json_body=dict(fields))

    def ctns_list(self) -> list[dict[str, Any]]:
        return self._list("ctns")

    # --- site products -----------------------------------------------------------------
    def site_products_find(self, site_id: str, reference: str) -> list[dict[str, Any]]:
        return self._list("site-products", site_id=site_id, reference=reference)

    def site_product_get(self, site_product_id: str) -> dict[str, Any] | None:
        return self._get_or_none(f"site-products/{site_product_id}")

    def site_product_create(self, fields: Mapping[str, Any]) -> str:
        return self._id(self.request("POST", "site-products", json_body=dict(fields)))

    def site_product_update(self, site_product_id: str, fields: Mapping[str, Any]) -> None:
        self.request("PATCH", f"site-products/{site_product_id}", json_body=dict(fields))

    def site_products_list(self) -> list[dict[str, Any]]:
        return self._list("site-products")
