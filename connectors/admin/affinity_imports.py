"""*Billing platform sync → Affinity imports*: Affinity's two file imports, run in the
background (docs/affinity.md): application links (bind Layer records to existing
Affinity records) and cease requests (set service assets' cease dates).

*Add* is the import page (the file, its kind, the options of the commands
``import_affinity_links`` / ``import_affinity_ceases``); it queues the import and goes
to the import's page, which follows its progress and then shows every bad row with its
line. Importing needs ``connectors.add_affinityimport``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from billing.admin.background_imports import BackgroundImportAdmin
from billing.background_imports import background_import_start

from ..affinity.background import CEASES, LINKS
from ..affinity.imports import CEASE_HEADERS, LINK_HEADERS
from ..models import AffinityImport

MAX_FILE_BYTES = 10 * 1024 * 1024


class AffinityImportForm(forms.Form):
    required_css_class = "required"

    kind = forms.ChoiceField(
        label="Import",
        choices=[
            (LINKS, f"Application links ({', '.join(LINK_HEADERS)})"),
            (CEASES, f"Cease requests ({', '.join(CEASE_HEADERS)}; other columns ignored)"),
        ],
        widget=forms.RadioSelect,
    )
    file = forms.FileField(help_text="The CSV file (UTF-8), with its header row.")
    apply_good_rows = forms.BooleanField(
        required=False,
        label="Apply the good rows",
        help_text="Apply the good rows even when some are bad (by default nothing is applied "
        "then).",
    )
    verify = forms.BooleanField(
        required=False,
        initial=True,
        label="Check each Integration Id on Affinity",
        help_text="Application links only: each linked record must exist on Affinity too "
        "(asks Affinity once a row).",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_FILE_BYTES:,} bytes.")
        return upload


@admin.register(AffinityImport)
class AffinityImportAdmin(BackgroundImportAdmin):
    list_filter = ("status", "kind")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("connectors.add_affinityimport")

    def add_view(self, request: HttpRequest, form_url="", extra_context=None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied("Importing Affinity files needs connectors.add_affinityimport.")
        if request.method == "POST":
            form = AffinityImportForm(request.POST, request.FILES)
            if form.is_valid():
                data = form.cleaned_data
                job = background_import_start(
                    kind=data["kind"],
                    file_name=data["file"].name,
                    content=data["file"].read(),
                    parameters={
                        "apply_good_rows": data["apply_good_rows"],
                        "verify": data["verify"] and data["kind"] == LINKS,
                    },
                    user=request.user,
                )
                return HttpResponseRedirect(
                    reverse("admin:connectors_affinityimport_change", args=[job.pk])
                )
        else:
            form = AffinityImportForm(initial={"kind": LINKS, "verify": True})
        context = {
            **self.admin_site.each_context(request),
            "title": "Import an Affinity file",
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "admin/connectors/affinityimport/import.html", context)
