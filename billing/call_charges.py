"""Call charges from essensys Connect (seed 004): account codes, imports, batch sheets.

Services (writes) and selectors (reads) of the call charge subdomain, kept
out of billing/services.py by subdomain. The admin pages, the API and
``manage.py import_call_charges`` are adapters over these.

- ``account_code_set``: the code a platform knows a customer by (for Connect,
  the client's Billing Reference), matched against the file's Account Code.
- ``charge_import_create``: parse the file (``billing.call_logger``), refuse
  it whole if any row is bad or the same file was imported before (unless
  forced), else record every row, match each to a customer by its account
  code and put the matched ones as charges on the open batch sheet of the
  location and product group. All or nothing.
- ``charge_import_rematch``: match the unmatched rows again (after account
  codes were added), without the file.
- ``batch_sheet_complete`` / ``batch_sheet_reopen`` / ``batch_sheet_approve``:
  open → completed → approved; approval needs ``billing.approve_batchsheet``
  and the totals the approver confirms; an approved sheet never changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import ngettext

from customers.choices import CustomerStage
from customers.models import Customer
from layer_sync.bulk import bulk_insert
from layer_sync.wording import local_datetime

from .call_logger import CallRecord, LineError, call_logger_parse
from .choices import PlatformCode
from .models import (
    AccountCode,
    BatchCharge,
    BatchSheet,
    BillingPlatform,
    CallChargeImportType,
    ChargeImport,
    ChargeImportRow,
    ChargeImportStatus,
    InventoryItem,
    Location,
    ProductGroup,
)

APPROVE_PERMISSION = "billing.approve_batchsheet"
REFERENCE_TEXT_MAX = ChargeImport._meta.get_field("reference_text").max_length
ACCOUNT_CODE_MAX = AccountCode._meta.get_field("code").max_length


def problems_text(count: int) -> str:
    """ "1 problem", "2 problems"."""
    return ngettext("%(count)d problem", "%(count)d problems", count) % {"count": count}


def rows_text(count: int) -> str:
    """ "1 row", "2 rows"."""
    return ngettext("%(count)d row", "%(count)d rows", count) % {"count": count}


class ChargeFileRefused(Exception):
    """The file breaks the format: nothing was imported. ``errors`` lists every problem."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(f"The file was refused: {problems_text(len(errors))}.")
        self.errors = errors


class DuplicateChargeFile(Exception):
    """The same file (by SHA-256 of its bytes) was imported before; ``previous`` says when."""

    def __init__(self, previous: ChargeImport) -> None:
        when = local_datetime(previous.created_at)
        who = previous.created_by.get_username() if previous.created_by else "someone"
        super().__init__(
            f"This file was already imported on {when} by {who} as import #{previous.pk} "
            f'("{previous.file_name}"). Import it again only if you mean to charge its calls '
            "twice (tick “import anyway” / --force / force=true)."
        )
        self.previous = previous
        self.message = str(self)


def file_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _pounds(value: Decimal | None) -> Decimal:
    """An amount to the penny (SQLite's sums come back with many decimal places)."""
    return (value or Decimal("0")).quantize(Decimal("0.01"))


def _platform(code: str, *, lock: bool = False) -> BillingPlatform:
    queryset = BillingPlatform.objects.select_for_update() if lock else BillingPlatform.objects
    return queryset.get(code=code)


# --- account codes ---------------------------------------------------------------------------
def account_code_validate(*, customer: Customer, platform: BillingPlatform, code: str) -> str:
    """The code trimmed, or ValidationError({"code": ...}) naming the customer that has it."""
    code = (code or "").strip()
    if not code:
        raise ValidationError({"code": "Enter the account code."})
    if len(code) > ACCOUNT_CODE_MAX:
        raise ValidationError({"code": f"At most {ACCOUNT_CODE_MAX} characters."})
    clash = (
        AccountCode.objects.filter(platform=platform)
        .annotate(lowered=Lower("code"))
        .filter(lowered=code.lower())
        .exclude(customer=customer)
        .select_related("customer")
        .first()
    )
    if clash is not None:
        raise ValidationError(
            {"code": f'Customer {clash.customer} already has the {platform} account code "{code}".'}
        )
    return code


def account_code_set(
    *, customer: Customer, platform_code: str, code: str, location: Location | None = None
) -> AccountCode:
    """Give the customer its account code on a platform, at a location (replacing the one it
    had; ``location`` None keeps the location it had)."""
    platform = _platform(platform_code)
    code = account_code_validate(customer=customer, platform=platform, code=code)
    defaults: dict[str, Any] = {"code": code}
    if location is not None:
        defaults["location"] = location
    try:
        with transaction.atomic():
            account_code, _ = AccountCode.objects.update_or_create(
                customer=customer, platform=platform, defaults=defaults
            )
    except IntegrityError:
        raise ValidationError(
            {"code": f'Another customer has the account code "{code}".'}
        ) from None
    return account_code


def _codes_by_value(codes: Iterable[str]) -> dict[str, AccountCode]:
    """The Connect account codes among ``codes``, with their customer and location, by the
    code lower-cased."""
    wanted = {code.lower() for code in codes}
    if not wanted:
        return {}
    found = (
        AccountCode.objects.filter(platform__code=PlatformCode.CONNECT)
        .annotate(lowered=Lower("code"))
        .filter(lowered__in=wanted)
        .select_related("customer", "location")
    )
    return {row.lowered: row for row in found}


def account_code_match(
    *, code: str, account: AccountCode | None, location: Location
) -> tuple[Customer | None, str]:
    """The customer a call charge row of an import at ``location`` matches, or why none.

    Seed 004: "If the wrong location is selected, your charges will not be matched to an
    account because that account cannot be found in the system, at the location you've
    selected": a code matches only when its account is at the import's location.
    """
    if account is None:
        return None, (
            f'No customer has the Connect account code "{code}". Add it to the customer '
            "(Account codes), then match again."
        )
    customer = account.customer
    if account.location_id is None:
        return None, (
            f'The account code "{code}" of {customer} has no location: set its location '
            f"(Account codes) to {location} if the account is there, then match again."
        )
    if account.location_id != location.pk:
        return None, (
            f'The account code "{code}" is {customer}\'s at {account.location}, not at '
            f"{location}, the location chosen for this import: import the file at the "
            "location the calls were made at."
        )
    if customer.stage != CustomerStage.CUSTOMER:
        return None, (
            f'The account code "{code}" is held by {customer}, a lead: convert it, then '
            "match again."
        )
    return customer, ""


# --- batch sheets ----------------------------------------------------------------------------
def batch_sheet_open(*, location: Location, product_group: ProductGroup) -> BatchSheet:
    """The open call logger sheet of a location and product group (made if there is none)."""
    sheet = (
        BatchSheet.objects.select_for_update()
        .filter(
            location=location,
            product_group=product_group,
            name=BatchSheet.CALL_LOGGER_NAME,
            completed_at__isnull=True,
        )
        .first()
    )
    if sheet is None:
        sheet = BatchSheet.objects.create(
            location=location, product_group=product_group, name=BatchSheet.CALL_LOGGER_NAME
        )
    return sheet


def _charge_description(row: ChargeImportRow | CallRecord) -> str:
    called = timezone.localtime(row.called_at).strftime("%d/%m/%Y %H:%M:%S")
    minutes, seconds = divmod(row.duration_seconds, 60)
    where = f" {row.destination}" if row.destination else ""
    return f"Call {called} {row.cli} → {row.dialled_number}{where} ({minutes}:{seconds:02d})"[:255]


ChargeSource = tuple[int, int, "ChargeImportRow | CallRecord"]
CHARGE_FIELDS = (
    "batch_sheet_id",
    "customer_id",
    "product_id",
    "import_row_id",
    "batch_date",
    "reference_date",
    "reference_text",
    "description",
    "amount",
    "created_at",
)
ROW_FIELDS = (
    "charge_import_id",
    "line_number",
    "raw",
    "account_code",
    "called_at",
    "cli",
    "dialled_number",
    "destination",
    "duration_seconds",
    "amount",
    "customer_id",
    "unmatched_reason",
    "matched_at",
)


def _charges_add(charge_import: ChargeImport, rows: list[ChargeSource]) -> BatchSheet | None:
    """Put matched rows on the open sheet of the import's location and product group.

    ``rows`` are (import row id, customer id, the row or its parsed record). Inserted
    in batches without a model instance each: a file may hold 100,000 calls.
    """
    if not rows:
        return None
    sheet = batch_sheet_open(
        location=charge_import.location, product_group=charge_import.product_group
    )
    now = timezone.now()
    bulk_insert(
        BatchCharge,
        CHARGE_FIELDS,
        (
            (
                sheet.pk,
                customer_id,
                charge_import.product_id,
                row_id,
                charge_import.batch_date,
                charge_import.reference_date,
                charge_import.reference_text,
                _charge_description(source),
                source.amount,
                now,
            )
            for row_id, customer_id, source in rows
        ),
    )
    BatchSheet.objects.filter(pk=sheet.pk).update(updated_at=now)
    return sheet


def _counts_refresh(charge_import: ChargeImport) -> None:
    counts = charge_import.rows.aggregate(
        rows=Count("pk"), matched=Count("customer"), total=Sum("amount")
    )
    charge_import.row_count = counts["rows"]
    charge_import.matched_count = counts["matched"]
    charge_import.unmatched_count = counts["rows"] - counts["matched"]
    charge_import.total_amount = _pounds(counts["total"])
    charge_import.status = (
        ChargeImportStatus.UNMATCHED_ROWS
        if charge_import.unmatched_count
        else ChargeImportStatus.MATCHED
    )
    charge_import.save(
        update_fields=["row_count", "matched_count", "unmatched_count", "total_amount", "status"]
    )


# --- imports ---------------------------------------------------------------------------------
def charge_import_validate(
    *,
    location: Location | None,
    import_type: str,
    product_group: ProductGroup | None,
    product: InventoryItem | None,
    batch_date: date | None,
    reference_date: date | None,
    reference_text: str = "",
    file_name: str = "",
) -> None:
    """The import's settings, checked: ValidationError with a message per field."""
    errors: dict[str, str] = {}
    if location is None:
        errors["location"] = "Choose the location the calls were made at."
    elif not location.connect_call_logger:
        errors["location"] = (
            f"{location} does not use the Connect Call Logger: tick Connect Call Logger on the "
            "location first."
        )
    elif not location.connect_site_id.strip():
        errors["location"] = f"{location} has no Connect Site ID: set it on the location first."
    if import_type not in CallChargeImportType.values:
        errors["import_type"] = (
            f'Unknown import type "{import_type}": use {", ".join(CallChargeImportType.values)}.'
        )
    if product_group is None:
        errors["product_group"] = "Choose the product group (e.g. Telephone Charges)."
    if product is None:
        errors["product"] = "Choose the product being charged (e.g. Call Charges)."
    if batch_date is None:
        errors["batch_date"] = "Enter the batch date: the date the charges are billed to."
    if reference_date is None:
        errors["reference_date"] = "Enter the reference date."
    if len(reference_text or "") > REFERENCE_TEXT_MAX:
        errors["reference_text"] = f"At most {REFERENCE_TEXT_MAX} characters."
    if not file_name.strip():
        errors["file"] = "Choose the file to import."
    if errors:
        raise ValidationError(errors)


def charge_import_duplicate_check(*, content: bytes) -> None:
    """DuplicateChargeFile if the same file (by its bytes) was imported before."""
    previous = (
        ChargeImport.objects.filter(file_sha256=file_digest(content))
        .select_related("created_by")
        .order_by("pk")
        .first()
    )
    if previous is not None:
        raise DuplicateChargeFile(previous)


def charge_import_create(
    *,
    location: Location | None,
    product_group: ProductGroup | None,
    product: InventoryItem | None,
    batch_date: date | None,
    reference_date: date | None,
    file_name: str,
    content: bytes,
    import_type: str = CallChargeImportType.ESSENSYS_CALL_LOGGER,
    reference_text: str = "",
    user: Any = None,
    force: bool = False,
    ignore_zero_values: bool = False,
    today: date | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ChargeImport:
    """Import a call logger file, all or nothing.

    Raises ValidationError (bad settings, a message per field), ChargeFileRefused
    (every bad row with its line) or DuplicateChargeFile (the same bytes were
    imported before and ``force`` is off). Nothing is written unless all is well.
    ``progress(phase, done, total)`` hears how far it has got: ``"checking"`` with
    lines read, then ``"saving"`` with the rows being saved (in one transaction).
    """
    charge_import_validate(
        location=location,
        import_type=import_type,
        product_group=product_group,
        product=product,
        batch_date=batch_date,
        reference_date=reference_date,
        reference_text=reference_text,
        file_name=file_name,
    )
    parsed = call_logger_parse(
        content,
        ignore_zero_values=ignore_zero_values,
        today=today,
        progress=(lambda done, total: progress("checking", done, total)) if progress else None,
    )
    if parsed.errors:
        raise ChargeFileRefused(parsed.errors)
    if progress is not None:
        progress("saving", 0, len(parsed.records))
    digest = file_digest(content)
    with transaction.atomic():
        # One import at a time: the duplicate check and the open sheet stay true until commit.
        _platform(PlatformCode.CONNECT, lock=True)
        previous = (
            ChargeImport.objects.filter(file_sha256=digest)
            .select_related("created_by")
            .order_by("pk")
            .first()
        )
        if previous is not None and not force:
            raise DuplicateChargeFile(previous)
        charge_import = ChargeImport.objects.create(
            import_type=import_type,
            location=location,
            product_group=product_group,
            product=product,
            batch_date=batch_date,
            reference_date=reference_date,
            reference_text=(reference_text or "").strip(),
            file_name=file_name.strip()[:255],
            file_sha256=digest,
            file_size=len(content),
            ignore_zero_values=ignore_zero_values,
            forced_duplicate=previous is not None,
            ignored_count=len(parsed.ignored_zero_lines),
            created_by=user if getattr(user, "pk", None) else None,
        )
        accounts = _codes_by_value(r.account_code for r in parsed.records)
        now = timezone.now()
        matched: dict[int, tuple[int, CallRecord]] = {}

        def row_values():
            for record in parsed.records:
                customer, reason = account_code_match(
                    code=record.account_code,
                    account=accounts.get(record.account_code.lower()),
                    location=location,
                )
                if not reason:
                    matched[record.line] = (customer.pk, record)
                yield (
                    charge_import.pk,
                    record.line,
                    list(record.raw),
                    record.account_code,
                    record.called_at,
                    record.cli,
                    record.dialled_number,
                    record.destination,
                    record.duration_seconds,
                    record.amount,
                    None if reason else customer.pk,
                    reason,
                    None if reason else now,
                )

        bulk_insert(ChargeImportRow, ROW_FIELDS, row_values())
        row_ids = charge_import.rows.filter(customer__isnull=False).values_list("line_number", "pk")
        _charges_add(
            charge_import,
            [(row_id, *matched[line]) for line, row_id in row_ids.iterator(chunk_size=5_000)],
        )
        _counts_refresh(charge_import)
    return charge_import


def charge_import_rematch(*, charge_import: ChargeImport, user: Any = None) -> int:
    """Match the import's unmatched rows again (account codes may have been added since).

    Rows now matched become charges on the open sheet of the import's location
    and product group (a new one if the earlier sheet was completed). Returns
    how many rows matched this time.
    """
    with transaction.atomic():
        _platform(PlatformCode.CONNECT, lock=True)
        rows = list(
            charge_import.rows.select_for_update().filter(customer__isnull=True).order_by("pk")
        )
        accounts = _codes_by_value(row.account_code for row in rows)
        now = timezone.now()
        matched = []
        for row in rows:
            customer, reason = account_code_match(
                code=row.account_code,
                account=accounts.get(row.account_code.lower()),
                location=charge_import.location,
            )
            row.unmatched_reason = reason
            if not reason:
                row.customer = customer
                row.matched_at = now
                matched.append(row)
        ChargeImportRow.objects.bulk_update(rows, ["customer", "unmatched_reason", "matched_at"])
        _charges_add(charge_import, [(row.pk, row.customer_id, row) for row in matched])
        _counts_refresh(charge_import)
    return len(matched)


@dataclass(frozen=True)
class ImportTotals:
    rows: int
    amount: Decimal
    matched: int
    matched_amount: Decimal
    unmatched: int
    unmatched_amount: Decimal


def charge_import_totals(*, charge_import: ChargeImport) -> ImportTotals:
    """The import's rows counted and added up by the database, matched and unmatched."""
    matched = Q(customer__isnull=False)
    sums = charge_import.rows.aggregate(
        rows=Count("pk"),
        all_amount=Sum("amount"),
        matched=Count("pk", filter=matched),
        matched_amount=Sum("amount", filter=matched),
        unmatched=Count("pk", filter=~matched),
        unmatched_amount=Sum("amount", filter=~matched),
    )
    return ImportTotals(
        rows=sums["rows"],
        amount=_pounds(sums["all_amount"]),
        matched=sums["matched"],
        matched_amount=_pounds(sums["matched_amount"]),
        unmatched=sums["unmatched"],
        unmatched_amount=_pounds(sums["unmatched_amount"]),
    )


# --- batch sheet totals and transitions -----------------------------------------------------
@dataclass(frozen=True)
class AccountTotal:
    customer_id: int
    customer_name: str
    account_code: str
    charges: int
    amount: Decimal


@dataclass(frozen=True)
class SheetTotals:
    by_account: list[AccountTotal]
    charges: int
    amount: Decimal


def batch_sheet_totals(*, sheet: BatchSheet) -> SheetTotals:
    """The sheet's totals by account (customer) and overall, for checking."""
    rows = (
        sheet.charges.values("customer_id", "customer__name")
        .annotate(charges=Count("pk"), amount=Sum("amount"))
        .order_by("customer__name", "customer_id")
    )
    codes = dict(
        AccountCode.objects.filter(
            platform__code=PlatformCode.CONNECT,
            customer_id__in=[row["customer_id"] for row in rows],
        ).values_list("customer_id", "code")
    )
    by_account = [
        AccountTotal(
            customer_id=row["customer_id"],
            customer_name=row["customer__name"],
            account_code=codes.get(row["customer_id"], ""),
            charges=row["charges"],
            amount=_pounds(row["amount"]),
        )
        for row in rows
    ]
    return SheetTotals(
        by_account=by_account,
        charges=sum(a.charges for a in by_account),
        amount=_pounds(sum((a.amount for a in by_account), Decimal("0.00"))),
    )


def _locked_sheet(sheet: BatchSheet) -> BatchSheet:
    fresh = BatchSheet.objects.select_for_update().get(pk=sheet.pk)
    if fresh.is_approved:
        raise ValidationError(f"Batch sheet #{fresh.pk} is approved: it can no longer change.")
    return fresh


def batch_sheet_complete(*, sheet: BatchSheet, user: Any = None) -> BatchSheet:
    """Mark the sheet completed: its totals are checked and no charge is added any more."""
    with transaction.atomic():
        sheet = _locked_sheet(sheet)
        if sheet.is_completed:
            raise ValidationError(f"Batch sheet #{sheet.pk} is already completed.")
        if not sheet.charges.exists():
            raise ValidationError(f"Batch sheet #{sheet.pk} has no charges to complete.")
        sheet.completed_at = timezone.now()
        sheet.completed_by = user if getattr(user, "pk", None) else None
        try:
            sheet.save(update_fields=["completed_at", "completed_by", "updated_at"])
        except IntegrityError:  # pragma: no cover - a completed sheet frees the open slot
            raise ValidationError("Could not complete the sheet.") from None
    return sheet


def batch_sheet_reopen(*, sheet: BatchSheet, user: Any = None) -> BatchSheet:
    """Take a completed sheet back to open (before approval), so charges may be added again.

    Refused while another sheet of the location and product group is open:
    finish that one first.
    """
    with transaction.atomic():
        sheet = _locked_sheet(sheet)
        if not sheet.is_completed:
            raise ValidationError(f"Batch sheet #{sheet.pk} is not completed.")
        sheet.completed_at = None
        sheet.completed_by = None
        try:
            with transaction.atomic():
                sheet.save(update_fields=["completed_at", "completed_by", "updated_at"])
        except IntegrityError:
            raise ValidationError(
                f"Another {sheet.name} sheet of {sheet.location} and {sheet.product_group} is "
                "open: complete that one before reopening this one."
            ) from None
    return sheet


def batch_sheet_approve(
    *,
    sheet: BatchSheet,
    user: Any,
    confirmed_total: Decimal,
    confirmed_charges: int,
) -> BatchSheet:
    """Approve a completed sheet: the approver confirms its overall total and charge count.

    Needs ``billing.approve_batchsheet``. Refused unless both equal the sheet's
    own; once approved the sheet and its charges never change.
    """
    if user is None or not user.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied(
            f"Approving a batch sheet needs the permission {APPROVE_PERMISSION}."
        )
    with transaction.atomic():
        sheet = _locked_sheet(sheet)
        if not sheet.is_completed:
            raise ValidationError(
                f"Batch sheet #{sheet.pk} is not completed: check its totals and mark it "
                "completed first."
            )
        totals = batch_sheet_totals(sheet=sheet)
        errors = {}
        if Decimal(confirmed_total).quantize(Decimal("0.01")) != totals.amount:
            errors["confirmed_total"] = (
                f"The sheet's total is {totals.amount}, not {confirmed_total}: check it again."
            )
        if int(confirmed_charges) != totals.charges:
            errors["confirmed_charges"] = ngettext(
                "The sheet has %(count)d charge, not %(confirmed)s.",
                "The sheet has %(count)d charges, not %(confirmed)s.",
                totals.charges,
            ) % {"count": totals.charges, "confirmed": confirmed_charges}
        if errors:
            raise ValidationError(errors)
        sheet.approved_at = timezone.now()
        sheet.approved_by = user
        sheet.approved_total = totals.amount
        sheet.approved_charge_count = totals.charges
        sheet.save(
            update_fields=[
                "approved_at",
                "approved_by",
                "approved_total",
                "approved_charge_count",
                "updated_at",
            ]
        )
    return sheet
