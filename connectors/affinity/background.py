"""Affinity's two imports (application links, cease requests) as background file imports.

Registered with billing.background_imports at start-up (Affinity's AppConfig.ready): the Affinity
import page (*Billing platform sync → Affinity imports → Add*) saves the file and queues
it; the task calls these, which run the import services of ``.imports`` with progress.
"""

from __future__ import annotations

from typing import Any

from billing.background_imports import (
    ImportKind,
    ImportOutcome,
    ImportRefusedError,
    Progress,
    import_kind_register,
)
from billing.models import BackgroundImport

from ..base import connector_for
from ..errors import SyncError
from .imports import (
    ImportRefused,
    ImportResult,
    affinity_ceases_import,
    affinity_links_import,
)

LINKS = "affinity_links"
CEASES = "affinity_ceases"
KINDS = (LINKS, CEASES)
START_URL_NAME = "admin:connectors_affinityimport_add"


def _outcome(result: ImportResult, *, apply_good_rows: bool) -> ImportOutcome:
    errors: list[dict[str, Any]] = [{"line": e.line, "message": e.message} for e in result.errors]
    bad = len(result.errors)
    if bad and not apply_good_rows:
        raise ImportRefusedError(
            f"{bad} bad row{'' if bad == 1 else 's'} of {result.rows}: nothing was applied. "
            "Fix them, or import the file again with “apply the good rows”.",
            errors,
        )
    return ImportOutcome(
        message=(
            f"{result.rows} row{'' if result.rows == 1 else 's'}: {result.applied} applied, "
            f"{result.unchanged} unchanged, {bad} bad."
        ),
        result={"rows": result.rows, "applied": result.applied, "unchanged": result.unchanged},
        errors=errors,
    )


def _links_run(job: BackgroundImport, progress: Progress) -> ImportOutcome:
    apply_good_rows = bool(job.parameters.get("apply_good_rows"))
    client = connector_for("affinity").client() if job.parameters.get("verify") else None
    try:
        result = affinity_links_import(
            data=bytes(job.content),
            apply_good_rows=apply_good_rows,
            client=client,
            progress=progress,
        )
    except ImportRefused as refused:
        raise ImportRefusedError(f"{refused} Nothing was imported.") from None
    except SyncError as error:
        raise ImportRefusedError(f"{error.message} Nothing was imported.") from None
    finally:
        if client is not None:
            client.close()
    return _outcome(result, apply_good_rows=apply_good_rows)


def _ceases_run(job: BackgroundImport, progress: Progress) -> ImportOutcome:
    apply_good_rows = bool(job.parameters.get("apply_good_rows"))
    try:
        result = affinity_ceases_import(
            data=bytes(job.content),
            apply_good_rows=apply_good_rows,
            user=job.created_by,
            progress=progress,
        )
    except ImportRefused as refused:
        raise ImportRefusedError(f"{refused} Nothing was imported.") from None
    return _outcome(result, apply_good_rows=apply_good_rows)


import_kind_register(
    ImportKind(
        code=LINKS,
        title="Affinity application links",
        run=_links_run,
        start_url_name=START_URL_NAME,
    )
)
import_kind_register(
    ImportKind(
        code=CEASES,
        title="Affinity cease requests",
        run=_ceases_run,
        start_url_name=START_URL_NAME,
    )
)
