"""Query-string filters of the sync engine's API (the Sync History and the error queue)."""

from datetime import UTC

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from ..base import UnknownPlatform, connector_for
from ..choices import ERROR_STATUSES, Entity, ErrorKind, JobStatus
from ..models import SyncJob


def known_platform(value: str) -> None:
    """A form validator: the identifier of a registered connector, else a message naming them."""
    try:
        connector_for(value)
    except UnknownPlatform as error:
        raise ValidationError(str(error), code="unknown_platform") from None


class StrictBooleanField(forms.Field):
    """``true``/``false`` (or ``1``/``0``); anything else is an error, not "no filter".

    django-filter's boolean widgets read an unknown value as "unset", so a
    typo (``ture``) would silently list every job.
    """

    widget = forms.TextInput
    values = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value: object) -> bool | None:
        if value in (None, ""):
            return None
        try:
            return self.values[str(value).strip().lower()]
        except KeyError:
            raise ValidationError(
                f'"{value}" is not a boolean: use true or false.', code="invalid"
            ) from None


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date and time, taken to UTC before it reaches the database.

    Python reads offsets up to ±23:59 and years from 1; PostgreSQL refuses an offset
    beyond ±15:59 ("time zone displacement out of range"), which made such a value a
    server error. In UTC every offset is fine; a moment before the year 1 in UTC is an
    error naming the value.
    """

    def to_python(self, value: object):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError(
                f'"{value}" is out of range: give a date and time from the year 1 on.',
                code="invalid",
            ) from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


def in_error_queue_q() -> Q:
    """The error queue as a condition (``SyncJob.in_error_queue``, for querysets)."""
    return Q(status__in=ERROR_STATUSES, resolved_at__isnull=True)


class SyncJobFilter(django_filters.FilterSet):
    platform = django_filters.CharFilter(
        validators=[known_platform], label="Platform identifier (abillity, affinity, connect)"
    )
    status = django_filters.MultipleChoiceFilter(
        choices=JobStatus.choices, label="Status (repeat the parameter for several)"
    )
    entity = django_filters.ChoiceFilter(choices=Entity.choices)
    object_id = django_filters.NumberFilter(min_value=1, label="Local record id")
    error_kind = django_filters.ChoiceFilter(
        choices=[(value, label) for value, label in ErrorKind.choices if value]
    )
    in_error_queue = StrictBooleanFilter(
        method="filter_in_error_queue",
        label="Failed or aborted and not since resolved (true) or any other job (false)",
    )
    created_after = UtcIsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label="Created at or after (ISO 8601)"
    )
    created_before = UtcIsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", label="Created before (ISO 8601)"
    )

    class Meta:
        model = SyncJob
        fields = ["platform", "status", "entity", "object_id", "error_kind"]

    def filter_in_error_queue(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return (
            queryset.filter(in_error_queue_q()) if value else queryset.exclude(in_error_queue_q())
        )
