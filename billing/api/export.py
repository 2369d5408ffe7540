"""The Billing Export through the API (DESIGN.md's public interface):

- ``GET /api/v1/billing-export/lines/?route=affinity[&search=][&lines=1,2]``: the lines
  Ready to Bill on the route, paged, each with the reason it would be left out of the
  product file, if any;
- ``GET /api/v1/billing-export/cli.csv?route=`` and ``.../products.csv?route=`` (optionally
  ``&lines=1,2,3``): the files, streamed; the product file's response names the lines it
  left out in ``X-Excluded-Lines`` (ids) and ``X-Excluded-Count``;
- ``POST /api/v1/billing-export/transfer/`` ``{"route": "affinity", "lines": [1, 2]}``:
  Ready to Bill → In Billing, all or none.

Every call needs the billing apps' permission (``billing.use_billing_apps``, "Apps -
Change Queue").
"""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import export, selectors
from ..bill_status import asset_bill_start_date
from ..choices import PlatformCode
from ..models import BILLING_APPS_PERMISSION, BillingPlatform, SalesOrderLine


class BillingAppsPermission(BasePermission):
    message = f"The Billing Export needs the permission {BILLING_APPS_PERMISSION}."

    def has_permission(self, request: Request, view: object) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(BILLING_APPS_PERMISSION))


def _external_routes() -> list[str]:
    return [code for code, _ in PlatformCode.choices if code != PlatformCode.THE_LAYER]


class RouteQuerySerializer(serializers.Serializer):
    route = serializers.ChoiceField(
        choices=_external_routes(), help_text="The billing route: a platform's code."
    )
    search = serializers.CharField(required=False, allow_blank=True, max_length=100)
    lines = serializers.CharField(
        required=False, allow_blank=True, help_text="Only these line ids, comma-separated."
    )

    def validate(self, data: dict) -> dict:
        data["route"] = BillingPlatform.objects.get(code=data["route"])
        with _as_field_error("lines"):
            data["lines"] = export.line_ids_parse(data.get("lines"))
        return data


class _as_field_error:
    """Turn a service's Django ValidationError into the serializer's, on one field."""

    def __init__(self, field: str) -> None:
        self.field = field

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        from django.core.exceptions import ValidationError

        if isinstance(error, ValidationError):
            raise serializers.ValidationError({self.field: error.messages}) from None
        return False


class ExportLineSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(source="order.customer.name", read_only=True)
    customer_id = serializers.IntegerField(source="order.customer_id", read_only=True)
    sales_order = serializers.CharField(source="order.__str__", read_only=True)
    site = serializers.CharField(source="site.name", read_only=True, allow_null=True)
    product = serializers.CharField(source="inventory_item.name", read_only=True)
    external_sku = serializers.CharField(source="inventory_item.external_sku", read_only=True)
    cli = serializers.SerializerMethodField()
    bill_start_date = serializers.SerializerMethodField()
    upfront_route = serializers.SlugRelatedField(slug_field="code", read_only=True)
    recurring_route = serializers.SlugRelatedField(slug_field="code", read_only=True)
    excluded_from_product_file = serializers.SerializerMethodField(
        help_text="Why the product file leaves the line out (empty when it does not)."
    )

    class Meta:
        model = SalesOrderLine
        fields = [
            "id",
            "sales_order",
            "customer_id",
            "customer",
            "site",
            "product",
            "external_sku",
            "cli",
            "quantity",
            "sell_price",
            "recurring_sell_price",
            "upfront_route",
            "upfront_bill_status",
            "recurring_route",
            "recurring_bill_status",
            "bill_start_date",
            "excluded_from_product_file",
        ]
        read_only_fields = fields

    def get_cli(self, line: SalesOrderLine) -> str:
        return selectors.line_cli(line)

    def get_bill_start_date(self, line: SalesOrderLine) -> str | None:
        asset = getattr(line, "asset", None)
        start = asset_bill_start_date(asset) if asset else None
        return start.isoformat() if start else None

    def get_excluded_from_product_file(self, line: SalesOrderLine) -> str:
        if line.missing_sku:
            return f"{line.inventory_item.name} has no External SKU."
        asset = getattr(line, "asset", None)
        if asset is not None and asset.do_not_bill:
            return f"{line.inventory_item.name} is Do Not Bill."
        return ""


ROUTE_PARAMETERS = [
    OpenApiParameter("route", str, enum=_external_routes(), required=True),
    OpenApiParameter("lines", str, description="Only these line ids, comma-separated."),
]


class ExportLinesView(generics.ListAPIView):
    """The lines Ready to Bill on a billing route."""

    permission_classes = [BillingAppsPermission]
    serializer_class = ExportLineSerializer
    filter_backends: list = []

    @extend_schema(
        summary="Lines Ready to Bill on a route",
        parameters=[*ROUTE_PARAMETERS, OpenApiParameter("search", str)],
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = RouteQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        return selectors.billing_export_lines(
            route=data["route"], search=data.get("search", ""), line_ids=data["lines"]
        )


def export_response(file: selectors.ExportFile, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        export.export_stream(file), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def export_filename(route: BillingPlatform, kind: str) -> str:
    from django.utils import timezone

    return f"{route.code}-{kind}-{timezone.localtime():%Y%m%d-%H%M%S}.csv"


class _FileView(APIView):
    permission_classes = [BillingAppsPermission]
    kind = ""

    def get(self, request: Request) -> StreamingHttpResponse:
        query = RouteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        route, ids = query.validated_data["route"], query.validated_data["lines"]
        lines = selectors.billing_export_lines(route=route, line_ids=ids)
        if self.kind == "cli":
            return export_response(selectors.cli_file(lines), export_filename(route, "cli"))
        excluded = selectors.product_file_exclusions(lines, route)
        response = export_response(
            selectors.product_file(lines, route), export_filename(route, "products")
        )
        response["X-Excluded-Count"] = str(len(excluded))
        response["X-Excluded-Lines"] = ",".join(str(e.line_id) for e in excluded[:1000])
        return response


CSV_RESPONSES = {
    (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The CSV file."),
    400: OpenApiResponse(description='A bad route or line list: `{"route": ["..."]}`.'),
}


class CliFileView(_FileView):
    """The CLI file (upload it to the platform before the product file)."""

    kind = "cli"

    @extend_schema(
        summary="The CLI export file",
        parameters=ROUTE_PARAMETERS,
        responses=CSV_RESPONSES,
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        return super().get(request)


class ProductFileView(_FileView):
    """The product file; lines whose product has no External SKU are left out (named in
    the ``X-Excluded-Lines`` header)."""

    kind = "products"

    @extend_schema(
        summary="The product export file",
        parameters=ROUTE_PARAMETERS,
        responses=CSV_RESPONSES,
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        return super().get(request)


class TransferSerializer(serializers.Serializer):
    route = serializers.ChoiceField(choices=_external_routes())
    lines = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=export.MAX_LINE_ID),
        allow_empty=False,
        max_length=100_000,
    )


class TransferResultSerializer(serializers.Serializer):
    transfer = serializers.IntegerField()
    route = serializers.CharField()
    transferred_by = serializers.CharField(allow_null=True)
    transferred_at = serializers.DateTimeField()
    components = serializers.IntegerField(help_text="Components moved to In Billing.")
    lines = serializers.ListField(child=serializers.IntegerField())


class TransferView(APIView):
    """Transfer to Billing: the lines' Ready to Bill components on the route become In
    Billing, all or none."""

    permission_classes = [BillingAppsPermission]

    @extend_schema(
        summary="Transfer lines to billing",
        request=TransferSerializer,
        responses={
            201: TransferResultSerializer,
            400: OpenApiResponse(
                description='Nothing changed: `{"lines": ["Line 12 has nothing Ready to Bill '
                'on Affinity."]}`.'
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body = TransferSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        route = BillingPlatform.objects.get(code=body.validated_data["route"])
        transfer = export.billing_transfer(
            route=route, line_ids=body.validated_data["lines"], user=request.user
        )
        items = list(transfer.items.values_list("line_id", flat=True))
        result = {
            "transfer": transfer.pk,
            "route": route.code,
            "transferred_by": request.user.get_username(),
            "transferred_at": transfer.transferred_at,
            "components": len(items),
            "lines": sorted(set(items)),
        }
        return Response(TransferResultSerializer(result).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("billing-export/lines/", ExportLinesView.as_view(), name="billing-export-lines"),
    path("billing-export/cli.csv", CliFileView.as_view(), name="billing-export-cli"),
    path("billing-export/products.csv", ProductFileView.as_view(), name="billing-export-products"),
    path("billing-export/transfer/", TransferView.as_view(), name="billing-export-transfer"),
]
