"""``manage.py retry_failed``: put error-queue jobs back in the queue, and say which.

    manage.py retry_failed --platform abillity --kind recoverable
    manage.py retry_failed --job 812 813 --dry-run
    manage.py retry_failed --platform abillity --entity contact --json

Each job goes back to pending now with its attempts reset (see
``connectors.engine.actions.job_retry``); a job whose record has a pending job
already merges into it. Named jobs (``--job``) that are not in the error
queue, or do not match the other filters, are refused before anything is
retried.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.choices import Entity, ErrorKind
from connectors.error_queue import error_queue_retry
from connectors.management.console import render_table, status_label
from connectors.models import SyncJob
from layer_sync.console import TerminalSafeOutput

ERROR_EXCERPT = 80


class Command(TerminalSafeOutput, BaseCommand):
    help = "Retry failed and aborted sync jobs (the error queue), filtered; prints each one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--platform", help="Only jobs of this platform.")
        parser.add_argument("--entity", choices=Entity.values, help="Only jobs of this entity.")
        parser.add_argument(
            "--kind",
            choices=[kind for kind in ErrorKind.values if kind],
            help="Only jobs whose last error was of this kind.",
        )
        parser.add_argument(
            "--job",
            dest="job_ids",
            type=int,
            nargs="+",
            metavar="ID",
            help="Only these jobs (each must be in the error queue).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be retried; change nothing."
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print the jobs as JSON."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options.get("dry_run", False)
        entity = options.get("entity")
        if entity is not None and entity not in Entity.values:  # call_command skips choices
            raise CommandError(
                f'Unknown entity "{entity}"; the entities are {", ".join(Entity.values)}.'
            )
        try:
            retried = error_queue_retry(
                platform=options.get("platform"),
                entity=entity,
                kind=options.get("kind"),
                job_ids=options.get("job_ids"),
                dry_run=dry_run,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        # With no broker the retries ran as they committed: show where each stands now.
        now = dict(
            SyncJob.objects.filter(
                pk__in=[r.requeued_as for r in retried if r.requeued_as]
            ).values_list("pk", "status")
        )

        if options.get("as_json"):
            rows = [
                {**r.as_dict(), "status_now": now.get(r.requeued_as) if r.requeued_as else None}
                for r in retried
            ]
            self.stdout.write(json.dumps({"dry_run": dry_run, "jobs": rows}, indent=2))
            return
        if not retried:
            self.stdout.write("The error queue has no jobs matching these filters.")
            return
        headers = ["job", "platform", "entity", "record", "kind", "last error"]
        headers += [] if dry_run else ["requeued as", "now"]
        rows = []
        for r in retried:
            error = " ".join(r.error.split())
            if len(error) > ERROR_EXCERPT:
                error = error[: ERROR_EXCERPT - 1] + "…"
            row = [
                f"#{r.job_id}",
                r.platform,
                r.entity,
                r.record or f"#{r.object_id}",
                r.kind or "-",
                error,
            ]
            if not dry_run:
                row += [f"#{r.requeued_as}", status_label(now.get(r.requeued_as, "?"))]
            rows.append(row)
        self.stdout.write(render_table(headers, rows))
        verb = "would be retried (dry run: nothing changed)" if dry_run else "retried"
        self.stdout.write(f"{len(retried)} job{'s' if len(retried) != 1 else ''} {verb}.")
