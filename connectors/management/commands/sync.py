"""``manage.py sync``: prepare a platform's bulk sync, and process it here if asked.

    manage.py sync --platform abillity                    # queue out-of-date records
    manage.py sync --platform abillity --entity site --full --process
    manage.py sync --platform abillity --since 2025-01-31 --dry-run --json

Prepare finds the out-of-date records and queues their jobs (see
``connectors.prepare.sync_prepare``); the workers take them as each batch
commits. ``--process`` also runs the due jobs in this process, for a machine
with no worker. With no broker configured (the embedded mode) jobs run in
this process as they are queued, whatever the options.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.base import connector_for, platform_choices
from connectors.choices import DEPENDENCY_ORDER, JobStatus
from connectors.management.console import render_table, status_label
from connectors.prepare import (
    PrepareResult,
    sync_prepare,
    sync_process,
    sync_statuses_since,
    threads_check,
)
from layer_sync.console import ProgressBar, TerminalSafeOutput


def since_date(value: str | date | None) -> date | None:
    """``--since`` as a date; CommandError naming the value when it is not YYYY-MM-DD."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(f'--since takes a date as YYYY-MM-DD, not "{value}".') from None


class Command(TerminalSafeOutput, BaseCommand):
    help = (
        "Queue a job for each out-of-date record of a platform (prepare), optionally "
        "running them here (--process), with a summary per entity."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        known = ", ".join(key for key, _ in platform_choices()) or "none registered"
        parser.add_argument(
            "--platform", required=True, help=f"The platform to sync (registered: {known})."
        )
        parser.add_argument(
            "--entity", help="Only this entity (customer, site, contact, asset, charge)."
        )
        when = parser.add_mutually_exclusive_group()
        when.add_argument(
            "--full",
            action="store_true",
            help="Every record, not only out-of-date ones (unchanged ones send nothing).",
        )
        when.add_argument(
            "--since",
            metavar="YYYY-MM-DD",
            help="Every record changed on or after this date.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be queued; change nothing."
        )
        parser.add_argument(
            "--process",
            action="store_true",
            help="Also run the due jobs in this process instead of leaving them to the workers.",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=1,
            help="With --process: run this many jobs at once, each on its own database "
            "connection (PostgreSQL only). SYNC_CALLS_PER_PROCESS=1 keeps them to one "
            "platform call at a time.",
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print the summary as JSON."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        platform: str = options["platform"]
        entity: str | None = options.get("entity")
        full: bool = options.get("full", False)
        dry_run: bool = options.get("dry_run", False)
        process: bool = options.get("process", False)
        as_json: bool = options.get("as_json", False)
        threads: int = options.get("threads", 1)
        since = since_date(options.get("since"))
        # call_command() keywords skip the parser's mutually exclusive group: check again.
        if full and since is not None:
            raise CommandError("--full and --since cannot be combined: choose one.")
        if dry_run and process:
            raise CommandError(
                "--dry-run and --process cannot be combined: a dry run changes nothing."
            )
        if threads != 1 and not process:
            raise CommandError("--threads is for --process: the jobs run here only with it.")
        try:
            connector = connector_for(platform)
            threads_check(threads)
        except ValueError as exc:
            raise CommandError(str(exc)) from None

        bar = ProgressBar(show=not as_json)
        progress = bar if bar.enabled else None
        processed: dict[str, int] | None = None
        with bar:
            try:
                result = sync_prepare(
                    platform=platform,
                    entity=entity,
                    full=full,
                    since=since,
                    dry_run=dry_run,
                    progress=progress,
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            if process:
                processed = sync_process(
                    platform=platform, entity=entity, progress=progress, threads=threads
                )
        ran_here = not dry_run and (process or settings.CELERY_TASK_ALWAYS_EAGER)
        statuses = (
            sync_statuses_since(platform=platform, since=result.started_at, entity=entity)
            if ran_here
            else None
        )

        if as_json:
            summary = {
                **result.as_dict(),
                "ran_in_this_process": ran_here,
                "processed": processed,
                "statuses": statuses,
            }
            self.stdout.write(json.dumps(summary, indent=2))
            return
        self._print_prepared(connector.name, result)
        if dry_run:
            self.stdout.write(f"Dry run: nothing was queued ({result.prepared} would be).")
            return
        done = ", ".join(
            f"{status_label(status)} {count}" for status, count in sorted((processed or {}).items())
        )
        if settings.CELERY_TASK_ALWAYS_EAGER:
            self.stdout.write(
                "No broker is configured: the jobs ran in this process as they were queued."
            )
            if done:
                self.stdout.write(f"Then processed here (jobs that came due): {done}.")
        elif processed is not None:
            self.stdout.write(f"Processed here: {done or 'no due jobs'}.")
        else:
            jobs = f"{result.prepared} job{'' if result.prepared == 1 else 's'}"
            self.stdout.write(f"{jobs} queued; the workers take them as they are published.")
        if statuses:
            self._print_statuses(statuses)

    def _print_prepared(self, name: str, result: PrepareResult) -> None:
        title = f"{name}: {result.mode} prepare"
        if result.since:
            title += f" of records changed since {result.since:%Y-%m-%d %H:%M}"
        rows = []
        for counts in result.entities:
            if counts.exported:
                rows.append(
                    [
                        counts.entity,
                        counts.records,
                        counts.prepared,
                        counts.already_pending,
                        counts.up_to_date,
                    ]
                )
            else:
                rows.append([f"{counts.entity} (not exported)", "-", "-", "-", "-"])
        rows.append(["total", "", result.prepared, result.already_pending, ""])
        headers = ["entity", "records", "would queue" if result.dry_run else "prepared"]
        headers += ["already pending", "up to date"]
        self.stdout.write(render_table(headers, rows, title=title))

    def _print_statuses(self, statuses: dict[str, dict[str, int]]) -> None:
        shown = [s for s in JobStatus.values if any(s in counts for counts in statuses.values())]
        rows = [
            [name, *(counts.get(status, 0) for status in shown)]
            for name, counts in sorted(statuses.items(), key=lambda i: DEPENDENCY_ORDER[i[0]])
        ]
        headers = ["entity", *(status_label(status) for status in shown)]
        self.stdout.write(render_table(headers, rows, title="Jobs of this run, by status now"))
