"""``POST /api/v1/customers/{id}/send-to-connect/``: create the customer's Connect client.

Answers 201 with the client when this call bound the customer to it (a new
client, or one Connect already had under its Billing Reference), 200 with
the client when it had been sent before (nothing is called). Refusals are
JSON with a message per field: 400 (a lead, a cancelled customer, a name
Connect refuses), 409 (the integration is off or not configured), 502
(Connect refused the client), 503 (Connect did not answer: send again; the
retry finds a client made meanwhile instead of making another).

The customer page's *Send to Connect* button posts here with its session; such
a browser form (it carries ``next``) is answered with a redirect back to the page
and the outcome as a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from customers.models import Customer

from ..api.views import REQUEST_JOBS, Conflict, requires
from ..errors import ConfigurationError, PermanentError, RecoverableError, SyncError
from .services import NOT_SENT, SendRefused, SendResult, connect_client_send


class PlatformRefused(APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "Connect refused the request."
    default_code = "platform_refused"


class PlatformUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Connect did not answer."
    default_code = "platform_unavailable"


class ConnectClientSerializer(serializers.Serializer):
    """The customer's Connect client, as sent."""

    customer = serializers.IntegerField(help_text="The customer's id.")
    client_id = serializers.CharField(help_text="The client's id in Connect.")
    url = serializers.CharField(help_text="The client's page in Connect.")
    status = serializers.CharField(
        help_text='The client\'s status when it was sent ("Awaiting Provisioning").'
    )
    name = serializers.CharField(help_text="The client name: the customer's name.")
    type = serializers.ChoiceField(
        choices=["Residential", "Virtual"],
        help_text="Virtual for a Virtual account type; Residential otherwise (custom types too).",
    )
    start_date = serializers.CharField(help_text="The moment of sending (ISO 8601, UTC).")
    end_date = serializers.CharField(help_text="One year after the start date.")
    billing_reference = serializers.CharField(help_text="The customer's id, as text.")
    sent_at = serializers.DateTimeField(allow_null=True)
    sent_by = serializers.CharField(help_text="Who sent it (username; blank if unknown).")
    created = serializers.BooleanField(
        help_text="This call bound the customer to the client (false: it had been sent before)."
    )
    found_existing = serializers.BooleanField(
        help_text="Connect already had a client with this Billing Reference (an earlier "
        "attempt's), which was bound instead of making another."
    )
    not_sent = serializers.CharField(help_text="What Send to Connect does not send.")
    notes = serializers.ListField(child=serializers.CharField())


def _body(result: SendResult) -> dict:
    client = result.client
    return {
        "customer": result.customer.pk,
        "client_id": client.client_id,
        "url": client.url,
        "status": client.status,
        "name": client.name,
        "type": client.type,
        "start_date": client.start_date,
        "end_date": client.end_date,
        "billing_reference": client.billing_reference,
        "sent_at": client.sent_at,
        "sent_by": client.sent_by,
        "created": result.created,
        "found_existing": result.found_existing,
        "not_sent": NOT_SENT,
        "notes": list(result.notes),
    }


class CustomerSendToConnectView(generics.GenericAPIView):
    """Send to Connect (seed 004)."""

    queryset = Customer.objects.all()
    permission_classes = [requires(REQUEST_JOBS)]
    serializer_class = ConnectClientSerializer
    filter_backends: list = []

    @extend_schema(
        summary="Send a customer to Connect",
        description="Creates the customer's Connect client: the customer name as client name, "
        "type Residential or Virtual (custom account types become Residential), start date "
        "the moment of sending, end date one year later, the customer's id as Billing "
        "Reference; Connect gives it the status Awaiting Provisioning. Exactly once: a "
        "customer already sent answers its client (200) without calling Connect; a retry "
        "after a timeout finds the client by Billing Reference. Contacts, services and rooms "
        "are not sent. Needs the permission to request syncs.",
        request=None,
        responses={
            201: ConnectClientSerializer,
            200: ConnectClientSerializer,
            400: OpenApiResponse(
                description='Our rules refuse it: `{"customer": ["Acme is a lead: convert it '
                'to a customer before sending it to Connect."]}`.'
            ),
            404: OpenApiResponse(description="No such customer."),
            409: OpenApiResponse(
                description='The Connect integration is off or not configured: `{"platform": '
                '["The Connect integration is off: ..."]}`.'
            ),
            502: OpenApiResponse(
                description='Connect refused the client: `{"platform": ["Connect answered 400: '
                '..."]}`.'
            ),
            503: OpenApiResponse(
                description="Connect did not answer; nothing is known to have changed. Send "
                'again: `{"platform": ["Connect did not answer within 30 s ..."]}`.'
            ),
        },
    )
    def post(self, request: Request, pk: int):
        customer = self.get_object()
        try:
            result = connect_client_send(customer_id=customer.pk, user=request.user)
        except SyncError as error:
            if self._browser_form(request):
                return self._back(request, error.message, failed=True)
            raise _api_error(error) from None
        if self._browser_form(request):
            return self._back(request, _outcome(result), failed=False)
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(self.get_serializer(_body(result)).data, status=code)

    @staticmethod
    def _browser_form(request: Request) -> bool:
        return bool(request.POST.get("next"))

    @staticmethod
    def _back(request: Request, message: str, *, failed: bool) -> HttpResponseRedirect:
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = "/admin/"
        if failed:
            messages.error(request._request, f"Not sent to Connect: {message}")
        else:
            messages.success(request._request, message)
        return HttpResponseRedirect(target, status=303)


def _outcome(result: SendResult) -> str:
    client = result.client
    if not result.created:
        text = f"{result.customer} was already in Connect as client {client.client_id}."
    elif result.found_existing:
        text = (
            f"{result.customer} is linked to Connect client {client.client_id}, which Connect "
            "already had under its Billing Reference (an earlier attempt made it)."
        )
    else:
        text = (
            f"Sent {result.customer} to Connect: client {client.client_id}, "
            f"{client.status or 'created'}."
        )
    return " ".join([text, *result.notes, NOT_SENT])


def _api_error(error: SyncError) -> APIException:
    if isinstance(error, SendRefused):
        return ValidationError({"customer": [error.message]})
    if isinstance(error, ConfigurationError):
        return Conflict({"platform": [error.message]})
    if isinstance(error, RecoverableError):
        return PlatformUnavailable(
            {
                "platform": [
                    f"{error.message}. The client may or may not have been made: send again, "
                    "and the customer is linked to it rather than sent twice."
                ]
            }
        )
    if isinstance(error, PermanentError):
        return PlatformRefused({"platform": [error.message]})
    return PlatformRefused({"platform": [error.message]})  # pragma: no cover
