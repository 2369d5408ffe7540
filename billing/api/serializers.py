"""Serializers of the billing API (read-only: inventory, sales orders, assets).

Billing platforms appear by their stable code (`abillity`, `affinity`,
`connect`, `layer`), the same identifiers the connectors register under.
"""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..bill_status import line_not_invoiceable_reason
from ..choices import IdentifierField
from ..models import (
    Asset,
    BatchCharge,
    CallChargeImportType,
    ChargeImport,
    ChargeImportRow,
    InventoryItem,
    Location,
    ProductGroup,
    SalesOrder,
    SalesOrderLine,
)


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
    invoiceable_in_layer = serializers.SerializerMethodField(
        help_text="Whether The Layer may invoice the line (its up-front route is The Layer or "
        "blank)."
    )
    not_invoiceable_reason = serializers.SerializerMethodField(
        help_text="Why The Layer may not invoice the line (empty when it may)."
    )

    def get_invoiceable_in_layer(self, line: SalesOrderLine) -> bool:
        return not line_not_invoiceable_reason(line)

    def get_not_invoiceable_reason(self, line: SalesOrderLine) -> str:
        return line_not_invoiceable_reason(line)

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
            "invoiceable_in_layer",
            "not_invoiceable_reason",
            "invoiced_in_layer_at",
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


# --- call charge imports (seed 004) -----------------------------------------------------
class ChargeImportCreateSerializer(serializers.Serializer):
    """A call charge file to import (multipart), with the import's settings."""

    location = serializers.PrimaryKeyRelatedField(
        queryset=Location.objects.all(),
        help_text="The location the charges were incurred at (its Connect Call Logger on).",
    )
    import_type = serializers.ChoiceField(
        choices=CallChargeImportType.choices, default=CallChargeImportType.ESSENSYS_CALL_LOGGER
    )
    product_group = serializers.PrimaryKeyRelatedField(queryset=ProductGroup.objects.all())
    product = serializers.PrimaryKeyRelatedField(
        queryset=InventoryItem.objects.all(), help_text="The inventory item charged."
    )
    batch_date = serializers.DateField(help_text="The date the charges are billed to.")
    reference_date = serializers.DateField()
    reference_text = serializers.CharField(
        required=False, allow_blank=True, max_length=100, default=""
    )
    file = serializers.FileField(help_text="The call logger CSV (see /help/connect/).")
    ignore_zero_values = serializers.BooleanField(
        default=False, help_text="Skip rows with a zero amount instead of refusing the file."
    )
    force = serializers.BooleanField(
        default=False, help_text="Import although the same file was imported before."
    )


class ChargeImportRowSerializer(serializers.ModelSerializer):
    """A data row of an import: matched to a customer, or the reason it is not."""

    class Meta:
        model = ChargeImportRow
        fields = [
            "line_number",
            "account_code",
            "called_at",
            "cli",
            "dialled_number",
            "destination",
            "duration_seconds",
            "amount",
            "customer",
            "unmatched_reason",
        ]
        read_only_fields = fields


class ChargeImportSerializer(serializers.ModelSerializer):
    """An import's summary and the batch sheets it charged; its rows are paged apart
    (``unmatched_rows_url``, ``rows_url``): a file may hold 100,000."""

    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    rows_url = serializers.SerializerMethodField()
    unmatched_rows_url = serializers.SerializerMethodField()
    batch_sheets = serializers.SerializerMethodField()

    class Meta:
        model = ChargeImport
        fields = [
            "id",
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
            "batch_sheets",
            "rows_url",
            "unmatched_rows_url",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields

    def _rows_url(self, obj: ChargeImport, query: str = "") -> str:
        path = reverse("charge-import-rows", args=[obj.pk]) + query
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    @extend_schema_field(serializers.URLField())
    def get_rows_url(self, obj: ChargeImport) -> str:
        """Every row of the import, paged."""
        return self._rows_url(obj)

    @extend_schema_field(serializers.URLField())
    def get_unmatched_rows_url(self, obj: ChargeImport) -> str:
        """The rows no customer matched (with the reason), paged."""
        return self._rows_url(obj, "?matched=false")

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_batch_sheets(self, obj: ChargeImport) -> list[int]:
        return sorted(
            set(
                BatchCharge.objects.filter(import_row__charge_import=obj).values_list(
                    "batch_sheet_id", flat=True
                )
            )
        )


class ChargeFileErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, help_text="Null: the file as a whole.")
    message = serializers.CharField()


class ChargeFileRefusedSerializer(serializers.Serializer):
    """A refused file: nothing was imported; every bad row with its line."""

    file = serializers.ListField(child=serializers.CharField())
    rows = ChargeFileErrorSerializer(many=True)
