"""The error queue's actions on sync jobs: retry, skip (with an optional reason) and map
to an existing platform record; as changelist actions and as buttons on a job's page.

Each calls a service (``job_retry``, ``job_skip``, ``binding_map``), which only queues
work: no platform is called inside an admin request. All need the permission
``connectors.retry_syncjob``; the pages that change something answer POST only (GET shows
a form at most) and are CSRF protected, as the admin site's views are. Every message says
what happened and what to do next.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from layer_sync.admin import refusal_text, run_service_action

from ..base import UnknownPlatform, entity_model, registered
from ..choices import ERROR_STATUSES, JobStatus
from ..engine.actions import binding_map, job_retry, job_skip
from ..errors import PermanentError
from ..models import SyncJob
from ..selectors import record_jobs
from .common import ACT_ON_JOBS, platform_label

SKIP_REASON_LENGTH = 200


class SkipForm(forms.Form):
    reason = forms.CharField(
        max_length=SKIP_REASON_LENGTH,
        required=False,
        help_text="Optional: why it is skipped (kept in the job's last error).",
    )


class MapForm(forms.Form):
    external_id = forms.CharField(
        label="External id",
        max_length=100,
        help_text="The id of the record that already exists on the platform.",
    )


class ErrorQueueActions:
    """A SyncJob ModelAdmin mixin: the error queue's actions, their pages and buttons."""

    actions = ("retry_jobs", "skip_jobs", "map_job")

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(ACT_ON_JOBS)

    def error_queue_context(self, request: HttpRequest, job: SyncJob) -> dict:
        """What the job page needs to show the buttons this user may use on this job."""
        may_act = self.has_retry_permission(request)
        return {
            "may_retry": may_act and job.status in (*ERROR_STATUSES, JobStatus.SKIPPED),
            "may_skip": may_act and job.in_error_queue,
            "may_map": may_act and job.in_error_queue,
            "skip_reason_length": SKIP_REASON_LENGTH,
        }

    def get_urls(self):
        wrap = self.admin_site.admin_view
        own = [
            path("<int:job_id>/retry/", wrap(self.retry_view), name="connectors_syncjob_retry"),
            path("<int:job_id>/skip/", wrap(self.skip_view), name="connectors_syncjob_skip"),
            path("<int:job_id>/map/", wrap(self.map_view), name="connectors_syncjob_map"),
        ]
        return own + super().get_urls()

    def _job_url(self, job: SyncJob) -> str:
        return reverse(f"{self.admin_site.name}:connectors_syncjob_change", args=[job.pk])

    def _next_or_job_url(self, request: HttpRequest, job: SyncJob) -> str:
        """Where to go after acting: the page the button was on (``next``, when it is a page
        of this site, such as the record's own page), else the job's page."""
        wanted = request.POST.get("next") or request.GET.get("next") or ""
        if wanted and url_has_allowed_host_and_scheme(
            wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return wanted
        return self._job_url(job)

    def _acting_on(self, request: HttpRequest, job_id: int) -> SyncJob:
        if not self.has_retry_permission(request):
            raise PermissionDenied(f"Acting on the error queue needs the permission {ACT_ON_JOBS}.")
        job = SyncJob.objects.filter(pk=job_id).first()
        if job is None:
            raise Http404(f"There is no sync job #{job_id}.")
        return job

    # --- retry -------------------------------------------------------------------------
    def retry_one(self, request: HttpRequest, job: SyncJob) -> SyncJob:
        """Retry a job under a row lock (a worker or another click cannot change it meanwhile)."""
        with transaction.atomic():
            locked = SyncJob.objects.select_for_update().get(pk=job.pk)
            return job_retry(locked, user=request.user)

    def retry_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        return require_POST(self._retry)(request, job_id)

    def _retry(self, request: HttpRequest, job_id: int) -> HttpResponse:
        job = self._acting_on(request, job_id)
        try:
            queued = self.retry_one(request, job)
        except PermanentError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(self._next_or_job_url(request, job))
        if queued.finished_at is not None:  # redone at once by its connector (Send to Connect)
            text = (
                f"Job #{job.pk} was done again at once: job #{queued.pk} records it, "
                f"{queued.get_status_display().lower()}"
                + (f": {queued.last_error}" if queued.last_error else ".")
            )
            level = messages.SUCCESS if queued.status == JobStatus.SUCCEEDED else messages.ERROR
            self.message_user(request, text, level)
            return HttpResponseRedirect(self._next_or_job_url(request, queued))
        if queued.pk == job.pk:
            text = (
                f"Job #{job.pk} is back in the queue with its attempts reset; it runs in the "
                "background, and its progress shows on the record's sync panel and on the "
                "job's page."
            )
        else:
            text = (
                f"The record already had a pending job, #{queued.pk}: job #{job.pk} merged "
                "into it and left the error queue. Follow the pending job here."
            )
        self.message_user(request, text, messages.SUCCESS)
        return HttpResponseRedirect(self._next_or_job_url(request, queued))

    @admin.action(description="Retry the selected jobs", permissions=["retry"])
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> None:
        redone_by = [code for code, connector in registered().items() if connector.redoes_jobs]
        # Jobs their connector redoes at once (Send to Connect), then those queued again.
        for jobs, done, then in (
            (
                queryset.filter(platform__in=redone_by),
                "Done again at once (Send to Connect)",
                "Each is a new job of the Sync History, which shows how it ended.",
            ),
            (
                queryset.exclude(platform__in=redone_by),
                "Queued again",
                "They run in the background; the list shows their progress when reloaded.",
            ),
        ):
            run_service_action(
                self,
                request,
                jobs,
                service=lambda job: self.retry_one(request, job),
                done=done,
                then=then,
                refusals_of=(PermanentError,),
            )

    # --- skip --------------------------------------------------------------------------
    def skip_one(self, request: HttpRequest, job: SyncJob, reason: str) -> SyncJob:
        with transaction.atomic():
            locked = SyncJob.objects.select_for_update().get(pk=job.pk)
            return job_skip(locked, user=request.user, reason=reason)

    def skip_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        """GET: the skip form (a reason, optional). POST: skip the job."""
        job = self._acting_on(request, job_id)
        form = SkipForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                self.skip_one(request, job, form.cleaned_data["reason"])
            except PermanentError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Job #{job.pk} was skipped and left the error queue; nothing was sent. "
                    "To send the record later, use Retry here or Sync now on its page.",
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(self._job_url(job))
        return self._skip_page(request, [job], form, action_url=request.path)

    @admin.action(description="Skip the selected jobs", permissions=["retry"])
    def skip_jobs(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> HttpResponse | None:
        """First a page asking for an (optional) reason; its POST skips them."""
        form = SkipForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            run_service_action(
                self,
                request,
                queryset,
                service=lambda job: self.skip_one(request, job, form.cleaned_data["reason"]),
                done="Skipped (out of the error queue, nothing sent)",
                then="Retry a skipped job to send its record after all.",
                refusals_of=(PermanentError,),
            )
            return None
        return self._skip_page(request, list(queryset), form, action_url="")

    def _skip_page(
        self, request: HttpRequest, jobs: list[SyncJob], form: SkipForm, *, action_url: str
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "Skip sync jobs",
            "opts": self.model._meta,
            "jobs": jobs,
            "form": form,
            "action_url": action_url,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/connectors/syncjob/skip.html", context)

    # --- map to an existing platform record ------------------------------------------------
    @admin.action(description="Map to an existing external id", permissions=["retry"])
    def map_job(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> HttpResponse | None:
        jobs = list(queryset[:2])
        if len(jobs) != 1:
            self.message_user(
                request,
                "Select exactly one job to map: a mapping binds one record to one platform record.",
                messages.WARNING,
            )
            return None
        return HttpResponseRedirect(
            reverse(f"{self.admin_site.name}:connectors_syncjob_map", args=[jobs[0].pk])
        )

    def map_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        """GET: ask for the external id. POST: bind the job's record to it (binding_map),
        which takes the record's failed jobs out of the error queue and queues an update."""
        job = self._acting_on(request, job_id)
        if not job.in_error_queue:
            self.message_user(
                request,
                f"Job #{job.pk} is not in the error queue: there is nothing to map. To bind "
                "its record to another platform record, map a job of it that failed.",
                messages.WARNING,
            )
            return HttpResponseRedirect(self._job_url(job))
        form = MapForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            external_id = form.cleaned_data["external_id"].strip()
            try:
                binding = binding_map(
                    platform=job.platform,
                    entity=job.entity,
                    object_id=job.object_id,
                    external_id=external_id,
                    user=request.user,
                )
            except (PermanentError, UnknownPlatform) as error:
                form.add_error("external_id", refusal_text(error))
            else:
                self._report_mapped(request, job, binding.role, external_id)
                return HttpResponseRedirect(self._next_or_job_url(request, job))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Map job #{job.pk} to an existing platform record",
            "opts": self.model._meta,
            "job": job,
            "platform_name": platform_label(job.platform),
            "form": form,
            "cancel_url": self._next_or_job_url(request, job),
        }
        return TemplateResponse(request, "admin/connectors/syncjob/map.html", context)

    def _report_mapped(self, request: HttpRequest, job: SyncJob, role: str, external_id: str):
        record = entity_model(job.entity)._default_manager.filter(pk=job.object_id).first()
        pending = (
            record_jobs(job.platform, job.entity, job.object_id)
            .filter(status=JobStatus.PENDING)
            .first()
        )
        then = (
            f"Job #{pending.pk} is queued to update that platform record with the current "
            "details; it runs in the background."
            if pending
            else "The next sync updates that platform record instead of creating one."
        )
        self.message_user(
            request,
            f"{job.get_entity_display()} {record or job.object_id} is now mapped to "
            f"{platform_label(job.platform)} {role} {external_id}, and its failed jobs left the "
            f"error queue. {then}",
            messages.SUCCESS,
        )
