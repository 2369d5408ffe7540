"""``manage.py import_affinity_links FILE [--apply-good-rows] [--no-verify] [--json]``

The initial linking import (Application Links): binds existing Layer records to
existing Affinity records (``connectors.affinity.imports.affinity_links_import``).
Every bad row is reported with its line number; when any row is bad nothing is
applied unless ``--apply-good-rows`` is given. Each Integration Id is checked on
Affinity unless ``--no-verify``.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.affinity.imports import ImportRefused, affinity_links_import, results_lines
from connectors.base import connector_for
from connectors.errors import SyncError
from connectors.management.console import command_file_read
from layer_sync.console import TerminalSafeOutput, progress_step


class Command(TerminalSafeOutput, BaseCommand):
    help = "Import Affinity application links (Application Name, Entity Id, Entity Type, "
    "Integration Id)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV file.")
        parser.add_argument(
            "--apply-good-rows",
            action="store_true",
            help="Apply the good rows even when some are bad (default: apply nothing then).",
        )
        parser.add_argument(
            "--no-verify",
            action="store_true",
            help="Do not check that each Integration Id exists on Affinity.",
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, **options) -> None:
        data = command_file_read(options["file"])
        client = None if options["no_verify"] else connector_for("affinity").client()
        try:
            with progress_step("Importing links", show=not options["json"]):
                result = affinity_links_import(
                    data=data, apply_good_rows=options["apply_good_rows"], client=client
                )
        except ImportRefused as error:
            raise CommandError(f"{error} Nothing was imported.") from None
        except SyncError as error:
            raise CommandError(f"{error.message} Nothing was imported.") from None
        finally:
            if client is not None:
                client.close()
        _report(self, result, options)


def _report(command: BaseCommand, result, options) -> None:
    if options["json"]:
        command.stdout.write(json.dumps(result.as_dict(), indent=2))
    else:
        for line in results_lines(result):
            command.stdout.write(line)
    if result.errors and not options["apply_good_rows"]:
        raise CommandError(
            f"{len(result.errors)} bad row(s): nothing was applied. Fix them, or rerun with "
            "--apply-good-rows to apply the others."
        )
