"""Preview (dry run): what a sync would send now, field by field, sending nothing."""

import pytest

from connectors.base import UnknownPlatform
from connectors.choices import Entity, FilterCondition
from connectors.engine.actions import binding_map
from connectors.errors import SyncError
from connectors.models import EntitySetting, ExportFilter, SyncJob
from connectors.preview import record_preview
from customers.models import Customer
from tests.connectors.engine_helpers import integration_off, integration_set, job_of
from tests.connectors.fake import PLATFORM, FakeConnector
from tests.factories import ContactFactory, CustomerFactory


def preview(record, entity=Entity.CUSTOMER):
    return record_preview(platform=PLATFORM, entity=entity, object_id=record.pk)


def fields_of(result) -> dict:
    (part,) = result.parts
    return {change.field: change for change in part.fields}


def changed_quietly(customer: Customer, **values) -> None:
    """Change a customer without queueing a sync (QuerySet.update sends no signal)."""
    Customer.objects.filter(pk=customer.pk).update(**values)


def test_a_record_never_sent_would_be_created_with_every_field(fake_platform):
    with integration_off():
        customer = CustomerFactory(name="New Ltd", registered_company_name="New Holdings")

    result = preview(customer)

    assert (result.action, result.problems, result.record) == ("create", [], "New Ltd")
    (part,) = result.parts
    assert (part.role, part.external_id, part.action) == (Entity.CUSTOMER, "", "create")
    fields = fields_of(result)
    assert all(c.changed and c.will_send and c.sent is None for c in fields.values())
    assert (fields["reference"].rule, fields["reference"].now) == ("one_off", f"C{customer.pk}")
    assert fields["name"].rule == "repeated"
    assert fake_platform.calls() == []
    assert not SyncJob.objects.exists()


def test_a_synced_unchanged_record_previews_as_no_change(fake_platform):
    customer = CustomerFactory(name="Same Ltd")
    calls = len(fake_platform.calls())

    result = preview(customer)

    assert result.action == "no change"
    (part,) = result.parts
    assert part.external_id == job_of(customer).external_id
    assert not any(c.changed or c.will_send for c in part.fields)
    assert len(fake_platform.calls()) == calls  # a preview sends nothing


def test_a_changed_repeated_field_would_be_sent_a_changed_one_off_field_would_not(
    fake_platform,
):
    customer = CustomerFactory(name="Old Name Ltd", registered_company_name="Old Holdings")
    changed_quietly(customer, name="New Name Ltd", registered_company_name="New Holdings")

    result = preview(customer)

    assert result.action == "update"
    fields = fields_of(result)
    name, registered, email = fields["name"], fields["registered_name"], fields["email"]
    assert (name.sent, name.now, name.changed, name.will_send) == (
        "Old Name Ltd",
        "New Name Ltd",
        True,
        True,
    )
    assert (registered.sent, registered.now, registered.changed, registered.will_send) == (
        "Old Holdings",
        "New Holdings",
        True,
        False,
    )
    assert (email.changed, email.will_send) == (False, False)


def test_only_a_changed_one_off_field_previews_as_no_change_as_a_sync_would_do(fake_platform):
    customer = CustomerFactory(name="Steady Ltd", registered_company_name="Old Holdings")
    changed_quietly(customer, registered_company_name="New Holdings")

    result = preview(customer)

    assert result.action == "no change"
    assert fields_of(result)["registered_name"].changed is True


def test_a_record_mapped_but_never_sent_would_send_every_repeated_field(
    fake_platform, publish_calls
):
    customer = CustomerFactory(name="Mapped Ltd")
    binding_map(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk, external_id="9")

    result = preview(customer)

    assert result.action == "update"
    fields = fields_of(result)
    assert fields["name"].will_send is True
    assert fields["reference"].will_send is False
    assert result.parts[0].external_id == "9"


def test_a_filtered_record_previews_as_filtered_with_the_condition(fake_platform):
    with integration_off():
        customer = CustomerFactory(name="Lead Ltd")
    setting = EntitySetting.objects.get(platform=PLATFORM, entity=Entity.CUSTOMER)
    ExportFilter.objects.create(
        setting=setting, field="status", condition=FilterCondition.EQUALS, value="live"
    )

    result = preview(customer)

    assert result.action == "filtered"
    assert result.filtered_by == "Excluded by the export filter: status equals live"
    assert result.parts == []


@pytest.mark.parametrize(
    ("setup", "problem"),
    [
        pytest.param(
            lambda: integration_set(enabled=False),
            "The Fake platform integration is off or its customer entity is not exported: "
            "nothing would be sent.",
            id="integration off",
        ),
        pytest.param(
            lambda: ExportFilter.objects.create(
                setting=EntitySetting.objects.get(platform=PLATFORM, entity=Entity.CUSTOMER),
                field="credit_rating",
                condition=FilterCondition.EQUALS,
                value="A",
            ),
            'The export filter "credit_rating equals A" of fake customer records cannot be applied',
            id="unusable filter",
        ),
    ],
)
def test_a_preview_that_could_not_be_sent_says_why(fake_platform, setup, problem):
    with integration_off():
        customer = CustomerFactory(name="Blocked Ltd")
    setup()

    result = preview(customer)

    assert result.action == "refused"
    assert any(p.startswith(problem) for p in result.problems), result.problems


def test_a_record_missing_a_key_field_previews_as_refused_naming_it(fake_platform):
    with integration_off():
        contact = ContactFactory(first_name="Ann", last_name="Lee", email="")

    result = preview(contact, Entity.CONTACT)

    assert result.action == "refused"
    assert result.problems == ["Contact Ann Lee has no email, which the fake platform requires."]
    assert len(result.parts) == 1  # the fields are still shown


def test_a_record_the_connector_does_not_take_previews_as_refused_with_the_reason(
    fake_platform, monkeypatch
):
    monkeypatch.setattr(FakeConnector, "skip_reason", lambda self, e, r: "it is a lead.")
    with integration_off():
        customer = CustomerFactory()

    result = preview(customer)

    assert (result.action, result.problems) == ("refused", ["Not sent: it is a lead."])


@pytest.mark.parametrize(
    ("platform", "entity", "object_id", "error", "message"),
    [
        ("nowhere", Entity.CUSTOMER, 1, UnknownPlatform, 'Unknown platform "nowhere"'),
        (PLATFORM, Entity.ASSET, 1, SyncError, "Fake platform does not take asset records."),
        (PLATFORM, Entity.CUSTOMER, 999_999, SyncError, "There is no customer #999999."),
    ],
)
def test_a_preview_of_something_unknown_is_refused_with_a_message(
    db, platform, entity, object_id, error, message
):
    with pytest.raises(error, match=message):
        record_preview(platform=platform, entity=entity, object_id=object_id)
