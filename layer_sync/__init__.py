"""layer_sync: the project package (settings, urls, Celery app, shared plumbing)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
