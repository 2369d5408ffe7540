"""File imports run in the background, with their progress: the kinds and the runner.

A page that takes a file calls ``background_import_start``: the file and the
import's settings are saved as a ``BackgroundImport`` and a Celery task is queued
(``billing.tasks.background_import_run_task``; with no broker it runs at once, in
the same process, as every task does in the embedded mode). The task calls
``background_import_run``, which runs the kind's service and records the outcome.
The page then shows the import's progress (``background_import_status``, polled as
JSON) and, once it has finished, its outcome.

Each kind of import registers itself with ``import_kind_register``: the call charge
import here; Affinity's imports in ``connectors.affinity.background`` (billing never
imports the sync engine). A kind's ``run`` receives the saved import and a
``progress(phase, done, total)`` callable and returns an ``ImportOutcome``; it raises
``ImportRefusedError`` when nothing was imported because of the file or the settings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from layer_sync.tasks import enqueue_on_commit

from . import call_charges
from .choices import BackgroundImportStatus
from .models import BackgroundImport, ChargeImport, InventoryItem, Location, ProductGroup

logger = logging.getLogger(__name__)

# Problems kept with an import (the parsers stop listing at 1,000 anyway).
MAX_ERRORS_KEPT = 1001
# Progress is written at most this often (seconds), so a fast import is not slowed.
PROGRESS_INTERVAL = 0.5
# A queued import not started after this long lost its task (the sweeper queues it
# again); a running one not finished after this long lost its worker.
QUEUED_LOST_AFTER = timedelta(minutes=2)
RUNNING_STALE_AFTER = timedelta(minutes=30)

Progress = Callable[[str, int, int], None]


@dataclass
class ImportOutcome:
    """How an import ended: a sentence, its counts, and the problems it listed."""

    message: str
    result: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    charge_import: ChargeImport | None = None


class ImportRefusedError(Exception):
    """Nothing was imported: the file or the settings were refused (``errors`` says why)."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


@dataclass(frozen=True)
class ImportKind:
    """A kind of file import that can run in the background."""

    code: str
    title: str
    run: Callable[[BackgroundImport, Progress], ImportOutcome]
    # The admin page that takes this kind's file (its URL name), and the page of
    # what an import made, if any.
    start_url_name: str = ""


IMPORT_KINDS: dict[str, ImportKind] = {}


def import_kind_register(kind: ImportKind) -> ImportKind:
    """Make ``kind`` known to the runner (its code must be new)."""
    if kind.code in IMPORT_KINDS and IMPORT_KINDS[kind.code] != kind:
        raise ValueError(f"Another import kind is registered as {kind.code!r}.")
    IMPORT_KINDS[kind.code] = kind
    return kind


def import_kind_title(code: str) -> str:
    kind = IMPORT_KINDS.get(code)
    return kind.title if kind else code


def background_import_start(
    *,
    kind: str,
    file_name: str,
    content: bytes,
    parameters: dict[str, Any],
    user: Any = None,
) -> BackgroundImport:
    """Save the file and its settings, and queue the import (run once this commits)."""
    from .tasks import background_import_run_task

    if kind not in IMPORT_KINDS:
        raise ValueError(f"Unknown import kind {kind!r}.")
    job = BackgroundImport.objects.create(
        kind=kind,
        file_name=file_name.strip()[:255],
        file_size=len(content),
        content=content,
        parameters=parameters,
        phase="Waiting for a worker",
        created_by=user if getattr(user, "pk", None) else None,
    )
    enqueue_on_commit(background_import_run_task, job.pk)
    return job


def _progress_writer(job: BackgroundImport) -> Progress:
    last = 0.0

    def progress(phase: str, done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < PROGRESS_INTERVAL and phase == job.phase:
            return
        last = now
        job.phase, job.done, job.total = phase, done, total
        # An UPDATE of its own (autocommit): another request sees it at once.
        BackgroundImport.objects.filter(pk=job.pk).update(phase=phase, done=done, total=total)

    return progress


def background_import_run(*, import_id: int) -> BackgroundImport | None:
    """Run a queued import and record how it ended; an import already run is left alone.

    Run again after a worker died mid-way (the task is acknowledged late), it starts
    over: each kind's service is all or nothing, so the first run left nothing behind.
    """
    # Claimed by one UPDATE: a task delivered twice (queued again by the sweeper while
    # the first was only waiting) runs the import once.
    now = timezone.now()
    claimed = (
        BackgroundImport.objects.filter(pk=import_id)
        .filter(_runnable(now))
        .update(status=BackgroundImportStatus.RUNNING, started_at=now, phase="Starting")
    )
    job = BackgroundImport.objects.filter(pk=import_id).first()
    if job is None:
        logger.warning("File import #%s is gone; nothing to run", import_id)
        return None
    if not claimed:
        return job  # finished, or running in another worker
    kind = IMPORT_KINDS.get(job.kind)
    try:
        if kind is None:
            raise ImportRefusedError(f"This product has no import of the kind {job.kind!r}.")
        outcome = kind.run(job, _progress_writer(job))
    except ImportRefusedError as refused:
        job.status = BackgroundImportStatus.REFUSED
        job.message = refused.message
        job.errors = refused.errors[:MAX_ERRORS_KEPT]
    except Exception as error:  # recorded for the page; the traceback goes to the log
        logger.exception("File import #%s (%s) failed", job.pk, job.kind)
        job.status = BackgroundImportStatus.FAILED
        job.message = (
            f"The import stopped on an unexpected error ({type(error).__name__}); nothing was "
            "imported. The error is in the server's log: report it with this import's number."
        )
    else:
        job.status = BackgroundImportStatus.SUCCEEDED
        job.message = outcome.message
        job.result = outcome.result
        job.errors = outcome.errors[:MAX_ERRORS_KEPT]
        job.charge_import = outcome.charge_import
    job.finished_at = timezone.now()
    job.phase = ""
    job.content = b""  # the file is not kept once it has been read
    job.save()
    return job


def _runnable(now) -> Q:
    """Imports a task may run: queued ones, and running ones whose worker has died (none
    runs that long: 100,000 rows take seconds)."""
    return Q(status=BackgroundImportStatus.QUEUED) | Q(
        status=BackgroundImportStatus.RUNNING, started_at__lt=now - RUNNING_STALE_AFTER
    )


def background_imports_sweep() -> int:
    """Queue again the imports whose task was lost: queued for a while (the broker was
    down when the page queued it) or running far too long (the worker died). Returns how
    many."""
    from .tasks import background_import_run_task

    now = timezone.now()
    lost = BackgroundImport.objects.filter(_runnable(now)).filter(
        Q(status=BackgroundImportStatus.RUNNING) | Q(created_at__lt=now - QUEUED_LOST_AFTER)
    )
    ids = list(lost.values_list("pk", flat=True))
    for pk in ids:
        enqueue_on_commit(background_import_run_task, pk)
    return len(ids)


def background_import_status(job: BackgroundImport) -> dict[str, Any]:
    """What the progress indicator shows of an import (JSON)."""
    percent = min(100, round(100 * job.done / job.total)) if job.total else None
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "status_label": job.get_status_display(),
        "finished": job.is_finished,
        "phase": job.phase,
        "done": job.done,
        "total": job.total,
        "percent": percent,
        "message": job.message,
        "url": reverse("admin:billing_backgroundimport_change", args=[job.pk]),
    }


# --- the call charge import -----------------------------------------------------------------
CALL_CHARGES = "call_charges"
PHASES = {"checking": "Checking the file's rows", "saving": "Saving the rows and charges"}


def call_charge_parameters(
    *,
    location: Location | None,
    import_type: str,
    product_group: ProductGroup | None,
    product: InventoryItem | None,
    batch_date: date | None,
    reference_date: date | None,
    reference_text: str,
    force: bool,
    ignore_zero_values: bool,
) -> dict[str, Any]:
    """The call charge import's settings as a background import keeps them (JSON)."""
    return {
        "location": location.pk if location else None,
        "import_type": import_type,
        "product_group": product_group.pk if product_group else None,
        "product": product.pk if product else None,
        "batch_date": batch_date.isoformat() if batch_date else None,
        "reference_date": reference_date.isoformat() if reference_date else None,
        "reference_text": reference_text,
        "force": bool(force),
        "ignore_zero_values": bool(ignore_zero_values),
    }


def _by_id(model, pk):
    return model.objects.filter(pk=pk).first() if pk is not None else None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _call_charges_run(job: BackgroundImport, progress: Progress) -> ImportOutcome:
    params = job.parameters

    def report(phase: str, done: int, total: int) -> None:
        progress(PHASES.get(phase, phase), done, total)

    try:
        charge_import = call_charges.charge_import_create(
            location=_by_id(Location, params.get("location")),
            import_type=params.get("import_type", ""),
            product_group=_by_id(ProductGroup, params.get("product_group")),
            product=_by_id(InventoryItem, params.get("product")),
            batch_date=_date(params.get("batch_date")),
            reference_date=_date(params.get("reference_date")),
            reference_text=params.get("reference_text", ""),
            file_name=job.file_name,
            content=bytes(job.content),
            user=job.created_by,
            force=params.get("force", False),
            ignore_zero_values=params.get("ignore_zero_values", False),
            progress=report,
        )
    except ValidationError as error:
        problems = [
            {"line": None, "message": f"{name.replace('_', ' ').capitalize()}: {message}"}
            for name, messages in error.message_dict.items()
            for message in messages
        ]
        raise ImportRefusedError(
            "The import's settings were refused; nothing was imported.", problems
        ) from None
    except call_charges.ChargeFileRefused as refused:
        raise ImportRefusedError(
            f"The file was refused: {call_charges.problems_text(len(refused.errors))}, listed "
            "below. Nothing was imported.",
            [{"line": e.line, "message": e.message} for e in refused.errors],
        ) from None
    except call_charges.DuplicateChargeFile as duplicate:
        raise ImportRefusedError(duplicate.message) from None
    ignored = charge_import.ignored_count
    skipped = (
        ", "
        + ngettext("%(count)d zero-value row skipped", "%(count)d zero-value rows skipped", ignored)
        % {"count": ignored}
        if ignored
        else ""
    )
    return ImportOutcome(
        message=(
            f"Imported {call_charges.rows_text(charge_import.row_count)}: "
            f"{charge_import.matched_count} matched, "
            f"{charge_import.unmatched_count} unmatched{skipped}."
        ),
        result={
            "rows": charge_import.row_count,
            "matched": charge_import.matched_count,
            "unmatched": charge_import.unmatched_count,
            "ignored": charge_import.ignored_count,
            "total_amount": str(charge_import.total_amount),
        },
        charge_import=charge_import,
    )


import_kind_register(
    ImportKind(
        code=CALL_CHARGES,
        title="Call charges (essensys Connect)",
        run=_call_charges_run,
        start_url_name="admin:billing_chargeimport_add",
    )
)
