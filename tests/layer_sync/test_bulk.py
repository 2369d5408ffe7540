"""layer_sync.bulk.bulk_insert: rows as tuples, each value adapted as the ORM would."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing.models import ChargeImport, ChargeImportRow
from layer_sync.bulk import bulk_insert
from tests.factories import InventoryItemFactory, LocationFactory, ProductGroupFactory

pytestmark = pytest.mark.django_db

UK = ZoneInfo("Europe/London")


@pytest.fixture
def charge_import():
    return ChargeImport.objects.create(
        location=LocationFactory(),
        product_group=ProductGroupFactory(),
        product=InventoryItemFactory(),
        batch_date=date(2025, 7, 1),
        reference_date=date(2025, 6, 30),
        file_name="calls.csv",
        file_sha256="0" * 64,
    )


def test_inserted_rows_read_back_as_the_orm_would_have_saved_them(charge_import):
    called = datetime(2025, 6, 1, 23, 30, 5, tzinfo=UK)  # 22:30 UTC: the offset is kept
    fields = ("charge_import_id", "line_number", "raw", "account_code", "called_at", "cli")
    fields += ("dialled_number", "destination", "duration_seconds", "amount", "customer_id")
    fields += ("unmatched_reason", "matched_at")
    rows = [
        (charge_import.pk, n, ["a", "b,c"], "1001", called, "201", "0770", "", 60, "0.42",
         None, "none", None)
        for n in range(2, 2 + 2_500)  # more than one batch
    ]  # fmt: skip

    assert bulk_insert(ChargeImportRow, fields, rows, batch_size=1_000) == 2_500

    saved = ChargeImportRow.objects.order_by("line_number")
    assert saved.count() == 2_500
    first = saved.first()
    assert first.raw == ["a", "b,c"]
    assert first.called_at == called
    assert first.amount == Decimal("0.42")
    assert first.customer_id is None and first.unmatched_reason == "none"
    assert saved.last().line_number == 2_501


def test_an_unknown_column_or_a_relation_not_given_by_its_id_is_refused(charge_import):
    with pytest.raises(ValueError, match="has no column charge_import"):
        bulk_insert(ChargeImportRow, ("charge_import", "line_number"), [(charge_import, 2)])
    assert not ChargeImportRow.objects.exists()
