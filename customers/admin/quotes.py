"""Admin for quotes and their lines; billing.admin adds the sales order side."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from layer_sync.admin import (
    ServiceInlineMixin,
    ServiceModelAdmin,
    ServiceModelForm,
    run_service_action,
)

from .. import services
from ..models import Quote, QuoteLine


class QuoteLineForm(ServiceModelForm):
    def service_validate(self, instance: QuoteLine) -> None:
        services.quote_line_validate(line=instance)


class QuoteLineInline(ServiceInlineMixin, admin.TabularInline):
    model = QuoteLine
    form = QuoteLineForm
    fields = ("inventory_item", "quantity", "sell_price", "recurring_sell_price", "site", "cli")
    autocomplete_fields = ("inventory_item", "site")
    extra = 0

    def service_save(self, request: HttpRequest, obj: QuoteLine) -> None:
        services.quote_line_save(line=obj)


class QuoteForm(ServiceModelForm):
    def service_validate(self, instance: Quote) -> None:
        services.quote_validate(quote=instance)


@admin.register(Quote)
class QuoteAdmin(ServiceModelAdmin):
    """Quotes; billing.admin extends this with the sales order column and action."""

    form = QuoteForm
    list_display = ("__str__", "customer", "status", "contact", "won_at", "created_at")
    list_filter = ("status",)
    list_select_related = ("customer", "contact")
    search_fields = ("reference", "customer__name")
    autocomplete_fields = ("customer", "contact", "invoice_address")
    readonly_fields = ("won_at", "created_at", "updated_at")
    inlines = (QuoteLineInline,)
    actions = ("mark_won",)
    fields = (
        "customer",
        "reference",
        "status",
        "contact",
        "invoice_address",
        "won_at",
        "created_at",
        "updated_at",
    )

    def service_save(self, request, obj, form, change) -> None:
        # Won here is won through quote_mark_won: a lead is converted (quote win).
        services.quote_save(quote=obj, user=request.user)

    @admin.action(description="Mark won (converts a lead)", permissions=["change"])
    def mark_won(self, request: HttpRequest, queryset: QuerySet[Quote]) -> None:
        run_service_action(
            self,
            request,
            queryset.select_related("customer"),
            service=lambda quote: services.quote_mark_won(quote=quote, user=request.user),
            done="Marked won",
        )
