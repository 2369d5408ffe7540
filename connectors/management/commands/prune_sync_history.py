"""``manage.py prune_sync_history``: remove Sync History older than the retention age.

    manage.py prune_sync_history                 # SYNC_HISTORY_RETENTION_DAYS (default 90)
    manage.py prune_sync_history --days 30 --dry-run
    manage.py prune_sync_history --json

What goes and what is always kept (each record's latest state, the error queue) is in
``connectors.retention``. Celery beat runs the same prune every
``SYNC_HISTORY_PRUNE_INTERVAL`` seconds.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.retention import sync_history_prune
from layer_sync.console import progress_step


class Command(BaseCommand):
    help = (
        "Remove finished sync jobs and HTTP attempt rows older than the retention age, "
        "keeping each record's latest state and everything in the error queue."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=float,
            help="Keep this many days of history (default: SYNC_HISTORY_RETENTION_DAYS, now "
            f"{settings.SYNC_HISTORY_RETENTION_DAYS:g}).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would go; change nothing."
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print the result as JSON."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options.get("days")
        if days is None:
            days = settings.SYNC_HISTORY_RETENTION_DAYS
        if days <= 0:
            raise CommandError(
                f"--days must be above 0 (got {days:g}); to keep history for ever, do not run "
                "the prune (and set SYNC_HISTORY_RETENTION_DAYS=0 to stop the scheduled one)."
            )
        dry_run: bool = options.get("dry_run", False)
        as_json: bool = options.get("as_json", False)
        with progress_step("pruning", show=not as_json and not dry_run) as bar:
            result = sync_history_prune(days=days, dry_run=dry_run, progress=bar.advance)
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "cutoff": result.cutoff.isoformat() if result.cutoff else None,
                        "jobs": result.jobs,
                        "attempts": result.attempts,
                        "dry_run": result.dry_run,
                    }
                )
            )
            return
        verb = "Would remove" if dry_run else "Removed"
        job_word = "job" if result.jobs == 1 else "jobs"
        attempt_word = "HTTP attempt" if result.attempts == 1 else "HTTP attempts"
        self.stdout.write(
            f"{verb} {result.jobs:,} finished {job_word} and {result.attempts:,} {attempt_word} "
            f"older than {days:g} days (before {result.cutoff:%Y-%m-%d %H:%M} UTC). Kept: each "
            "record's latest job and everything in the error queue."
        )
