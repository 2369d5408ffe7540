"""manage.py import_call_charges FILE --location … --product-group … --product … --batch-date …

The import page's form as a command (seed 004): the same service, all or nothing.
Locations, product groups and products are given by id or by name. A refused file
prints every bad row with its line number and exits 1; a file imported before is
refused (exit 3) unless ``--force``. ``--json`` prints the summary (or the refusal)
as JSON for scripts; without it, on a terminal, a progress indicator shows on stderr
while the file is checked and imported.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Model

from billing import call_charges
from billing.call_logger import MAX_FILE_BYTES
from billing.models import (
    CallChargeImportType,
    ChargeImport,
    InventoryItem,
    Location,
    ProductGroup,
)
from layer_sync.console import TerminalSafeOutput, progress_step

EXIT_REFUSED = 1
EXIT_BAD_OPTIONS = 2
EXIT_DUPLICATE = 3


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f'"{text}" is not a date (YYYY-MM-DD).', returncode=2) from None


def _by_id_or_name(model: type[Model], value: str, label: str) -> Model:
    queryset = model._default_manager.all()
    found = queryset.filter(pk=int(value)).first() if value.isdigit() else None
    if found is None:
        found = queryset.filter(name__iexact=value.strip()).first()
    if found is None:
        raise CommandError(f'No {label} "{value}" (give its id or its name).', returncode=2)
    return found


def import_summary(charge_import: ChargeImport) -> dict[str, Any]:
    return {
        "id": charge_import.pk,
        "file_name": charge_import.file_name,
        "file_sha256": charge_import.file_sha256,
        "status": charge_import.status,
        "rows": charge_import.row_count,
        "matched": charge_import.matched_count,
        "unmatched": charge_import.unmatched_count,
        "ignored_zero_values": charge_import.ignored_count,
        "total_amount": str(charge_import.total_amount),
        "forced_duplicate": charge_import.forced_duplicate,
        "unmatched_rows": [
            {
                "line": row.line_number,
                "account_code": row.account_code,
                "reason": row.unmatched_reason,
            }
            for row in charge_import.rows.filter(customer__isnull=True).order_by("line_number")
        ],
    }


class Command(TerminalSafeOutput, BaseCommand):
    help = "Import a Connect call logger file into batch sheets (all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The call logger CSV.")
        parser.add_argument("--location", required=True, help="Location id or name.")
        parser.add_argument(
            "--import-type",
            default=CallChargeImportType.ESSENSYS_CALL_LOGGER,
            choices=CallChargeImportType.values,
        )
        parser.add_argument("--product-group", required=True, help="Product group id or name.")
        parser.add_argument("--product", required=True, help="Inventory item id or name.")
        parser.add_argument("--batch-date", required=True, help="YYYY-MM-DD.")
        parser.add_argument("--reference-date", required=True, help="YYYY-MM-DD.")
        parser.add_argument("--reference-text", default="")
        parser.add_argument("--ignore-zero-values", action="store_true")
        parser.add_argument(
            "--force", action="store_true", help="Import a file that was imported before."
        )
        parser.add_argument("--user", default="", help="Username recorded as the importer.")
        parser.add_argument("--json", action="store_true", help="Print the outcome as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.", returncode=EXIT_BAD_OPTIONS)
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CommandError(
                f"{path} is larger than {MAX_FILE_BYTES:,} bytes.", returncode=EXIT_REFUSED
            )
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f'No user "{options["user"]}".', returncode=EXIT_BAD_OPTIONS)
        as_json = options["json"]
        try:
            with progress_step(f"Importing {path.name}", show=not as_json):
                charge_import = self._import(path, user, options)
        except ValidationError as error:
            self._refuse(
                as_json,
                {"errors": error.message_dict},
                "\n".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items()),
                EXIT_BAD_OPTIONS,
            )
        except call_charges.ChargeFileRefused as refused:
            self._refuse(
                as_json,
                {"rows": [{"line": e.line, "message": e.message} for e in refused.errors]},
                "\n".join(str(e) for e in refused.errors),
                EXIT_REFUSED,
                headline="The file was refused "
                f"({call_charges.problems_text(len(refused.errors))}); nothing was imported.",
            )
        except call_charges.DuplicateChargeFile as duplicate:
            self._refuse(
                as_json,
                {"duplicate_of": duplicate.previous.pk, "message": duplicate.message},
                duplicate.message,
                EXIT_DUPLICATE,
            )
        summary = import_summary(charge_import)
        if as_json:
            self.stdout.write(json.dumps(summary, indent=2))
            return
        self.stdout.write(
            f"Imported {path.name} as import #{charge_import.pk}: "
            f"{call_charges.rows_text(summary['rows'])}, "
            f"{summary['matched']} matched, {summary['unmatched']} unmatched, total "
            f"{summary['total_amount']}."
        )
        for row in summary["unmatched_rows"]:
            self.stdout.write(f"  line {row['line']}: {row['reason']}")

    def _import(self, path: Path, user, options: dict[str, Any]) -> ChargeImport:
        return call_charges.charge_import_create(
            location=_by_id_or_name(Location, options["location"], "location"),
            import_type=options["import_type"],
            product_group=_by_id_or_name(ProductGroup, options["product_group"], "product group"),
            product=_by_id_or_name(InventoryItem, options["product"], "product"),
            batch_date=_iso_date(options["batch_date"]),
            reference_date=_iso_date(options["reference_date"]),
            reference_text=options["reference_text"],
            file_name=path.name,
            content=path.read_bytes(),
            user=user,
            force=options["force"],
            ignore_zero_values=options["ignore_zero_values"],
        )

    def _refuse(
        self, as_json: bool, body: dict, text: str, code: int, *, headline: str = ""
    ) -> None:
        if as_json:
            self.stdout.write(json.dumps({"refused": True, **body}, indent=2))
            raise CommandError("Refused; see the JSON output.", returncode=code)
        if headline:
            self.stderr.write(headline)
        raise CommandError(text, returncode=code)
