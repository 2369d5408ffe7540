"""Views of the billing API: inventory items, sales orders and assets, read-only.

Orders and assets are made by billing.services from quotes and lines, not
posted whole; the API shows them. Querysets load every relation a row shows,
so a list costs the same number of queries whatever its length.
"""

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from layer_sync.api.exceptions import service_errors

from .. import call_charges
from ..call_logger import MAX_FILE_BYTES
from ..models import Asset, ChargeImport, InventoryItem, SalesOrder, SalesOrderLine
from .filters import AssetFilter, InventoryItemFilter, SalesOrderFilter
from .serializers import (
    AssetSerializer,
    ChargeFileRefusedSerializer,
    ChargeImportCreateSerializer,
    ChargeImportRowSerializer,
    ChargeImportSerializer,
    InventoryItemSerializer,
    SalesOrderSerializer,
)


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
            queryset=SalesOrderLine.objects.select_related(
                "upfront_route", "recurring_route", "inventory_item"
            ),
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


# --- call charge imports (seed 004) -----------------------------------------------------
def _refused_body(refused: call_charges.ChargeFileRefused) -> dict:
    return {
        "file": [
            f"The file was refused: {call_charges.problems_text(len(refused.errors))} (each "
            "listed in rows). "
            "Nothing was imported."
        ],
        "rows": [{"line": error.line, "message": error.message} for error in refused.errors],
    }


@extend_schema_view(
    list=extend_schema(summary="Call charge imports", description="Newest first."),
    retrieve=extend_schema(summary="A call charge import: its summary and batch sheets"),
)
class ChargeImportViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Call charge files from Connect imported into batch sheets (seed 004)."""

    queryset = ChargeImport.objects.select_related("created_by")
    serializer_class = ChargeImportSerializer
    parser_classes = [MultiPartParser, FormParser]
    filterset_fields = ["location", "product_group", "status"]
    search_fields = ["file_name", "reference_text"]
    ordering_fields = ["id", "created_at", "batch_date"]

    def get_serializer_class(self):
        if self.action == "create":
            return ChargeImportCreateSerializer
        if self.action == "rows":
            return ChargeImportRowSerializer
        return ChargeImportSerializer

    def filter_queryset(self, queryset):
        if self.action == "rows":  # the import's own filters are not the rows'
            return queryset
        return super().filter_queryset(queryset)

    @extend_schema(
        summary="An import's rows, paged",
        description="The import's rows in line order, a page at a time (`page`, "
        "`page_size` up to 500). `matched=false`: the rows no customer matched, each with "
        "the reason; `matched=true`: those that became charges.",
        parameters=[
            OpenApiParameter(
                "matched",
                OpenApiTypes.BOOL,
                description="true: matched rows only; false: unmatched rows only.",
            )
        ],
        responses={200: ChargeImportRowSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], url_path="rows", url_name="rows")
    def rows(self, request: Request, pk: str | None = None) -> Response:
        charge_import = self.get_object()
        rows = charge_import.rows.order_by("line_number")
        matched = request.query_params.get("matched")
        if matched is not None:
            choice = {"true": True, "1": True, "false": False, "0": False}.get(matched.lower())
            if choice is None:
                raise ValidationError({"matched": ["Use true or false."]})
            rows = rows.filter(customer__isnull=not choice)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ChargeImportRowSerializer(page, many=True).data)

    @extend_schema(
        summary="Import a call charge file",
        description="Parses the call logger file (/help/connect/) strictly and imports it all "
        "or nothing: each row is matched to a customer by its Connect account code; matched "
        "rows become charges on the open “essensys call logger v2” batch sheet of the "
        "location and product group, unmatched rows are kept with the reason (match them "
        "again after adding the account codes). A file with any bad row is refused with "
        "every bad row and its line; the same file twice is refused unless `force` is true. "
        "Needs the permission to add call charge imports.",
        request={"multipart/form-data": ChargeImportCreateSerializer},
        responses={
            201: ChargeImportSerializer,
            400: ChargeFileRefusedSerializer,
            409: OpenApiResponse(
                description='The same file was imported before: `{"file": ["This file was '
                'already imported on ... as import #4 ..."], "previous_import": 4}`.'
            ),
        },
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        body = ChargeImportCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        upload = data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise ValidationError({"file": [f"The file is larger than {MAX_FILE_BYTES:,} bytes."]})
        try:
            with service_errors():
                charge_import = call_charges.charge_import_create(
                    location=data["location"],
                    import_type=data["import_type"],
                    product_group=data["product_group"],
                    product=data["product"],
                    batch_date=data["batch_date"],
                    reference_date=data["reference_date"],
                    reference_text=data["reference_text"],
                    file_name=upload.name,
                    content=upload.read(),
                    user=request.user,
                    force=data["force"],
                    ignore_zero_values=data["ignore_zero_values"],
                )
        except call_charges.ChargeFileRefused as refused:
            return Response(_refused_body(refused), status=status.HTTP_400_BAD_REQUEST)
        except call_charges.DuplicateChargeFile as duplicate:
            return Response(
                {"file": [duplicate.message], "previous_import": duplicate.previous.pk},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(
            ChargeImportSerializer(charge_import, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Match an import's unmatched rows again",
        description="After account codes were added: rows that now match become charges on "
        "the open batch sheet of the import's location and product group. No file is needed.",
        request=None,
        responses={200: ChargeImportSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser])
    def rematch(self, request: Request, pk: str | None = None) -> Response:
        charge_import = self.get_object()
        call_charges.charge_import_rematch(charge_import=charge_import, user=request.user)
        charge_import.refresh_from_db()
        return Response(
            ChargeImportSerializer(charge_import, context=self.get_serializer_context()).data
        )
