"""Admin for billing platforms, base categories and inventory items (the price book)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, Model, QuerySet
from django.http import HttpRequest

from ..change_queue import tracked_fields_validate
from ..models import BaseCategory, BillingPlatform, InventoryItem


class BillingPlatformForm(forms.ModelForm):
    def clean_change_queue_fields(self) -> list[str]:
        fields = self.cleaned_data.get("change_queue_fields") or []
        if not isinstance(fields, list) or not all(isinstance(name, str) for name in fields):
            raise ValidationError('A list of asset field names, e.g. ["identifier", "site"].')
        try:
            tracked_fields_validate(fields)
        except ValidationError as error:
            raise ValidationError(error.message_dict["change_queue_fields"]) from None
        return fields


@admin.register(BillingPlatform)
class BillingPlatformAdmin(admin.ModelAdmin):
    """The platforms are a fixed set made by a migration (connectors register by code)."""

    list_display = ("name", "code", "integration_enabled")
    list_filter = ("integration_enabled",)
    search_fields = ("name", "code")
    readonly_fields = ("code",)
    fields = ("code", "name", "integration_enabled", "change_queue_fields")
    form = BillingPlatformForm

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
