"""Views of the customers API: customers (and leads), sites, addresses and contacts.

Writes go through the serializers to customers.services. No record is
deleted or replaced whole through the API: only GET, POST and PATCH.
Querysets load every relation a row shows, so a list costs the same number
of queries whatever its length.
"""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from layer_sync.api.exceptions import service_errors
from layer_sync.api.permissions import ChangeActionPermissions

from ..choices import ConversionSource
from ..models import Address, Contact, Customer, Site, SiteAddress
from ..services import customer_convert_lead
from .filters import AddressFilter, ContactFilter, CustomerFilter, SiteFilter
from .serializers import AddressSerializer, ContactSerializer, CustomerSerializer, SiteSerializer


class CreateRetrievePatchListViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    # No PUT (a partial update says what changes) and no DELETE (records are
    # ceased or cancelled, never removed through the API).
    http_method_names = ["get", "post", "patch", "head", "options"]


@extend_schema_view(
    list=extend_schema(summary="List customers and leads"),
    create=extend_schema(
        summary="Create a customer or lead",
        description="A customer created directly (stage `customer`) gets its lead record, "
        "origin `direct`. The name must be unique; a clash is a 400 on `name` naming the "
        "customer that holds it.",
    ),
    retrieve=extend_schema(summary="Read a customer or lead"),
    partial_update=extend_schema(
        summary="Change a customer or lead",
        description="A lead becomes a customer only through `convert`, not by its stage.",
    ),
)
class CustomerViewSet(CreateRetrievePatchListViewSet):
    """Customers and leads (the Company of the billing platforms)."""

    queryset = Customer.objects.select_related("customer_class", "lead")
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    search_fields = ["name", "registered_company_name", "sage_account_number"]
    ordering_fields = ["id", "name", "stage", "status", "created_at", "updated_at"]

    @extend_schema(
        summary="Convert a lead to a customer",
        description="Manual lead conversion, one of the initial sync events: the lead becomes "
        "a customer in status Pending. Needs the change-customer permission.",
        request=None,
        responses={
            200: CustomerSerializer,
            400: OpenApiResponse(
                description='Not a lead: `{"stage": ["... is already a customer ..."]}`.'
            ),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeActionPermissions])
    def convert(self, request: Request, pk: str | None = None) -> Response:
        customer = self.get_object()
        with service_errors():
            customer = customer_convert_lead(
                customer=customer, source=ConversionSource.MANUAL, user=request.user
            )
        return Response(self.get_serializer(customer).data)


@extend_schema_view(
    create=extend_schema(
        description="The customer's first site becomes its default; a new default site "
        "takes the flag from the previous one."
    ),
    partial_update=extend_schema(
        description="Clearing `is_default` on the default site is refused: make another "
        "site the default instead."
    ),
)
class SiteViewSet(CreateRetrievePatchListViewSet):
    """A customer's sites; exactly one per customer is its default (billing) site."""

    queryset = Site.objects.all()
    serializer_class = SiteSerializer
    filterset_class = SiteFilter
    search_fields = ["name", "site_ref", "customer__name"]
    ordering_fields = ["id", "name", "customer", "created_at", "updated_at"]


class AddressViewSet(CreateRetrievePatchListViewSet):
    """A customer's addresses and their associations with its sites (one site default each)."""

    queryset = Address.objects.prefetch_related(
        Prefetch("site_links", queryset=SiteAddress.objects.order_by("site_id"))
    )
    serializer_class = AddressSerializer
    filterset_class = AddressFilter
    search_fields = ["name", "street1", "city", "postcode", "customer__name"]
    ordering_fields = ["id", "customer", "postcode", "created_at", "updated_at"]


class ContactViewSet(CreateRetrievePatchListViewSet):
    """A customer's contacts, optionally associated with one of its sites."""

    queryset = Contact.objects.select_related("contact_type")
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    search_fields = ["first_name", "last_name", "email", "customer__name"]
    ordering_fields = ["id", "last_name", "first_name", "customer", "created_at", "updated_at"]
