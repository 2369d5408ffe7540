"""The Celery application.

Configured from Django settings (the CELERY_* names): JSON only, late
acknowledgement, one message prefetched per worker process. With no
CELERY_BROKER_URL, tasks run eagerly in-process.

A worker keeps its database connections across tasks, by the rule a web request
follows: before and after each task, Django closes those past
``DATABASE_CONN_MAX_AGE`` or left unusable, and checks the others before their
next use (``CONN_HEALTH_CHECKS``). Celery's own Django fixup would close them
before and after every task (a new PostgreSQL connection for every sync job);
``CELERY_DB_REUSE_MAX`` in the settings keeps it to once every thousand tasks.
"""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "layer_sync.settings")

app = Celery("layer_sync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _database_connections_as_a_request_does(sender=None, **kwargs) -> None:
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return  # run inside the caller's own work, on its connection
    from django.db import close_old_connections

    close_old_connections()


task_prerun.connect(_database_connections_as_a_request_does, dispatch_uid="db_conn_prerun")
task_postrun.connect(_database_connections_as_a_request_does, dispatch_uid="db_conn_postrun")
