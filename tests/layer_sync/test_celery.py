"""The Celery app's configuration (issue 2): JSON only, late acknowledgement, one
message prefetched, and tasks run eagerly when no broker is configured."""

import runpy
from pathlib import Path

import environ
import pytest
from django.conf import settings
from django.db import connection

import layer_sync
from layer_sync import celery_app

SETTINGS_FILE = Path(layer_sync.__file__).with_name("settings.py")


def settings_with_env(monkeypatch, **env: str) -> dict:
    """Execute layer_sync/settings.py afresh under the given environment (no .env file)."""
    monkeypatch.setattr(environ.Env, "read_env", classmethod(lambda cls, *a, **k: None))
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def test_celery_sends_and_accepts_json_only():
    conf = celery_app.conf

    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert list(conf.accept_content) == ["json"]


def test_celery_acknowledges_late_and_requeues_a_task_whose_worker_died():
    assert celery_app.conf.task_acks_late is True
    assert celery_app.conf.task_reject_on_worker_lost is True


def test_celery_workers_prefetch_one_message_per_process():
    assert celery_app.conf.worker_prefetch_multiplier == 1


def test_celery_app_runs_tasks_eagerly_exactly_when_no_broker_is_configured():
    assert celery_app.conf.task_always_eager is (not settings.CELERY_BROKER_URL)
    assert celery_app.conf.task_eager_propagates is True


def test_settings_run_tasks_eagerly_when_celery_broker_url_is_unset(monkeypatch):
    loaded = settings_with_env(monkeypatch)

    assert loaded["CELERY_BROKER_URL"] == ""
    assert loaded["CELERY_TASK_ALWAYS_EAGER"] is True


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "amqp://guest@127.0.0.1//"])
def test_settings_send_tasks_to_the_broker_when_celery_broker_url_is_set(monkeypatch, url):
    loaded = settings_with_env(monkeypatch, CELERY_BROKER_URL=url)

    assert loaded["CELERY_BROKER_URL"] == url
    assert loaded["CELERY_TASK_ALWAYS_EAGER"] is False
    assert loaded["CELERY_ACCEPT_CONTENT"] == ["json"]


# --- database connections across tasks -----------------------------------------------------
needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: Django never closes SQLite's in-memory test database",
)


class _WorkerTask:
    """A task as a worker runs it (not eagerly), for the task signals."""

    class request:
        is_eager = False


@needs_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_keeps_its_database_connection_across_tasks(settings):
    """layer_sync/celery.py: connections are kept by Django's own rule (CONN_MAX_AGE), not
    closed around every task by Celery's Django fixup (a connection per sync job)."""
    from celery.fixups.django import DjangoWorkerFixup
    from celery.signals import task_postrun, task_prerun

    connection.ensure_connection()
    opened = connection.connection
    fixup = DjangoWorkerFixup(celery_app)  # what a worker process installs
    for _ in range(3):
        task_prerun.send(sender=_WorkerTask)
        fixup.on_task_prerun(sender=_WorkerTask)
        connection.ensure_connection()
        fixup.on_task_postrun(sender=_WorkerTask)
        task_postrun.send(sender=_WorkerTask)

    assert connection.connection is opened


@needs_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_closes_a_connection_older_than_conn_max_age_before_its_next_task(settings):
    from celery.signals import task_prerun

    connection.ensure_connection()
    opened = connection.connection
    connection.close_at = 0  # past its DATABASE_CONN_MAX_AGE

    task_prerun.send(sender=_WorkerTask)

    assert connection.connection is None
    connection.ensure_connection()
    assert connection.connection is not opened
