"""Serializers of the sync engine's API: jobs and their attempts, requests to sync, retry
or skip, a record's sync state and a preview. Output shapes only; the work is done by
connectors.engine, connectors.selectors and connectors.preview, called by the views."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..base import UnknownPlatform, connector_for
from ..choices import Entity
from ..models import SyncAttempt, SyncJob


def platform_field(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(
        max_length=20, help_text="Platform identifier: abillity, affinity or connect.", **kwargs
    )


def validate_known_platform(value: str) -> str:
    """The identifier of a registered connector; a 400 naming the known ones otherwise."""
    try:
        connector_for(value)
    except UnknownPlatform as error:
        raise serializers.ValidationError(str(error)) from None
    return value


# --- jobs -------------------------------------------------------------------------------
class SyncAttemptSerializer(serializers.ModelSerializer):
    """One HTTP call made for a job; bodies are redacted excerpts."""

    class Meta:
        model = SyncAttempt
        fields = [
            "id",
            "started_at",
            "method",
            "path",
            "status_code",
            "duration_ms",
            "request_excerpt",
            "response_excerpt",
            "error",
        ]
        read_only_fields = fields


class SyncJobSerializer(serializers.ModelSerializer):
    """A sync job: one record on one platform, and what came of it."""

    record = serializers.CharField(
        source="object_repr", read_only=True, help_text="The record as it was described."
    )
    in_error_queue = serializers.BooleanField(
        read_only=True, help_text="Failed or aborted, and not since retried, skipped or resolved."
    )
    requested_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Who asked for it (a manual sync); null for automatic jobs.",
    )

    class Meta:
        model = SyncJob
        fields = [
            "id",
            "platform",
            "entity",
            "object_id",
            "record",
            "status",
            "operation",
            "reason",
            "force",
            "attempts",
            "last_attempt_at",
            "next_attempt_at",
            "external_id",
            "error_kind",
            "last_error",
            "filtered_by",
            "blocked_by",
            "requested_by",
            "in_error_queue",
            "resolved_at",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class SyncJobDetailSerializer(SyncJobSerializer):
    """A sync job with every HTTP call made for it, oldest first."""

    attempt_log = SyncAttemptSerializer(many=True, read_only=True)

    class Meta(SyncJobSerializer.Meta):
        fields = [*SyncJobSerializer.Meta.fields, "attempt_log"]
        read_only_fields = fields


class JobSkipSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Why the job is not sent; kept in its last error.",
    )


# --- a customer's manual sync -------------------------------------------------------------
class CustomerSyncRequestSerializer(serializers.Serializer):
    platform = platform_field()
    external_id = serializers.CharField(
        required=False,
        allow_blank=False,
        max_length=100,
        help_text="Map the customer to this existing platform record first (its company id).",
    )
    force = serializers.BooleanField(
        default=False,
        help_text="Send every field even if the platform already has the same values.",
    )

    def validate_platform(self, value: str) -> str:
        return validate_known_platform(value)

    def validate_external_id(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("This field may not be blank.")
        return value


# --- sync state ----------------------------------------------------------------------------
class PlatformQuerySerializer(serializers.Serializer):
    platform = platform_field()

    def validate_platform(self, value: str) -> str:
        return validate_known_platform(value)


class JobSummarySerializer(serializers.ModelSerializer):
    """The parts of a job a sync state shows."""

    class Meta:
        model = SyncJob
        fields = [
            "id",
            "status",
            "operation",
            "reason",
            "attempts",
            "next_attempt_at",
            "finished_at",
            "error_kind",
            "last_error",
            "filtered_by",
        ]
        read_only_fields = fields


class BindingStateSerializer(serializers.Serializer):
    role = serializers.CharField(help_text="What the platform record is to ours (company, site…).")
    external_id = serializers.CharField(help_text="Its id on the platform; blank until created.")
    first_synced_at = serializers.DateTimeField(allow_null=True)
    last_synced_at = serializers.DateTimeField(allow_null=True)


class RecordSyncStateSerializer(serializers.Serializer):
    """A record's state on one platform (``records_sync_state`` plus the record's id)."""

    id = serializers.IntegerField(source="record.pk")
    synced = serializers.BooleanField(
        help_text="A sync put it on the platform (bound and written by a sync), and its first "
        "sync did not fail."
    )
    external_ids = serializers.SerializerMethodField(
        help_text="The external id of each platform record it is bound to, by role."
    )
    last_synced_at = serializers.SerializerMethodField()
    bindings = BindingStateSerializer(many=True)
    pending_job = JobSummarySerializer(
        allow_null=True, help_text="The job waiting to run or running now, if any."
    )
    last_job = JobSummarySerializer(allow_null=True, help_text="The latest job that finished.")
    failed_job = JobSummarySerializer(
        allow_null=True, help_text="The latest job in the error queue, if any."
    )

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_external_ids(self, state: dict[str, Any]) -> dict[str, str]:
        return {b["role"]: b["external_id"] for b in state["bindings"] if b["external_id"]}

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_last_synced_at(self, state: dict[str, Any]) -> str | None:
        times = [b["last_synced_at"] for b in state["bindings"] if b["last_synced_at"]]
        return serializers.DateTimeField().to_representation(max(times)) if times else None


class CustomerSyncStateSerializer(RecordSyncStateSerializer):
    name = serializers.CharField(source="record.name")


class SiteSyncStateSerializer(RecordSyncStateSerializer):
    name = serializers.CharField(source="record.name")
    is_default = serializers.BooleanField(source="record.is_default")
    parent = serializers.IntegerField(
        source="record.parent_id", allow_null=True, help_text="Set on a Layer subsite."
    )


class ContactSyncStateSerializer(RecordSyncStateSerializer):
    name = serializers.CharField(source="record.full_name")
    email = serializers.CharField(source="record.email")
    site = serializers.IntegerField(source="record.site_id", allow_null=True)


class CustomerSyncStatusSerializer(serializers.Serializer):
    platform = serializers.CharField()
    exported_entities = serializers.ListField(
        child=serializers.ChoiceField(choices=Entity.choices),
        help_text="The entities the platform exports now (integration on, entity active); "
        "changes to other records wait.",
    )
    customer = CustomerSyncStateSerializer()
    sites = SiteSyncStateSerializer(many=True, help_text="Its sites, subsites included.")
    contacts = ContactSyncStateSerializer(many=True)


# --- preview ---------------------------------------------------------------------------------
class PreviewQuerySerializer(serializers.Serializer):
    platform = platform_field()
    entity = serializers.ChoiceField(choices=Entity.choices)
    id = serializers.IntegerField(min_value=1, help_text="The local record's id.")

    def validate_platform(self, value: str) -> str:
        return validate_known_platform(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        connector = connector_for(attrs["platform"])
        if attrs["entity"] not in connector.entities:
            takes = ", ".join(connector.entities) or "nothing"
            raise serializers.ValidationError(
                {
                    "entity": [
                        f"{connector.name} does not take {attrs['entity']} records "
                        f"(it takes: {takes})."
                    ]
                }
            )
        return attrs


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    rule = serializers.CharField(help_text="one_off (sent on creation only) or repeated.")
    sent = serializers.JSONField(allow_null=True, help_text="What the platform last received.")
    now = serializers.JSONField(allow_null=True, help_text="What a sync would send now.")
    changed = serializers.BooleanField()
    will_send = serializers.BooleanField()


class PartPreviewSerializer(serializers.Serializer):
    role = serializers.CharField()
    entity = serializers.CharField()
    object_id = serializers.IntegerField()
    external_id = serializers.CharField(help_text="Blank: the platform record would be created.")
    action = serializers.CharField(help_text="create, update or no change.")
    fields = FieldChangeSerializer(many=True)


class SyncPreviewSerializer(serializers.Serializer):
    platform = serializers.CharField()
    entity = serializers.CharField()
    object_id = serializers.IntegerField()
    record = serializers.CharField()
    action = serializers.CharField(help_text="create, update, no change, filtered or refused.")
    filtered_by = serializers.CharField(help_text="The export filter that excludes the record.")
    problems = serializers.ListField(
        child=serializers.CharField(), help_text="Why a sync would be refused or send nothing."
    )
    parts = PartPreviewSerializer(many=True)
