"""Company settings in the admin: New & Cease with Update warns; charge type fields are
inventory fields."""

import pytest
from django.urls import reverse

from customers.models import CompanySettings
from tests.admin_helpers import page_messages

pytestmark = pytest.mark.django_db


def post(client, **values):
    data = {
        "auto_generate_site_reference": "on",
        "upfront_charge_type_field": "data_description",
        "recurring_charge_type_field": "pricing_tier",
        **values,
    }
    url = reverse("admin:customers_companysettings_change", args=[CompanySettings.SINGLETON_PK])
    return client.post(url, {k: v for k, v in data.items() if v is not None}, follow=True)


def test_new_and_cease_with_update_still_on_warns_to_disable_update(superuser_client):
    response = post(superuser_client, new_and_cease_enabled="on", update_action_enabled="on")
    assert any("disable Update" in text for text in page_messages(response))
    quiet = post(superuser_client, new_and_cease_enabled="on")
    assert not any("disable Update" in text for text in page_messages(quiet))


def test_a_charge_type_field_must_be_an_inventory_field(superuser_client):
    response = post(superuser_client, recurring_charge_type_field="colour")
    assert "Select a valid choice" in response.content.decode()
    assert CompanySettings.load().recurring_charge_type_field == "pricing_tier"
    post(superuser_client, recurring_charge_type_field="custom_field_1")
    assert CompanySettings.load().recurring_charge_type_field == "custom_field_1"
