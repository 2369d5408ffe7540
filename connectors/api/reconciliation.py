"""``GET /api/v1/reconciliation/?platform=affinity``: the billing assets that differ
between The Layer and a platform (``connectors.reconciliation.reconciliation_report``).

Reads the platform while the request waits (the lists it holds), so it answers 502
when the platform cannot be read, naming why; 400 for an unknown platform or one that
cannot be reconciled.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from ..errors import SyncError
from ..reconciliation import ReconcileUnsupported, reconciliation_report
from .serializers import PlatformQuerySerializer
from .views import VIEW_JOBS, requires


class PlatformUnavailable(APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "The platform could not be read."
    default_code = "platform_unavailable"


class ReconcileDifferenceSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="A stable code, e.g. live_unknown_there.")
    label = serializers.CharField()
    entity = serializers.CharField()
    object_id = serializers.IntegerField(allow_null=True, help_text="The local record's id.")
    external_id = serializers.CharField(allow_blank=True)
    record = serializers.CharField()
    customer = serializers.CharField(allow_blank=True)
    layer_value = serializers.CharField(allow_blank=True)
    platform_value = serializers.CharField(allow_blank=True)
    message = serializers.CharField(allow_blank=True)


class ReconciliationReportSerializer(serializers.Serializer):
    platform = serializers.CharField()
    platform_name = serializers.CharField()
    generated_at = serializers.DateTimeField()
    counts = serializers.DictField(child=serializers.IntegerField())
    differences = ReconcileDifferenceSerializer(many=True)


class ReconciliationView(generics.GenericAPIView):
    permission_classes = [requires(VIEW_JOBS)]
    serializer_class = ReconciliationReportSerializer
    filter_backends: list = []
    pagination_class = None

    @extend_schema(
        summary="Reconciliation report",
        description="Billing assets that differ between The Layer and the platform: live "
        "here but unknown there, ceased here but still billed there, ended there but live "
        "here, a different CLI or product, and records billed there that no asset here is "
        "bound to. Reads the platform now.",
        parameters=[PlatformQuerySerializer],
        responses={
            200: ReconciliationReportSerializer,
            400: OpenApiResponse(
                description="A missing or unknown platform, or one that cannot be reconciled."
            ),
            502: OpenApiResponse(description="The platform could not be read."),
        },
    )
    def get(self, request: Request) -> Response:
        query = PlatformQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            report = reconciliation_report(platform=query.validated_data["platform"])
        except ReconcileUnsupported as error:
            raise ValidationError({"platform": [error.message]}) from None
        except SyncError as error:
            raise PlatformUnavailable(error.message) from None
        return Response(self.get_serializer(report.as_dict()).data)
