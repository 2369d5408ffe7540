"""The Celery application.

Configured from Django settings (the CELERY_* names): JSON only, late
acknowledgement, one message prefetched per worker process. With no
CELERY_BROKER_URL, tasks run eagerly in-process.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "layer_sync.settings")

app = Celery("layer_sync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
