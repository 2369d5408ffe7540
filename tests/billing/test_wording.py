"""What billing's pages and messages say of counts and times: one and many in their own
forms (ngettext: "1 line", never "1 lines"), times in the one local format of the admin
(no ISO beside it)."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing import call_charges
from billing.call_logger import LineError
from billing.models import BatchSheet, ChargeImport
from billing.views import transferred_text
from layer_sync.wording import local_date, local_datetime
from tests.admin_helpers import page_messages
from tests.billing.call_charge_helpers import import_file, import_settings
from tests.billing.call_logger_files import call_file, call_row
from tests.billing.test_export_api import page_client, ready_line  # noqa: F401
from tests.factories import AccountCodeFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("count", "text"), [(1, "1 problem"), (2, "2 problems"), (0, "0 problems")]
)
def test_a_refused_file_counts_its_problems_in_the_right_form(count, text):
    refused = call_charges.ChargeFileRefused([LineError(n + 2, "bad") for n in range(count)])

    assert str(refused) == f"The file was refused: {text}."


def test_transfer_messages_count_components_and_lines_in_their_own_forms():
    assert transferred_text(1, 1, "Affinity", 7) == (
        "Transferred 1 component of 1 line to Affinity: it is In Billing (transfer #7)."
    )
    assert transferred_text(3, 2, "Affinity", 8) == (
        "Transferred 3 components of 2 lines to Affinity: they are In Billing (transfer #8)."
    )


def test_transferring_one_line_from_the_page_says_one_line(page_client):  # noqa: F811
    line = ready_line()

    response = page_client.post(
        reverse("billing-export"),
        {"route": "affinity", "action": "transfer_confirmed", "lines": [line.pk]},
        follow=True,
    )

    [message] = page_messages(response)
    assert " of 1 line to " in message
    assert "1 lines" not in message and "1 components" not in message


def test_a_sheet_of_one_charge_says_one_charge_when_the_confirmation_differs():
    AccountCodeFactory(customer=CustomerFactory(name="Acme"), code="1001")
    import_file(call_file(call_row("1001", amount="0.42")), settings=import_settings())
    sheet = BatchSheet.objects.get()
    user = UserFactory(is_superuser=True, is_staff=True)
    call_charges.batch_sheet_complete(sheet=sheet, user=user)

    with pytest.raises(ValidationError) as refused:
        call_charges.batch_sheet_approve(
            sheet=sheet, user=user, confirmed_total=Decimal("0.42"), confirmed_charges=2
        )

    assert refused.value.message_dict["confirmed_charges"] == ["The sheet has 1 charge, not 2."]


def test_a_duplicate_file_says_when_in_the_local_format():
    content = call_file(call_row("1001"))
    import_file(content, settings=import_settings())
    previous = ChargeImport.objects.get()
    ChargeImport.objects.filter(pk=previous.pk).update(
        created_at=datetime(2026, 7, 1, 13, 5, tzinfo=ZoneInfo("UTC"))
    )

    with pytest.raises(call_charges.DuplicateChargeFile) as duplicate:
        import_file(content, settings=import_settings())

    # 13:05 UTC is 14:05 in London in July (BST), in the admin's own format.
    assert "already imported on 1 Jul 2026, 2:05 p.m. by" in str(duplicate.value)


def test_times_and_dates_read_as_the_admins_own_fields_do():
    when = datetime(2026, 1, 5, 9, 30, tzinfo=ZoneInfo("UTC"))

    assert local_datetime(when) == "5 Jan 2026, 9:30 a.m."
    assert local_date(when.date()) == "5 Jan 2026"
    assert local_datetime(None) == local_date(None) == ""


def background_call_charges(content: bytes):
    from billing.background_imports import (
        CALL_CHARGES,
        background_import_run,
        background_import_start,
        call_charge_parameters,
    )

    job = background_import_start(
        kind=CALL_CHARGES,
        file_name="calls.csv",
        content=content,
        parameters=call_charge_parameters(
            **import_settings(),
            import_type="essensys_call_logger",
            force=False,
            ignore_zero_values=True,
        ),
        user=None,
    )
    background_import_run(import_id=job.pk)
    job.refresh_from_db()
    return job


def test_a_background_import_of_one_row_says_one_row_and_one_skipped():
    job = background_call_charges(
        call_file(call_row("1001"), call_row("1002", at="10:00:00", amount="0.00"))
    )

    assert job.message == "Imported 1 row: 0 matched, 1 unmatched, 1 zero-value row skipped."


def test_a_background_import_refused_for_one_problem_says_one_problem():
    job = background_call_charges(call_file(call_row("1001", amount="lots")))

    assert job.message.startswith("The file was refused: 1 problem, listed below.")
