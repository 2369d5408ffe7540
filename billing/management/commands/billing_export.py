"""Write a Billing Export file to standard output:

    manage.py billing_export --route affinity --kind cli > affinity-cli.csv
    manage.py billing_export --route affinity --kind products --lines 12,13 > products.csv

The file is streamed (memory stays flat however many lines). Lines the product file
leaves out are named, with the reason, on standard error; the command then exits 0
(the file is still good) unless --strict asks for exit status 3. On a terminal a progress
bar of the rows written shows on standard error (standard output is the file); with
--json standard error gets one JSON summary instead, for scripts.
"""

from __future__ import annotations

import json
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing import export, selectors
from billing.choices import PlatformCode
from billing.models import BillingPlatform
from layer_sync.console import ProgressBar, TerminalSafeOutput

ROUTES = [code for code, _ in PlatformCode.choices if code != PlatformCode.THE_LAYER]


class Command(TerminalSafeOutput, BaseCommand):
    help = "Write the Billing Export's CLI or product file for a billing route to stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--route", required=True, choices=ROUTES, help="The billing route.")
        parser.add_argument("--kind", required=True, choices=["cli", "products"])
        parser.add_argument("--lines", default="", help="Only these line ids, comma-separated.")
        parser.add_argument(
            "--json",
            action="store_true",
            help="On stderr, instead of the progress bar and the lines left out as text: one "
            "JSON object (route, kind, bytes, left_out) when the file is written.",
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help="Exit with status 3 when the product file leaves lines out.",
        )

    def handle(self, *args, **options) -> None:
        route = BillingPlatform.objects.get(code=options["route"])
        try:
            ids = export.line_ids_parse(options["lines"])
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        lines = selectors.billing_export_lines(route=route, line_ids=ids)
        if options["kind"] == "cli":
            file = selectors.cli_file(lines)
            excluded = []
        else:
            file = selectors.product_file(lines, route)
            excluded = selectors.product_file_exclusions(lines, route)
        out = getattr(self.stdout, "_out", sys.stdout)
        binary = getattr(out, "buffer", None)
        written = 0
        bar = ProgressBar(show=not options["json"])
        with bar:
            # The rows to come are counted only for a bar someone sees (one query).
            bar.start(f"{options['kind']} file", file.rows.count() if bar.enabled else None)
            for chunk in export.export_stream(file):
                if binary is not None:
                    binary.write(chunk)
                else:
                    out.write(chunk.decode())
                written += len(chunk)
                bar.advance(chunk.count(b"\n"))
            bar.finish()
        out.flush()
        if options["json"]:
            summary = {
                "route": route.code,
                "kind": options["kind"],
                "bytes": written,
                "left_out": [{"line": item.line_id, "reason": item.reason} for item in excluded],
            }
            self.stderr.write(json.dumps(summary))
        else:
            for item in excluded:
                self.stderr.write(f"Left out line {item.line_id}: {item.reason}")
        if excluded and options["strict"]:
            sys.exit(3)
