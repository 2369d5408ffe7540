"""Query-string filters of the customers API."""

import django_filters

from ..models import Address, Contact, ContactType, Customer, CustomerClass, Site


class CustomerFilter(django_filters.FilterSet):
    customer_class = django_filters.ModelChoiceFilter(
        queryset=CustomerClass.objects.all(), to_field_name="code", label="Customer class code"
    )
    name = django_filters.CharFilter(lookup_expr="icontains", label="Name contains")

    class Meta:
        model = Customer
        fields = ["stage", "status", "customer_class", "name"]


class SiteFilter(django_filters.FilterSet):
    class Meta:
        model = Site
        fields = ["customer", "is_default", "parent"]


class AddressFilter(django_filters.FilterSet):
    site = django_filters.ModelChoiceFilter(
        queryset=Site.objects.all(), field_name="site_links__site", label="Associated with site"
    )

    class Meta:
        model = Address
        fields = ["customer", "is_default", "address_type", "site"]


class ContactFilter(django_filters.FilterSet):
    contact_type = django_filters.ModelChoiceFilter(
        queryset=ContactType.objects.all(), to_field_name="name", label="Contact type name"
    )

    class Meta:
        model = Contact
        fields = ["customer", "site", "is_primary", "contact_type"]
