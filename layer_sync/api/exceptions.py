"""One JSON error shape for the whole API.

DRF already answers validation errors as `{"field": ["message", ...]}`. This
handler adds the same shape for Django's own ValidationError raised by
services (so a rule enforced in a service reads the same as one enforced in a
serializer) and for database integrity errors (a clash, never a 500). It also
counts refused authentications against the anonymous rate limit
(`layer_sync.api.throttling.failed_authentication_throttle`).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .throttling import failed_authentication_throttle


def django_validation_error_detail(error: DjangoValidationError) -> dict[str, list[str]]:
    """Turn a Django ValidationError into DRF's per-field error mapping."""
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in error.message_dict.items()
        }
    return {"non_field_errors": list(error.messages)}


@contextmanager
def service_errors(*, rename: dict[str, str] | None = None) -> Iterator[None]:
    """Re-raise a service's Django ValidationError as DRF's, keeping its field names.

    Serializers call services inside this block, so the error reaches the
    client as `{"field": ["message"]}` like any serializer error. `rename`
    maps a service's field name onto the serializer's where they differ.
    """
    try:
        yield
    except DjangoValidationError as error:
        detail = django_validation_error_detail(error)
        if rename:
            detail = {rename.get(field, field): messages for field, messages in detail.items()}
        raise serializers.ValidationError(detail) from error


def json_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, extended to Django validation and integrity errors, and to refused
    authentications past the anonymous rate limit (429 instead of 401)."""
    if isinstance(exc, NotAuthenticated | AuthenticationFailed) and context.get("request"):
        exc = failed_authentication_throttle(context["request"], context.get("view")) or exc
    if isinstance(exc, DjangoValidationError):
        return Response(django_validation_error_detail(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, IntegrityError):
        return Response(
            {"non_field_errors": ["The change clashes with an existing record and was not saved."]},
            status=status.HTTP_409_CONFLICT,
        )
    return exception_handler(exc, context)
