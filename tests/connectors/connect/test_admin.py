"""The customer page's Send to Connect panel: the button, the note on what is not sent, the
link once sent (and no button), and the button's post back to the page."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import BillingPlatform
from connectors.models import Binding
from tests.admin_helpers import page_messages
from tests.factories import CustomerFactory, LeadFactory

from .conftest import user_with


def customer_page(customer) -> str:
    return reverse("admin:customers_customer_change", args=[customer.pk])


@pytest.fixture
def staff(sender) -> Client:
    client = Client()
    client.force_login(sender)
    return client


def test_an_unsent_customer_page_shows_send_to_connect_and_what_is_not_sent(connect, staff):
    customer = CustomerFactory(name="Acme Telecoms")

    page = staff.get(customer_page(customer)).content.decode()

    assert 'id="send-to-connect"' in page
    assert "Contacts, services and rooms are not sent" in page
    assert "Awaiting Provisioning" in page
    assert f"Billing Reference {customer.pk}" in page


def test_pressing_the_button_sends_and_returns_to_the_page_with_the_outcome(connect, staff):
    customer = CustomerFactory()
    page = customer_page(customer)

    answer = staff.post(
        reverse("customer-send-to-connect", args=[customer.pk]), {"next": page}, follow=True
    )

    assert answer.redirect_chain == [(page, 303)]
    [client] = connect.state["clients"].values()
    assert f"client {client['id']}" in " ".join(page_messages(answer))


def test_once_sent_the_button_is_gone_and_the_page_links_to_the_client(connect, staff):
    customer = CustomerFactory()
    staff.post(reverse("customer-send-to-connect", args=[customer.pk]), {"next": "/admin/"})
    [client] = connect.state["clients"].values()

    page = staff.get(customer_page(customer)).content.decode()

    assert 'id="send-to-connect"' not in page
    assert 'id="connect-client-link"' in page
    assert f"/sandbox/connect/portal/clients/{client['id']}" in page
    assert "Contacts, services and rooms are not sent" in page


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        " JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/clients/1",
        "https:///no-host",
        "https://connect.example/clients/1\njavascript:alert(1)",
    ],
)
def test_a_client_url_that_is_not_a_web_address_is_never_put_in_a_link(connect, staff, url):
    """Connect's answer is shown, not trusted: only an absolute http(s) URL becomes a link
    (a javascript: URL in an href runs when clicked, escaping or not)."""
    customer = CustomerFactory()
    staff.post(reverse("customer-send-to-connect", args=[customer.pk]), {"next": "/admin/"})
    binding = Binding.objects.get(platform="connect", object_id=customer.pk)
    binding.payload = {**binding.payload, "url": url}
    binding.save(update_fields=["payload"])

    page = staff.get(customer_page(customer)).content.decode()

    assert 'id="connect-client-link"' not in page
    assert 'id="connect-client-url-refused"' in page
    assert not re.search(r'href="\s*(javascript|data|vbscript):', page, re.IGNORECASE)


@pytest.mark.parametrize("url", ["https://connect.example/clients/7", "http://10.0.0.5/c/7"])
def test_an_http_or_https_client_url_is_linked(connect, staff, url):
    customer = CustomerFactory()
    staff.post(reverse("customer-send-to-connect", args=[customer.pk]), {"next": "/admin/"})
    binding = Binding.objects.get(platform="connect", object_id=customer.pk)
    binding.payload = {**binding.payload, "url": url}
    binding.save(update_fields=["payload"])

    page = staff.get(customer_page(customer)).content.decode()

    assert (
        f'<a href="{url}" target="_blank" rel="noopener noreferrer" id="connect-client-link">'
        in (page)
    )


def test_a_lead_gets_the_reason_instead_of_the_button(connect, staff):
    lead = LeadFactory()

    page = staff.get(customer_page(lead)).content.decode()

    assert 'id="send-to-connect"' not in page
    assert "convert it to a customer before sending it to Connect" in page


def test_staff_who_may_not_send_see_no_button(connect):
    viewer = user_with("customers.view_customer", "connectors.view_syncjob", is_staff=True)
    client = Client()
    client.force_login(viewer)

    page = client.get(customer_page(CustomerFactory())).content.decode()

    assert 'id="connect-client-panel"' in page
    assert 'id="send-to-connect"' not in page


def test_with_the_integration_off_an_unsent_customer_shows_no_panel(connect, staff):
    BillingPlatform.objects.filter(code="connect").update(integration_enabled=False)

    page = staff.get(customer_page(CustomerFactory())).content.decode()

    assert 'id="connect-client-panel"' not in page


def test_a_refused_send_from_the_page_says_why_and_sends_nothing(connect, staff):
    lead = LeadFactory()
    page = customer_page(lead)

    answer = staff.post(
        reverse("customer-send-to-connect", args=[lead.pk]), {"next": page}, follow=True
    )

    assert "Not sent to Connect" in " ".join(page_messages(answer))
    assert connect.state["clients"] == {}
