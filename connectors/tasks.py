"""Celery tasks of the sync engine: ids in, load and call the service.

Retries are the engine's (the next attempt time is kept on the job row and
the sweeper republishes due jobs), never Celery's own countdown retries.
"""

from celery import shared_task

from .engine.run import job_process, jobs_dispatch
from .engine.sweep import sync_sweep


@shared_task(name="connectors.job_process", ignore_result=True)
def job_process_task(platform: str, entity: str, object_id: int) -> None:
    """Claim and run the due pending job of one record on one platform."""
    job_process(platform, entity, object_id)


@shared_task(name="connectors.jobs_process", ignore_result=True)
def jobs_process_task(keys: list[list]) -> None:
    """A transaction's records, [platform, entity, id] each: run the first's job, publish
    the others' (one message a transaction, however many records it changed)."""
    jobs_dispatch(keys)


@shared_task(name="connectors.sync_sweep", ignore_result=True)
def sync_sweep_task() -> None:
    """Release jobs of dead workers and republish due jobs nobody took (Celery beat)."""
    sync_sweep()


@shared_task(name="connectors.sync_history_prune", ignore_result=True)
def sync_history_prune_task() -> None:
    """Prune Sync History older than the retention age (Celery beat)."""
    from .retention import sync_history_prune

    sync_history_prune()


@shared_task(name="connectors.sync_schedule_run", ignore_result=True)
def sync_schedule_run_task(schedule_id: int) -> None:
    """Prepare and/or process as a sync schedule says (sent by beat at its times)."""
    from .schedules import sync_schedule_run

    sync_schedule_run(schedule_id=schedule_id)
