"""Views of the sync engine's API: the Sync History and error queue, a customer's manual
sync and sync status, and the preview of a sync.

Thin adapters: each view checks its input, calls one service or selector, and
answers. The engine's refusals become JSON errors on the field they are about:
an unknown platform or entity is a 400 naming the known ones, a platform whose
integration is off a 409, a job in the wrong state for the action a 409.
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from customers.models import Customer

from ..engine.actions import MappingRefused, customer_sync_request, job_retry, job_skip
from ..errors import ConfigurationError, PermanentError, SyncError
from ..models import SyncJob
from ..preview import record_preview
from .filters import SyncJobFilter
from .serializers import (
    CustomerSyncRequestSerializer,
    CustomerSyncStatusSerializer,
    JobSkipSerializer,
    PlatformQuerySerializer,
    PreviewQuerySerializer,
    SyncJobDetailSerializer,
    SyncJobSerializer,
    SyncPreviewSerializer,
)
from .sync_status import customer_sync_status

VIEW_JOBS = "connectors.view_syncjob"
REQUEST_JOBS = "connectors.add_syncjob"
# The error queue's actions (retry, skip, map to an existing platform record).
ACT_ON_JOBS = "connectors.retry_syncjob"


def requires(*perms: str) -> type[BasePermission]:
    """A permission class: signed in (else 401) and holding every one of ``perms`` (else 403).

    For views that are not a model's CRUD, where StrictModelPermissions'
    method-to-permission mapping does not say what the action needs.
    """

    class RequiredPermissions(BasePermission):
        message = f"You need the permission{'s' if len(perms) > 1 else ''} {', '.join(perms)}."

        def has_permission(self, request: Request, view: object) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(perms))

    return RequiredPermissions


class Conflict(APIException):
    """The request is valid but the state of the record or platform refuses it (409)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def conflict_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(description=description)


JOB_STATE_CONFLICT = conflict_response(
    'The job is in the wrong state for this action: `{"non_field_errors": ["Job #7 is '
    'succeeded; only failed, aborted or skipped jobs can be retried."]}`.'
)


@extend_schema_view(
    list=extend_schema(
        summary="Sync History",
        description="Every sync job, newest first. `in_error_queue=true` lists the error "
        "queue: failed or aborted jobs that staff have not retried, skipped or resolved.",
    ),
    retrieve=extend_schema(
        summary="A sync job with its attempt log",
        description="Adds every HTTP call made for the job (method, path, status code, "
        "duration, redacted excerpts of request and response).",
    ),
)
class SyncJobViewSet(viewsets.ReadOnlyModelViewSet):
    """Sync jobs: the outbox, the Sync History and the error queue in one."""

    queryset = SyncJob.objects.select_related("requested_by")
    filterset_class = SyncJobFilter
    search_fields = ["object_repr", "external_id", "reason"]
    ordering_fields = [
        "id",
        "created_at",
        "next_attempt_at",
        "last_attempt_at",
        "finished_at",
        "attempts",
        "status",
    ]

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("attempt_log")
        return queryset

    def get_serializer_class(self):
        return SyncJobDetailSerializer if self.action == "retrieve" else SyncJobSerializer

    @extend_schema(
        summary="Retry a job",
        description="Puts a failed, aborted or skipped job back in the queue now, its attempts "
        "reset. If the record has a pending job already, the retry merges into it and that "
        "job is answered. Needs the permission to retry, skip or map sync jobs.",
        request=None,
        responses={202: SyncJobSerializer, 409: JOB_STATE_CONFLICT},
    )
    @action(detail=True, methods=["post"], permission_classes=[requires(ACT_ON_JOBS)])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        with transaction.atomic():
            job = SyncJob.objects.select_for_update().get(pk=job.pk)
            try:
                queued = job_retry(job, user=request.user)
            except PermanentError as error:
                raise Conflict({"non_field_errors": [error.message]}) from None
        return Response(SyncJobSerializer(queued).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Skip a job",
        description="Takes a job out of the error queue without sending it; the reason, if "
        "given, is kept in its last error. Needs the permission to retry, skip or map jobs.",
        request=JobSkipSerializer,
        responses={
            200: SyncJobSerializer,
            400: OpenApiResponse(description='A bad reason: `{"reason": ["..."]}`.'),
            409: conflict_response(
                'Not in the error queue: `{"non_field_errors": ["Job #7 is not in the '
                'error queue."]}`.'
            ),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[requires(ACT_ON_JOBS)])
    def skip(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        body = JobSkipSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            job = SyncJob.objects.select_for_update().get(pk=job.pk)
            try:
                job = job_skip(job, user=request.user, reason=body.validated_data.get("reason", ""))
            except PermanentError as error:
                raise Conflict({"non_field_errors": [error.message]}) from None
        return Response(SyncJobSerializer(job).data)


class CustomerSyncView(generics.GenericAPIView):
    """A manual sync of one customer (``POST /api/v1/customers/{id}/sync/``)."""

    queryset = Customer.objects.all()
    permission_classes = [requires(REQUEST_JOBS)]
    serializer_class = CustomerSyncRequestSerializer
    filter_backends: list = []

    @extend_schema(
        summary="Sync a customer now",
        description="Queues (or reuses) the customer's pending job on the platform and answers "
        "it; the job runs in the background. With `external_id`, the customer is first "
        "mapped to that existing platform record (which needs the permission to retry, skip "
        "or map sync jobs as well), so the sync updates it instead of creating a new one. "
        "`force` sends every field even if unchanged. Nothing changes when the request is "
        "refused.",
        request=CustomerSyncRequestSerializer,
        responses={
            202: SyncJobSerializer,
            400: OpenApiResponse(
                description="An unknown platform, one that does not take customers, or a "
                'mapping clash: `{"platform": ["Unknown platform \\"x\\". Known platforms: '
                'abillity, ..."]}`, `{"external_id": ["... is already mapped to customer '
                '#12."]}`.'
            ),
            404: OpenApiResponse(description="No such customer."),
            409: conflict_response(
                "The platform's integration is off or its customer entity is not exported: "
                '`{"platform": ["The Abillity integration is off, ..."]}`.'
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        customer = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        platform = body.validated_data["platform"]
        external_id = body.validated_data.get("external_id", "")
        if external_id and not request.user.has_perm(ACT_ON_JOBS):
            self.permission_denied(
                request,
                message="Mapping to an existing platform record needs the permission "
                f"{ACT_ON_JOBS}.",
            )
        try:
            job = customer_sync_request(
                platform=platform,
                customer_id=customer.pk,
                external_id=external_id,
                user=request.user,
                force=body.validated_data["force"],
            )
        except MappingRefused as error:
            raise ValidationError({"external_id": [error.message]}) from None
        except ConfigurationError as error:
            raise Conflict({"platform": [error.message]}) from None
        except PermanentError as error:
            raise ValidationError({"platform": [error.message]}) from None
        job = SyncJob.objects.select_related("requested_by").get(pk=job.pk)
        return Response(SyncJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class CustomerSyncStatusView(generics.GenericAPIView):
    """A customer's sync state (``GET /api/v1/customers/{id}/sync-status/?platform=``)."""

    queryset = Customer.objects.all()
    permission_classes = [requires(VIEW_JOBS)]
    serializer_class = CustomerSyncStatusSerializer
    filter_backends: list = []

    @extend_schema(
        summary="A customer's sync state on a platform",
        description="Whether the customer, each of its sites (subsites included) and each of "
        "its contacts is on the platform: external ids by role, first and last sync, the "
        "pending job, the last finished job and the job in the error queue, if any.",
        parameters=[PlatformQuerySerializer],
        responses={
            200: CustomerSyncStatusSerializer,
            400: OpenApiResponse(
                description='No or an unknown platform: `{"platform": ["This field is '
                'required."]}`.'
            ),
            404: OpenApiResponse(description="No such customer."),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        customer = self.get_object()
        query = PlatformQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        state = customer_sync_status(platform=query.validated_data["platform"], customer=customer)
        return Response(self.get_serializer(state).data)


class SyncPreviewView(generics.GenericAPIView):
    """What a sync of one record would send now (``GET /api/v1/sync-preview/``)."""

    permission_classes = [requires(VIEW_JOBS)]
    serializer_class = SyncPreviewSerializer
    filter_backends: list = []
    pagination_class = None

    @extend_schema(
        summary="Preview a sync (dry run)",
        description="For each platform record the local record maps to, each field of the "
        "payload a sync would build now beside what the platform last received, and whether "
        "it would be sent (on an update only repeated fields that changed go; one-off fields "
        "only on creation). Sends nothing.",
        parameters=[PreviewQuerySerializer],
        responses={
            200: SyncPreviewSerializer,
            400: OpenApiResponse(
                description='A missing or unknown platform, entity or id: `{"entity": ["... '
                'does not take asset records (it takes: customer, site, contact)."]}`.'
            ),
            404: OpenApiResponse(description="No such record."),
        },
    )
    def get(self, request: Request) -> Response:
        query = PreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            preview = record_preview(
                platform=query.validated_data["platform"],
                entity=query.validated_data["entity"],
                object_id=query.validated_data["id"],
            )
        except SyncError as error:
            # The platform and entity were checked above: what is left is a missing record.
            raise NotFound(error.message) from None
        return Response(self.get_serializer(preview).data)
