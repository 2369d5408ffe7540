"""Serializers of the billing API (read-only: inventory, sales orders, assets).

Billing platforms appear by their stable code (`abillity`, `affinity`,
`connect`, `layer`), the same identifiers the connectors register under.
"""

from rest_framework import serializers

from ..choices import IdentifierField
from ..models import Asset, InventoryItem, SalesOrder, SalesOrderLine


def route_field(help_text: str) -> serializers.SlugRelatedField:
    """A billing route shown as its platform's code (null when the item is not billed so)."""
    return serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text=help_text
    )


class InventoryItemSerializer(serializers.ModelSerializer):
    """A product or service of the price book; routes are platform codes."""

    base_category = serializers.SlugRelatedField(slug_field="name", read_only=True)
    identifier_label = serializers.ChoiceField(
        choices=IdentifierField.choices,
        source="base_category.identifier_field",
        read_only=True,
        help_text="What the base category calls its assets' identifier.",
    )
    upfront_route = route_field("The platform that bills the up-front charge.")
    recurring_route = route_field("The platform that bills the recurring charge.")

    class Meta:
        model = InventoryItem
        fields = [
            "id",
            "name",
            "item_type",
            "base_category",
            "identifier_label",
            "upfront_route",
            "recurring_route",
            "data_description",
            "pricing_tier",
            "custom_field_1",
            "custom_field_2",
            "external_sku",
            "rrp",
            "billing_frequency",
            "sell_price",
            "recurring_sell_price",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SalesOrderLineSerializer(serializers.ModelSerializer):
    """A sales order line with its action, bill statuses and billing routes."""

    upfront_route = route_field("The platform that bills the line's up-front charge.")
    recurring_route = route_field("The platform that bills the line's recurring charge.")

    class Meta:
        model = SalesOrderLine
        fields = [
            "id",
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
        ]
        read_only_fields = fields


class SalesOrderSerializer(serializers.ModelSerializer):
    """A sales order and its lines."""

    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    lines = SalesOrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = SalesOrder
        fields = [
            "id",
            "reference",
            "customer",
            "quote",
            "created_by",
            "lines",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AssetSerializer(serializers.ModelSerializer):
    """An asset made from a sales order line; routes are platform codes."""

    identifier_label = serializers.ChoiceField(
        choices=IdentifierField.choices,
        source="inventory_item.base_category.identifier_field",
        read_only=True,
        help_text="What `identifier` holds: MSISDN, or the field the item's base category names.",
    )
    upfront_route = route_field("The platform that bills the asset's up-front charge.")
    recurring_route = route_field("The platform that bills the asset's recurring charge.")

    class Meta:
        model = Asset
        fields = [
            "id",
            "customer",
            "site",
            "inventory_item",
            "sales_order_line",
            "identifier",
            "identifier_label",
            "status",
            "connection_date",
            "issue_date",
            "billing_start_date_override",
            "fixed_billing",
            "end_date",
            "cease_date",
            "cost_centre",
            "do_not_bill",
            "quantity",
            "sell_price",
            "recurring_sell_price",
            "upfront_route",
            "recurring_route",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
