"""Celery tasks of the billing app: ids in, load and call the service."""

from celery import shared_task


@shared_task(name="billing.background_import_run", ignore_result=True)
def background_import_run_task(import_id: int) -> None:
    """Run a file import that a page queued (call charges, Affinity links or ceases)."""
    from .background_imports import background_import_run

    background_import_run(import_id=import_id)


@shared_task(name="billing.background_imports_sweep", ignore_result=True)
def background_imports_sweep_task() -> None:
    """Queue again the file imports whose task was lost (Celery beat)."""
    from .background_imports import background_imports_sweep

    background_imports_sweep()
