"""Query-string filters of the billing API."""

import django_filters
from django.db.models import Q, QuerySet

from ..choices import PlatformCode
from ..models import Asset, BaseCategory, BillingPlatform, InventoryItem, SalesOrder


def platform_filter(field_name: str, label: str) -> django_filters.ModelChoiceFilter:
    """A filter on a billing route, by the platform's code."""
    return django_filters.ModelChoiceFilter(
        queryset=BillingPlatform.objects.all(),
        to_field_name="code",
        field_name=field_name,
        label=label,
    )


class RouteFilterMixin(django_filters.FilterSet):
    """`route=<platform code>`: rows billed through that platform, up-front or recurring."""

    route_lookups: tuple[str, str] = ("upfront_route__code", "recurring_route__code")

    route = django_filters.ChoiceFilter(
        choices=PlatformCode.choices,
        method="filter_route",
        label="Billed through this platform (up-front or recurring route)",
    )

    def filter_route(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        upfront, recurring = self.route_lookups
        return queryset.filter(Q(**{upfront: value}) | Q(**{recurring: value})).distinct()


class InventoryItemFilter(RouteFilterMixin):
    base_category = django_filters.ModelChoiceFilter(
        queryset=BaseCategory.objects.all(), to_field_name="name", label="Base category name"
    )
    upfront_route = platform_filter("upfront_route", "Up-front billing route (platform code)")
    recurring_route = platform_filter("recurring_route", "Recurring billing route (platform code)")
    name = django_filters.CharFilter(lookup_expr="icontains", label="Name contains")

    class Meta:
        model = InventoryItem
        fields = [
            "item_type",
            "base_category",
            "billing_frequency",
            "upfront_route",
            "recurring_route",
            "route",
            "name",
        ]


class SalesOrderFilter(RouteFilterMixin):
    route_lookups = ("lines__upfront_route__code", "lines__recurring_route__code")

    created = django_filters.IsoDateTimeFromToRangeFilter(
        field_name="created_at", label="Created between (created_after, created_before)"
    )

    class Meta:
        model = SalesOrder
        fields = ["customer", "quote", "reference", "route", "created"]


class AssetFilter(RouteFilterMixin):
    upfront_route = platform_filter("upfront_route", "Up-front billing route (platform code)")
    recurring_route = platform_filter("recurring_route", "Recurring billing route (platform code)")

    class Meta:
        model = Asset
        fields = [
            "customer",
            "site",
            "status",
            "inventory_item",
            "sales_order_line",
            "identifier",
            "do_not_bill",
            "upfront_route",
            "recurring_route",
            "route",
        ]
