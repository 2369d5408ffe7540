"""Load a small, realistic demo data set and print an admin login to look at it with.

Every record is written through customers.services and billing.services, so
the demo obeys the same rules as the admin and the API (lead records, one
default site per customer, generated site refs, conversion events).

Running it again is safe: a demo customer that already exists (matched by
name) is left as it is, inventory items are matched by name, and nothing is
duplicated. Only the admin login is renewed on each run: a new random password
(or DEMO_ADMIN_PASSWORD) and a new API token (stored hashed, so it is printed this once;
the earlier ones are revoked), so the login printed at the end always works.
"""

import os
import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from billing import call_charges
from billing import services as billing_services
from billing.choices import (
    AssetStatus,
    BillingFrequency,
    Classification,
    ItemType,
    LineAction,
    PlatformCode,
)
from billing.models import (
    AccountCode,
    Asset,
    BaseCategory,
    BillingPlatform,
    InventoryItem,
    Location,
    ProductGroup,
    SalesOrder,
    SalesOrderLine,
)
from billing.services import LineSpec
from billing.signals import demo_data_loaded
from customers import services as customer_services
from customers.choices import (
    AddressType,
    ConversionSource,
    CustomerStage,
    CustomerStatus,
    QuoteStatus,
)
from customers.models import (
    Address,
    CompanySettings,
    Contact,
    ContactType,
    Customer,
    Quote,
    QuoteLine,
    Site,
    SiteAddress,
)
from customers.selectors import customer_with_name
from layer_sync.accounts.services import IssuedToken, api_token_issue

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD_ENV = "DEMO_ADMIN_PASSWORD"  # noqa: S105 (the variable's name, not a password)
BASE_URL = "http://127.0.0.1:8000"

# Phone numbers come from Ofcom's ranges reserved for drama (07700 900xxx,
# 0113 496 0xxx), e-mail addresses from the reserved .example domain: the demo
# can never reach a real person.


@dataclass(frozen=True)
class DemoItem:
    """An inventory item of the demo; routes are platform codes, None for no route."""

    name: str
    item_type: str
    category: str
    upfront_route: str | None
    recurring_route: str | None
    sell_price: str
    recurring_sell_price: str
    # Abillity service charge ids, in the default fields (seed 001).
    data_description: str = ""
    pricing_tier: str = ""
    external_sku: str = ""
    rrp: str | None = None
    billing_frequency: str = BillingFrequency.MONTHLY


LAYER, ABILLITY = PlatformCode.THE_LAYER, PlatformCode.ABILLITY
AFFINITY, CONNECT = PlatformCode.AFFINITY, PlatformCode.CONNECT
SERVICE, PRODUCT = ItemType.SERVICE, ItemType.PRODUCT
ONE_OFF = BillingFrequency.ONE_OFF

INVENTORY = [
    DemoItem("Business Mobile 10GB", SERVICE, "Mobile", LAYER, ABILLITY, "0", "15.00",
             data_description="1001", pricing_tier="2010", rrp="18.00"),
    DemoItem("Business Mobile 30GB", SERVICE, "Mobile", LAYER, ABILLITY, "0", "21.00",
             data_description="1001", pricing_tier="2030", rrp="24.00"),
    DemoItem("SIM-only Unlimited", SERVICE, "Mobile", AFFINITY, AFFINITY, "5.00", "27.50",
             external_sku="AFF-SIMO-UNL", rrp="30.00"),
    DemoItem("SIP Trunk Channel", SERVICE, "Fixed Line", CONNECT, CONNECT, "25.00", "8.50"),
    DemoItem("Leased Line 100Mb", SERVICE, "Fixed Line", ABILLITY, ABILLITY, "950.00", "345.00",
             data_description="1100", pricing_tier="2300", rrp="399.00",
             billing_frequency=BillingFrequency.QUARTERLY),
    DemoItem("0333 Non-geographic Number", SERVICE, "Numbers", None, None, "0", "2.00"),
    DemoItem("Yealink T46U Desk Phone", PRODUCT, "Hardware", AFFINITY, None, "99.00", "0",
             external_sku="YEA-T46U", rrp="129.00", billing_frequency=ONE_OFF),
    DemoItem("Installation and Setup", SERVICE, "Hardware", LAYER, None, "150.00", "0",
             billing_frequency=ONE_OFF),
    # The product call charges from Connect are billed as (on batch sheets, not orders).
    DemoItem("Call Charges", SERVICE, "Fixed Line", None, None, "0", "0",
             billing_frequency=ONE_OFF),
]  # fmt: skip

# What the call charge import needs (docs/connect.md): a location whose calls Connect
# logs, with its Connect Site ID; a product group; the product charged (above); and the
# Connect account codes of the customers on Connect (their ids, as Send to Connect sets).
DEMO_LOCATION = "Leeds Hub"
DEMO_CONNECT_SITE_ID = "LDS-01"
DEMO_PRODUCT_GROUP = "Telephone Charges"
DEMO_CALL_CHARGE_PRODUCT = "Call Charges"
DEMO_CONNECT_CUSTOMERS = ("Cobalt Architects LLP", "Brightwater Dental Group")


class Command(BaseCommand):
    help = (
        "Load demo customers, sites, addresses, contacts, quotes, inventory, orders and assets "
        "(idempotent), and reset the 'admin' superuser's password, printing the login. "
        "Refuses to run with DEBUG off (production settings) unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off. It resets the admin password: never on a live system.",
        )

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "Refusing to load demo data with DEBUG off (production settings): it adds demo "
                "customers and resets the 'admin' password. Pass --force to run it anyway."
            )
        with transaction.atomic():
            created = DemoData().load()
            # Other apps' demo setup (the sync engine turns the sandbox integrations on).
            prepared = [line for _, line in demo_data_loaded.send(sender=Command) if line]
            password, token = _admin_login_reset()

        customers = Customer.objects.all()
        self.stdout.write(
            (f"Added {created} demo customers. " if created else "Demo data already there. ")
            + f"Now: {customers.count()} customers "
            f"({customers.filter(stage=CustomerStage.LEAD).count()} leads), "
            f"{Site.objects.count()} sites, {Address.objects.count()} addresses, "
            f"{Contact.objects.count()} contacts, {Quote.objects.count()} quotes, "
            f"{InventoryItem.objects.count()} inventory items, "
            f"{SalesOrder.objects.count()} sales orders, {Asset.objects.count()} assets, "
            f"{Location.objects.filter(connect_call_logger=True).count()} call logger location(s) "
            "for call charge imports (a sample file is on the import page)."
        )
        for line in prepared:
            self.stdout.write(line)
        self.stdout.write(
            self.style.SUCCESS(f"Log in at {BASE_URL}/admin/ as {ADMIN_USERNAME} / {password}")
        )
        self.stdout.write(
            f"API token for {ADMIN_USERNAME}: {token.key} "
            f'(curl -H "Authorization: Token {token.key}" {BASE_URL}/api/v1/customers/); '
            f"it expires {token.expiry:%Y-%m-%d} and is shown only now (each run issues a new "
            "one and revokes the earlier ones)"
        )
        self.stdout.write(
            f"API docs: {BASE_URL}/api/docs/ (log in to the admin first); "
            f"OpenAPI schema: {BASE_URL}/api/schema/"
        )


def _admin_login_reset() -> tuple[str, IssuedToken]:
    """Make sure the `admin` superuser exists; give it a fresh password and a new API token
    (its earlier tokens revoked); return both.

    Both are renewed on every run so that the login printed is always usable, even
    when an earlier run's output is lost: tokens are stored hashed, so the last one's
    key cannot be printed again.
    """
    password = os.environ.get(ADMIN_PASSWORD_ENV) or secrets.token_urlsafe(12)
    user_model = get_user_model()
    admin, _ = user_model.objects.get_or_create(
        username=ADMIN_USERNAME, defaults={"email": "admin@layer-sync.example"}
    )
    admin.is_active = admin.is_staff = admin.is_superuser = True
    admin.set_password(password)
    admin.save()
    return password, api_token_issue(user=admin, replace_existing=True)


class DemoData:
    """Builds the demo records; each customer and everything under it at most once."""

    def __init__(self) -> None:
        self.items: dict[str, InventoryItem] = {}
        self.contact_types = {
            name: ContactType.objects.get_or_create(name=name, defaults={"is_billing": billing})[0]
            for name, billing in (("Billing", True), ("Technical", False), ("General", False))
        }

    def load(self) -> int:
        """Create what is missing; return how many demo customers were created."""
        company = CompanySettings.load()
        # Seed 001: New & Cease is the integration-friendly action; Update is
        # switched off with it. The Brightwater order below needs it on.
        company.new_and_cease_enabled = True
        company.update_action_enabled = False
        company.save(update_fields=["new_and_cease_enabled", "update_action_enabled"])

        self._inventory()
        builders = [
            ("Acme Logistics Ltd", self._acme),
            ("Brightwater Dental Group", self._brightwater),
            ("Cobalt Architects LLP", self._cobalt),
            ("Dunmore Farm Supplies", self._dunmore),
            ("Elmstead Recruitment Ltd", self._elmstead),
            ("Fenwick & Hale Solicitors", self._fenwick),
        ]
        created = 0
        for name, build in builders:
            # Matched as customer_save compares names, so a rerun never trips the unique rule.
            if customer_with_name(name=name) is None:
                build(name)
                created += 1
        self._call_charges()
        return created

    # --- call charges from Connect ---------------------------------------------

    def _call_charges(self) -> None:
        """A call logger location, a product group and Connect account codes, so that a
        call charge import can be tried at once (the sample file on the import page)."""
        location, _ = Location.objects.get_or_create(
            name=DEMO_LOCATION,
            defaults={"connect_site_id": DEMO_CONNECT_SITE_ID, "connect_call_logger": True},
        )
        if not (location.connect_call_logger and location.connect_site_id):
            location.connect_call_logger = True
            location.connect_site_id = location.connect_site_id or DEMO_CONNECT_SITE_ID
            location.full_clean()
            location.save()
        ProductGroup.objects.get_or_create(name=DEMO_PRODUCT_GROUP)
        for name in DEMO_CONNECT_CUSTOMERS:
            customer = customer_with_name(name=name)
            if customer is None:
                continue
            held = AccountCode.objects.filter(
                customer=customer, platform__code=PlatformCode.CONNECT
            ).first()
            # A code matches only rows imported at its account's location (seed 004).
            if held is None or held.location_id is None:
                call_charges.account_code_set(
                    customer=customer,
                    platform_code=PlatformCode.CONNECT,
                    code=held.code if held else str(customer.pk),
                    location=location,
                )

    # --- inventory -------------------------------------------------------------

    def _inventory(self) -> None:
        platforms = {p.code: p for p in BillingPlatform.objects.all()}
        categories = {c.name: c for c in BaseCategory.objects.all()}
        for spec in INVENTORY:
            item = InventoryItem.objects.filter(name=spec.name).first()
            if item is None:
                # Inventory has no service of its own: it has no cross-record rules.
                item = InventoryItem(
                    name=spec.name,
                    item_type=spec.item_type,
                    base_category=categories[spec.category],
                    upfront_route=platforms.get(spec.upfront_route),
                    recurring_route=platforms.get(spec.recurring_route),
                    data_description=spec.data_description,
                    pricing_tier=spec.pricing_tier,
                    external_sku=spec.external_sku,
                    rrp=Decimal(spec.rrp) if spec.rrp else None,
                    billing_frequency=spec.billing_frequency,
                    sell_price=Decimal(spec.sell_price),
                    recurring_sell_price=Decimal(spec.recurring_sell_price),
                )
                # Its own fields and constraints; the billing platforms' rules on charge
                # types (``InventoryItem.clean``) read the platforms' charge type lists, which
                # the connectors fill for their emulators only after the data is loaded.
                item.clean_fields()
                item.validate_constraints()
                item.save()
            self.items[spec.name] = item

    # --- building blocks -------------------------------------------------------

    @staticmethod
    def _customer(name: str, *, stage: str, **fields: str) -> Customer:
        return customer_services.customer_save(customer=Customer(name=name, stage=stage, **fields))

    @staticmethod
    def _site(customer: Customer, name: str = "", *, is_default: bool = False) -> Site:
        if not name:
            # As when a site is made with an opportunity: named after the customer.
            return customer_services.site_save(
                site=Site(customer=customer), created_automatically=True
            )
        return customer_services.site_save(
            site=Site(customer=customer, name=name, is_default=is_default)
        )

    @staticmethod
    def _address(
        customer: Customer,
        name: str,
        street1: str,
        city: str,
        county: str,
        postcode: str,
        *,
        address_type: str = AddressType.DEFAULT,
        customer_default: bool = False,
        street2: str = "",
    ) -> Address:
        return customer_services.address_save(
            address=Address(
                customer=customer,
                name=name,
                address_type=address_type,
                street1=street1,
                street2=street2,
                city=city,
                county=county,
                postcode=postcode,
                is_default=customer_default,
            )
        )

    @staticmethod
    def _link(site: Site, address: Address, *, site_default: bool) -> SiteAddress:
        return customer_services.site_address_save(
            link=SiteAddress(site=site, address=address, is_site_default=site_default)
        )

    def _contact(
        self,
        customer: Customer,
        first_name: str,
        last_name: str,
        *,
        site: Site | None = None,
        contact_type: str = "General",
        primary: bool = False,
        telephone: str = "",
        mobile: str = "",
    ) -> Contact:
        domain = customer.name.split()[0].lower()
        return customer_services.contact_save(
            contact=Contact(
                customer=customer,
                first_name=first_name,
                last_name=last_name,
                email=f"{first_name}.{last_name}@{domain}.example".lower(),
                telephone=telephone,
                mobile=mobile,
                is_primary=primary,
                contact_type=self.contact_types[contact_type],
                site=site,
            )
        )

    def _quote(
        self,
        customer: Customer,
        reference: str,
        *,
        contact: Contact | None,
        invoice_address: Address | None,
        lines: list[LineSpec],
        status: str = QuoteStatus.DRAFT,
    ) -> Quote:
        quote = customer_services.quote_save(
            quote=Quote(
                customer=customer,
                reference=reference,
                contact=contact,
                invoice_address=invoice_address,
                status=status,
            )
        )
        for spec in lines:
            customer_services.quote_line_save(
                line=QuoteLine(
                    quote=quote,
                    inventory_item=spec.inventory_item,
                    quantity=spec.quantity,
                    sell_price=spec.inventory_item.sell_price,
                    recurring_sell_price=spec.inventory_item.recurring_sell_price,
                    site=spec.site,
                    cli=spec.cli,
                )
            )
        return quote

    @staticmethod
    def _assets_for(order: SalesOrder, *, connected: date, identifiers: dict[int, str]) -> None:
        """Convert every line of `order` to its asset, all connected on one date."""
        for index, line in enumerate(order.lines.order_by("id")):
            billing_services.sales_order_line_convert_to_asset(
                line=line,
                identifier=identifiers.get(index, ""),
                connection_date=connected,
                issue_date=connected,
            )

    # --- the customers ---------------------------------------------------------

    def _acme(self, name: str) -> None:
        """A lead converted by winning a quote; the order made from that quote."""
        acme = self._customer(
            name,
            stage=CustomerStage.LEAD,
            registered_company_name="Acme Logistics (Yorkshire) Limited",
            bill_run="Monthly 1st",
            payment_terms="30 days",
            payment_method="Direct Debit",
            email="accounts@acme.example",
            telephone="0113 496 0100",
        )
        hq = self._site(acme, "Leeds Head Office")
        depot = self._site(acme, "Wakefield Depot")
        hq_address = self._address(
            acme, "Head office", "Unit 4, Thorpe Park", "Leeds", "West Yorkshire", "LS15 8GB"
        )
        depot_address = self._address(
            acme, "Depot", "Calder Park, Denby Dale Road", "Wakefield", "West Yorkshire", "WF4 3BA"
        )
        invoice_address = self._address(
            acme,
            "Accounts payable",
            "PO Box 4410",
            "Leeds",
            "West Yorkshire",
            "LS1 9AF",
            address_type=AddressType.INVOICE,
        )
        self._link(hq, hq_address, site_default=True)
        # Linked but not the depot's default: the depot syncs the head office
        # address (step 2 of the address-priority chain).
        self._link(depot, depot_address, site_default=False)
        billing = self._contact(
            acme, "Priya", "Shah", site=hq, contact_type="Billing", telephone="0113 496 0101"
        )
        self._contact(acme, "Tom", "Bennett", site=hq, primary=True, mobile="07700 900101")
        self._contact(acme, "Gary", "Lowe", contact_type="Technical", telephone="0113 496 0102")

        mobile, phone = self.items["Business Mobile 10GB"], self.items["Yealink T46U Desk Phone"]
        quote = self._quote(
            acme,
            "DEMO-Q-0001",
            contact=billing,
            invoice_address=invoice_address,
            lines=[
                LineSpec(inventory_item=mobile, site=hq, cli="07700900111"),
                LineSpec(inventory_item=mobile, site=hq, cli="07700900112"),
                LineSpec(inventory_item=mobile, site=depot, cli="07700900113"),
                LineSpec(inventory_item=phone, site=hq, quantity=2),
                LineSpec(inventory_item=self.items["Installation and Setup"], site=hq),
            ],
            status=QuoteStatus.SENT,
        )
        customer_services.quote_mark_won(quote=quote)
        order = billing_services.sales_order_create_from_quote(quote=quote)
        self._assets_for(order, connected=date(2024, 9, 2), identifiers={3: "YLK46U-0042871"})

    def _brightwater(self, name: str) -> None:
        """Created directly (its lead recorded automatically), with a Sage number and a
        New & Cease that replaces an older mobile."""
        bright = self._customer(
            name,
            stage=CustomerStage.CUSTOMER,
            registered_company_name="Brightwater Dental Group Limited",
            sage_account_number="BRI001",
            bill_run="Monthly 15th",
            payment_terms="14 days",
            payment_method="Direct Debit",
            email="finance@brightwater.example",
            telephone="01423 496 000",
        )
        harrogate = self._site(bright, "Harrogate Practice")
        ripon = self._site(bright, "Ripon Practice")
        york = self._site(bright, "York Practice")
        harrogate_address = self._address(
            bright,
            "Harrogate",
            "12 Victoria Avenue",
            "Harrogate",
            "North Yorkshire",
            "HG1 1ED",
            customer_default=True,
        )
        ripon_address = self._address(
            bright, "Ripon", "3 Market Place", "Ripon", "North Yorkshire", "HG4 1BP"
        )
        york_address = self._address(
            bright, "York", "88 Micklegate", "York", "North Yorkshire", "YO1 6JX"
        )
        self._link(harrogate, harrogate_address, site_default=True)
        self._link(ripon, ripon_address, site_default=True)
        self._link(york, york_address, site_default=False)
        # One address shared by two sites (the group's invoices go to Harrogate).
        self._link(york, harrogate_address, site_default=False)
        self._contact(
            bright,
            "Helen",
            "Okafor",
            site=harrogate,
            contact_type="Billing",
            telephone="01423 496 001",
        )
        self._contact(bright, "James", "Whitfield", primary=True, mobile="07700 900201")
        self._contact(bright, "Aisha", "Begum", site=ripon, telephone="01765 496 002")

        old_order = billing_services.sales_order_create(
            customer=bright,
            reference="DEMO-SO-0101",
            lines=[
                LineSpec(
                    inventory_item=self.items["Business Mobile 10GB"], site=ripon, cli="07700900211"
                ),
                LineSpec(inventory_item=self.items["Leased Line 100Mb"], site=harrogate),
            ],
        )
        self._assets_for(old_order, connected=date(2023, 5, 2), identifiers={1: "LL-HG1-100M"})
        old_mobile = Asset.objects.get(customer=bright, identifier="07700900211")

        upgrade = billing_services.sales_order_create(customer=bright, reference="DEMO-SO-0102")
        billing_services.sales_order_line_save(
            line=SalesOrderLine(
                order=upgrade,
                inventory_item=self.items["Business Mobile 30GB"],
                site=ripon,
                sell_price=Decimal("0"),
                recurring_sell_price=self.items["Business Mobile 30GB"].recurring_sell_price,
                classification=Classification.UPGRADE,
                action=LineAction.NEW_AND_CEASE,
                target_asset=old_mobile,
                cli=old_mobile.identifier,
            )
        )
        # The old mobile is ceased the day before this connection date.
        self._assets_for(upgrade, connected=date(2025, 3, 3), identifiers={})

    def _cobalt(self, name: str) -> None:
        """A lead converted by hand (the Sales menu), then ordered directly."""
        cobalt = self._customer(
            name,
            stage=CustomerStage.LEAD,
            bill_run="Monthly 1st",
            payment_terms="30 days",
            payment_method="BACS",
            email="studio@cobalt.example",
        )
        studio = self._site(cobalt)  # auto-created, named after the customer
        address = self._address(
            cobalt,
            "Studio",
            "The Old Mill, 1 Canal Wharf",
            "Leeds",
            "West Yorkshire",
            "LS11 5PS",
            customer_default=True,
        )
        self._link(studio, address, site_default=True)
        self._contact(
            cobalt,
            "Maya",
            "Lindqvist",
            site=studio,
            primary=True,
            contact_type="Billing",
            telephone="0113 496 0300",
        )
        customer_services.customer_convert_lead(customer=cobalt, source=ConversionSource.MANUAL)
        order = billing_services.sales_order_create(
            customer=cobalt,
            reference="DEMO-SO-0201",
            lines=[
                LineSpec(
                    inventory_item=self.items["SIP Trunk Channel"],
                    site=studio,
                    quantity=4,
                    cli="01134960300",
                ),
                LineSpec(
                    inventory_item=self.items["0333 Non-geographic Number"],
                    site=studio,
                    cli="03330160300",
                ),
            ],
        )
        self._assets_for(order, connected=date(2025, 1, 6), identifiers={})

    def _dunmore(self, name: str) -> None:
        """A lead with a draft quote; its only address is linked to no site."""
        dunmore = self._customer(name, stage=CustomerStage.LEAD, email="office@dunmore.example")
        site = self._site(dunmore)
        address = self._address(
            dunmore, "Yard", "Dunmore Farm, Moor Lane", "Skipton", "North Yorkshire", "BD23 6AA"
        )
        contact = self._contact(
            dunmore, "Rob", "Atkinson", site=site, primary=True, mobile="07700 900401"
        )
        self._quote(
            dunmore,
            "DEMO-Q-0002",
            contact=contact,
            invoice_address=address,
            lines=[LineSpec(inventory_item=self.items["SIM-only Unlimited"], quantity=3)],
        )

    def _elmstead(self, name: str) -> None:
        """A direct customer that has since cancelled (Customer unticked in Abillity), with a
        ceased asset and a Do Not Bill asset."""
        elmstead = self._customer(
            name,
            stage=CustomerStage.CUSTOMER,
            bill_run="Monthly 1st",
            payment_terms="30 days",
            payment_method="Card",
            email="ops@elmstead.example",
        )
        office = self._site(elmstead, "Sheffield Office")
        branch = self._site(elmstead, "Rotherham Branch")
        office_address = self._address(
            elmstead,
            "Office",
            "Floor 2, 40 Leopold Street",
            "Sheffield",
            "South Yorkshire",
            "S1 2JG",
            customer_default=True,
        )
        branch_address = self._address(
            elmstead, "Branch", "17 High Street", "Rotherham", "South Yorkshire", "S60 1PP"
        )
        self._link(office, office_address, site_default=True)
        self._link(branch, branch_address, site_default=True)
        self._contact(
            elmstead,
            "Claire",
            "Dawson",
            site=office,
            contact_type="Billing",
            primary=True,
            telephone="0114 496 0500",
        )
        self._contact(elmstead, "Dev", "Patel", site=branch, mobile="07700 900501")
        order = billing_services.sales_order_create(
            customer=elmstead,
            reference="DEMO-SO-0301",
            lines=[
                LineSpec(
                    inventory_item=self.items["SIM-only Unlimited"], site=office, cli="07700900511"
                ),
                LineSpec(
                    inventory_item=self.items["SIM-only Unlimited"], site=branch, cli="07700900512"
                ),
            ],
        )
        self._assets_for(order, connected=date(2024, 2, 1), identifiers={})
        # The office SIM was ceased at the end of June 2024: the Billing Export bills it up
        # to that date (its End Date) and no further. The branch SIM is Do Not Bill: its CLI
        # goes to Affinity flagged, and nothing of it is in the product file.
        ceased = Asset.objects.get(customer=elmstead, identifier="07700900511")
        ceased.status = AssetStatus.CEASED
        ceased.cease_date = date(2024, 6, 30)
        billing_services.asset_save(asset=ceased)
        free = Asset.objects.get(customer=elmstead, identifier="07700900512")
        free.do_not_bill = True
        billing_services.asset_save(asset=free)
        elmstead.refresh_from_db()
        elmstead.status = CustomerStatus.CANCELLED
        customer_services.customer_save(customer=elmstead)

    def _fenwick(self, name: str) -> None:
        """A lead with two sites, the second made the default, and a quote sent."""
        fenwick = self._customer(
            name,
            stage=CustomerStage.LEAD,
            registered_company_name="Fenwick & Hale LLP",
            email="practice@fenwick.example",
            telephone="01904 496 000",
        )
        self._site(fenwick, "Harrogate Chambers")
        chambers = self._site(fenwick, "York Chambers", is_default=True)
        address = self._address(
            fenwick, "Chambers", "5 Blake Street", "York", "North Yorkshire", "YO1 8QG"
        )
        self._link(chambers, address, site_default=True)
        partner = self._contact(
            fenwick, "Eleanor", "Hale", site=chambers, primary=True, telephone="01904 496 001"
        )
        self._quote(
            fenwick,
            "DEMO-Q-0003",
            contact=partner,
            invoice_address=None,
            lines=[
                LineSpec(inventory_item=self.items["Leased Line 100Mb"], site=chambers),
                LineSpec(inventory_item=self.items["Installation and Setup"], site=chambers),
            ],
            status=QuoteStatus.SENT,
        )
