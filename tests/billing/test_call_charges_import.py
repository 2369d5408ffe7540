"""Call charge imports (seed 004): rows matched by the Connect account code become charges on
the location's batch sheet, unmatched rows are listed with the reason and matched again later,
a bad file changes nothing, the same file twice is refused unless forced."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing import call_charges
from billing.models import (
    AccountCode,
    BatchCharge,
    BatchSheet,
    ChargeImport,
    ChargeImportRow,
    ChargeImportStatus,
)
from tests.factories import AccountCodeFactory, CustomerFactory, LeadFactory, LocationFactory

from .call_charge_helpers import import_file, import_settings
from .call_logger_files import call_file, call_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def settings_():
    return import_settings()


def test_matched_rows_become_charges_on_the_call_logger_batch_sheet(settings_):
    acme = CustomerFactory(name="Acme")
    AccountCodeFactory(customer=acme, code="1001")

    charge_import = import_file(
        call_file(call_row("1001", amount="0.42"), call_row("1001", at="10:00:00", amount="1.10")),
        settings=settings_,
    )

    sheet = BatchSheet.objects.get()
    assert sheet.name == "essensys call logger v2"
    assert (sheet.location, sheet.product_group) == (
        settings_["location"],
        settings_["product_group"],
    )
    charges = list(sheet.charges.order_by("amount"))
    assert [(c.customer, c.amount) for c in charges] == [
        (acme, Decimal("0.42")),
        (acme, Decimal("1.10")),
    ]
    first = charges[0]
    assert first.product == settings_["product"]
    assert (first.batch_date, first.reference_date, first.reference_text) == (
        settings_["batch_date"],
        settings_["reference_date"],
        "June calls",
    )
    assert "07700900123" in first.description
    assert (charge_import.row_count, charge_import.matched_count) == (2, 2)
    assert charge_import.status == ChargeImportStatus.MATCHED
    assert charge_import.total_amount == Decimal("1.52")


def test_account_codes_match_without_regard_to_case(settings_):
    AccountCodeFactory(customer=CustomerFactory(), code="acc-7")

    charge_import = import_file(call_file(call_row("ACC-7")), settings=settings_)

    assert charge_import.matched_count == 1


def test_unmatched_rows_are_kept_with_the_reason_and_make_no_charge(settings_):
    AccountCodeFactory(customer=CustomerFactory(), code="1001")

    charge_import = import_file(
        call_file(call_row("1001"), call_row("9999", amount="2.00")), settings=settings_
    )

    unmatched = ChargeImportRow.objects.get(charge_import=charge_import, customer__isnull=True)
    assert unmatched.line_number == 3
    assert unmatched.account_code == "9999"
    assert unmatched.unmatched_reason.startswith('No customer has the Connect account code "9999"')
    assert unmatched.raw[0] == "9999"
    assert not BatchCharge.objects.filter(import_row=unmatched).exists()
    assert (charge_import.matched_count, charge_import.unmatched_count) == (1, 1)
    assert charge_import.status == ChargeImportStatus.UNMATCHED_ROWS


def test_a_code_held_by_a_lead_is_unmatched_with_that_reason(settings_):
    AccountCodeFactory(customer=LeadFactory(name="Prospect Ltd"), code="1001")

    charge_import = import_file(settings=settings_)

    row = charge_import.rows.get()
    assert row.customer is None
    assert "held by Prospect Ltd, a lead" in row.unmatched_reason


def test_after_the_account_code_is_added_unmatched_rows_match_again_without_the_file(settings_):
    charge_import = import_file(
        call_file(call_row("2002", amount="0.50"), call_row("2002", at="11:00:00", amount="0.25")),
        settings=settings_,
    )
    assert charge_import.unmatched_count == 2
    assert not BatchCharge.objects.exists()
    beta = CustomerFactory(name="Beta")
    AccountCodeFactory(customer=beta, code="2002")

    matched = call_charges.charge_import_rematch(charge_import=charge_import)

    charge_import.refresh_from_db()
    assert matched == 2
    assert (charge_import.matched_count, charge_import.unmatched_count) == (2, 0)
    assert charge_import.status == ChargeImportStatus.MATCHED
    assert sorted(BatchCharge.objects.values_list("customer__name", "amount")) == [
        ("Beta", Decimal("0.25")),
        ("Beta", Decimal("0.50")),
    ]
    assert all(row.unmatched_reason == "" for row in charge_import.rows.all())


def test_matching_again_twice_makes_no_second_charge(settings_):
    charge_import = import_file(settings=settings_)
    AccountCodeFactory(customer=CustomerFactory(), code="1001")

    assert call_charges.charge_import_rematch(charge_import=charge_import) == 1
    assert call_charges.charge_import_rematch(charge_import=charge_import) == 0
    assert BatchCharge.objects.count() == 1


def test_rows_matched_after_the_sheet_was_completed_go_on_a_new_open_sheet(settings_):
    AccountCodeFactory(customer=CustomerFactory(), code="1001")
    charge_import = import_file(
        call_file(call_row("1001"), call_row("3003", amount="3.00")), settings=settings_
    )
    first_sheet = BatchSheet.objects.get()
    call_charges.batch_sheet_complete(sheet=first_sheet)
    AccountCodeFactory(customer=CustomerFactory(), code="3003")

    call_charges.charge_import_rematch(charge_import=charge_import)

    assert first_sheet.charges.count() == 1
    second_sheet = BatchSheet.objects.exclude(pk=first_sheet.pk).get()
    assert [c.amount for c in second_sheet.charges.all()] == [Decimal("3.00")]


def test_a_file_with_a_bad_row_imports_nothing_and_reports_every_bad_row(settings_):
    AccountCodeFactory(customer=CustomerFactory(), code="1001")
    content = call_file(
        call_row("1001"),
        call_row("1001", at="10:00:00", amount="-1.00"),
        call_row("1001", at="11:00:00", day="32/01/2025"),
    )

    with pytest.raises(call_charges.ChargeFileRefused) as refused:
        import_file(content, settings=settings_)

    assert [(e.line, e.message[:20]) for e in refused.value.errors] == [
        (3, "Amount -1.00 is nega"),
        (4, 'Call Date "32/01/202'),
    ]
    assert not ChargeImport.objects.exists()
    assert not ChargeImportRow.objects.exists()
    assert not BatchSheet.objects.exists()
    assert not BatchCharge.objects.exists()


def test_an_import_that_fails_midway_rolls_back_whole(settings_, monkeypatch):
    AccountCodeFactory(customer=CustomerFactory(), code="1001")

    def broken(charge_import, rows):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(call_charges, "_charges_add", broken)
    with pytest.raises(RuntimeError):
        import_file(settings=settings_)

    assert not ChargeImport.objects.exists()
    assert not ChargeImportRow.objects.exists()


def test_the_same_file_imported_twice_is_refused(settings_):
    AccountCodeFactory(customer=CustomerFactory(), code="1001")
    first = import_file(settings=settings_)

    with pytest.raises(call_charges.DuplicateChargeFile) as refused:
        import_file(settings=settings_)

    assert refused.value.previous == first
    assert f"import #{first.pk}" in refused.value.message
    assert ChargeImport.objects.count() == 1
    assert BatchCharge.objects.count() == 1


def test_the_same_file_is_refused_even_for_another_location(settings_):
    import_file(settings=settings_)

    with pytest.raises(call_charges.DuplicateChargeFile):
        import_file(settings={**settings_, "location": LocationFactory()})


def test_the_same_file_imports_again_when_the_user_insists(settings_):
    AccountCodeFactory(customer=CustomerFactory(), code="1001")
    import_file(settings=settings_)

    again = import_file(settings=settings_, force=True)

    assert again.forced_duplicate is True
    assert BatchCharge.objects.count() == 2


def test_zero_value_rows_are_skipped_and_counted_when_ignored(settings_):
    AccountCodeFactory(customer=CustomerFactory(), code="1001")
    content = call_file(call_row("1001"), call_row("1001", at="12:00:00", amount="0.00"))

    charge_import = import_file(content, settings=settings_, ignore_zero_values=True)

    assert (charge_import.row_count, charge_import.ignored_count) == (1, 1)
    assert BatchCharge.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"connect_call_logger": False}, "location", "does not use the Connect Call Logger"),
        ({"connect_site_id": ""}, "location", "has no Connect Site ID"),
    ],
)
def test_a_location_must_use_the_call_logger_and_have_a_connect_site_id(change, field, message):
    location = LocationFactory(**change)

    with pytest.raises(ValidationError) as refused:
        import_file(settings=import_settings(location=location))

    assert message in " ".join(refused.value.message_dict[field])
    assert not ChargeImport.objects.exists()


def test_missing_settings_are_refused_with_a_message_per_field():
    with pytest.raises(ValidationError) as refused:
        import_file(
            settings=import_settings(
                product_group=None, product=None, batch_date=None, reference_date=None
            ),
            import_type="spreadsheet",
        )

    assert set(refused.value.message_dict) == {
        "product_group",
        "product",
        "batch_date",
        "reference_date",
        "import_type",
    }


def test_an_account_code_belongs_to_one_customer_of_a_platform():
    AccountCodeFactory(customer=CustomerFactory(name="Acme"), code="ABC")

    with pytest.raises(ValidationError) as refused:
        AccountCodeFactory(customer=CustomerFactory(), code="abc")

    assert "Customer Acme already has the Connect account code" in refused.value.messages[0]
    assert AccountCode.objects.count() == 1
