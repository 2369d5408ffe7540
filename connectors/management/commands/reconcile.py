"""``manage.py reconcile --platform affinity [--json]``

Compares what a platform holds with our bindings and records and lists the
differences (``connectors.reconciliation.reconciliation_report``). Any connector
that implements ``Connector.reconcile`` can be reconciled. With
``--fail-on-differences`` it exits with status 1 when there are any, so a scheduler
can alert on them. On a terminal a progress indicator shows on stderr while the platform
is read (never with ``--json``). Each run is recorded for the sync dashboard.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import ngettext

from connectors.base import UnknownPlatform, registered
from connectors.errors import SyncError
from connectors.management.console import render_table
from connectors.reconciliation import reconciliation_report
from layer_sync.console import TerminalSafeOutput, progress_step


class Command(TerminalSafeOutput, BaseCommand):
    help = "Report the records that differ between The Layer and a billing platform."

    def add_arguments(self, parser: CommandParser) -> None:
        choices = sorted(k for k, c in registered().items() if c.reconciles)
        parser.add_argument(
            "--platform", required=True, help=f"The platform ({', '.join(choices) or 'none'})."
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument(
            "--fail-on-differences",
            action="store_true",
            help="Exit with status 1 when there are differences.",
        )

    def handle(self, *args, **options) -> None:
        try:
            with progress_step(f"Reading {options['platform']}", show=not options["json"]):
                report = reconciliation_report(platform=options["platform"])
        except UnknownPlatform as error:
            raise CommandError(str(error)) from None
        except SyncError as error:
            raise CommandError(error.message) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            rows = [
                (
                    d.label,
                    d.customer,
                    d.record,
                    d.external_id or "-",
                    d.layer_value,
                    d.platform_value,
                )
                for d in report.differences
            ]
            if rows:
                self.stdout.write(
                    render_table(
                        (
                            "Difference",
                            "Customer",
                            "Record",
                            f"{report.platform_name} id",
                            "The Layer",
                            report.platform_name,
                        ),
                        rows,
                        title=ngettext(
                            "%(count)d difference with %(platform)s",
                            "%(count)d differences with %(platform)s",
                            len(rows),
                        )
                        % {"count": len(rows), "platform": report.platform_name},
                    )
                )
            else:
                self.stdout.write(f"No differences with {report.platform_name}.")
        if report.differences and options["fail_on_differences"]:
            sys.exit(1)
