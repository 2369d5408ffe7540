"""Admin of file imports run in the background: each import's progress, then its outcome.

The pages that take a file (*Call charge imports → Add*, *Affinity imports → Add*)
save it and queue the import, then send staff here. While the import runs the page
shows how far it has got (``admin/billing/backgroundimport/progress.html`` asks
``<id>/status/`` every second or two); once it has finished the page shows the
outcome: what was imported (with a link to it), or every problem with its line.
The list, and others' imports, need ``billing.view_backgroundimport``; staff who
started an import may always follow it (they may not hold that permission).
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, JsonResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html

from ..background_imports import IMPORT_KINDS, background_import_status, import_kind_title
from ..models import BackgroundImport

ERRORS_PER_PAGE = 200


@admin.register(BackgroundImport)
class BackgroundImportAdmin(admin.ModelAdmin):
    list_display = ("id", "kind_title", "file_name", "status", "progress", "created_by")
    list_display += ("created_at", "finished_at")
    list_filter = ("status", "kind")
    list_select_related = ("created_by",)
    search_fields = ("file_name",)
    # The file's bytes are never loaded by a list or a page.
    list_per_page = 50

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).defer("content", "errors")

    def _sees_all(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}")

    @admin.display(description="kind", ordering="kind")
    def kind_title(self, obj: BackgroundImport) -> str:
        return import_kind_title(obj.kind)

    @admin.display(description="progress")
    def progress(self, obj: BackgroundImport) -> str:
        if obj.is_finished or not obj.total:
            return obj.phase
        return f"{obj.phase}: {obj.done:,} of {obj.total:,}"

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        # Staff follow the imports they started; the list and others' need the permission.
        if self._sees_all(request):
            return True
        return obj is not None and obj.created_by_id == request.user.pk

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # started from the page that takes the kind's file

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/status/",
                wrap(self.status_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_status",
            ),
            *super().get_urls(),
        ]

    def _import_or_404(self, request: HttpRequest, pk) -> BackgroundImport:
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            raise Http404("There is no such file import.") from None
        job = self.model._default_manager.defer("content").filter(pk=pk).first()
        if job is not None and self.has_view_permission(request, job):
            return job
        if not self._sees_all(request):  # nothing said of what exists
            raise PermissionDenied("Following others' file imports needs a permission.")
        raise Http404(f"There is no file import #{pk}.")

    def status_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        job = self._import_or_404(request, pk)
        response = JsonResponse(background_import_status(job))
        response["Cache-Control"] = "no-store"
        return response

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        job = self._import_or_404(request, object_id)
        kind = IMPORT_KINDS.get(job.kind)
        start_url = ""
        if kind and kind.start_url_name:
            try:
                start_url = reverse(kind.start_url_name)
            except NoReverseMatch:  # pragma: no cover - every kind names a page that exists
                start_url = ""
        errors = Paginator(job.errors or [], ERRORS_PER_PAGE).get_page(request.GET.get("page"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"{import_kind_title(job.kind)}: {job.file_name}",
            "opts": self.model._meta,
            "job": job,
            "kind_title": import_kind_title(job.kind),
            "status": background_import_status(job),
            "start_url": start_url,
            "errors_page": errors,
            "charge_import_link": (
                format_html(
                    '<a href="{}">Call charge import #{}</a>',
                    reverse("admin:billing_chargeimport_change", args=[job.charge_import_id]),
                    job.charge_import_id,
                )
                if job.charge_import_id
                else ""
            ),
        }
        return TemplateResponse(request, "admin/billing/backgroundimport/progress.html", context)
