"""Admin of the billing apps: the Change Queue (staff mark entries Processed or Ignored,
with a reason) and the record of transfers to billing. Both need the billing apps'
permission ("Apps - Change Queue") besides the model's own."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext

from ..change_queue import change_queue_entry_resolve
from ..choices import ChangeStatus
from ..models import BILLING_APPS_PERMISSION, BillingTransfer, BillingTransferItem, ChangeQueueEntry


class BillingAppsMixin:
    """Needs the billing apps' permission on top of the model's."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(BILLING_APPS_PERMISSION) and super().has_module_permission(
            request
        )

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(BILLING_APPS_PERMISSION) and super().has_view_permission(
            request, obj
        )


class ResolveForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Why: what was done on the platform, or why nothing needs doing.",
    )


@admin.register(ChangeQueueEntry)
class ChangeQueueEntryAdmin(BillingAppsMixin, admin.ModelAdmin):
    list_display = ("created_at", "asset", "customer", "platform", "source", "changed", "status")
    list_filter = ("status", "platform", "source")
    list_select_related = ("asset__inventory_item", "asset__customer", "platform")
    search_fields = ("asset__identifier", "asset__customer__name", "reason")
    date_hierarchy = "created_at"
    actions = ("mark_processed", "mark_ignored")
    readonly_fields = (
        "asset",
        "platform",
        "source",
        "changes_table",
        "status",
        "reason",
        "created_at",
        "created_by",
        "actioned_by",
        "actioned_at",
    )
    exclude = ("changes",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # entries come from asset changes only

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the queue is a record: ignore an entry instead

    @admin.display(description="customer", ordering="asset__customer__name")
    def customer(self, obj: ChangeQueueEntry) -> str:
        return str(obj.asset.customer)

    @admin.display(description="changed")
    def changed(self, obj: ChangeQueueEntry) -> str:
        return ", ".join(change["label"] for change in obj.changes)

    @admin.display(description="changes")
    def changes_table(self, obj: ChangeQueueEntry) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((c["label"], c["old"] or "-", c["new"] or "-") for c in obj.changes),
        )
        return format_html(
            "<table><thead><tr><th>field</th><th>was</th><th>now</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return self.has_change_permission(request) and request.user.has_perm(
            BILLING_APPS_PERMISSION
        )

    def _resolve(self, request: HttpRequest, queryset: QuerySet, status: str):
        label = ChangeStatus(status).label
        form = ResolveForm(request.POST if "reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            done, refused = 0, []
            for entry in queryset:
                try:
                    change_queue_entry_resolve(
                        entry=entry,
                        status=status,
                        reason=form.cleaned_data["reason"],
                        user=request.user,
                    )
                    done += 1
                except ValidationError as error:
                    refused.append(f"{entry}: {' '.join(error.messages)}")
            if done:
                self.message_user(request, f"Marked {label}: {done}.", messages.SUCCESS)
            if refused:
                self.message_user(request, "Refused: " + " | ".join(refused), messages.WARNING)
            return HttpResponseRedirect(request.get_full_path())
        count = queryset.count()
        return TemplateResponse(
            request,
            "admin/billing/changequeueentry/resolve.html",
            {
                **self.admin_site.each_context(request),
                "title": ngettext(
                    "Mark %(count)d entry %(label)s", "Mark %(count)d entries %(label)s", count
                )
                % {"count": count, "label": label},
                "entries": queryset,
                "form": form,
                "action": request.POST.get("action"),
                "opts": self.model._meta,
                "label": label,
            },
        )

    @admin.action(description="Mark selected entries Processed", permissions=["resolve"])
    def mark_processed(self, request: HttpRequest, queryset: QuerySet):
        return self._resolve(request, queryset, ChangeStatus.PROCESSED)

    @admin.action(description="Mark selected entries Ignored", permissions=["resolve"])
    def mark_ignored(self, request: HttpRequest, queryset: QuerySet):
        return self._resolve(request, queryset, ChangeStatus.IGNORED)


class BillingTransferItemInline(admin.TabularInline):
    model = BillingTransferItem
    fields = ("line", "component")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(BillingTransfer)
class BillingTransferAdmin(BillingAppsMixin, admin.ModelAdmin):
    """Who transferred which lines to billing, and when (read-only)."""

    list_display = ("__str__", "route", "transferred_by", "transferred_at", "component_count")
    list_filter = ("route",)
    list_select_related = ("route", "transferred_by")
    date_hierarchy = "transferred_at"
    readonly_fields = ("route", "transferred_by", "transferred_at")
    inlines = (BillingTransferItemInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="components")
    def component_count(self, obj: BillingTransfer) -> int:
        return obj.items.count()
