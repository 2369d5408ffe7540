"""POST /api/v1/charge-imports/ (multipart) and manage.py import_call_charges: the same
import, the same refusals (every bad row with its line, the duplicate file), permissions."""

import io
import json

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from billing.models import BatchCharge, ChargeImport
from tests.factories import AccountCodeFactory, CustomerFactory, UserFactory

from .call_charge_helpers import import_settings
from .call_logger_files import call_file, call_row

pytestmark = pytest.mark.django_db

URL = reverse("charge-import-list")


def importer(*codenames: str) -> APIClient:
    user = UserFactory()
    for codename in codenames or ("add_chargeimport", "view_chargeimport"):
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="billing", codename=codename)
        )
    api = APIClient()
    api.force_authenticate(user)
    return api


def form(content: bytes, **extra) -> dict:
    settings = import_settings()
    return {
        "location": settings["location"].pk,
        "import_type": "essensys_call_logger",
        "product_group": settings["product_group"].pk,
        "product": settings["product"].pk,
        "batch_date": "2025-07-01",
        "reference_date": "2025-06-30",
        "reference_text": "June calls",
        "file": SimpleUploadedFile("calls.csv", content, content_type="text/csv"),
        **extra,
    }


def test_an_import_answers_201_with_its_summary_and_unmatched_rows():
    AccountCodeFactory(customer=CustomerFactory(), code="1001")
    content = call_file(call_row("1001"), call_row("9999", amount="1.00"))

    answer = importer().post(URL, form(content), format="multipart")

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["row_count"], body["matched_count"], body["unmatched_count"]) == (2, 1, 1)
    assert body["total_amount"] == "1.42"
    assert len(body["batch_sheets"]) == 1
    # The rows are paged apart (a file may hold 100,000): the summary links to them.
    assert "unmatched_rows" not in body
    rows = importer().get(body["unmatched_rows_url"]).json()
    assert rows["count"] == 1
    [unmatched] = rows["results"]
    assert unmatched["line_number"] == 3
    assert unmatched["unmatched_reason"].startswith("No customer has the Connect account code")


def test_an_imports_rows_are_paged_and_filtered_by_matched():
    AccountCodeFactory(customer=CustomerFactory(), code="1001")
    rows = [
        call_row("1001" if n % 3 else "9999", at=f"09:{n // 60:02d}:{n % 60:02d}")
        for n in range(120)
    ]
    body = importer().post(URL, form(call_file(*rows)), format="multipart").json()
    url = reverse("charge-import-rows", args=[body["id"]])
    api = importer()

    first = api.get(url, {"matched": "false", "page_size": 25}).json()
    second = api.get(first["next"]).json()
    every = api.get(url, {"page_size": 500}).json()
    matched = api.get(url, {"matched": "true", "page_size": 100}).json()

    assert first["count"] == 40 and len(first["results"]) == 25
    assert second["next"] is None and len(second["results"]) == 15
    lines = [r["line_number"] for r in first["results"] + second["results"]]
    assert lines == list(range(2, 122, 3))  # rows 0, 3, 6, ... are 9999, in line order
    assert every["count"] == 120 and len(every["results"]) == 120
    assert matched["count"] == 80 and len(matched["results"]) == 80
    assert all(r["customer"] for r in matched["results"])
    assert api.get(url, {"matched": "maybe"}).status_code == 400


def test_the_import_list_holds_no_rows_whatever_their_number():
    rows = [call_row("9999", at=f"10:{n // 60:02d}:{n % 60:02d}") for n in range(300)]
    api = importer()
    api.post(URL, form(call_file(*rows)), format="multipart")

    body = api.get(URL).json()

    [summary] = body["results"]
    assert summary["unmatched_count"] == 300
    page = api.get(summary["unmatched_rows_url"]).json()
    assert page["count"] == 300 and len(page["results"]) == 50  # the API's page size
    assert page["next"].endswith("page=2")


def test_a_bad_file_answers_400_listing_each_bad_row_and_imports_nothing():
    content = call_file(call_row("1001", amount="-2.00"), call_row("1002", day="1/1/2025"))

    answer = importer().post(URL, form(content), format="multipart")

    assert answer.status_code == 400
    assert [row["line"] for row in answer.json()["rows"]] == [2, 3]
    assert "Nothing was imported" in answer.json()["file"][0]
    assert not ChargeImport.objects.exists()


def test_the_same_file_twice_answers_409_unless_forced():
    content = call_file(call_row("1001"))
    api = importer()
    first = api.post(URL, form(content), format="multipart")

    again = api.post(URL, form(content), format="multipart")
    forced = api.post(URL, form(content, force="true"), format="multipart")

    assert (first.status_code, again.status_code, forced.status_code) == (201, 409, 201)
    assert again.json()["previous_import"] == first.json()["id"]
    assert forced.json()["forced_duplicate"] is True


def test_bad_settings_answer_400_with_a_message_per_field():
    answer = importer().post(
        URL, form(call_file(call_row()), batch_date="31/12/2025"), format="multipart"
    )

    assert answer.status_code == 400
    assert "batch_date" in answer.json()


def test_rematch_matches_rows_after_the_account_code_is_added():
    api = importer()
    created = api.post(URL, form(call_file(call_row("5005"))), format="multipart").json()
    AccountCodeFactory(customer=CustomerFactory(), code="5005")

    answer = api.post(reverse("charge-import-rematch", args=[created["id"]]))

    assert answer.status_code == 200
    assert answer.json()["unmatched_count"] == 0
    assert BatchCharge.objects.count() == 1


def test_anonymous_users_and_users_without_the_permission_are_refused():
    content = call_file(call_row())

    anonymous = APIClient().post(URL, form(content), format="multipart")
    viewer = importer("view_chargeimport").post(URL, form(content), format="multipart")

    assert anonymous.status_code in (401, 403)
    assert viewer.status_code == 403
    assert not ChargeImport.objects.exists()


def command(path, *extra, **options):
    settings = import_settings()
    out = io.StringIO()
    call_command(
        "import_call_charges",
        str(path),
        "--location",
        settings["location"].name,
        "--product-group",
        str(settings["product_group"].pk),
        "--product",
        settings["product"].name,
        "--batch-date",
        "2025-07-01",
        "--reference-date",
        "2025-06-30",
        *extra,
        stdout=out,
        stderr=io.StringIO(),
        **options,
    )
    return out.getvalue()


def test_the_command_imports_and_prints_json(tmp_path):
    AccountCodeFactory(customer=CustomerFactory(), code="1001")
    path = tmp_path / "calls.csv"
    path.write_bytes(call_file(call_row("1001")))

    summary = json.loads(command(path, "--json"))

    assert (summary["rows"], summary["matched"], summary["total_amount"]) == (1, 1, "0.42")


def test_the_command_refuses_a_bad_file_with_each_line_and_exit_1(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_bytes(call_file(call_row(amount="0.00")))

    with pytest.raises(CommandError) as refused:
        command(path)

    assert refused.value.returncode == 1
    assert "Line 2: Amount is zero" in str(refused.value)
    assert not ChargeImport.objects.exists()


def test_the_command_refuses_a_duplicate_file_unless_forced(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_bytes(call_file(call_row()))
    command(path)

    with pytest.raises(CommandError) as refused:
        command(path)
    command(path, "--force")

    assert refused.value.returncode == 3
    assert ChargeImport.objects.count() == 2
