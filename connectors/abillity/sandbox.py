"""An emulator of the public aBILLity REST API, served under /sandbox/abillity/.

It follows ``../shared/platforms/abillity-api.md`` strictly, and the project's
assumptions where that is silent (docs/abillity.md): the same paths, field
names and casing (input keys are matched case-insensitively, as ASP.NET model
binding does), the documented limits, required fields (on PATCH and PUT too:
each body is validated as sent), email patterns and error messages, PUT
replacing and PATCH updating, charge types that must suit the frequency, the
CP-user rules, the 90-day backdate limit, ``ServiceChargeView``'s nested
models, a duplicate site short name refused, a service charge's CLI that must
exist on its site, header credentials, ``{"Message": …}`` error bodies and a
404 for an empty list. Where the docs are silent it takes the stricter
reading, each listed in docs/abillity.md ("Where the emulator chooses"). It
starts with a few bill runs, payment conditions and service charge types, so
the demo and the tests have ids to map to.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from ..sandbox import Emulator, EmulatorRequest, EmulatorResponse
from .constants import EMAIL_LIST, EMAIL_SINGLE, PLATFORM, SANDBOX_CHARGE_TYPES, SANDBOX_CREDENTIALS

# Field name → (type, maximum length or None) per model; the casing is the API's.
COMPANY_FIELDS = {
    "Name": (str, 50),
    "IsCustomer": (bool, None),
    "IsAgent": (bool, None),
    "IsCarrier": (bool, None),
    "IsReseller": (bool, None),
    "IsSupplier": (bool, None),
    "IsOperator": (bool, None),
    "IsProspect": (bool, None),
    "IsConsumer": (bool, None),
    "IsWhiteLabelReseller": (bool, None),
    "DateSigned": (datetime, None),
    "DateReceived": (datetime, None),
    "DateLive": (datetime, None),
    "LastContacted": (datetime, None),
}
SITE_POST_FIELDS = {
    "CompanyId": (int, None),
    "ShortName": (str, 255),
    "AccountRef": (str, 30),
    "SetToEarliestCompanyBillingAddress": (bool, None),
}
SITE_MODIFY_FIELDS = {
    "BillRunID": (int, None),
    "SiteName": (str, 255),
    "ShortName": (str, 255),
    "Address": (str, 255),
    "Town": (str, 50),
    "County": (str, 50),
    "PostCode": (str, 20),
    "Fax": (str, 30),
    "Telephone": (str, 30),
    "MainSite": (bool, None),
    "AccountRef": (str, 30),
}
BILLING_INFORMATION_FIELDS = {
    "BillingContactId": (int, None),
    "Email": (str, 255),
    "PaymentTerms": (int, None),
    "PaymentConditionsId": (int, None),
    "DirectDebitInformation": (dict, None),
    "CreditCardInformation": (dict, None),
}
SITE_CONTACT_FIELDS = {
    "SiteID": (int, None),
    "Title": (str, 4),
    "Surname": (str, 40),
    "Christian": (str, 40),
    "DDI": (str, 34),
    "Mobile": (str, 17),
    "Email": (str, 255),
    "Extension": (str, 5),
    "MainContact": (bool, None),
    "PreventSDeskNotify": (bool, None),
}
CLI_POST_FIELDS = {
    "SiteId": (int, None),
    "CLI": (str, 17),
    "PresentationAlias": (str, 17),
    "StartDate": (datetime, None),
    "EndDate": (datetime, None),
    "ContractStartDate": (datetime, None),
    "ContractEndDate": (datetime, None),
    "CostCentre1": (str, 50),
    "Suppress": (bool, None),
}
CLI_PATCH_FIELDS = {
    "LineTypeID": (int, None),
    "CallType": (str, 10),
    "ChargesEndDate": (datetime, None),
    "StartDate": (datetime, None),
    "EndDate": (datetime, None),
    "ContractStartDate": (datetime, None),
    "ContractEndDate": (datetime, None),
    "CustomColumns": (dict, None),
}
SERVICE_CHARGE_FIELDS = {
    "SiteId": (int, None),
    "Description": (str, 100),
    "ContractId": (int, None),
    "CLI": (str, 17),
    "ChargeId": (int, None),
    "FrequencyTypeId": (int, None),
    "SalesPrice": (float, None),
    "CostPrice": (float, None),
    "BaselineCost": (float, None),
    "Quantity": (int, None),
    "FirstPayment": (datetime, None),
    "LastPayment": (datetime, None),
    "SerialNo": (str, 40),
    "Rental": (bool, None),
    "Import": (bool, None),
    "Suppress": (bool, None),
    "BillNow": (bool, None),
    "Notes": (str, None),
    "BackDatable": (bool, None),
    "RefundRental": (bool, None),
    "BillRunId": (int, None),
}


# §10 ``BackDatable``: "may charge a previous billing period (max 90 days back)".
BACKDATE_LIMIT_DAYS = 90
# §10 ``ServiceChargeView``: the charge's own fields after the two nested models, the
# documented ones (``Description`` … ``SerialNo``) only.
SERVICE_CHARGE_VIEW_FIELDS = (
    "Description",
    "ContractId",
    "CLI",
    "ChargeId",
    "FrequencyTypeId",
    "SalesPrice",
    "CostPrice",
    "BaselineCost",
    "Quantity",
    "FirstPayment",
    "LastPayment",
    "SerialNo",
)
# The emulator's reading of the undocumented nested models (docs/abillity.md).
ACTUAL_VALUE_FIELDS = ("SalesPrice", "CostPrice", "BaselineCost", "Quantity")


class Invalid(Exception):
    """A refusal: the status and the platform's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _parse_date(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        raise Invalid(400, f"{name} - The value '{value}' is not a valid date.") from None


def _clean(body: Any, model: dict[str, tuple[type, int | None]]) -> dict[str, Any]:
    """The body's known fields in the API's casing, type- and length-checked."""
    if not isinstance(body, dict):
        raise Invalid(400, "The request is invalid: send a JSON object.")
    by_lower = {name.lower(): name for name in model}
    cleaned: dict[str, Any] = {}
    for key, value in body.items():
        name = by_lower.get(str(key).lower())
        if name is None:
            continue  # ASP.NET ignores members it does not know
        kind, limit = model[name]
        if value is None:
            cleaned[name] = None
            continue
        if kind is str:
            if not isinstance(value, str):
                raise Invalid(400, f"{name} - must be text.")
            if limit is not None and len(value) > limit:
                raise Invalid(400, f"{name} - Length must be {limit} characters or less")
        elif kind is bool:
            if not isinstance(value, bool):
                raise Invalid(400, f"{name} - must be true or false.")
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise Invalid(400, f"{name} - must be a whole number.")
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise Invalid(400, f"{name} - must be a number.")
        elif kind is datetime:
            _parse_date(value, name)
        elif kind is dict and not isinstance(value, dict):
            raise Invalid(400, f"{name} - must be an object.")
        cleaned[name] = value
    return cleaned


def _folded(name: Any) -> str:
    """A name as ``GET company?Name=`` matches it: case and surrounding spaces aside."""
    return str(name or "").strip().casefold()


def _name_key(company: dict[str, Any]) -> str:
    return _folded(company.get("Name"))


def _stamp() -> str:
    return datetime.now().replace(microsecond=0).isoformat()


class AbillityEmulator(Emulator):
    platform = PLATFORM
    routes = [
        ("GET", r"company", "company_list"),
        ("POST", r"company", "company_create"),
        ("GET", r"company/(?P<pk>\d+)", "company_get"),
        ("PATCH", r"company/(?P<pk>\d+)", "company_patch"),
        ("GET", r"company/(?P<pk>\d+)/Site", "company_sites"),
        ("GET", r"company/(?P<pk>\d+)/SiteContact", "company_contacts"),
        ("GET", r"site", "site_list"),
        ("POST", r"site", "site_create"),
        ("GET", r"site/(?P<pk>\d+)", "site_get"),
        ("PATCH", r"site/(?P<pk>\d+)", "site_patch"),
        ("PUT", r"site/(?P<pk>\d+)", "site_put"),
        ("PATCH", r"site/(?P<pk>\d+)/setbillingaddress", "site_set_billing_address"),
        ("GET", r"site/(?P<pk>\d+)/billinginformation", "billing_information_get"),
        ("PUT", r"site/(?P<pk>\d+)/billinginformation", "billing_information_put"),
        ("PATCH", r"site/(?P<pk>\d+)/billinginformation", "billing_information_patch"),
        ("GET", r"site/(?P<pk>\d+)/SiteContact", "site_contacts"),
        ("GET", r"site/(?P<pk>\d+)/servicecharge/cli/(?P<cli>[^/]+)", "site_charges_for_cli"),
        ("POST", r"sitecontact", "site_contact_create"),
        ("GET", r"sitecontact/(?P<pk>\d+)", "site_contact_get"),
        ("PATCH", r"sitecontact/(?P<pk>\d+)", "site_contact_patch"),
        ("PUT", r"sitecontact/(?P<pk>\d+)", "site_contact_put"),
        ("POST", r"cli", "cli_create"),
        ("GET", r"cli/(?P<pk>\d+)", "cli_get"),
        ("PUT", r"cli/(?P<pk>\d+)", "cli_patch"),
        ("GET", r"cli/bycli/(?P<cli>[^/]+)", "cli_by_number"),
        ("POST", r"servicecharge", "service_charge_create"),
        ("GET", r"servicecharge/(?P<pk>\d+)", "service_charge_get"),
        ("PATCH", r"servicecharge/(?P<pk>\d+)", "service_charge_patch"),
        ("PUT", r"servicecharge/(?P<pk>\d+)", "service_charge_put"),
        ("GET", r"servicechargetype/(?P<pk>\d+)", "service_charge_type_get"),
    ]

    def initial_state(self) -> dict[str, Any]:
        charge_types = SANDBOX_CHARGE_TYPES
        return {
            # §2 "Permissions": the sandbox login is a CP user unless a test says otherwise.
            "cp_login": True,
            # ``GET api/company?Name=`` is not documented (§4): ignored unless a test turns
            # it on, to prove the connector works either way.
            "honour_company_name_filter": False,
            "companies": {},
            "sites": {},
            "billing_information": {},
            "site_contacts": {},
            "clis": {},
            "service_charges": {},
            "bill_runs": {
                "1": {"Id": 1, "Name": "Monthly 1st"},
                "2": {"Id": 2, "Name": "Monthly 15th"},
                "3": {"Id": 3, "Name": "BillNow", "Hidden": True},
                "4": {"Id": 4, "Name": "Reporting Office", "Hidden": True},
                "5": {"Id": 5, "Name": "Agents", "AgentOnly": True},
                "6": {"Id": 6, "Name": "Old quarterly", "Disabled": True},
            },
            "payment_conditions": {
                "1": "Direct Debit",
                "2": "BACS",
                "3": "Card",
                "4": "Cheque",
            },
            "service_charge_types": {
                str(pk): {
                    "Id": pk,
                    "RecurringChargeType": name,
                    "FrequencyTypeId": frequency,
                    "Rental": rental,
                }
                for pk, (name, frequency, rental) in charge_types.items()
            },
        }

    # --- plumbing ------------------------------------------------------------------
    def authenticate(self, request: EmulatorRequest) -> EmulatorResponse | None:
        expected = {
            "systeminformation": settings.ABILLITY_SYSTEM_INFORMATION,
            "username": settings.ABILLITY_USERNAME,
            "password": settings.ABILLITY_PASSWORD,
        }
        if not any(expected.values()):
            expected = SANDBOX_CREDENTIALS
        headers = {k.lower(): v for k, v in request.headers.items()}
        if any(headers.get(name) != value for name, value in expected.items()):
            return EmulatorResponse(
                401, {"Message": "Authorization has been denied for this request."}
            )
        return None

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        return super().handle(request)

    def _dispatch(self, request: EmulatorRequest) -> EmulatorResponse:
        try:
            return super()._dispatch(request)
        except Invalid as exc:
            return EmulatorResponse(exc.status, {"Message": exc.message})

    def _new(self, kind: str) -> int:
        return self.next_id(kind)

    def _get(self, kind: str, pk: Any, message: str) -> dict[str, Any]:
        record = self.state[kind].get(str(pk))
        if record is None:
            raise Invalid(404, message)
        return record

    @staticmethod
    def _ok(body: Any = None, status: int = 200) -> EmulatorResponse:
        return EmulatorResponse(status, body)

    # --- companies -------------------------------------------------------------------
    def company_list(self, request):
        # ?Name= is not documented (§4 "Not found"): ignored unless the state turns it on,
        # and then it narrows the list to that name (case and surrounding spaces aside).
        wanted = (
            _folded(request.query.get("Name"))
            if self.state.get("honour_company_name_filter")
            else ""
        )
        found = (
            self.where("companies", _name_key, wanted)
            if wanted
            else self.state["companies"].values()
        )
        companies = [
            {"Id": c["Id"], "Name": c["Name"], "IsCustomer": c.get("IsCustomer", False)}
            for c in found
        ]
        if not companies:
            raise Invalid(404, "No companies found")
        return self._ok(companies)

    def company_create(self, request):
        fields = _clean(request.body, COMPANY_FIELDS)
        if not (fields.get("Name") or "").strip():
            raise Invalid(400, "Name - The Name field is required.")
        self._company_rules(fields)
        pk = self._new("company")
        company = {
            **{name: False for name, (kind, _) in COMPANY_FIELDS.items() if kind is bool},
            **fields,
            "Id": pk,
            "LastUpdated": _stamp(),
        }
        self.add("companies", pk, company)
        return self._ok({"Id": pk}, 201)

    def _company_rules(self, company: dict[str, Any]) -> None:
        if company.get("IsConsumer") and not company.get("IsCustomer"):
            raise Invalid(409, "Consumer must be a customer")
        if company.get("IsConsumer") and company.get("IsReseller"):
            raise Invalid(409, "This Company is set to be a Reseller")
        if company.get("IsReseller") and company.get("IsWhiteLabelReseller"):
            raise Invalid(409, "This Company cannot be both a reseller and white label reseller")

    def company_get(self, request, pk):
        return self._ok(self._get("companies", pk, f"Company with id = {pk} not found"))

    def company_patch(self, request, pk):
        company = self._get("companies", pk, f"Company with id = {pk} not found")
        fields = _clean(request.body, COMPANY_FIELDS)
        if "Name" in fields and not (fields["Name"] or "").strip():
            raise Invalid(400, "Name - The Name field is required.")
        merged = {**company, **fields}
        self._company_rules(merged)
        company.update(fields, LastUpdated=_stamp())
        if "Name" in fields:
            self.reindex("companies")  # found by name
        return self._ok(company)

    def company_sites(self, request, pk):
        self._get("companies", pk, f"Company with id = {pk} not found")
        sites = self.where("sites", "CompanyId", int(pk))
        if not sites:
            raise Invalid(404, "No sites found")
        return self._ok(sites)

    def company_contacts(self, request, pk):
        self._get("companies", pk, f"Company with id = {pk} not found")
        site_ids = {s["Id"] for s in self.where("sites", "CompanyId", int(pk))}
        contacts = [c for c in self.state["site_contacts"].values() if c["SiteID"] in site_ids]
        if not contacts:
            raise Invalid(404, "No Site contacts found on the specified company")
        return self._ok(contacts)

    # --- sites -----------------------------------------------------------------------
    def site_list(self, request):
        sites = list(self.state["sites"].values())
        if not sites:
            raise Invalid(404, "No sites found")
        return self._ok(sites)

    def _short_name_taken(self, company_id: int, short_name: str, exclude: int | None) -> bool:
        return any(
            s["ShortName"] == short_name and s["Id"] != exclude
            for s in self.where("sites", "CompanyId", company_id)
        )

    def site_create(self, request):
        fields = _clean(request.body, SITE_POST_FIELDS)
        company_id = fields.get("CompanyId")
        if company_id is None:
            raise Invalid(400, "CompanyId - The CompanyId field is required.")
        self._get("companies", company_id, f"Company with id = {company_id} not found")
        short_name = (fields.get("ShortName") or "").strip()
        if not short_name:
            raise Invalid(400, "ShortName - The ShortName field is required.")
        if self._short_name_taken(company_id, short_name, None):
            raise Invalid(400, "Site short name already exists")
        pk = self._new("site")
        billing = pk
        if fields.get("SetToEarliestCompanyBillingAddress"):
            earlier = sorted(s["Id"] for s in self.where("sites", "CompanyId", company_id))
            billing = earlier[0] if earlier else pk
        site = {
            "Id": pk,
            "CompanyId": company_id,
            "BillingAddress": billing,
            "CustomProperties": [],
            "BillRunIDLocal": None,
            "BillRunNameLocal": None,
            "BillRunIDInherited": None,
            "BillRunNameInherited": None,
            "LastUpdated": _stamp(),
            "SiteName": short_name,
            "ShortName": short_name,
            "Address": None,
            "Town": None,
            "County": None,
            "PostCode": None,
            "Fax": None,
            "Telephone": None,
            "MainSite": False,
            "AccountRef": fields.get("AccountRef"),
        }
        self.add("sites", pk, site)
        return self._ok({"Id": pk}, 201)

    def site_get(self, request, pk):
        return self._ok(self._get("sites", pk, f"Site with id = {pk} not found"))

    def site_put(self, request, pk):
        return self._site_modify(request, pk, replace=True)

    def site_patch(self, request, pk):
        return self._site_modify(request, pk, replace=False)

    def _site_modify(self, request, pk, *, replace: bool):
        site = self._get("sites", pk, f"Site with id = {pk} not found")
        fields = _clean(request.body, SITE_MODIFY_FIELDS)
        # §6 SiteModify: SiteName and ShortName are Required; whether PATCH enforces that is
        # not stated, so both methods do (the stricter reading): the model as sent.
        for required in ("SiteName", "ShortName"):
            if not (fields.get(required) or "").strip():
                raise Invalid(400, f"{required} - The {required} field is required.")
        if not self.state.get("cp_login", True):
            # §6 SiteModify errors: AccountRef and BillRunID are for CP users only.
            for name in ("AccountRef", "BillRunID"):
                if name in fields:
                    raise Invalid(403, f"Only a CP user can update the {name}")
        if replace:
            # §3 "PUT vs PATCH": PUT replaces every field of the model (omitted: null).
            fields = {name: fields.get(name) for name in SITE_MODIFY_FIELDS}
        company = self._get(
            "companies", site["CompanyId"], f"Company with id = {site['CompanyId']} not found"
        )
        if "ShortName" in fields and self._short_name_taken(
            site["CompanyId"], fields["ShortName"], site["Id"]
        ):
            raise Invalid(400, "Site short name already exists")
        bill_run_id = fields.get("BillRunID")
        if bill_run_id is not None:
            if not company.get("IsCustomer"):
                raise Invalid(403, "Non-customers can not have a bill run set")
            bill_run = self.state["bill_runs"].get(str(bill_run_id))
            if bill_run is None:
                raise Invalid(403, f"Invalid bill run id {bill_run_id}")
            if bill_run.get("Disabled"):
                raise Invalid(403, f"Bill run ID {bill_run_id} has been disabled")
            if bill_run.get("AgentOnly"):
                raise Invalid(403, f"Bill run ID {bill_run_id} is agent only")
            if str(site["Id"]) not in self.state["billing_information"]:
                raise Invalid(403, f"BillingInformation not found for site ID {site['Id']}")
        if fields.get("MainSite"):
            for other in self.where("sites", "CompanyId", site["CompanyId"]):
                if other["Id"] != site["Id"]:
                    other["MainSite"] = False
        if "BillRunID" in fields:
            bill_run = self.state["bill_runs"].get(str(fields["BillRunID"] or "")) or {}
            site["BillRunIDLocal"] = fields["BillRunID"]
            site["BillRunNameLocal"] = bill_run.get("Name")
        site.update({k: v for k, v in fields.items() if k != "BillRunID"})
        site["LastUpdated"] = _stamp()
        return self._ok(site)

    def site_set_billing_address(self, request, pk):
        if not self.state.get("cp_login", True):
            # §6 setbillingaddress: "401 User need CP permission to change billing address".
            raise Invalid(401, "User need CP permission to change billing address")
        site = self._get("sites", pk, f"Site with ID {pk} not found")
        body = request.body if isinstance(request.body, dict) else {}
        target_id = {k.lower(): v for k, v in body.items()}.get("id")
        target = self.state["sites"].get(str(target_id))
        if target is None:
            raise Invalid(404, f"Billing address with id {target_id} not found")
        if target["CompanyId"] != site["CompanyId"]:
            raise Invalid(404, f"Billing address Id {target_id} is not valid for site with id {pk}")
        site["BillingAddress"] = target["Id"]
        site["LastUpdated"] = _stamp()
        return self._ok(None)

    # --- billing information ---------------------------------------------------------
    def billing_information_get(self, request, pk):
        self._get("sites", pk, f"Site with id = {pk} not found")
        info = self.state["billing_information"].get(str(pk))
        if info is None:
            raise Invalid(404, f"No billing information found for site with id = {pk}")
        return self._ok(info)

    def billing_information_put(self, request, pk):
        return self._billing_information_write(request, pk, replace=True)

    def billing_information_patch(self, request, pk):
        return self._billing_information_write(request, pk, replace=False)

    def _billing_information_write(self, request, pk, *, replace: bool):
        self._get("sites", pk, f"Site with ID {pk} not found")
        fields = _clean(request.body, BILLING_INFORMATION_FIELDS)
        contact_id = fields.get("BillingContactId")
        contact = None
        if contact_id is not None:
            contact = self.state["site_contacts"].get(str(contact_id))
            if contact is None or contact["SiteID"] != int(pk):
                raise Invalid(
                    404,
                    f"Billing contact with id = {contact_id} is not a contact for site with "
                    f"id = {pk}",
                )
        email = fields.get("Email")
        if email and not EMAIL_LIST.match(email):
            raise Invalid(400, "Email - The field Email must match the regular expression.")
        terms = fields.get("PaymentTerms")
        if terms is not None and not -999 <= terms <= 9999:
            raise Invalid(
                400, "PaymentTerms - The field PaymentTerms must be between -999 and 9999."
            )
        condition = fields.get("PaymentConditionsId")
        if condition is not None and str(condition) not in self.state["payment_conditions"]:
            raise Invalid(400, f"PaymentConditionsId - Invalid payment condition {condition}")
        info = self.state["billing_information"].get(str(pk))
        if info is None and not replace:
            # §7: "A site starts without one … PUT is the documented way to add it"; PATCH
            # updates one that exists (the emulator's reading: 404 otherwise).
            raise Invalid(404, f"No billing information found for site with id = {pk}")
        if info is None or replace:
            info = {name: None for name in BILLING_INFORMATION_FIELDS}
            info.update(Id=int(pk), isBillingInfoRedacted=False)
        info.update(fields)
        if contact is not None:
            info["BillingContact"] = (
                f"{contact['Christian']} {contact.get('Surname') or ''}".strip()
            )
        if info.get("PaymentConditionsId") is not None:
            info["PaymentConditions"] = self.state["payment_conditions"][
                str(info["PaymentConditionsId"])
            ]
        self.state["billing_information"][str(pk)] = info
        return self._ok(info)

    # --- site contacts -------------------------------------------------------------------
    def site_contacts(self, request, pk):
        self._get("sites", pk, f"Site with id = {pk} not found")
        contacts = self.where("site_contacts", "SiteID", int(pk))
        if not contacts:
            raise Invalid(404, f"No contacts found for site Id = {pk}")
        return self._ok(contacts)

    def _contact_rules(self, contact: dict[str, Any]) -> None:
        if not (contact.get("Christian") or "").strip():
            raise Invalid(400, "Christian - The Christian field is required.")
        email = contact.get("Email") or ""
        if not email:
            raise Invalid(400, "Email - The Email field is required.")
        if not EMAIL_SINGLE.match(email):
            raise Invalid(400, "Email - The field Email must match the regular expression.")

    def _one_main_contact(self, contact: dict[str, Any]) -> None:
        if contact.get("MainContact"):
            for other in self.where("site_contacts", "SiteID", contact["SiteID"]):
                if other["Id"] != contact["Id"]:
                    other["MainContact"] = False

    def site_contact_create(self, request):
        fields = _clean(request.body, SITE_CONTACT_FIELDS)
        site_id = fields.get("SiteID")
        if site_id is None:
            raise Invalid(400, "SiteID - The SiteID field is required.")
        self._get("sites", site_id, f"Site with id = {site_id} not found")
        self._contact_rules(fields)
        pk = self._new("site_contact")
        contact = {name: None for name in SITE_CONTACT_FIELDS}
        contact.update(fields, Id=pk, LastUpdated=_stamp())
        contact["MainContact"] = bool(contact.get("MainContact"))
        self.add("site_contacts", pk, contact)
        self._one_main_contact(contact)
        return self._ok({"Id": pk}, 201)

    def site_contact_get(self, request, pk):
        return self._ok(self._get("site_contacts", pk, f"No Site Contact not found for id= {pk}"))

    def site_contact_put(self, request, pk):
        return self._site_contact_modify(request, pk, replace=True)

    def site_contact_patch(self, request, pk):
        return self._site_contact_modify(request, pk, replace=False)

    def _site_contact_modify(self, request, pk, *, replace: bool):
        contact = self._get("site_contacts", pk, f"Site with ID {pk} not found")
        fields = _clean(request.body, SITE_CONTACT_FIELDS)
        fields.pop("SiteID", None)  # a contact stays on its site
        # §8 SiteContactModify: Christian and Email are Required, on PUT and on PATCH; the
        # body is validated as sent, never merged with the stored contact first.
        self._contact_rules(fields)
        if replace:
            # §3 "PUT vs PATCH": PUT replaces every field (omitted: null).
            fields = {n: fields.get(n) for n in SITE_CONTACT_FIELDS if n != "SiteID"}
            fields["MainContact"] = bool(fields.get("MainContact"))
            fields["PreventSDeskNotify"] = bool(fields.get("PreventSDeskNotify"))
        contact.update(fields, LastUpdated=_stamp())
        self._one_main_contact(contact)
        return self._ok(None)

    # --- CLIs --------------------------------------------------------------------------
    def cli_create(self, request):
        fields = _clean(request.body, CLI_POST_FIELDS)
        site_id = fields.get("SiteId")
        if site_id is None:
            raise Invalid(400, "SiteId - The SiteId field is required.")
        self._get("sites", site_id, f"Site with id = {site_id} not found")
        number = (fields.get("CLI") or "").strip()
        if not number:
            raise Invalid(400, "CLI - The CLI field is required.")
        # A number is on a site once at a time: an ended CLI (New & Cease) may be reissued.
        if any(
            c["SiteId"] == site_id and not c.get("EndDate")
            for c in self.where("clis", "CLI", number)
        ):
            raise Invalid(409, f"CLI {number} already exists on site {site_id}")
        self._date_order(fields, "StartDate", "EndDate")
        pk = self._new("cli")
        cli = {name: None for name in CLI_POST_FIELDS}
        cli.update(fields, Id=pk, LastUpdated=_stamp())
        self.add("clis", pk, cli)
        return self._ok({"Id": pk}, 201)

    def _date_order(self, record: dict[str, Any], start: str, end: str) -> None:
        first = _parse_date(record.get(start), start)
        last = _parse_date(record.get(end), end)
        if first and last and last < first:
            raise Invalid(400, "The End date can't be set before the Start date")

    def cli_get(self, request, pk):
        return self._ok(self._get("clis", pk, f"CLI with id = {pk} not found"))

    def cli_by_number(self, request, cli):
        found = self.where("clis", "CLI", cli)
        if not found:
            raise Invalid(404, f"CLI {cli} not found")
        return self._ok(found)

    def cli_patch(self, request, pk):
        cli = self._get("clis", pk, f"Cli with id = {pk} not found")
        fields = _clean(request.body, CLI_PATCH_FIELDS)
        self._date_order({**cli, **fields}, "StartDate", "EndDate")
        cli.update(fields, LastUpdated=_stamp())
        return self._ok(None)

    # --- service charges ----------------------------------------------------------------
    def site_charges_for_cli(self, request, pk, cli):
        self._get("sites", pk, f"Site with id = {pk} not found")
        if not self.where("clis", "CLI", cli):
            raise Invalid(404, f"CLI = {cli} not found")
        charges = [
            c for c in self.where("service_charges", "SiteId", int(pk)) if c.get("CLI") == cli
        ]
        if not charges:
            raise Invalid(404, "No Service Charges found for the given site Id and cli")
        return self._ok([self._charge_view(c) for c in charges])

    def _charge_view(self, charge: dict[str, Any]) -> dict[str, Any]:
        """§10 ``ServiceChargeView``: Id, SiteId, LastUpdated, the nested
        ``ServiceChargeType`` (the type and its defaults) and ``ActualValues`` (the charge's
        own values), then ``Description`` … ``SerialNo``; nothing the page does not list."""
        charge_type = self.state["service_charge_types"].get(str(charge.get("ChargeId")))
        type_info = None
        if charge_type is not None:
            type_info = {
                "Id": charge_type["Id"],
                "RecurringChargeType": charge_type["RecurringChargeType"],
                "FrequencyTypeId": charge_type["FrequencyTypeId"],
                "Rental": charge_type["Rental"],
                "DefaultSalePrice": charge_type.get("DefaultSalePrice"),
                "DefaultDescription": charge_type.get("DefaultDescription"),
            }
        return {
            "Id": charge["Id"],
            "SiteId": charge["SiteId"],
            "LastUpdated": charge["LastUpdated"],
            "ServiceChargeType": type_info,
            "ActualValues": {name: charge.get(name) for name in ACTUAL_VALUE_FIELDS},
            **{name: charge.get(name) for name in SERVICE_CHARGE_VIEW_FIELDS},
        }

    def _charge_rules(
        self,
        charge: dict[str, Any],
        *,
        method: str,
        pk: int | None,
        site_id: int,
        backdating: bool = True,
    ) -> None:
        """§10's validation rules on the charge as it would be stored (``charge``).
        ``backdating``: the request sets the first payment (a create, or a new date)."""
        creating = method == "POST"
        charge_id = charge.get("ChargeId")
        frequency = charge.get("FrequencyTypeId")
        if creating and charge_id is None and frequency is None:
            raise Invalid(404, "Either ChargeId or FrequencyTypeID should be provided")
        if frequency is not None and frequency not in (1, 2, 3, 4):
            raise Invalid(404 if creating else 400, "Invalid FrequencyTypeId")
        charge_type = None
        if charge_id is not None:
            if not self.state["service_charge_types"]:
                raise Invalid(404, "No ChargeIds found in aBILLity")
            charge_type = self.state["service_charge_types"].get(str(charge_id))
            # §10 rule 3: a ChargeId must exist and suit the frequency. PATCH's message is
            # "servicecharge.ChargeId, Invalid ChargeId" (400); PUT's "Invalid Charge Id"
            # (401, labelled Bad Request); POST lists none, so it answers as PATCH.
            if charge_type is None or (
                frequency is not None and charge_type["FrequencyTypeId"] != frequency
            ):
                if method == "PUT":
                    raise Invalid(401, "Invalid Charge Id")
                raise Invalid(400, "servicecharge.ChargeId, Invalid ChargeId")
        description = (charge.get("Description") or "").strip()
        if not description and charge_id is None:
            raise Invalid(400, "Description is required unless a chargeId provided")
        if creating and not charge.get("FirstPayment"):
            raise Invalid(400, "The First Payment is mandatory")
        first = _parse_date(charge.get("FirstPayment"), "FirstPayment")
        last = _parse_date(charge.get("LastPayment"), "LastPayment")
        if first and last and last < first:
            raise Invalid(
                404 if method == "PUT" else 400,
                "The Last Payment can't be set before the First Payment",
            )
        effective = frequency or (charge_type or {}).get("FrequencyTypeId")
        rental = charge.get("Rental")
        if rental is not None and effective is not None and bool(rental) != (effective != 3):
            raise Invalid(400, "Attempted to set a one-off charge as a rental, or vice-versa")
        quantity = charge.get("Quantity")
        if quantity == 0:
            raise Invalid(400, "You cannot set a quantity of 0")
        if quantity is not None and quantity < 0:
            raise Invalid(400, "Quantity - The field Quantity must be greater than 0.")
        if (
            charge.get("BackDatable")
            and backdating
            and first is not None
            and first < datetime.now() - timedelta(days=BACKDATE_LIMIT_DAYS + 1)
        ):
            raise Invalid(
                400,
                f"BackDatable - A service charge can be backdated at most "
                f"{BACKDATE_LIMIT_DAYS} days.",
            )
        if description and not charge.get("LastPayment"):
            # §10: "unique description"; its scope is not stated: the emulator refuses one
            # that an open charge of the same site, CLI and frequency already has.
            for other in self.where("service_charges", "SiteId", site_id):
                if (
                    other["Id"] != pk
                    and not other.get("LastPayment")
                    and (other.get("Description") or "").strip().casefold()
                    == description.casefold()
                    and (other.get("CLI") or "") == (charge.get("CLI") or "")
                    and other.get("FrequencyTypeId") == effective
                ):
                    raise Invalid(400, "Description - The Description must be unique.")
        bill_run_id = charge.get("BillRunId")
        if bill_run_id is not None:
            bill_run = self.state["bill_runs"].get(str(bill_run_id))
            if bill_run is None:
                raise Invalid(404, "Bill Run not found")
            if bill_run.get("Hidden"):
                raise Invalid(400, "You cannot assign a Service Charge to a hidden Bill Run")

    def _charge_site_rules(self, charge: dict[str, Any], site: dict[str, Any], method: str):
        if charge.get("BillRunId") is not None:
            if not self.state.get("cp_login", True):
                raise Invalid(401, "You do not have permission to change BillRunId")
            company = self.state["companies"].get(str(site["CompanyId"])) or {}
            if not company.get("IsCustomer"):
                raise Invalid(400, "Only customers can have a Bill Run assigned to them")
        number = charge.get("CLI")
        if number and not any(c["SiteId"] == site["Id"] for c in self.where("clis", "CLI", number)):
            if method == "PATCH":
                raise Invalid(404, "The CLI not found for the Service Charge ID provided")
            raise Invalid(404, "The CLI not found for the site provided")

    def service_charge_create(self, request):
        fields = _clean(request.body, SERVICE_CHARGE_FIELDS)
        site_id = fields.get("SiteId")
        site = self._get("sites", site_id, f"Site with id {site_id} not found")
        if fields.get("FrequencyTypeId") is None and fields.get("ChargeId") is not None:
            charge_type = self.state["service_charge_types"].get(str(fields["ChargeId"]))
            if charge_type is not None:  # the type's frequency is the charge's
                fields["FrequencyTypeId"] = charge_type["FrequencyTypeId"]
        self._charge_rules(fields, method="POST", pk=None, site_id=site["Id"])
        self._charge_site_rules(fields, site, "POST")
        pk = self._new("service_charge")
        charge = {name: None for name in SERVICE_CHARGE_FIELDS}
        charge.update(fields, Id=pk, LastUpdated=_stamp())
        self.add("service_charges", pk, charge)
        return self._ok({"Id": pk}, 201)

    def service_charge_get(self, request, pk):
        charge = self._get("service_charges", pk, f"ServiceCharge with id {pk} not found")
        site = self._get("sites", charge["SiteId"], f"Site with id {charge['SiteId']} not found")
        company = self.state["companies"].get(str(site["CompanyId"])) or {}
        if company.get("IsReseller"):
            # §10 GET errors: "409 This company is set to be a reseller".
            raise Invalid(409, "This company is set to be a reseller")
        return self._ok(self._charge_view(charge))

    def service_charge_patch(self, request, pk):
        return self._service_charge_modify(request, pk, replace=False)

    def service_charge_put(self, request, pk):
        return self._service_charge_modify(request, pk, replace=True)

    def _service_charge_modify(self, request, pk, *, replace: bool):
        charge = self._get("service_charges", pk, f"Service Charge with id {pk} not found")
        fields = _clean(request.body, SERVICE_CHARGE_FIELDS)
        fields.pop("SiteId", None)  # §10 ServiceChargeModify has no SiteId
        if replace:
            # §3 "PUT vs PATCH": PUT replaces every field of the model (omitted: null).
            fields = {n: fields.get(n) for n in SERVICE_CHARGE_FIELDS if n != "SiteId"}
        merged = {**charge, **fields}
        method = "PUT" if replace else "PATCH"
        backdating = (
            "FirstPayment" in fields
            and str(fields["FirstPayment"] or "")[:10] != str(charge.get("FirstPayment") or "")[:10]
        )
        self._charge_rules(
            merged, method=method, pk=charge["Id"], site_id=charge["SiteId"], backdating=backdating
        )
        site = self._get("sites", charge["SiteId"], f"Site with id {charge['SiteId']} not found")
        self._charge_site_rules(fields, site, method)
        charge.update(fields, LastUpdated=_stamp())
        return self._ok(None)

    def service_charge_type_get(self, request, pk):
        return self._ok(
            self._get("service_charge_types", pk, f"Service charge type with id {pk} not found")
        )
