"""Admin for call charges from Connect (seed 004): locations, product groups, account codes,
the import page, and batch sheets with their totals, Complete and Approve.

Adapters over billing.call_charges: every write is a service call.

- *Call charge imports → Add* is the import page: the form of seed 004 (location,
  import type, product group, product, batch date, reference date, reference text,
  the file). A refused file is shown again with every bad row and its line; a file
  imported before needs *Import anyway*.
- An import's page lists its rows, matched and unmatched (with the reason), and has
  *Match again* for the unmatched ones once their account codes are added.
- A batch sheet's page shows its totals by account and overall, *Mark completed*,
  *Reopen*, and *Approve* (its own permission; the approver types the totals).
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Model, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from customers.choices import CustomerStage

from .. import background_imports, call_charges
from ..call_logger import CALL_LOGGER_COLUMNS, MAX_FILE_BYTES, call_logger_sample
from ..choices import PlatformCode
from ..models import (
    AccountCode,
    BatchSheet,
    BillingPlatform,
    CallChargeImportType,
    ChargeImport,
    InventoryItem,
    Location,
    ProductGroup,
)

APPROVE = call_charges.APPROVE_PERMISSION
# Rows and charges shown at once on an import's or a batch sheet's page.
ROWS_PER_PAGE = 200
SAMPLE_ACCOUNTS = 5
SAMPLE_UNKNOWN_CODE = "NO-SUCH-ACCOUNT"
ROW_FILTERS = {"": "All rows", "matched": "Matched", "unmatched": "Unmatched"}


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ("name", "connect_site_id", "connect_call_logger")
    list_filter = ("connect_call_logger",)
    search_fields = ("name", "connect_site_id")


@admin.register(ProductGroup)
class ProductGroupAdmin(admin.ModelAdmin):
    search_fields = ("name",)


class AccountCodeForm(forms.ModelForm):
    class Meta:
        model = AccountCode
        fields = ("customer", "platform", "code", "location")

    def clean(self):
        cleaned = super().clean()
        customer, platform = cleaned.get("customer"), cleaned.get("platform")
        if customer is not None and platform is not None and cleaned.get("code"):
            try:
                cleaned["code"] = call_charges.account_code_validate(
                    customer=customer, platform=platform, code=cleaned["code"]
                )
            except ValidationError as error:
                self.add_error("code", error.message_dict["code"])
        return cleaned


@admin.register(AccountCode)
class AccountCodeAdmin(admin.ModelAdmin):
    """The codes platforms know customers by in their files (Connect: the Billing Reference)."""

    form = AccountCodeForm
    list_display = ("code", "customer", "platform", "location", "created_at")
    list_filter = ("platform", "location")
    list_select_related = ("customer", "platform", "location")
    search_fields = ("code", "customer__name")
    autocomplete_fields = ("customer",)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        initial = super().get_changeform_initial_data(request)
        initial.setdefault(
            "platform", BillingPlatform.objects.filter(code=PlatformCode.CONNECT).first()
        )
        return initial


# --- imports -------------------------------------------------------------------------------
class ChargeImportForm(forms.Form):
    # Required fields' labels are bold (the admin's style for class "required").
    required_css_class = "required"

    location = forms.ModelChoiceField(
        queryset=Location.objects.filter(connect_call_logger=True),
        help_text="The location the charges were incurred at (locations with the Connect Call "
        "Logger ticked).",
    )
    import_type = forms.ChoiceField(choices=CallChargeImportType.choices)
    product_group = forms.ModelChoiceField(queryset=ProductGroup.objects.all())
    product = forms.ModelChoiceField(queryset=InventoryItem.objects.all())
    batch_date = forms.DateField(help_text="The date the charges are billed to.")
    reference_date = forms.DateField()
    reference_text = forms.CharField(required=False, max_length=call_charges.REFERENCE_TEXT_MAX)
    file = forms.FileField(help_text="The call logger CSV downloaded from Connect.")
    ignore_zero_values = forms.BooleanField(
        required=False, help_text="Skip rows with a zero amount instead of refusing the file."
    )
    force = forms.BooleanField(
        required=False,
        label="Import anyway",
        help_text="Import this file although the same file was imported before.",
    )


def _read_upload(upload) -> bytes:
    if upload.size > MAX_FILE_BYTES:
        raise ValidationError({"file": f"The file is larger than {MAX_FILE_BYTES:,} bytes."})
    return upload.read()


@admin.register(ChargeImport)
class ChargeImportAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "file_name",
        "location",
        "product_group",
        "batch_date",
        "row_count",
        "matched_count",
        "unmatched_count",
        "total_amount",
        "status",
        "created_by",
        "created_at",
    )
    list_filter = ("status", "location", "product_group", "import_type")
    list_select_related = ("location", "product_group", "created_by")
    search_fields = ("file_name", "reference_text", "file_sha256")
    change_form_template = "admin/billing/chargeimport/change_form.html"
    readonly_fields = (
        "import_type",
        "location",
        "product_group",
        "product",
        "batch_date",
        "reference_date",
        "reference_text",
        "file_name",
        "file_sha256",
        "file_size",
        "ignore_zero_values",
        "forced_duplicate",
        "status",
        "row_count",
        "matched_count",
        "unmatched_count",
        "ignored_count",
        "total_amount",
        "created_by",
        "created_at",
    )

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/rematch/",
                wrap(self.rematch_view),
                name="billing_chargeimport_rematch",
            ),
            path("sample.csv", wrap(self.sample_view), name="billing_chargeimport_sample"),
            *super().get_urls(),
        ]

    def add_view(self, request: HttpRequest, form_url="", extra_context=None) -> HttpResponse:
        """The import page: the form; the file is then imported in the background."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        duplicate = None
        if request.method == "POST":
            form = ChargeImportForm(request.POST, request.FILES)
            if form.is_valid():
                data = form.cleaned_data
                settings_ = {
                    name: data[name]
                    for name in (
                        "location",
                        "import_type",
                        "product_group",
                        "product",
                        "batch_date",
                        "reference_date",
                        "reference_text",
                    )
                }
                try:
                    content = _read_upload(data["file"])
                    # The settings and a repeated file are answered at once, on this form;
                    # the rows are read in the background (a file may hold 100,000).
                    call_charges.charge_import_validate(**settings_, file_name=data["file"].name)
                    if not data["force"]:
                        call_charges.charge_import_duplicate_check(content=content)
                except ValidationError as error:
                    for field, problems in error.message_dict.items():
                        form.add_error(field if field in form.fields else None, problems)
                except call_charges.DuplicateChargeFile as error:
                    duplicate = error.previous
                    form.add_error("force", error.message)
                else:
                    job = background_imports.background_import_start(
                        kind=background_imports.CALL_CHARGES,
                        file_name=data["file"].name,
                        content=content,
                        parameters=background_imports.call_charge_parameters(
                            **settings_,
                            force=data["force"],
                            ignore_zero_values=data["ignore_zero_values"],
                        ),
                        user=request.user,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:billing_backgroundimport_change", args=[job.pk])
                    )
        else:
            form = ChargeImportForm(
                initial={"import_type": CallChargeImportType.ESSENSYS_CALL_LOGGER}
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Import call charges",
            "opts": self.model._meta,
            "form": form,
            "duplicate": duplicate,
            "columns": CALL_LOGGER_COLUMNS,
        }
        return TemplateResponse(request, "admin/billing/chargeimport/import.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        extra_context["may_rematch"] = self.has_add_permission(request)
        return super().change_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The rows a page at a time (a file may hold 100,000), the totals from the database.
        if obj is not None:
            show = request.GET.get("show", "")
            show = show if show in ROW_FILTERS else ""
            rows = obj.rows.select_related("customer").order_by("line_number")
            if show:
                rows = rows.filter(customer__isnull=show == "unmatched")
            context.update(
                {
                    "rows_page": Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page")),
                    "rows_show": show,
                    "row_filters": ROW_FILTERS,
                    "row_totals": call_charges.charge_import_totals(charge_import=obj),
                }
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def sample_view(self, request: HttpRequest) -> HttpResponse:
        """A call logger file to try the import with: calls of the customers holding
        Connect account codes (a few), and of a code no customer holds."""
        if not self.has_add_permission(request):
            raise PermissionDenied("The sample file is for those who may import call charges.")
        codes = list(
            AccountCode.objects.filter(
                platform__code=PlatformCode.CONNECT, customer__stage=CustomerStage.CUSTOMER
            )
            .order_by("code")
            .values_list("code", flat=True)[:SAMPLE_ACCOUNTS]
        )
        content = call_logger_sample(
            codes, today=timezone.localdate(), unknown_code=SAMPLE_UNKNOWN_CODE
        )
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="sample-call-charges.csv"'
        return response

    def rematch_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:billing_chargeimport_change", args=[pk]))
        if not self.has_add_permission(request):
            raise PermissionDenied("Matching rows again needs the permission to import charges.")
        charge_import = get_object_or_404(ChargeImport, pk=pk)
        matched = call_charges.charge_import_rematch(charge_import=charge_import, user=request.user)
        charge_import.refresh_from_db()
        messages.success(
            request,
            f"Matched {matched} more rows; {charge_import.unmatched_count} still unmatched.",
        )
        return HttpResponseRedirect(reverse("admin:billing_chargeimport_change", args=[pk]))


# --- batch sheets -----------------------------------------------------------------------------
class ApproveForm(forms.Form):
    confirmed_total = forms.DecimalField(
        label="Total you checked (£)", max_digits=14, decimal_places=2
    )
    confirmed_charges = forms.IntegerField(label="Number of charges you checked", min_value=0)


@admin.register(BatchSheet)
class BatchSheetAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "location",
        "product_group",
        "state",
        "charge_count",
        "charge_total",
        "created_at",
    )
    list_filter = ("location", "product_group", "name")
    list_select_related = ("location", "product_group")
    search_fields = ("name", "location__name", "product_group__name")
    change_form_template = "admin/billing/batchsheet/change_form.html"
    readonly_fields = (
        "name",
        "location",
        "product_group",
        "completed_at",
        "completed_by",
        "approved_at",
        "approved_by",
        "approved_total",
        "approved_charge_count",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[BatchSheet]:
        return (
            super()
            .get_queryset(request)
            .annotate(charge_count=Count("charges"), charge_total=Sum("charges__amount"))
        )

    @admin.display(description="state")
    def state(self, obj: BatchSheet) -> str:
        return obj.state

    @admin.display(description="charges", ordering="charge_count")
    def charge_count(self, obj: BatchSheet) -> int:
        return obj.charge_count

    @admin.display(description="total", ordering="charge_total")
    def charge_total(self, obj: BatchSheet) -> Decimal:
        return obj.charge_total or Decimal("0.00")

    def has_add_permission(self, request) -> bool:
        return False  # sheets are made by imports

    def has_delete_permission(self, request, obj: Model | None = None) -> bool:
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/state/<slug:action>/",
                wrap(self.transition_view),
                name="billing_batchsheet_transition",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # Here, not in change_view: the admin has checked the permission and found the
        # sheet (or answered for a missing one or a malformed id) before this runs.
        if obj is not None:
            totals = call_charges.batch_sheet_totals(sheet=obj)
            charges = obj.charges.select_related("customer", "product").order_by(
                "customer__name", "customer_id", "id"
            )
            context.update(
                {
                    "sheet": obj,
                    "totals": totals,
                    "accounts_page": Paginator(totals.by_account, ROWS_PER_PAGE).get_page(
                        request.GET.get("accounts")
                    ),
                    "charges_page": Paginator(charges, ROWS_PER_PAGE).get_page(
                        request.GET.get("page")
                    ),
                    "may_change": request.user.has_perm("billing.change_batchsheet"),
                    "may_approve": request.user.has_perm(APPROVE),
                    "approve_form": ApproveForm(),
                }
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def transition_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        # The permission first: a user who may not act learns nothing of which sheets exist.
        needed = APPROVE if action == "approve" else "billing.change_batchsheet"
        if not request.user.has_perm(needed):
            raise PermissionDenied(f"This needs the permission {needed}.")
        back = HttpResponseRedirect(reverse("admin:billing_batchsheet_change", args=[pk]))
        if request.method != "POST" or action not in ("complete", "reopen", "approve"):
            return back
        sheet = get_object_or_404(BatchSheet, pk=pk)
        try:
            if action == "approve":
                form = ApproveForm(request.POST)
                if not form.is_valid():
                    raise ValidationError(
                        "Type the total and the number of charges you checked to approve."
                    )
                call_charges.batch_sheet_approve(
                    sheet=sheet,
                    user=request.user,
                    confirmed_total=form.cleaned_data["confirmed_total"],
                    confirmed_charges=form.cleaned_data["confirmed_charges"],
                )
                messages.success(request, f"Batch sheet #{pk} approved: it can no longer change.")
            else:
                service = (
                    call_charges.batch_sheet_complete
                    if action == "complete"
                    else call_charges.batch_sheet_reopen
                )
                service(sheet=sheet, user=request.user)
                done = "completed" if action == "complete" else "reopened"
                messages.success(request, f"Batch sheet #{pk} {done}.")
        except ValidationError as error:
            messages.error(request, "Not done: " + " ".join(error.messages))
        return back
