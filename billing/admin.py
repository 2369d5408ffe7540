"""Admin for billing platforms, base categories, inventory, sales orders, lines and assets.

Sales orders and their lines are written through `billing.services`; a
service's refusal is shown on the field it names (customers.admin's
ServiceModelAdmin). Bill statuses and the billing start date override are
read-only without the `billing.allow_update_billing` permission.
"""

from django.contrib import admin
from django.db.models import Count, Model, QuerySet
from django.http import HttpRequest

from customers import admin as customers_admin
from customers.admin import ServiceInlineMixin, ServiceModelAdmin, run_service_action
from customers.models import Quote, Site

from . import services
from .models import Asset, BaseCategory, BillingPlatform, InventoryItem, SalesOrder, SalesOrderLine

BILLING_PERMISSION = "billing.allow_update_billing"
LINE_BILLING_FIELDS = ("upfront_bill_status", "recurring_bill_status")
ASSET_BILLING_FIELDS = ("billing_start_date_override",)


def billing_fields_locked(request: HttpRequest, fields: tuple[str, ...]) -> tuple[str, ...]:
    """`fields` when the user may not update billing (so they are read-only), else none."""
    return () if request.user.has_perm(BILLING_PERMISSION) else fields


# --- platforms, categories, inventory --------------------------------------------


@admin.register(BillingPlatform)
class BillingPlatformAdmin(admin.ModelAdmin):
    """The platforms are a fixed set made by a migration (connectors register by code)."""

    list_display = ("name", "code", "integration_enabled")
    list_filter = ("integration_enabled",)
    search_fields = ("name", "code")
    readonly_fields = ("code",)
    fields = ("code", "name", "integration_enabled")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(BaseCategory)
class BaseCategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "identifier_field", "item_count")
    list_filter = ("identifier_field",)
    search_fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[BaseCategory]:
        return super().get_queryset(request).annotate(item_count=Count("inventory_items"))

    @admin.display(description="inventory items", ordering="item_count")
    def item_count(self, obj: BaseCategory) -> int:
        return obj.item_count


@admin.register(InventoryItem)
class InventoryItemAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "item_type",
        "base_category",
        "upfront_route",
        "recurring_route",
        "billing_frequency",
        "sell_price",
        "recurring_sell_price",
        "external_sku",
    )
    list_filter = (
        "item_type",
        "base_category",
        "upfront_route",
        "recurring_route",
        "billing_frequency",
    )
    list_select_related = ("base_category", "upfront_route", "recurring_route")
    search_fields = ("name", "external_sku", "data_description", "pricing_tier")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "item_type", "base_category", "billing_frequency")}),
        ("Prices", {"fields": ("sell_price", "recurring_sell_price", "rrp")}),
        (
            "Billing routes",
            {
                "fields": ("upfront_route", "recurring_route"),
                "description": "Set independently: the up-front charge and the recurring "
                "charge may be billed by different platforms.",
            },
        ),
        (
            "Charge types and codes",
            {
                "fields": (
                    "data_description",
                    "pricing_tier",
                    "custom_field_1",
                    "custom_field_2",
                    "external_sku",
                )
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )


# --- sales orders and lines --------------------------------------------------------

LINE_FIELDS = (
    "inventory_item",
    "site",
    "quantity",
    "sell_price",
    "recurring_sell_price",
    "classification",
    "action",
    "target_asset",
    "cli",
    "upfront_route",
    "recurring_route",
    "upfront_bill_status",
    "recurring_bill_status",
)


class SalesOrderLineInline(ServiceInlineMixin, admin.TabularInline):
    model = SalesOrderLine
    fields = LINE_FIELDS
    autocomplete_fields = ("inventory_item", "site", "target_asset")
    extra = 0
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return billing_fields_locked(request, LINE_BILLING_FIELDS)

    def service_save(self, request: HttpRequest, obj: SalesOrderLine) -> None:
        services.sales_order_line_save(line=obj)


@admin.register(SalesOrder)
class SalesOrderAdmin(ServiceModelAdmin):
    list_display = ("__str__", "customer", "quote", "line_count", "created_by", "created_at")
    list_select_related = ("customer", "quote", "created_by")
    search_fields = ("reference", "customer__name", "quote__reference")
    date_hierarchy = "created_at"
    autocomplete_fields = ("customer", "quote")
    inlines = (SalesOrderLineInline,)
    fields = ("customer", "quote", "reference", "created_by", "created_at", "updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[SalesOrder]:
        return super().get_queryset(request).annotate(line_count=Count("lines"))

    @admin.display(description="lines", ordering="line_count")
    def line_count(self, obj: SalesOrder) -> int:
        return obj.line_count

    def get_readonly_fields(self, request, obj=None):
        fields = ("created_by", "created_at", "updated_at")
        # There is no update service for the order itself: once made, only its lines change.
        return fields if obj is None else (*fields, "customer", "quote", "reference")

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs.setdefault(
            "help_texts",
            {
                "reference": "Leave blank for a generated SO reference.",
                "quote": "Optional: a won quote of this customer. To copy a quote's lines, "
                "use the quote list's Create sales order action instead.",
            },
        )
        return super().get_form(request, obj, change, **kwargs)

    def service_save(self, request, obj, form, change) -> None:
        if change:
            return
        order = services.sales_order_create(
            customer=obj.customer, quote=obj.quote, reference=obj.reference, user=request.user
        )
        # The service made its own instance; the admin (and the line formset) hold `obj`.
        for field in SalesOrder._meta.concrete_fields:
            setattr(obj, field.attname, getattr(order, field.attname))
        obj._state.adding = False
        obj._state.db = order._state.db


@admin.register(SalesOrderLine)
class SalesOrderLineAdmin(ServiceModelAdmin):
    list_display = (
        "__str__",
        "customer",
        "site",
        "action",
        "classification",
        "upfront_bill_status",
        "recurring_bill_status",
        "upfront_route",
        "recurring_route",
    )
    list_filter = (
        "upfront_bill_status",
        "recurring_bill_status",
        "action",
        "classification",
        "upfront_route",
        "recurring_route",
    )
    list_select_related = (
        "order__customer",
        "inventory_item",
        "site",
        "upfront_route",
        "recurring_route",
    )
    search_fields = ("order__reference", "order__customer__name", "inventory_item__name", "cli")
    autocomplete_fields = ("order", "inventory_item", "site", "target_asset")
    fields = ("order", *LINE_FIELDS)
    actions = ("convert_to_asset",)

    @admin.display(description="customer", ordering="order__customer__name")
    def customer(self, obj: SalesOrderLine) -> str:
        return str(obj.order.customer)

    def get_readonly_fields(self, request, obj=None):
        fields = billing_fields_locked(request, LINE_BILLING_FIELDS)
        return fields if obj is None else (*fields, "order")

    def service_save(self, request, obj, form, change) -> None:
        services.sales_order_line_save(line=obj)

    @admin.action(description="Convert to asset", permissions=["change"])
    def convert_to_asset(self, request: HttpRequest, queryset: QuerySet[SalesOrderLine]) -> None:
        run_service_action(
            self,
            request,
            queryset.select_related("order", "inventory_item"),
            service=lambda line: services.sales_order_line_convert_to_asset(line=line),
            done="Converted to assets",
        )


# --- assets ----------------------------------------------------------------------


@admin.register(Asset)
class AssetAdmin(ServiceModelAdmin):
    """Assets are made from sales order lines (the line's Convert to asset action)."""

    list_display = (
        "__str__",
        "customer",
        "site",
        "identifier",
        "status",
        "connection_date",
        "cease_date",
        "do_not_bill",
        "upfront_route",
        "recurring_route",
    )
    list_filter = (
        "status",
        "do_not_bill",
        "fixed_billing",
        "inventory_item__base_category",
        "upfront_route",
        "recurring_route",
    )
    list_select_related = (
        "inventory_item",
        "customer",
        "site",
        "upfront_route",
        "recurring_route",
    )
    search_fields = (
        "identifier",
        "customer__name",
        "inventory_item__name",
        "cost_centre",
        "sales_order_line__order__reference",
    )
    autocomplete_fields = ("site",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "customer",
                    "site",
                    "inventory_item",
                    "sales_order_line",
                    "identifier",
                    "status",
                )
            },
        ),
        (
            "Dates",
            {
                "fields": (
                    "connection_date",
                    "issue_date",
                    "billing_start_date_override",
                    "end_date",
                    "cease_date",
                )
            },
        ),
        (
            "Billing",
            {
                "fields": (
                    "fixed_billing",
                    "do_not_bill",
                    "cost_centre",
                    "quantity",
                    "sell_price",
                    "recurring_sell_price",
                    "upfront_route",
                    "recurring_route",
                )
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None and "site" in form.base_fields:
            # No asset service checks the site's customer yet: offer only the asset's own.
            form.base_fields["site"].queryset = Site.objects.filter(customer_id=obj.customer_id)
        return form

    def get_readonly_fields(self, request, obj=None):
        return (
            "customer",
            "inventory_item",
            "sales_order_line",
            "created_at",
            "updated_at",
            *billing_fields_locked(request, ASSET_BILLING_FIELDS),
        )

    def service_save(self, request, obj, form, change) -> None:
        # billing.services has no asset update service yet; the form has validated the
        # asset (full_clean), and this is the one place that writes it.
        obj.save()


# --- quotes: the sales order side ----------------------------------------------------


class QuoteAdmin(customers_admin.QuoteAdmin):
    """customers.admin's quote admin, plus what billing adds: the order, and making it."""

    list_display = (*customers_admin.QuoteAdmin.list_display, "sales_order_reference")
    list_select_related = (*customers_admin.QuoteAdmin.list_select_related, "sales_order")
    actions = (*customers_admin.QuoteAdmin.actions, "create_sales_orders")

    @admin.display(description="sales order")
    def sales_order_reference(self, obj: Quote) -> str:
        order = getattr(obj, "sales_order", None)
        return str(order) if order else "-"

    @admin.action(description="Create sales order (from a won quote)", permissions=["change"])
    def create_sales_orders(self, request: HttpRequest, queryset: QuerySet[Quote]) -> None:
        run_service_action(
            self,
            request,
            queryset.select_related("customer"),
            service=lambda quote: services.sales_order_create_from_quote(
                quote=quote, user=request.user
            ),
            done="Sales orders created",
        )


admin.site.unregister(Quote)
admin.site.register(Quote, QuoteAdmin)
