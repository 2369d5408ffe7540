"""A sync job's status as JSON, for the pages that show work running in the background.

The customer sync summary and the record's sync panel queue jobs (*Sync now*, *Sync
<platform> Customer*, *Retry*) that run in a worker; a small script on those pages
(``admin/connectors/job_progress.html``) asks this endpoint every second or two until the
job has left pending and in flight, then shows how it ended. Read-only; needs
``connectors.view_syncjob``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse

from ..choices import JobStatus
from ..models import SyncJob
from .common import STATUS_TONES, VIEW_JOBS

RUNNING_STATUSES = (JobStatus.PENDING, JobStatus.IN_FLIGHT)
ERROR_EXCERPT = 300


def job_status(job: SyncJob) -> dict[str, Any]:
    """What the progress indicator shows of a job."""
    done = job.status not in RUNNING_STATUSES
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": job.get_status_display(),
        "tone": STATUS_TONES.get(job.status, ""),
        "done": done,
        "operation": job.get_operation_display() if job.operation else "",
        "attempts": job.attempts,
        "next_attempt_at": (
            job.next_attempt_at.isoformat()
            if job.status == JobStatus.PENDING and job.next_attempt_at
            else None
        ),
        "external_id": job.external_id,
        "error": (job.filtered_by or job.last_error)[:ERROR_EXCERPT],
        "in_error_queue": job.in_error_queue,
        "url": reverse("admin:connectors_syncjob_change", args=[job.pk]),
    }


def job_status_view(request: HttpRequest, job_id: int) -> JsonResponse:
    if not request.user.has_perm(VIEW_JOBS):
        raise PermissionDenied(f"A job's status needs the permission {VIEW_JOBS}.")
    job = SyncJob.objects.filter(pk=job_id).first()
    if job is None:
        raise Http404(f"There is no sync job #{job_id}.")
    response = JsonResponse(job_status(job))
    response["Cache-Control"] = "no-store"
    return response
