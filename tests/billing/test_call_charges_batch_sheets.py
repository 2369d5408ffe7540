"""Batch sheets (seed 004): totals by account and overall, marked completed, then approved
with its own permission and the confirmed totals; an approved sheet can no longer change."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError

from billing import call_charges
from billing.models import BatchCharge, BatchSheet
from tests.factories import AccountCodeFactory, CustomerFactory, UserFactory

from .call_charge_helpers import import_file, import_settings
from .call_logger_files import call_file, call_row

pytestmark = pytest.mark.django_db


def approver(**fields):
    user = UserFactory(**fields)
    user.user_permissions.add(Permission.objects.get(codename="approve_batchsheet"))
    return user


@pytest.fixture
def sheet() -> BatchSheet:
    """A sheet with 3 charges: Acme 0.42 + 1.10, Beta 2.00."""
    AccountCodeFactory(customer=CustomerFactory(name="Acme"), code="1001")
    AccountCodeFactory(customer=CustomerFactory(name="Beta"), code="2002")
    import_file(
        call_file(
            call_row("1001", amount="0.42"),
            call_row("1001", at="10:00:00", amount="1.10"),
            call_row("2002", amount="2.00"),
        ),
        settings=import_settings(),
    )
    return BatchSheet.objects.get()


def test_totals_are_given_by_account_and_overall(sheet):
    totals = call_charges.batch_sheet_totals(sheet=sheet)

    assert [(a.customer_name, a.account_code, a.charges, a.amount) for a in totals.by_account] == [
        ("Acme", "1001", 2, Decimal("1.52")),
        ("Beta", "2002", 1, Decimal("2.00")),
    ]
    assert (totals.charges, totals.amount) == (3, Decimal("3.52"))


def test_a_second_import_adds_to_the_open_sheet_of_the_location_and_product_group(sheet):
    import_file(
        call_file(call_row("2002", day="04/02/2025", amount="0.50")),
        settings=import_settings(
            location=sheet.location,
            product_group=sheet.product_group,
            product=BatchCharge.objects.first().product,
        ),
    )

    assert BatchSheet.objects.count() == 1
    assert call_charges.batch_sheet_totals(sheet=sheet).amount == Decimal("4.02")


def test_a_completed_sheet_takes_no_more_charges_and_the_next_import_opens_a_new_one(sheet):
    call_charges.batch_sheet_complete(sheet=sheet, user=UserFactory())
    product = BatchCharge.objects.first().product

    import_file(
        call_file(call_row("2002", day="05/02/2025", amount="0.75")),
        settings=import_settings(
            location=sheet.location, product_group=sheet.product_group, product=product
        ),
    )

    assert sheet.charges.count() == 3
    new = BatchSheet.objects.exclude(pk=sheet.pk).get()
    assert new.charges.count() == 1
    with pytest.raises(ValidationError, match="completed or approved"):
        BatchCharge.objects.filter(batch_sheet=sheet).first().delete()


def test_completing_records_who_and_when_and_cannot_be_done_twice(sheet):
    user = UserFactory()

    completed = call_charges.batch_sheet_complete(sheet=sheet, user=user)

    assert completed.is_completed and completed.completed_by == user
    with pytest.raises(ValidationError, match="already completed"):
        call_charges.batch_sheet_complete(sheet=sheet, user=user)


def test_approval_needs_its_own_permission(sheet):
    call_charges.batch_sheet_complete(sheet=sheet)
    can_change_only = UserFactory()
    can_change_only.user_permissions.add(Permission.objects.get(codename="change_batchsheet"))

    with pytest.raises(PermissionDenied, match=r"billing\.approve_batchsheet"):
        call_charges.batch_sheet_approve(
            sheet=sheet, user=can_change_only, confirmed_total=Decimal("3.52"), confirmed_charges=3
        )
    assert not BatchSheet.objects.get(pk=sheet.pk).is_approved


def test_approval_needs_the_sheet_completed_first(sheet):
    with pytest.raises(ValidationError, match="not completed"):
        call_charges.batch_sheet_approve(
            sheet=sheet, user=approver(), confirmed_total=Decimal("3.52"), confirmed_charges=3
        )


def test_approval_checks_the_totals_the_approver_confirms(sheet):
    call_charges.batch_sheet_complete(sheet=sheet)

    with pytest.raises(ValidationError) as refused:
        call_charges.batch_sheet_approve(
            sheet=sheet, user=approver(), confirmed_total=Decimal("3.50"), confirmed_charges=2
        )

    assert refused.value.message_dict == {
        "confirmed_total": ["The sheet's total is 3.52, not 3.50: check it again."],
        "confirmed_charges": ["The sheet has 3 charges, not 2."],
    }
    assert not BatchSheet.objects.get(pk=sheet.pk).is_approved


def test_an_approved_sheet_records_the_approval_and_totals(sheet):
    call_charges.batch_sheet_complete(sheet=sheet)
    user = approver()

    approved = call_charges.batch_sheet_approve(
        sheet=sheet, user=user, confirmed_total=Decimal("3.52"), confirmed_charges=3
    )

    assert approved.is_approved and approved.approved_by == user
    assert (approved.approved_total, approved.approved_charge_count) == (Decimal("3.52"), 3)


def test_an_approved_sheet_can_no_longer_change(sheet):
    call_charges.batch_sheet_complete(sheet=sheet)
    call_charges.batch_sheet_approve(
        sheet=sheet, user=approver(), confirmed_total=Decimal("3.52"), confirmed_charges=3
    )
    sheet = BatchSheet.objects.get(pk=sheet.pk)
    charge = sheet.charges.first()

    with pytest.raises(ValidationError, match="approved"):
        call_charges.batch_sheet_reopen(sheet=sheet)
    with pytest.raises(ValidationError, match="approved"):
        call_charges.batch_sheet_complete(sheet=sheet)
    with pytest.raises(ValidationError, match="approved"):
        call_charges.batch_sheet_approve(
            sheet=sheet, user=approver(), confirmed_total=Decimal("3.52"), confirmed_charges=3
        )
    sheet.name = "renamed"
    with pytest.raises(ValidationError, match="approved"):
        sheet.save()
    with pytest.raises(ValidationError, match="approved"):
        BatchSheet.objects.get(pk=sheet.pk).delete()
    charge.amount = Decimal("0.01")
    with pytest.raises(ValidationError):
        charge.save()
    with pytest.raises(ValidationError):
        charge.delete()
    fresh = BatchSheet.objects.get(pk=sheet.pk)
    assert fresh.name == "essensys call logger v2"
    assert call_charges.batch_sheet_totals(sheet=fresh).amount == Decimal("3.52")


def test_a_completed_sheet_can_be_reopened_before_approval(sheet):
    call_charges.batch_sheet_complete(sheet=sheet)

    reopened = call_charges.batch_sheet_reopen(sheet=sheet)

    assert not reopened.is_completed


def test_a_sheet_without_charges_cannot_be_completed():
    settings = import_settings()
    empty = BatchSheet.objects.create(
        location=settings["location"], product_group=settings["product_group"]
    )

    with pytest.raises(ValidationError, match="no charges"):
        call_charges.batch_sheet_complete(sheet=empty)
