"""``manage.py import_affinity_ceases FILE [--apply-good-rows] [--json]``

The cease request import (Affinity's Openreach cease report: ``OBJECTUID``,
``Completed On``; other columns are ignored): sets each matching service asset's
cease date and ceases it when the date is today or past
(``connectors.affinity.imports.affinity_ceases_import``). Every bad row is reported
with its line number; when any row is bad nothing is applied unless
``--apply-good-rows``. Then the assets of earlier imports whose cease date has come
are ceased too.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import ngettext

from connectors.affinity.imports import (
    ImportRefused,
    affinity_ceases_import,
    assets_cease_due,
    results_lines,
)
from connectors.management.console import command_file_read
from layer_sync.console import TerminalSafeOutput, progress_step


class Command(TerminalSafeOutput, BaseCommand):
    help = "Import Affinity cease requests (OBJECTUID, Completed On)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV file.")
        parser.add_argument(
            "--apply-good-rows",
            action="store_true",
            help="Apply the good rows even when some are bad (default: apply nothing then).",
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, **options) -> None:
        try:
            with progress_step("Importing ceases", show=not options["json"]):
                result = affinity_ceases_import(
                    data=command_file_read(options["file"]),
                    apply_good_rows=options["apply_good_rows"],
                )
        except ImportRefused as error:
            raise CommandError(f"{error} Nothing was imported.") from None
        due = assets_cease_due() if result.ok or options["apply_good_rows"] else 0
        if options["json"]:
            self.stdout.write(json.dumps({**result.as_dict(), "ceased_due": due}, indent=2))
        else:
            for line in results_lines(result):
                self.stdout.write(line)
            if due:
                self.stdout.write(
                    ngettext(
                        "%(count)d asset ceased whose cease date has come.",
                        "%(count)d assets ceased whose cease date has come.",
                        due,
                    )
                    % {"count": due}
                )
        if result.errors and not options["apply_good_rows"]:
            raise CommandError(
                f"{len(result.errors)} bad row(s): nothing was applied. Fix them, or rerun "
                "with --apply-good-rows to apply the others."
            )
