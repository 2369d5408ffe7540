"""Export filtering conditions (seed 003): which records are sent, and why others are not."""

import pytest

from connectors.choices import Entity, ErrorKind, FilterCondition, JobStatus
from connectors.models import EntitySetting, ExportFilter
from connectors.selectors import (
    FilterUnusable,
    condition_holds,
    export_filter_problem,
    field_value,
    record_excluded_by,
)
from customers.models import CustomerClass
from tests.connectors.engine_helpers import job_of
from tests.connectors.fake import PLATFORM
from tests.factories import ContactFactory, CustomerFactory, SiteFactory

C = FilterCondition


def export_filter(entity: str, field: str, condition: str, value: str = "", active: bool = True):
    setting, _ = EntitySetting.objects.get_or_create(platform=PLATFORM, entity=entity)
    return ExportFilter.objects.create(
        setting=setting, field=field, condition=condition, value=value, active=active
    )


# --- each condition ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("condition", "actual", "expected", "holds"),
    [
        (C.EQUALS, "Live", "live", True),  # case-insensitive
        (C.EQUALS, " Live ", "Live", True),  # trimmed
        (C.EQUALS, "Live", "Cancelled", False),
        (C.EQUALS, None, "", True),  # an empty link equals nothing
        (C.NOT_EQUALS, "Live", "cancelled", True),
        (C.NOT_EQUALS, "LIVE", "live", False),
        (C.EMPTY, "", "", True),
        (C.EMPTY, None, "", True),
        (C.EMPTY, "   ", "", True),
        (C.EMPTY, "x", "", False),
        (C.NOT_EMPTY, "x", "", True),
        (C.NOT_EMPTY, None, "", False),
        (C.CONTAINS, "Acme Holdings Ltd", "holdings", True),
        (C.CONTAINS, "Acme Ltd", "holdings", False),
        (C.IN, "Wholesale", "retail, wholesale ,trade", True),
        (C.IN, "Wholesale", "retail,trade", False),
        (C.IN, "", "retail,", True),  # an empty entry matches an empty value
        (C.EQUALS, 42, "42", True),  # non-text values compare as text
        (C.EQUALS, True, "true", True),
    ],
)
def test_each_export_condition_holds_as_staff_would_expect(condition, actual, expected, holds):
    assert condition_holds(condition, actual, expected) is holds


def test_an_unknown_condition_cannot_be_evaluated():
    with pytest.raises(FilterUnusable, match='Unknown filter condition "between"'):
        condition_holds("between", "x", "y")


@pytest.mark.django_db
def test_a_field_path_follows_links_and_an_empty_link_is_empty():
    wholesale = CustomerClass.objects.create(code="WHOLESALE")
    classed = CustomerFactory(customer_class=wholesale)
    site = SiteFactory(customer=classed)
    unclassed = CustomerFactory()

    assert field_value(classed, "customer_class__code") == "WHOLESALE"
    assert field_value(site, "customer__customer_class__code") == "WHOLESALE"
    assert field_value(unclassed, "customer_class__code") is None
    assert field_value(classed, "customer_class") == wholesale


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("colour", 'Customer has no field "colour" (in "colour").'),
        ("customer_class__colour", 'CustomerClass has no field "colour"'),
        ("sites__name", '"sites__name" goes through a list of records; filters need one value.'),
        ("_state", 'Customer has no field "_state"'),
        ("get_stage_display", '"get_stage_display" (in "get_stage_display") is not a field.'),
    ],
)
def test_a_field_path_that_names_no_single_value_is_refused_with_a_message(path, message):
    customer = CustomerFactory(customer_class=CustomerClass.objects.create(code="A"))

    with pytest.raises(FilterUnusable) as raised:
        field_value(customer, path)

    assert message in str(raised.value)


@pytest.mark.django_db
def test_every_active_condition_must_hold_and_the_first_failing_one_is_named():
    customer = CustomerFactory(name="Acme Ltd", email="")
    holds = export_filter(Entity.CUSTOMER, "name", C.CONTAINS, "acme")
    export_filter(Entity.CUSTOMER, "email", C.NOT_EMPTY, active=False)
    fails = export_filter(Entity.CUSTOMER, "status", C.EQUALS, "live")
    export_filter(Entity.CUSTOMER, "name", C.EQUALS, "Other Ltd")

    assert record_excluded_by(customer, [holds]) is None
    assert record_excluded_by(customer, ExportFilter.objects.filter(active=True)) == fails


# --- a filtered record is recorded, never dropped -------------------------------------------------
def test_a_filtered_record_is_recorded_with_its_condition_and_nothing_is_sent(fake_platform):
    export_filter(Entity.CUSTOMER, "customer_class__code", C.IN, "WHOLESALE, TRADE")
    retail = CustomerClass.objects.create(code="RETAIL")

    customer = CustomerFactory(name="Retail Ltd", customer_class=retail)

    job = job_of(customer)
    assert job.status == JobStatus.FILTERED
    assert job.filtered_by == (
        "Excluded by the export filter: customer_class__code is in (comma-separated) "
        "WHOLESALE, TRADE"
    )
    assert not job.in_error_queue
    assert fake_platform.calls() == []


def test_a_record_meeting_the_conditions_is_sent(fake_platform):
    export_filter(Entity.CUSTOMER, "customer_class__code", C.EQUALS, "wholesale")
    wholesale = CustomerClass.objects.create(code="WHOLESALE")

    customer = CustomerFactory(name="Wholesale Ltd", customer_class=wholesale)

    assert job_of(customer).status == JobStatus.SUCCEEDED
    assert [a["name"] for a in fake_platform.state["accounts"].values()] == ["Wholesale Ltd"]


def test_a_filtered_dependency_fails_its_dependent_naming_the_condition(fake_platform):
    export_filter(Entity.CUSTOMER, "email", C.NOT_EMPTY)
    customer = CustomerFactory(name="No Email Ltd", email="")

    contact = ContactFactory(customer=customer)

    job = job_of(contact, Entity.CONTACT)
    assert (job.status, job.error_kind) == (JobStatus.FAILED, ErrorKind.DEPENDENCY)
    assert "Excluded by the export filter: email is not empty" in job.last_error
    assert fake_platform.calls() == []


def test_a_condition_naming_a_field_that_no_longer_exists_fails_as_configuration(fake_platform):
    export_filter(Entity.CUSTOMER, "credit_rating", C.EQUALS, "A")

    customer = CustomerFactory(name="Rated Ltd")

    job = job_of(customer)
    assert (job.status, job.error_kind) == (JobStatus.FAILED, ErrorKind.CONFIGURATION)
    assert job.last_error == (
        'The export filter "credit_rating equals A" of fake customer records cannot be '
        'applied: Customer has no field "credit_rating" (in "credit_rating"). Correct it in '
        "the entity settings."
    )
    assert fake_platform.calls() == []


# --- checking a condition before it is saved ---------------------------------------------------
@pytest.mark.parametrize(
    ("entity", "field", "condition", "value", "message"),
    [
        (Entity.CUSTOMER, "name", C.EQUALS, "Acme", ""),
        (Entity.CUSTOMER, "customer_class__code", C.IN, "A,B", ""),
        (Entity.SITE, "customer__customer_class__code", C.EQUALS, "A", ""),
        (Entity.CUSTOMER, "email", C.EMPTY, "", ""),
        (Entity.CUSTOMER, "", C.EQUALS, "x", "Name the field to filter on."),
        (Entity.CUSTOMER, "colour", C.EQUALS, "x", 'Customer has no field "colour". Fields: '),
        (
            Entity.CUSTOMER,
            "sites",
            C.NOT_EMPTY,
            "",
            '"sites" is a list of records; a filter needs a single value.',
        ),
        (
            Entity.CUSTOMER,
            "name__code",
            C.EQUALS,
            "x",
            '"name" is not a link to another record, so "name__code" goes nowhere.',
        ),
        (Entity.CUSTOMER, "email", C.EMPTY, "x", "This condition takes no value."),
        (Entity.CUSTOMER, "name", C.CONTAINS, "  ", "This condition needs a value."),
        (Entity.CUSTOMER, "name", "between", "x", 'Unknown condition "between". Conditions: '),
        ("invoice", "name", C.EQUALS, "x", 'Unknown entity "invoice". Entities: customer'),
    ],
)
def test_export_filter_problem_says_what_is_wrong_with_a_condition(
    db, entity, field, condition, value, message
):
    problem = export_filter_problem(entity, field, condition, value)

    if message:
        assert problem.startswith(message), problem
    else:
        assert problem == ""


def test_export_filter_problem_lists_the_fields_that_can_be_used(db):
    problem = export_filter_problem(Entity.CUSTOMER, "colour", C.EQUALS, "x")

    fields = problem.split("Fields: ")[1].split(", ")
    assert {"name", "email", "customer_class", "status"} <= set(fields)
    assert "sites" not in fields
