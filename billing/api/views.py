"""Views of the billing API: inventory items, sales orders and assets, read-only.

Orders and assets are made by billing.services from quotes and lines, not
posted whole; the API shows them. Querysets load every relation a row shows,
so a list costs the same number of queries whatever its length.
"""

from django.db.models import Prefetch
from rest_framework import viewsets

from ..models import Asset, InventoryItem, SalesOrder, SalesOrderLine
from .filters import AssetFilter, InventoryItemFilter, SalesOrderFilter
from .serializers import AssetSerializer, InventoryItemSerializer, SalesOrderSerializer


class InventoryItemViewSet(viewsets.ReadOnlyModelViewSet):
    """Products and services of the price book, with their billing routes."""

    queryset = InventoryItem.objects.select_related(
        "base_category", "upfront_route", "recurring_route"
    )
    serializer_class = InventoryItemSerializer
    filterset_class = InventoryItemFilter
    search_fields = ["name", "external_sku", "data_description", "pricing_tier"]
    ordering_fields = ["id", "name", "item_type", "sell_price", "created_at", "updated_at"]


class SalesOrderViewSet(viewsets.ReadOnlyModelViewSet):
    """Sales orders with their lines, bill statuses and billing routes."""

    queryset = SalesOrder.objects.select_related("created_by").prefetch_related(
        Prefetch(
            "lines",
            queryset=SalesOrderLine.objects.select_related("upfront_route", "recurring_route"),
        )
    )
    serializer_class = SalesOrderSerializer
    filterset_class = SalesOrderFilter
    search_fields = ["reference", "customer__name"]
    ordering_fields = ["id", "reference", "customer", "created_at", "updated_at"]


class AssetViewSet(viewsets.ReadOnlyModelViewSet):
    """Product and service assets made from sales order lines."""

    queryset = Asset.objects.select_related(
        "inventory_item__base_category", "upfront_route", "recurring_route"
    )
    serializer_class = AssetSerializer
    filterset_class = AssetFilter
    search_fields = ["identifier", "cost_centre", "customer__name"]
    ordering_fields = [
        "id",
        "identifier",
        "customer",
        "status",
        "connection_date",
        "created_at",
        "updated_at",
    ]
