"""Charge types checked where staff set them: an inventory item routed to Abillity whose
charge type id aBILLity would refuse with the item's frequency is a field error, naming
the type's frequency (abillity-api.md §10 rule 3: "ChargeId must exist and suit the
frequency"; §11: no list of types to read, so the list is kept locally)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing.choices import BillingFrequency, ItemType, PlatformCode
from billing.models import InventoryItem
from connectors.abillity.sync import sandbox_charge_types_ensure
from connectors.models import ChargeType
from tests.admin_helpers import admin_form_data
from tests.factories import InventoryItemFactory, platform

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def charge_types():
    sandbox_charge_types_ensure()  # 2010 Line rental: Monthly; 2300: Quarterly; 1001: One off


def abillity_item(**fields) -> InventoryItem:
    abillity = platform(PlatformCode.ABILLITY)
    values = {
        "name": "Leased Line",
        "item_type": ItemType.SERVICE,
        "upfront_route": abillity,
        "recurring_route": abillity,
        "data_description": "1001",
        "pricing_tier": "2300",
        "billing_frequency": BillingFrequency.QUARTERLY,
        **fields,
    }
    return InventoryItemFactory(**values)


def test_a_recurring_charge_type_of_another_frequency_is_a_field_error():
    item = abillity_item(pricing_tier="2010")
    with pytest.raises(ValidationError) as refused:
        item.full_clean()
    (message,) = refused.value.message_dict["pricing_tier"]
    assert "charge type 2010 (Line rental) is billed Monthly" in message
    assert "the recurring charge is Quarterly" in message


def test_an_up_front_charge_type_must_be_one_off():
    item = abillity_item(data_description="2300")
    with pytest.raises(ValidationError) as refused:
        item.full_clean()
    assert (
        "is billed Quarterly, but the up-front charge is One off"
        in (refused.value.message_dict["data_description"][0])
    )


def test_a_charge_type_missing_from_the_list_or_not_a_number_is_a_field_error():
    with pytest.raises(ValidationError) as refused:
        abillity_item(pricing_tier="7777").full_clean()
    assert "7777 is not in the charge types list" in refused.value.message_dict["pricing_tier"][0]
    with pytest.raises(ValidationError) as refused:
        abillity_item(pricing_tier="Gold").full_clean()
    assert "must be a number" in refused.value.message_dict["pricing_tier"][0]


def test_suiting_types_an_empty_field_and_other_routes_are_accepted():
    abillity_item().full_clean()
    abillity_item(pricing_tier="").full_clean()  # seed 001: syncs, then the reject queue
    InventoryItemFactory(
        pricing_tier="2010", billing_frequency=BillingFrequency.ANNUAL
    ).full_clean()


def test_the_inventory_item_admin_shows_the_error_on_the_field_and_saves_nothing(
    superuser_client,
):
    item = abillity_item()
    url = reverse("admin:billing_inventoryitem_change", args=[item.pk])
    data = admin_form_data(superuser_client.get(url))
    data["billing_frequency"] = BillingFrequency.ANNUAL

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "is billed Quarterly, but the recurring charge is Annual" in errors["pricing_tier"][0]
    item.refresh_from_db()
    assert item.billing_frequency == BillingFrequency.QUARTERLY


def test_the_charge_types_list_is_kept_in_the_admin(superuser_client):
    response = superuser_client.get(reverse("admin:connectors_chargetype_changelist"))
    assert response.status_code == 200
    assert ChargeType.objects.filter(type_id=2010, frequency=BillingFrequency.MONTHLY).exists()
