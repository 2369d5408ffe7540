"""The customers admin: pages load, saves go through the services, refusals are form errors."""

import itertools

import pytest
from django.urls import reverse

from billing.choices import PlatformCode
from billing.models import InventoryItem
from customers import admin as customers_admin
from customers import services
from customers.admin import VAT_HELP
from customers.choices import ConversionSource, CustomerStage, LeadOrigin, QuoteStatus
from customers.models import (
    Address,
    CompanySettings,
    Contact,
    Customer,
    CustomerClass,
    Lead,
    Quote,
    QuoteLine,
    Site,
    SiteAddress,
)
from customers.signals import lead_converted
from tests.admin_helpers import (
    add_inline_row,
    admin_form_data,
    changelist_query_counts,
    inline_formset,
    page_messages,
)
from tests.factories import (
    AddressFactory,
    ContactFactory,
    ContactTypeFactory,
    CustomerFactory,
    InventoryItemFactory,
    LeadFactory,
    QuoteFactory,
    QuoteLineFactory,
    SiteAddressFactory,
    SiteFactory,
    platform,
)

pytestmark = pytest.mark.django_db


# --- records ---------------------------------------------------------------------


_bundle_numbers = itertools.count(1)


def customer_with_everything() -> Customer:
    """A customer with a class, a site and a subsite, an address linked as the site's
    default, a typed contact at the site, and a quote with a line."""
    number = next(_bundle_numbers)
    customer_class = CustomerClass.objects.create(code=f"CLASS{number}")
    customer = CustomerFactory(customer_class=customer_class)
    site = SiteFactory(customer=customer)
    SiteFactory(customer=customer, parent=site)
    address = AddressFactory(customer=customer, is_default=True)
    SiteAddressFactory(site=site, address=address, is_site_default=True)
    contact = ContactFactory(
        customer=customer, site=site, contact_type=ContactTypeFactory(name=f"Type {number}")
    )
    quote = QuoteFactory(customer=customer, contact=contact, invoice_address=address)
    QuoteLineFactory(quote=quote, site=site)
    return customer


def populate(count: int) -> None:
    for _ in range(count):
        customer_with_everything()


MODELS = [
    "customer",
    "customerclass",
    "site",
    "address",
    "siteaddress",
    "contacttype",
    "contact",
    "quote",
]


# --- pages -----------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_changelist_and_add_page_load_for_a_superuser(superuser_client, model):
    populate(2)

    changelist = superuser_client.get(reverse(f"admin:customers_{model}_changelist"))
    add_page = superuser_client.get(reverse(f"admin:customers_{model}_add"))

    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count >= 1
    assert add_page.status_code == 200


@pytest.mark.parametrize(
    ("model", "record"),
    [
        ("customer", lambda customer: customer),
        ("customerclass", lambda customer: customer.customer_class),
        ("site", lambda customer: customer.sites.get(parent__isnull=True)),
        ("address", lambda customer: customer.addresses.get()),
        ("siteaddress", lambda customer: SiteAddress.objects.get(site__customer=customer)),
        ("contacttype", lambda customer: customer.contacts.get().contact_type),
        ("contact", lambda customer: customer.contacts.get()),
        ("quote", lambda customer: customer.quotes.get()),
    ],
)
def test_change_page_loads_for_a_superuser(superuser_client, model, record):
    obj = record(customer_with_everything())

    response = superuser_client.get(reverse(f"admin:customers_{model}_change", args=[obj.pk]))

    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_changelist_queries_do_not_grow_with_the_number_of_rows(superuser_client, model):
    url = reverse(f"admin:customers_{model}_changelist")

    small, large, rows = changelist_query_counts(superuser_client, url, populate)

    assert rows[1] > rows[0]
    assert small == large
    assert large <= 15


def test_company_settings_is_one_row_that_cannot_be_added_twice_or_deleted(superuser_client):
    row = CompanySettings.load()

    changelist = superuser_client.get(reverse("admin:customers_companysettings_changelist"))
    change_page = superuser_client.get(
        reverse("admin:customers_companysettings_change", args=[row.pk])
    )
    add_page = superuser_client.get(reverse("admin:customers_companysettings_add"))
    delete_page = superuser_client.get(
        reverse("admin:customers_companysettings_delete", args=[row.pk])
    )

    assert changelist.status_code == 302
    assert changelist.url == reverse("admin:customers_companysettings_change", args=[row.pk])
    assert change_page.status_code == 200
    assert add_page.status_code == 403
    assert delete_page.status_code == 403


def test_customer_search_finds_by_name_and_registered_company_name(superuser_client):
    by_name = CustomerFactory(name="Northwind Telecom (Leeds)")
    by_registered = CustomerFactory(
        name="NW Holdings Bradford", registered_company_name="Northwind Telecom Ltd"
    )
    CustomerFactory(name="Contoso Networks")
    url = reverse("admin:customers_customer_changelist")

    response = superuser_client.get(url, {"q": "northwind"})

    assert {c.pk for c in response.context["cl"].result_list} == {by_name.pk, by_registered.pk}


def test_customer_change_page_shows_lead_record_default_site_and_vat_note(superuser_client):
    customer = CustomerFactory()
    default_site = SiteFactory(customer=customer, name="Head Office")
    SiteFactory(customer=customer, name="Depot")

    response = superuser_client.get(reverse("admin:customers_customer_change", args=[customer.pk]))

    content = response.content.decode()
    assert LeadOrigin.DIRECT.label in content
    assert ConversionSource.DIRECT.label in content
    assert VAT_HELP in content
    site_forms = inline_formset(response, "sites").forms
    defaults = [form.instance.pk for form in site_forms if form.instance.is_default]
    assert defaults == [default_site.pk]
    assert "stage" not in response.context["adminform"].form.fields


# --- customers: add, name clash, conversion --------------------------------------


@pytest.mark.parametrize(
    ("stage", "origin", "converted"),
    [
        (CustomerStage.CUSTOMER, LeadOrigin.DIRECT, True),
        (CustomerStage.LEAD, LeadOrigin.LEAD, False),
    ],
)
def test_adding_a_customer_in_the_admin_records_its_lead(
    superuser_client, superuser, stage, origin, converted
):
    url = reverse("admin:customers_customer_add")
    data = admin_form_data(superuser_client.get(url))
    data.update(name="Acme Telecom Ltd", stage=stage)

    response = superuser_client.post(url, data)

    assert response.status_code == 302
    lead = Lead.objects.get(customer__name="Acme Telecom Ltd")
    assert lead.origin == origin
    assert (lead.converted_at is not None) is converted
    assert lead.converted_by == (superuser if converted else None)


def test_duplicate_customer_name_shows_the_clash_and_creates_nothing(superuser_client):
    existing = CustomerFactory(name="Acme Telecom Ltd")
    url = reverse("admin:customers_customer_add")
    data = admin_form_data(superuser_client.get(url))
    data.update(name="  acme TELECOM ltd ", stage=CustomerStage.CUSTOMER)

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    (error,) = response.context["adminform"].form.errors["name"]
    assert f"Customer #{existing.pk}" in error
    assert "Acme Telecom Ltd" in error
    assert "Registered Company Name" in error
    assert f"Customer #{existing.pk} is already named" in response.content.decode()
    assert Customer.objects.count() == 1
    assert Lead.objects.count() == 1


def test_convert_action_converts_a_lead_once_and_refuses_a_customer(superuser_client, superuser):
    lead = LeadFactory(name="Lead Ltd")
    customer = CustomerFactory(name="Customer Ltd")
    events = []
    lead_converted.connect(
        lambda **kwargs: events.append(kwargs), weak=False, dispatch_uid="test-admin-convert"
    )
    url = reverse("admin:customers_customer_changelist")
    try:
        first = superuser_client.post(
            url,
            {"action": "convert_leads", "_selected_action": [lead.pk, customer.pk]},
            follow=True,
        )
        again = superuser_client.post(
            url, {"action": "convert_leads", "_selected_action": [lead.pk]}, follow=True
        )
    finally:
        lead_converted.disconnect(dispatch_uid="test-admin-convert")

    lead.refresh_from_db()
    assert lead.stage == CustomerStage.CUSTOMER
    assert lead.lead.conversion_source == ConversionSource.MANUAL
    assert lead.lead.converted_by == superuser
    assert [(e["customer"].pk, e["source"]) for e in events] == [(lead.pk, ConversionSource.MANUAL)]
    first_messages = page_messages(first)
    assert "Converted to customers: 1." in first_messages
    assert any(m.startswith("Refused 1: Customer Ltd:") for m in first_messages)
    assert any(m.startswith("Refused 1: Lead Ltd:") for m in page_messages(again))


# --- the lead's Convert button ------------------------------------------------------
# Seed 000, "Initial sync events": "Manual lead conversion to customer (through 'Sales'
# menu)". The button on the lead's page does what the list's action does, for that lead.


def convert_url(customer: Customer) -> str:
    return reverse("admin:customers_customer_convert", args=[customer.pk])


def test_a_leads_page_has_a_convert_button_that_posts_with_the_csrf_token(superuser_client):
    lead = LeadFactory(name="Lead Ltd")

    html = superuser_client.get(reverse("admin:customers_customer_change", args=[lead.pk]))
    html = html.content.decode()

    form = html[html.index('id="convert-lead-form"') - 200 :]
    form = form[: form.index("</form>")]
    assert 'method="post"' in form
    assert f'action="{convert_url(lead)}"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert "data-confirm=" in form and 'id="convert-lead"' in form


def test_a_customers_page_has_no_convert_button(superuser_client):
    customer = CustomerFactory(name="Customer Ltd")

    html = superuser_client.get(reverse("admin:customers_customer_change", args=[customer.pk]))

    assert "convert-lead" not in html.content.decode()


def test_the_convert_button_converts_the_lead_as_the_action_does(superuser_client, superuser):
    lead = LeadFactory(name="Lead Ltd")
    events = []
    lead_converted.connect(
        lambda **kwargs: events.append(kwargs), weak=False, dispatch_uid="test-admin-button"
    )
    try:
        response = superuser_client.post(convert_url(lead), follow=True)
    finally:
        lead_converted.disconnect(dispatch_uid="test-admin-button")

    assert response.redirect_chain[-1][0] == reverse(
        "admin:customers_customer_change", args=[lead.pk]
    )
    lead.refresh_from_db()
    assert lead.stage == CustomerStage.CUSTOMER
    assert lead.lead.conversion_source == ConversionSource.MANUAL
    assert lead.lead.converted_by == superuser
    assert [(e["customer"].pk, e["source"]) for e in events] == [(lead.pk, ConversionSource.MANUAL)]
    assert any("Lead Ltd is now a customer" in m for m in page_messages(response))
    assert "convert-lead-form" not in response.content.decode()


def test_the_convert_button_refuses_a_customer_and_changes_nothing(superuser_client):
    customer = CustomerFactory(name="Customer Ltd")
    before = Customer.objects.values().get(pk=customer.pk)

    response = superuser_client.post(convert_url(customer), follow=True)

    assert any(
        m.startswith("Customer Ltd was not converted:") and "only a lead" in m
        for m in page_messages(response)
    )
    assert Customer.objects.values().get(pk=customer.pk) == before


@pytest.mark.parametrize("method", ["get", "head"])
def test_converting_needs_a_post(superuser_client, method):
    lead = LeadFactory()

    response = getattr(superuser_client, method)(convert_url(lead))

    assert response.status_code == 405
    lead.refresh_from_db()
    assert lead.stage == CustomerStage.LEAD


def test_converting_without_the_csrf_token_is_refused(superuser):
    from django.test import Client

    lead = LeadFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)

    response = client.post(convert_url(lead))

    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.stage == CustomerStage.LEAD


def test_staff_who_may_only_view_customers_cannot_convert(client):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client.force_login(user)
    lead = LeadFactory()

    page = client.get(reverse("admin:customers_customer_change", args=[lead.pk]))
    response = client.post(convert_url(lead))

    assert "convert-lead" not in page.content.decode()
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.stage == CustomerStage.LEAD


def test_converting_an_unknown_record_is_a_404(superuser_client):
    response = superuser_client.post(reverse("admin:customers_customer_convert", args=[987654]))

    assert response.status_code == 404


# --- sites: one default, generated fields, subsites --------------------------------


def test_adding_a_second_default_site_leaves_exactly_one_default(superuser_client):
    customer = CustomerFactory()
    first = SiteFactory(customer=customer)
    url = reverse("admin:customers_site_add")
    data = admin_form_data(superuser_client.get(url))
    data.update(customer=customer.pk, name="Branch", is_default="on")

    response = superuser_client.post(url, data)

    assert response.status_code == 302
    assert list(customer.sites.filter(is_default=True).values_list("name", flat=True)) == ["Branch"]
    first.refresh_from_db()
    assert not first.is_default


def test_moving_the_default_in_the_customer_inline_leaves_exactly_one_default(superuser_client):
    customer = CustomerFactory()
    head_office = SiteFactory(customer=customer, name="Head Office")
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    data = admin_form_data(superuser_client.get(url))
    # Untick the current default and tick a new site, in one submission.
    del data["sites-0-is_default"]
    add_inline_row(data, "sites", name="Depot", is_default="on")

    response = superuser_client.post(url, data)

    assert response.status_code == 302
    assert list(customer.sites.filter(is_default=True).values_list("name", flat=True)) == ["Depot"]
    head_office.refresh_from_db()
    assert not head_office.is_default


def test_clearing_the_only_default_site_shows_an_error_and_changes_nothing(superuser_client):
    site = SiteFactory(name="Head Office")
    url = reverse("admin:customers_site_change", args=[site.pk])
    data = admin_form_data(superuser_client.get(url))
    del data["is_default"]
    data["name"] = "Renamed"

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    (error,) = response.context["adminform"].form.errors["is_default"]
    assert "exactly one default site" in error
    site.refresh_from_db()
    assert site.is_default
    assert site.name == "Head Office"


def test_clearing_the_default_in_the_customer_inline_shows_the_error_and_changes_nothing(
    superuser_client,
):
    customer = CustomerFactory(name="Before Ltd")
    site = SiteFactory(customer=customer)
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    data = admin_form_data(superuser_client.get(url))
    data["name"] = "After Ltd"
    del data["sites-0-is_default"]

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    (error,) = inline_formset(response, "sites").forms[0].errors["is_default"]
    assert "exactly one default site" in error
    customer.refresh_from_db()
    site.refresh_from_db()
    assert customer.name == "Before Ltd"
    assert site.is_default


def test_deleting_the_default_site_in_the_admin_hands_the_default_on(superuser_client):
    customer = CustomerFactory()
    default_site = SiteFactory(customer=customer)
    other = SiteFactory(customer=customer)

    response = superuser_client.post(
        reverse("admin:customers_site_delete", args=[default_site.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    other.refresh_from_db()
    assert other.is_default
    assert not Site.objects.filter(pk=default_site.pk).exists()


def test_site_integration_id_and_generated_site_ref_are_read_only(superuser_client):
    site = SiteFactory()
    url = reverse("admin:customers_site_change", args=[site.pk])

    generated = superuser_client.get(url).context["adminform"].form.fields
    CompanySettings.objects.update(auto_generate_site_reference=False)
    typed = superuser_client.get(url).context["adminform"].form.fields

    assert "integration_id" not in generated
    assert "site_ref" not in generated
    assert "site_ref" in typed
    assert "integration_id" not in typed


def test_site_parent_is_read_only_with_an_explanation_while_an_integration_is_active(
    superuser_client,
):
    site = SiteFactory()
    url = reverse("admin:customers_site_change", args=[site.pk])

    inactive = superuser_client.get(url)
    abillity = platform(PlatformCode.ABILLITY)
    abillity.integration_enabled = True
    abillity.save()
    active = superuser_client.get(url)

    assert "parent" in inactive.context["adminform"].form.fields
    assert "parent" not in active.context["adminform"].form.fields
    assert "Layer subsites are unavailable" in active.content.decode()


def test_a_parent_site_of_another_customer_is_refused_on_the_parent_field(superuser_client):
    customer = CustomerFactory()
    foreign_site = SiteFactory()
    url = reverse("admin:customers_site_add")
    data = admin_form_data(superuser_client.get(url))
    data.update(customer=customer.pk, name="Annexe", parent=foreign_site.pk)

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    (error,) = response.context["adminform"].form.errors["parent"]
    assert "another customer" in error
    assert not customer.sites.exists()


# --- addresses and contacts: records of another customer ------------------------------


def test_linking_an_address_of_another_customer_is_refused_on_the_address_field(
    superuser_client,
):
    site = SiteFactory()
    foreign_address = AddressFactory()
    url = reverse("admin:customers_siteaddress_add")
    data = admin_form_data(superuser_client.get(url))
    data.update(site=site.pk, address=foreign_address.pk)

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    (error,) = response.context["adminform"].form.errors["address"]
    assert "another customer" in error
    assert not SiteAddress.objects.exists()


def test_a_contact_at_a_site_of_another_customer_is_refused_in_the_customer_inline(
    superuser_client,
):
    customer = CustomerFactory()
    foreign_site = SiteFactory()
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    data = admin_form_data(superuser_client.get(url))
    add_inline_row(data, "contacts", first_name="Ada", last_name="Lovelace", site=foreign_site.pk)

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    (error,) = inline_formset(response, "contacts").forms[0].errors["site"]
    assert "another customer" in error
    assert not Contact.objects.exists()


def test_ticking_another_customer_default_address_leaves_one_default(superuser_client):
    customer = CustomerFactory()
    first = AddressFactory(customer=customer, is_default=True)
    url = reverse("admin:customers_address_add")
    data = admin_form_data(superuser_client.get(url))
    data.update(customer=customer.pk, street1="1 New Street", is_default="on")

    response = superuser_client.post(url, data)

    assert response.status_code == 302
    assert list(Address.objects.filter(customer=customer, is_default=True)) == [
        Address.objects.get(street1="1 New Street")
    ]
    first.refresh_from_db()
    assert not first.is_default


def test_ticking_another_site_default_address_leaves_one_default(superuser_client):
    first = SiteAddressFactory(is_site_default=True)
    site = first.site
    url = reverse("admin:customers_siteaddress_add")
    data = admin_form_data(superuser_client.get(url))
    address = AddressFactory(customer=site.customer)
    data.update(site=site.pk, address=address.pk, is_site_default="on")

    response = superuser_client.post(url, data)

    assert response.status_code == 302
    assert list(SiteAddress.objects.filter(site=site, is_site_default=True)) == [
        SiteAddress.objects.get(site=site, address=address)
    ]


# --- quotes ----------------------------------------------------------------------


def test_mark_won_action_wins_the_quote_and_converts_its_lead(superuser_client, superuser):
    quote = QuoteFactory(customer=LeadFactory())
    lost = QuoteFactory(status=QuoteStatus.LOST)

    response = superuser_client.post(
        reverse("admin:customers_quote_changelist"),
        {"action": "mark_won", "_selected_action": [quote.pk, lost.pk]},
        follow=True,
    )

    quote.refresh_from_db()
    assert quote.status == QuoteStatus.WON
    assert quote.customer.stage == CustomerStage.CUSTOMER
    assert quote.customer.lead.conversion_source == ConversionSource.QUOTE_WIN
    assert quote.customer.lead.converted_by == superuser
    assert Quote.objects.get(pk=lost.pk).status == QuoteStatus.LOST
    messages = page_messages(response)
    assert "Marked won: 1." in messages
    assert any(m.startswith("Refused 1:") and "lost" in m for m in messages)


# --- autocomplete ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "field", "term", "expected"),
    [
        ("site", "customer", "north", lambda customer: customer),
        ("site", "parent", "head", lambda customer: customer.sites.get(name="Head Office")),
        ("contact", "site", "head", lambda customer: customer.sites.get(name="Head Office")),
        ("quote", "contact", "grace", lambda customer: customer.contacts.get()),
        ("quote", "invoice_address", "42 mill", lambda customer: customer.addresses.get()),
        ("siteaddress", "address", "ls1", lambda customer: customer.addresses.get()),
        ("quoteline", "inventory_item", "mobile", lambda customer: InventoryItem.objects.get()),
    ],
)
def test_foreign_keys_to_large_tables_are_searchable_by_autocomplete(
    superuser_client, model, field, term, expected
):
    customer = CustomerFactory(name="Northwind Ltd")
    site = SiteFactory(customer=customer, name="Head Office")
    AddressFactory(customer=customer, street1="42 Mill Lane", postcode="LS1 4AP")
    ContactFactory(customer=customer, first_name="Grace", site=site)
    InventoryItemFactory(name="Business Mobile Plan")
    CustomerFactory(name="Contoso Networks")

    response = superuser_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "customers", "model_name": model, "field_name": field, "term": term},
    )

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(expected(customer).pk)]


def test_a_refusal_naming_a_field_not_shown_is_a_form_error_that_names_it(superuser_client):
    address = AddressFactory()
    foreign_site = SiteFactory()
    url = reverse("admin:customers_address_change", args=[address.pk])
    data = admin_form_data(superuser_client.get(url))
    # Under an address, the link's address is the hidden parent key: the refusal names it.
    add_inline_row(data, "site_links", site=foreign_site.pk)

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    (error,) = inline_formset(response, "site_links").forms[0].non_field_errors()
    assert error == "Address: The address belongs to another customer than the site."
    assert error in response.content.decode()
    assert not SiteAddress.objects.exists()


def test_a_quote_line_site_of_another_customer_is_refused(superuser_client):
    quote = QuoteFactory()
    url = reverse("admin:customers_quote_change", args=[quote.pk])
    data = admin_form_data(superuser_client.get(url))
    item = InventoryItemFactory()
    add_inline_row(
        data,
        "lines",
        inventory_item=item.pk,
        quantity="1",
        sell_price="0",
        recurring_sell_price="0",
        site=SiteFactory().pk,
    )

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    (error,) = inline_formset(response, "lines").forms[0].errors["site"]
    assert "another customer" in error
    assert not QuoteLine.objects.exists()


def test_quote_lines_added_in_the_admin_are_saved_through_quote_line_save(
    superuser_client, monkeypatch
):
    quote = QuoteFactory()
    site = SiteFactory(customer=quote.customer)
    saved = []
    real_save = services.quote_line_save

    def spy(*, line):
        saved.append(line.site_id)
        return real_save(line=line)

    monkeypatch.setattr(services, "quote_line_save", spy)
    url = reverse("admin:customers_quote_change", args=[quote.pk])
    data = admin_form_data(superuser_client.get(url))
    add_inline_row(
        data,
        "lines",
        inventory_item=InventoryItemFactory().pk,
        quantity="2",
        sell_price="10",
        recurring_sell_price="5",
        site=site.pk,
    )

    response = superuser_client.post(url, data)

    assert response.status_code == 302
    assert saved == [site.pk]
    assert quote.lines.get().quantity == 2


def test_removing_an_address_link_goes_through_site_address_delete(superuser_client, monkeypatch):
    link = SiteAddressFactory()
    deleted = []
    real_delete = services.site_address_delete

    def spy(*, link):
        deleted.append(link.pk)
        real_delete(link=link)

    monkeypatch.setattr(services, "site_address_delete", spy)
    url = reverse("admin:customers_site_change", args=[link.site_id])
    data = admin_form_data(superuser_client.get(url))
    data["address_links-0-DELETE"] = "on"

    inline = superuser_client.post(url, data)
    other = SiteAddressFactory()
    page = superuser_client.post(
        reverse("admin:customers_siteaddress_delete", args=[other.pk]), {"post": "yes"}
    )

    assert inline.status_code == page.status_code == 302
    assert deleted == [link.pk, other.pk]
    assert not SiteAddress.objects.exists()
    assert Address.objects.count() == 2


# --- rules checked at form validation; the service's refusal as the safety net ----------


def _clearing_the_only_default_site(client):
    site = SiteFactory()
    url = reverse("admin:customers_site_change", args=[site.pk])
    data = admin_form_data(client.get(url))
    del data["is_default"]
    return url, data, "site_save", (None, "is_default")


def _a_contact_row_at_a_site_of_another_customer(client):
    customer = CustomerFactory()
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    data = admin_form_data(client.get(url))
    add_inline_row(data, "contacts", first_name="Ada", site=SiteFactory().pk)
    return url, data, "contact_save", ("contacts", "site")


def _a_new_customers_site_row_under_a_parent_of_another_customer(client):
    url = reverse("admin:customers_customer_add")
    data = admin_form_data(client.get(url))
    data.update(name="Brand New Ltd", stage=CustomerStage.CUSTOMER)
    add_inline_row(data, "sites", name="Annexe", parent=SiteFactory().pk)
    return url, data, "customer_save", ("sites", "parent")


def _linking_an_address_twice_to_one_site(client):
    link = SiteAddressFactory()
    url = reverse("admin:customers_siteaddress_add")
    data = admin_form_data(client.get(url))
    data.update(site=link.site_id, address=link.address_id)
    return url, data, "site_address_save", (None, "address")


def _a_new_quotes_line_at_a_site_of_another_customer(client):
    url = reverse("admin:customers_quote_add")
    data = admin_form_data(client.get(url))
    data.update(customer=CustomerFactory().pk, status=QuoteStatus.DRAFT)
    add_inline_row(
        data,
        "lines",
        inventory_item=InventoryItemFactory().pk,
        quantity="1",
        sell_price="0",
        recurring_sell_price="0",
        site=SiteFactory().pk,
    )
    return url, data, "quote_save", ("lines", "site")


def _reopening_a_won_quote(client):
    quote = QuoteFactory(customer=CustomerFactory())
    services.quote_mark_won(quote=quote)
    url = reverse("admin:customers_quote_change", args=[quote.pk])
    data = admin_form_data(client.get(url))
    data["status"] = QuoteStatus.DRAFT
    return url, data, "quote_save", (None, "status")


@pytest.mark.parametrize(
    "case",
    [
        _clearing_the_only_default_site,
        _a_contact_row_at_a_site_of_another_customer,
        _a_new_customers_site_row_under_a_parent_of_another_customer,
        _linking_an_address_twice_to_one_site,
        _a_new_quotes_line_at_a_site_of_another_customer,
        _reopening_a_won_quote,
    ],
    ids=lambda case: case.__name__[1:],
)
def test_a_broken_rule_is_a_form_error_at_validation_and_no_service_is_called(
    superuser_client, monkeypatch, case
):
    url, data, save_service, (prefix, field) = case(superuser_client)
    calls = []
    monkeypatch.setattr(services, save_service, lambda **kwargs: calls.append(kwargs))

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    form = (
        response.context["adminform"].form
        if prefix is None
        else inline_formset(response, prefix).forms[-1]
    )
    assert len(form.errors[field]) == 1
    assert calls == []


def test_a_refusal_the_form_check_missed_is_shown_once_and_nothing_is_saved(
    superuser_client, monkeypatch
):
    # The form's check passes the first time, as if the parent had moved to another
    # customer between validation and save; the service then refuses.
    checks = []

    def check_after_the_first(form, instance):
        checks.append(instance)
        if len(checks) > 1:
            services.site_validate(site=instance)

    monkeypatch.setattr(customers_admin.SiteForm, "service_validate", check_after_the_first)
    customer = CustomerFactory()
    url = reverse("admin:customers_site_add")
    data = admin_form_data(superuser_client.get(url))
    data.update(customer=customer.pk, name="Annexe", parent=SiteFactory().pk)

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["parent"] == [
        "The parent site belongs to another customer."
    ]
    assert len(checks) == 2
    assert not customer.sites.exists()


def test_deleting_a_customer_with_a_subsite_in_the_admin_deletes_its_sites(superuser_client):
    parent = SiteFactory()
    SiteFactory(customer=parent.customer, parent=parent)
    url = reverse("admin:customers_customer_delete", args=[parent.customer_id])

    confirmation = superuser_client.get(url)
    response = superuser_client.post(url, {"post": "yes"})

    assert confirmation.status_code == 200
    assert "Cannot delete" not in confirmation.content.decode()
    assert response.status_code == 302
    assert not Site.objects.filter(customer_id=parent.customer_id).exists()
