"""Admin for sales orders, their lines, and the assets made from them; and the sales order
side of quotes.

Orders, lines and assets are written through `billing.services` and checked
at validation by its read-only validators (see layer_sync.admin). Bill
statuses and the billing start date override are read-only without the
`billing.allow_update_billing` permission.
"""

import dataclasses
from collections.abc import Mapping
from typing import Any

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from customers import admin as customers_admin
from customers.models import Quote
from layer_sync.admin import (
    ChangeFormPanelsMixin,
    ChangelistColumnsMixin,
    CompactInlineMixin,
    ServiceInlineMixin,
    ServiceModelAdmin,
    ServiceModelForm,
    rejected_as_form_errors,
    run_service_action,
)

from .. import services
from ..bill_status import line_not_invoiceable_reason
from ..choices import BillStatus, ItemType, PlatformCode
from ..models import Asset, SalesOrder, SalesOrderLine

BILLING_PERMISSION = "billing.allow_update_billing"


def order_bill_status_counts() -> dict[str, Count]:
    """Per order: its line components billed elsewhere (billing.bill_status's taking-part
    rule, in SQL), and how many of them are not yet In Billing."""
    counts = {}
    for name, not_billed in (("billed_components", Q()), ("components_not_in_billing", None)):
        parts = []
        for component in ("upfront", "recurring"):
            taking = Q(**{f"lines__{component}_route__isnull": False}) & ~Q(
                **{f"lines__{component}_route__code": PlatformCode.THE_LAYER}
            )
            if component == "recurring":
                taking &= Q(lines__inventory_item__item_type=ItemType.SERVICE)
            if not_billed is None:
                taking &= ~Q(**{f"lines__{component}_bill_status": BillStatus.IN_BILLING})
            parts.append(Count("lines", filter=taking))
        counts[name] = parts[0] + parts[1]
    return counts


LINE_BILLING_FIELDS = ("upfront_bill_status", "recurring_bill_status")
ASSET_BILLING_FIELDS = ("billing_start_date_override",)


def billing_fields_locked(request: HttpRequest, fields: tuple[str, ...]) -> tuple[str, ...]:
    """`fields` when the user may not update billing (so they are read-only), else none."""
    return () if request.user.has_perm(BILLING_PERMISSION) else fields


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


def invoiceable_text(line: SalesOrderLine) -> str:
    """ "Yes", or "No: " and why (seed 002's rule, ``line_not_invoiceable_reason``)."""
    if line.pk is None:
        return "-"
    reason = line_not_invoiceable_reason(line)
    return f"No: {reason}" if reason else "Yes"


class SalesOrderLineForm(ServiceModelForm):
    def service_validate(self, instance: SalesOrderLine) -> None:
        services.sales_order_line_validate(line=instance)


class SalesOrderLineInline(CompactInlineMixin, ServiceInlineMixin, admin.StackedInline):
    """An order's lines, one block each, its fields in short rows that wrap: thirteen
    columns in a table made the page 2,772 px wide and put the bill statuses off screen."""

    model = SalesOrderLine
    form = SalesOrderLineForm
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("inventory_item", "site", "quantity"),
                    ("sell_price", "recurring_sell_price"),
                    ("classification", "action", "target_asset", "cli"),
                    ("upfront_route", "upfront_bill_status"),
                    ("recurring_route", "recurring_bill_status"),
                    ("invoiceable_in_layer",),
                )
            },
        ),
    )
    autocomplete_fields = ("inventory_item", "site", "target_asset")
    extra = 0
    show_change_link = True

    @admin.display(description="invoiceable in The Layer")
    def invoiceable_in_layer(self, obj: SalesOrderLine) -> str:
        return invoiceable_text(obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            # A new order's lines are made from LineSpecs, which start Not Billed; their
            # bill statuses can be changed once the order exists.
            return (*LINE_BILLING_FIELDS, "invoiceable_in_layer")
        return (*billing_fields_locked(request, LINE_BILLING_FIELDS), "invoiceable_in_layer")

    def service_save(self, request: HttpRequest, obj: SalesOrderLine) -> None:
        services.sales_order_line_save(line=obj)


def line_spec(data: Mapping[str, Any]) -> services.LineSpec:
    """The LineSpec of a new line row's cleaned data (what the row does not show, defaults)."""
    names = {spec_field.name for spec_field in dataclasses.fields(services.LineSpec)}
    return services.LineSpec(**{name: value for name, value in data.items() if name in names})


class SalesOrderForm(ServiceModelForm):
    def service_validate(self, instance: SalesOrder) -> None:
        # Only creation has rules: once made, an order's customer and quote are read-only.
        if instance._state.adding:
            services.sales_order_create_validate(customer=instance.customer, quote=instance.quote)


# Seed 002's circle on an order: (colour, what it means).
BILL_CIRCLES = {
    "waiting": ("#e67e22", "a line billed elsewhere is Not Billed or Ready to Bill"),
    "billed": ("#2e7d32", "every line billed elsewhere is In Billing"),
}


def bill_circle(state: str) -> str:
    colour, meaning = BILL_CIRCLES[state]
    return format_html(
        '<span class="bill-circle" data-bill-state="{}" title="{}" aria-label="{}" '
        'style="display:inline-block;width:12px;height:12px;border-radius:50%;background:{}">'
        "</span>",
        state,
        meaning,
        meaning,
        colour,
    )


@admin.register(SalesOrder)
class SalesOrderAdmin(ChangelistColumnsMixin, ChangeFormPanelsMixin, ServiceModelAdmin):
    form = SalesOrderForm
    list_display = (
        "__str__",
        "customer",
        "quote",
        "line_count",
        "bill_status_circle",
        "created_by",
        "created_at",
    )
    list_select_related = ("customer", "quote", "created_by")
    search_fields = ("reference", "customer__name", "quote__reference")
    date_hierarchy = "created_at"
    autocomplete_fields = ("customer", "quote")
    inlines = (SalesOrderLineInline,)
    fields = ("customer", "quote", "reference", "created_by", "created_at", "updated_at")
    # Stated here: Meta.ordering is dropped from a query that aggregates (line_count), and
    # the autocomplete pages through this queryset.
    ordering = SalesOrder._meta.ordering

    def get_queryset(self, request: HttpRequest) -> QuerySet[SalesOrder]:
        return (
            super()
            .get_queryset(request)
            .annotate(line_count=Count("lines"), **order_bill_status_counts())
        )

    @admin.display(description="lines", ordering="line_count")
    def line_count(self, obj: SalesOrder) -> int:
        return obj.line_count

    @admin.display(description="billing")
    def bill_status_circle(self, obj: SalesOrder) -> str:
        """Seed 002's circle: orange while a component is Not Billed or Ready to Bill, green
        when every component billed elsewhere is In Billing; none when The Layer bills all."""
        if not obj.billed_components:
            return "-"
        state = "waiting" if obj.components_not_in_billing else "billed"
        return bill_circle(state)

    def list_legends(self, request: HttpRequest) -> list[str]:
        return [
            format_html(
                '<span id="bill-circle-legend"><strong>Billing column:</strong> {} {} &nbsp; '
                "{} {} &nbsp; - The Layer bills every line itself</span>",
                bill_circle("waiting"),
                BILL_CIRCLES["waiting"][1],
                bill_circle("billed"),
                BILL_CIRCLES["billed"][1],
            )
        ]

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
        # Nothing yet: a new order is made with its lines in save_related, so that
        # sales_order_created is sent once they exist. A saved order has no update
        # service (its fields are read-only); only its lines change.
        pass

    def save_related(self, request, form, formsets, change) -> None:
        if change:
            super().save_related(request, form, formsets, change)
            return
        (line_formset,) = (formset for formset in formsets if formset.model is SalesOrderLine)
        # commit=False: the formset records the rows it adds (for the change message)
        # and the service makes them.
        line_formset.save(commit=False)
        obj = form.instance
        with rejected_as_form_errors(form.prefix):
            order = services.sales_order_create(
                customer=obj.customer,
                quote=obj.quote,
                reference=obj.reference,
                user=request.user,
                lines=[line_spec(row.cleaned_data) for row in line_formset.saved_forms],
            )
        # The service made its own instance; the admin (and the formset's rows) hold `obj`.
        for field in SalesOrder._meta.concrete_fields:
            setattr(obj, field.attname, getattr(order, field.attname))
        obj._state.adding = False
        obj._state.db = order._state.db


@admin.register(SalesOrderLine)
class SalesOrderLineAdmin(ServiceModelAdmin):
    form = SalesOrderLineForm
    list_display = (
        "__str__",
        "customer",
        "site",
        "action",
        "classification",
        "invoiceable_in_layer",
        "upfront_billing",
        "recurring_billing",
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
    fields = ("order", *LINE_FIELDS, "invoiceable_in_layer", "invoiced_in_layer_at")
    actions = ("convert_to_asset", "invoice_in_layer")

    @admin.display(description="invoiceable in The Layer")
    def invoiceable_in_layer(self, obj: SalesOrderLine) -> str:
        return invoiceable_text(obj)

    @admin.action(description="Invoice in The Layer", permissions=["change"])
    def invoice_in_layer(self, request: HttpRequest, queryset: QuerySet[SalesOrderLine]) -> None:
        run_service_action(
            self,
            request,
            queryset.select_related("order", "inventory_item"),
            service=lambda line: services.sales_order_line_invoice_in_layer(line=line),
            done="Invoiced in The Layer",
        )

    @admin.display(description="customer", ordering="order__customer__name")
    def customer(self, obj: SalesOrderLine) -> str:
        return str(obj.order.customer)

    # A component's route and bill status in one column each, so that the list fits a
    # 1,366 px window.
    @admin.display(description="up-front: route, bill status", ordering="upfront_bill_status")
    def upfront_billing(self, obj: SalesOrderLine) -> str:
        return format_html(
            "{}<br>{}", obj.upfront_route or "-", obj.get_upfront_bill_status_display()
        )

    @admin.display(description="recurring: route, bill status", ordering="recurring_bill_status")
    def recurring_billing(self, obj: SalesOrderLine) -> str:
        return format_html(
            "{}<br>{}", obj.recurring_route or "-", obj.get_recurring_bill_status_display()
        )

    def get_readonly_fields(self, request, obj=None):
        fields = (
            *billing_fields_locked(request, LINE_BILLING_FIELDS),
            "invoiceable_in_layer",
            "invoiced_in_layer_at",
        )
        return fields if obj is None else (*fields, "order")

    def service_save(self, request, obj, form, change) -> None:
        services.sales_order_line_save(line=obj)

    def has_convert_to_asset_permission(self, request: HttpRequest) -> bool:
        # Converting changes the line and makes an asset: it needs both permissions.
        return self.has_change_permission(request) and request.user.has_perm("billing.add_asset")

    @admin.action(description="Convert to asset", permissions=["convert_to_asset"])
    def convert_to_asset(self, request: HttpRequest, queryset: QuerySet[SalesOrderLine]) -> None:
        run_service_action(
            self,
            request,
            queryset.select_related("order", "inventory_item"),
            service=lambda line: services.sales_order_line_convert_to_asset(line=line),
            done="Converted to assets",
        )


# --- assets ----------------------------------------------------------------------


class AssetForm(ServiceModelForm):
    def service_validate(self, instance: Asset) -> None:
        services.asset_validate(asset=instance)


@admin.register(Asset)
class AssetAdmin(ChangeFormPanelsMixin, ServiceModelAdmin):
    """Assets are made from sales order lines (the line's Convert to asset action)."""

    form = AssetForm
    list_display = (
        "__str__",  # the item and its identifier
        "customer",
        "site",
        "status",
        "connection_date",
        "cease_date",
        "do_not_bill",
        "billing_routes",
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

    @admin.display(description="billing routes")
    def billing_routes(self, obj: Asset) -> str:
        """Both routes in one column, so that the list fits a 1,366 px window."""
        return format_html(
            "Up-front: {}<br>Recurring: {}",
            obj.upfront_route or "-",
            obj.recurring_route or "-",
        )

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
        services.asset_save(asset=obj, user=request.user)

    def delete_model(self, request: HttpRequest, obj: Asset) -> None:
        # Undoing a conversion: the line's bill status goes back with it.
        services.asset_delete(asset=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Asset]) -> None:
        for asset in queryset:
            services.asset_delete(asset=asset)


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

    def has_create_sales_orders_permission(self, request: HttpRequest) -> bool:
        # The action makes sales orders: changing quotes alone is not enough.
        return self.has_change_permission(request) and request.user.has_perm(
            "billing.add_salesorder"
        )

    @admin.action(
        description="Create sales order (from a won quote)", permissions=["create_sales_orders"]
    )
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
