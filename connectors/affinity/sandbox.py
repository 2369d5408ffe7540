"""An emulator of the Affinity API the project assumes (docs/affinity.md), served under
/sandbox/affinity/.

No public Affinity API is known (platforms/affinity.md); this emulator enforces exactly
the contract docs/affinity.md documents, so the connector, the demo and the tests run
against it over real HTTP, and adapting to the real service is a change to
``client.py`` alone. It checks what the contract says Affinity checks: the API key
header, required fields and their lengths, unknown fields, CTN numbers in UK national
format, one live CTN per number, product codes that must be in its price book, site
products whose site and CTN exist (the CTN on the same site), contacts and subsites on
their own account, and unique references. It starts with a small price book.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

from ..sandbox import Emulator, EmulatorRequest, EmulatorResponse
from .client import ended
from .constants import API_KEY_HEADER, PLATFORM, SANDBOX_API_KEY

CTN_NUMBER = re.compile(r"(0[1-9]\d{8,9}|00[1-9]\d{4,14})")
PRODUCT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,29}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
ACCOUNT_STATUSES = ("pending", "active", "cancelled")
PRODUCT_TYPES = ("product", "service")
FREQUENCIES = ("one_off", "monthly", "quarterly", "annual")
LIST_LIMIT = 100
LIST_LIMIT_MAX = 500

# Field → (kind, maximum length or None, required on create). Kinds: str, bool, int,
# date (YYYY-MM-DD), money (a decimal string), id (another record's id).
ACCOUNT_FIELDS = {
    "reference": ("str", 40, True),
    "name": ("str", 100, True),
    "registered_name": ("str", 255, False),
    "status": ("str", 20, True),
    "bill_run": ("str", 50, False),
    "payment_terms": ("str", 50, False),
    "payment_method": ("str", 50, False),
    "email": ("str", 254, False),
    "telephone": ("str", 30, False),
    "vat_number": ("str", 20, False),
}
SITE_FIELDS = {
    "account_id": ("id", None, True),
    "reference": ("str", 40, True),
    "name": ("str", 255, True),
    "site_ref": ("str", 255, False),
    "parent_site_id": ("id", None, False),
    "is_billing_site": ("bool", None, False),
    "address_line1": ("str", 255, True),
    "address_line2": ("str", 255, False),
    "address_line3": ("str", 255, False),
    "town": ("str", 50, False),
    "county": ("str", 50, False),
    "postcode": ("str", 10, True),
}
CONTACT_FIELDS = {
    "account_id": ("id", None, True),
    "reference": ("str", 40, True),
    "site_id": ("id", None, False),
    "first_name": ("str", 40, True),
    "last_name": ("str", 40, False),
    "email": ("str", 254, False),
    "telephone": ("str", 34, False),
    "mobile": ("str", 17, False),
    "is_primary": ("bool", None, False),
    "is_billing": ("bool", None, False),
}
PRODUCT_FIELDS = {
    "code": ("str", 30, True),
    "name": ("str", 100, True),
    "type": ("str", 10, True),
    "frequency": ("str", 10, False),
    "upfront_price": ("money", None, False),
    "recurring_price": ("money", None, False),
    "source": ("str", 20, False),
}
CTN_FIELDS = {
    "site_id": ("id", None, True),
    "number": ("str", 17, True),
    "start_date": ("date", None, False),
    "end_date": ("date", None, False),
    "cost_centre": ("str", 50, False),
    "do_not_bill": ("bool", None, False),
}
SITE_PRODUCT_FIELDS = {
    "site_id": ("id", None, True),
    "reference": ("str", 40, True),
    "product_code": ("str", 30, True),
    "description": ("str", 100, False),
    "ctn_id": ("id", None, False),
    "quantity": ("int", None, True),
    "upfront_price": ("money", None, False),
    "recurring_price": ("money", None, False),
    "frequency": ("str", 10, False),
    "start_date": ("date", None, False),
    "end_date": ("date", None, False),
    "cost_centre": ("str", 50, False),
    "do_not_bill": ("bool", None, False),
}
# Fields fixed at creation: a PATCH naming them is refused.
FIXED_ON_UPDATE = {
    "accounts": ("reference",),
    "sites": ("reference", "account_id"),
    "contacts": ("reference", "account_id"),
    "ctns": ("site_id",),
    "site_products": ("reference", "site_id"),
}
ID_PREFIXES = {
    "accounts": "ACC",
    "sites": "SIT",
    "contacts": "CON",
    "ctns": "CTN",
    "site_products": "SPR",
}
INITIAL_PRODUCTS = (
    ("MOB-SIM-30", "Business Mobile SIM 30GB", "service", "monthly", "0.00", "15.00"),
    ("FIX-PSTN", "Analogue Line Rental", "service", "monthly", "0.00", "18.50"),
    ("BB-FTTP-80", "FTTP Broadband 80/20", "service", "monthly", "99.00", "35.00"),
    ("HW-ROUTER", "Business Router", "product", "one_off", "120.00", "0.00"),
)


class Invalid(Exception):
    """A refused call: its status, message and the field it is about."""

    def __init__(self, status: int, message: str, field: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


class AffinityEmulator(Emulator):
    platform = PLATFORM
    _id = r"(?P<pk>[A-Z]{3}\d+)"
    routes = [
        ("GET", r"accounts", "account_list"),
        ("POST", r"accounts", "account_create"),
        ("GET", rf"accounts/{_id}", "account_get"),
        ("PATCH", rf"accounts/{_id}", "account_update"),
        ("GET", r"sites", "site_list"),
        ("POST", r"sites", "site_create"),
        ("GET", rf"sites/{_id}", "site_get"),
        ("PATCH", rf"sites/{_id}", "site_update"),
        ("GET", r"contacts", "contact_list"),
        ("POST", r"contacts", "contact_create"),
        ("GET", rf"contacts/{_id}", "contact_get"),
        ("PATCH", rf"contacts/{_id}", "contact_update"),
        ("GET", r"products", "product_list"),
        ("POST", r"products", "product_create"),
        ("GET", r"products/(?P<code>[^/]+)", "product_get"),
        ("GET", r"ctns", "ctn_list"),
        ("POST", r"ctns", "ctn_create"),
        ("GET", rf"ctns/{_id}", "ctn_get"),
        ("PATCH", rf"ctns/{_id}", "ctn_update"),
        ("GET", r"site-products", "site_product_list"),
        ("POST", r"site-products", "site_product_create"),
        ("GET", rf"site-products/{_id}", "site_product_get"),
        ("PATCH", rf"site-products/{_id}", "site_product_update"),
    ]

    # --- state -------------------------------------------------------------------------
    def initial_state(self) -> dict[str, Any]:
        products = {
            code: {
                "code": code,
                "name": name,
                "type": kind,
                "frequency": frequency,
                "upfront_price": upfront,
                "recurring_price": recurring,
                "source": "affinity",
            }
            for code, name, kind, frequency, upfront, recurring in INITIAL_PRODUCTS
        }
        return {
            "accounts": {},
            "sites": {},
            "contacts": {},
            "products": products,
            "ctns": {},
            "site_products": {},
        }

    def authenticate(self, request: EmulatorRequest) -> EmulatorResponse | None:
        given = {k.lower(): v for k, v in request.headers.items()}.get(API_KEY_HEADER.lower())
        expected = settings.AFFINITY_API_KEY or SANDBOX_API_KEY
        if given != expected:
            return EmulatorResponse(401, {"message": "Missing or invalid API key."})
        return None

    def _dispatch(self, request: EmulatorRequest) -> EmulatorResponse:
        try:
            return super()._dispatch(request)
        except Invalid as refused:
            body = {"message": refused.message}
            if refused.field:
                body["field"] = refused.field
            return EmulatorResponse(refused.status, body)

    # --- helpers -----------------------------------------------------------------------
    def _new_id(self, kind: str) -> str:
        return f"{ID_PREFIXES[kind]}{self.next_id(kind):05d}"

    def _get(self, kind: str, pk: str, label: str) -> dict[str, Any]:
        record = self.state[kind].get(str(pk))
        if record is None:
            raise Invalid(404, f"{label} {pk} not found.")
        return record

    def _list(self, request: EmulatorRequest, records: list[dict[str, Any]]) -> EmulatorResponse:
        filters = {k: v for k, v in request.query.items() if k not in ("offset", "limit")}
        for key, value in filters.items():
            if key == "status":
                records = [r for r in records if self._status(r) == value]
            else:
                records = [r for r in records if str(r.get(key) or "") == value]
        try:
            offset = max(int(request.query.get("offset", 0)), 0)
            limit = min(max(int(request.query.get("limit", LIST_LIMIT)), 1), LIST_LIMIT_MAX)
        except ValueError:
            raise Invalid(400, "offset and limit must be whole numbers.") from None
        page = records[offset : offset + limit]
        more = offset + limit < len(records)
        return EmulatorResponse(
            200, {"results": page, "next_offset": offset + limit if more else None}
        )

    @staticmethod
    def _status(record: dict[str, Any]) -> str:
        return "ended" if ended(record) else "live"

    def _fields(
        self, body: Any, spec: dict[str, tuple[str, int | None, bool]], *, creating: bool, kind: str
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise Invalid(400, "The body must be a JSON object.")
        unknown = sorted(set(body) - set(spec))
        if unknown:
            raise Invalid(400, f"Unknown field {unknown[0]}.", unknown[0])
        if not creating:
            for name in FIXED_ON_UPDATE.get(kind, ()):
                if name in body:
                    raise Invalid(400, f"{name} is set on creation and cannot change.", name)
        fields: dict[str, Any] = {}
        for name, (type_, limit, required) in spec.items():
            if name not in body:
                if creating and required:
                    raise Invalid(400, f"{name} is required.", name)
                continue
            fields[name] = _checked(name, body[name], type_, limit, required)
        return fields

    def _create(self, kind: str, fields: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        pk = self._new_id(kind)
        record = {name: None for name in spec}
        record.update(fields, id=pk)
        self.state[kind][pk] = record
        return record

    def _unique_reference(self, kind: str, reference: str, label: str) -> None:
        for record in self.state[kind].values():
            if record.get("reference") == reference:
                raise Invalid(
                    409,
                    f"A {label} with reference {reference} exists: {record['id']}.",
                    "reference",
                )

    # --- accounts ----------------------------------------------------------------------
    def _account_rules(self, account: dict[str, Any]) -> None:
        if account.get("status") not in ACCOUNT_STATUSES:
            raise Invalid(400, f"status must be one of {', '.join(ACCOUNT_STATUSES)}.", "status")
        if account.get("email") and not EMAIL.fullmatch(account["email"]):
            raise Invalid(400, "email is not an email address.", "email")

    def account_list(self, request):
        return self._list(request, list(self.state["accounts"].values()))

    def account_create(self, request):
        fields = self._fields(request.body, ACCOUNT_FIELDS, creating=True, kind="accounts")
        self._account_rules(fields)
        self._unique_reference("accounts", fields["reference"], "account")
        return EmulatorResponse(201, self._create("accounts", fields, ACCOUNT_FIELDS))

    def account_get(self, request, pk):
        return EmulatorResponse(200, self._get("accounts", pk, "Account"))

    def account_update(self, request, pk):
        account = self._get("accounts", pk, "Account")
        fields = self._fields(request.body, ACCOUNT_FIELDS, creating=False, kind="accounts")
        self._account_rules({**account, **fields})
        account.update(fields)
        return EmulatorResponse(200, account)

    # --- sites -------------------------------------------------------------------------
    def _site_rules(self, site: dict[str, Any]) -> None:
        self._get("accounts", site["account_id"], "Account")
        parent_id = site.get("parent_site_id")
        if parent_id:
            parent = self.state["sites"].get(parent_id)
            if parent is None or parent["account_id"] != site["account_id"]:
                raise Invalid(
                    400, f"Parent site {parent_id} is not a site of this account.", "parent_site_id"
                )
            if parent_id == site.get("id"):
                raise Invalid(400, "A site cannot be its own parent.", "parent_site_id")
        for required in ("name", "address_line1", "postcode"):
            if not (site.get(required) or "").strip():
                raise Invalid(400, f"{required} is required.", required)

    def _one_billing_site(self, site: dict[str, Any]) -> None:
        if site.get("is_billing_site"):
            for other in self.state["sites"].values():
                if other["account_id"] == site["account_id"] and other["id"] != site["id"]:
                    other["is_billing_site"] = False

    def site_list(self, request):
        return self._list(request, list(self.state["sites"].values()))

    def site_create(self, request):
        fields = self._fields(request.body, SITE_FIELDS, creating=True, kind="sites")
        self._site_rules(fields)
        self._unique_reference("sites", fields["reference"], "site")
        site = self._create("sites", fields, SITE_FIELDS)
        site["is_billing_site"] = bool(site.get("is_billing_site"))
        self._one_billing_site(site)
        return EmulatorResponse(201, site)

    def site_get(self, request, pk):
        return EmulatorResponse(200, self._get("sites", pk, "Site"))

    def site_update(self, request, pk):
        site = self._get("sites", pk, "Site")
        fields = self._fields(request.body, SITE_FIELDS, creating=False, kind="sites")
        self._site_rules({**site, **fields})
        site.update(fields)
        self._one_billing_site(site)
        return EmulatorResponse(200, site)

    # --- contacts ----------------------------------------------------------------------
    def _contact_rules(self, contact: dict[str, Any]) -> None:
        self._get("accounts", contact["account_id"], "Account")
        site_id = contact.get("site_id")
        if site_id:
            site = self.state["sites"].get(site_id)
            if site is None or site["account_id"] != contact["account_id"]:
                raise Invalid(400, f"Site {site_id} is not a site of this account.", "site_id")
        if not (contact.get("first_name") or "").strip():
            raise Invalid(400, "first_name is required.", "first_name")
        if contact.get("email") and not EMAIL.fullmatch(contact["email"]):
            raise Invalid(400, "email is not an email address.", "email")

    def contact_list(self, request):
        return self._list(request, list(self.state["contacts"].values()))

    def contact_create(self, request):
        fields = self._fields(request.body, CONTACT_FIELDS, creating=True, kind="contacts")
        self._contact_rules(fields)
        self._unique_reference("contacts", fields["reference"], "contact")
        return EmulatorResponse(201, self._create("contacts", fields, CONTACT_FIELDS))

    def contact_get(self, request, pk):
        return EmulatorResponse(200, self._get("contacts", pk, "Contact"))

    def contact_update(self, request, pk):
        contact = self._get("contacts", pk, "Contact")
        fields = self._fields(request.body, CONTACT_FIELDS, creating=False, kind="contacts")
        self._contact_rules({**contact, **fields})
        contact.update(fields)
        return EmulatorResponse(200, contact)

    # --- the price book ----------------------------------------------------------------
    def product_list(self, request):
        return self._list(request, list(self.state["products"].values()))

    def product_get(self, request, code):
        return EmulatorResponse(200, self._get("products", code, "Product code"))

    def product_create(self, request):
        fields = self._fields(request.body, PRODUCT_FIELDS, creating=True, kind="products")
        code = fields["code"]
        if not PRODUCT_CODE.fullmatch(code):
            raise Invalid(400, "code takes letters, digits, '.', '_' and '-' (at most 30).", "code")
        if code in self.state["products"]:
            raise Invalid(409, f"Product code {code} is already in the price book.", "code")
        if fields["type"] not in PRODUCT_TYPES:
            raise Invalid(400, f"type must be one of {', '.join(PRODUCT_TYPES)}.", "type")
        _frequency_rule(fields)
        product = {name: None for name in PRODUCT_FIELDS}
        product.update(fields)
        product["source"] = product.get("source") or "api"
        self.state["products"][code] = product
        return EmulatorResponse(201, product)

    # --- CTNs --------------------------------------------------------------------------
    def _ctn_rules(self, ctn: dict[str, Any]) -> None:
        self._get("sites", ctn["site_id"], "Site")
        number = ctn.get("number") or ""
        if not CTN_NUMBER.fullmatch(number):
            raise Invalid(
                400,
                f"number {number!r} is not a CTN in UK national format (0 and 9 or 10 digits, "
                "or 00 and an international number), digits only.",
                "number",
            )
        _date_order(ctn)
        if not ended(ctn):
            for other in self.state["ctns"].values():
                if other["id"] != ctn.get("id") and other["number"] == number and not ended(other):
                    raise Invalid(
                        409,
                        f"CTN {number} is live already: {other['id']} on site {other['site_id']}.",
                        "number",
                    )

    def ctn_list(self, request):
        return self._list(request, list(self.state["ctns"].values()))

    def ctn_create(self, request):
        fields = self._fields(request.body, CTN_FIELDS, creating=True, kind="ctns")
        self._ctn_rules(fields)
        ctn = self._create("ctns", fields, CTN_FIELDS)
        ctn["do_not_bill"] = bool(ctn.get("do_not_bill"))
        return EmulatorResponse(201, ctn)

    def ctn_get(self, request, pk):
        return EmulatorResponse(200, self._get("ctns", pk, "CTN"))

    def ctn_update(self, request, pk):
        ctn = self._get("ctns", pk, "CTN")
        fields = self._fields(request.body, CTN_FIELDS, creating=False, kind="ctns")
        self._ctn_rules({**ctn, **fields})
        ctn.update(fields)
        return EmulatorResponse(200, ctn)

    # --- site products -----------------------------------------------------------------
    def _site_product_rules(self, product: dict[str, Any]) -> None:
        self._get("sites", product["site_id"], "Site")
        code = product.get("product_code")
        if code not in self.state["products"]:
            raise Invalid(
                400,
                f"product_code {code} is not in the price book: add the product first.",
                "product_code",
            )
        ctn_id = product.get("ctn_id")
        if ctn_id:
            ctn = self.state["ctns"].get(ctn_id)
            if ctn is None:
                raise Invalid(400, f"CTN {ctn_id} does not exist.", "ctn_id")
            if ctn["site_id"] != product["site_id"]:
                raise Invalid(400, f"CTN {ctn_id} is on another site.", "ctn_id")
        if (product.get("quantity") or 0) < 1:
            raise Invalid(400, "quantity must be at least 1.", "quantity")
        _frequency_rule(product)
        _date_order(product)

    def site_product_list(self, request):
        return self._list(request, [self._shown(p) for p in self.state["site_products"].values()])

    def _shown(self, product: dict[str, Any]) -> dict[str, Any]:
        ctn = self.state["ctns"].get(product.get("ctn_id") or "")
        return {**product, "ctn_number": ctn["number"] if ctn else None}

    def site_product_create(self, request):
        fields = self._fields(
            request.body, SITE_PRODUCT_FIELDS, creating=True, kind="site_products"
        )
        self._site_product_rules(fields)
        self._unique_reference("site_products", fields["reference"], "site product")
        product = self._create("site_products", fields, SITE_PRODUCT_FIELDS)
        product["do_not_bill"] = bool(product.get("do_not_bill"))
        return EmulatorResponse(201, self._shown(product))

    def site_product_get(self, request, pk):
        return EmulatorResponse(200, self._shown(self._get("site_products", pk, "Site product")))

    def site_product_update(self, request, pk):
        product = self._get("site_products", pk, "Site product")
        fields = self._fields(
            request.body, SITE_PRODUCT_FIELDS, creating=False, kind="site_products"
        )
        self._site_product_rules({**product, **fields})
        product.update(fields)
        return EmulatorResponse(200, self._shown(product))


def _checked(name: str, value: Any, type_: str, limit: int | None, required: bool) -> Any:
    """A field's value, checked against its kind and length."""
    if value is None:
        if required:
            raise Invalid(400, f"{name} is required.", name)
        return None
    if type_ == "bool":
        if not isinstance(value, bool):
            raise Invalid(400, f"{name} must be true or false.", name)
        return value
    if type_ == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(400, f"{name} must be a whole number.", name)
        return value
    if not isinstance(value, str):
        raise Invalid(400, f"{name} must be a string.", name)
    if type_ == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            raise Invalid(400, f"{name} must be a date (YYYY-MM-DD).", name) from None
        return value
    if type_ == "money":
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise Invalid(400, f"{name} must be an amount such as 12.50.", name) from None
        if amount < 0 or amount != amount.quantize(Decimal("0.01")):
            raise Invalid(400, f"{name} must be an amount such as 12.50.", name)
        return value
    if type_ == "id" and not value:
        if required:
            raise Invalid(400, f"{name} is required.", name)
        return None
    if limit is not None and len(value) > limit:
        raise Invalid(400, f"{name} is longer than {limit} characters.", name)
    if required and not value.strip():
        raise Invalid(400, f"{name} is required.", name)
    return value


def _frequency_rule(record: dict[str, Any]) -> None:
    frequency = record.get("frequency")
    if frequency is not None and frequency not in FREQUENCIES:
        raise Invalid(400, f"frequency must be one of {', '.join(FREQUENCIES)}.", "frequency")


def _date_order(record: dict[str, Any]) -> None:
    start, end = record.get("start_date"), record.get("end_date")
    if start and end and end < start:
        raise Invalid(400, "end_date is before start_date.", "end_date")
