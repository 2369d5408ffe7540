"""Admin for sites, addresses, the links between them, and contacts.

Each is saved through its customers.services function and checked at
validation by its read-only validator (see layer_sync.admin).
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from layer_sync.admin import (
    ChangeFormPanelsMixin,
    CompactInlineMixin,
    ServiceInlineMixin,
    ServiceModelAdmin,
    ServiceModelForm,
    cached_per_request,
)

from .. import services
from ..models import Address, CompanySettings, Contact, Customer, Site, SiteAddress
from ..selectors import integration_active


def _integration_active(request: HttpRequest) -> bool:
    return cached_per_request(request, "integration_active", integration_active)


def _company(request: HttpRequest) -> CompanySettings:
    return cached_per_request(request, "company", CompanySettings.load)


def site_generated_fields(request: HttpRequest) -> tuple[str, ...]:
    """The site fields the system fills in, read-only in every site form."""
    company = _company(request)
    fields = ["integration_id"]
    if company.auto_generate_site_reference:
        fields.append("site_ref")
    if company.sage_sync_active:
        fields.append("description")
    if _integration_active(request):
        fields.append("parent")
    return tuple(fields)


# --- forms and inlines -------------------------------------------------------------


class SiteForm(ServiceModelForm):
    def service_validate(self, instance: Site) -> None:
        services.site_validate(site=instance)


class SiteInline(CompactInlineMixin, ServiceInlineMixin, admin.TabularInline):
    model = Site
    form = SiteForm
    fields = ("name", "is_default", "site_ref", "description", "parent", "integration_id")
    autocomplete_fields = ("parent",)
    extra = 0
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return site_generated_fields(request)

    def service_save(self, request: HttpRequest, obj: Site) -> None:
        services.site_save(site=obj)

    def service_delete(self, request: HttpRequest, obj: Site) -> None:
        services.site_delete(site=obj)

    def ordered_for_save(self, pairs):
        # Newly ticked defaults before newly cleared ones: moving the default from one
        # site to another in one submission must not look like clearing the only one.
        def rank(pair: tuple[Site, forms.ModelForm]) -> int:
            site, form = pair
            if "is_default" not in form.changed_data:
                return 0
            return 1 if site.is_default else 2

        return sorted(pairs, key=rank)

    def row_as_saved(self, row: Site, form, rows):
        # A row clearing the default while another row of the submission takes it: the
        # newly ticked one is saved first (ordered_for_save), which clears this row's
        # stored flag, so the service will not see this row clear the only default.
        takes_default = any(
            other is not form and other.cleaned_data.get("is_default") for other in rows
        )
        if takes_default and not row.is_default:
            row.is_default = Site.objects.filter(pk=row.pk, is_default=True).exists()
        return row


class AddressForm(ServiceModelForm):
    def service_validate(self, instance: Address) -> None:
        services.address_validate(address=instance)


class AddressInline(ServiceInlineMixin, admin.StackedInline):
    model = Address
    form = AddressForm
    fields = (
        ("name", "address_type", "is_default"),
        ("street1", "street2", "street3"),
        ("city", "county", "postcode"),
    )
    extra = 0
    show_change_link = True

    def service_save(self, request: HttpRequest, obj: Address) -> None:
        services.address_save(address=obj)


class ContactForm(ServiceModelForm):
    def service_validate(self, instance: Contact) -> None:
        services.contact_validate(contact=instance)


class ContactInline(CompactInlineMixin, ServiceInlineMixin, admin.TabularInline):
    model = Contact
    form = ContactForm
    fields = (
        "first_name",
        "last_name",
        "email",
        "telephone",
        "mobile",
        "is_primary",
        "contact_type",
        "site",
    )
    autocomplete_fields = ("site",)
    extra = 0
    show_change_link = True

    def service_save(self, request: HttpRequest, obj: Contact) -> None:
        services.contact_save(contact=obj)


class SiteAddressForm(ServiceModelForm):
    def service_validate(self, instance: SiteAddress) -> None:
        services.site_address_validate(link=instance)


class SiteAddressInline(ServiceInlineMixin, admin.TabularInline):
    """The address links of a site (under a site) or of an address (under an address)."""

    model = SiteAddress
    form = SiteAddressForm
    autocomplete_fields = ("site", "address")
    extra = 0

    def service_save(self, request: HttpRequest, obj: SiteAddress) -> None:
        services.site_address_save(link=obj)

    def service_delete(self, request: HttpRequest, obj: SiteAddress) -> None:
        services.site_address_delete(link=obj)


# --- admins ------------------------------------------------------------------------


@admin.register(Site)
class SiteAdmin(ChangeFormPanelsMixin, ServiceModelAdmin):
    form = SiteForm
    list_display = ("name", "customer", "is_default", "site_ref", "parent", "created_at")
    list_filter = ("is_default", ("parent", admin.EmptyFieldListFilter))
    list_select_related = ("customer", "parent")
    search_fields = ("name", "site_ref", "description", "customer__name")
    autocomplete_fields = ("customer", "parent")
    inlines = (SiteAddressInline,)

    def get_fieldsets(self, request, obj=None):
        if _integration_active(request):
            subsite_note = (
                "A billing integration is active: Layer subsites are unavailable, so the "
                "parent site cannot be set or changed. Create a separate site instead."
            )
        else:
            subsite_note = "Makes this site a Layer subsite of another site of the same customer."
        if _company(request).auto_generate_site_reference:
            reference_note = "The site ref is generated (Auto-Generate Site Reference is on)."
        else:
            reference_note = "A blank site ref takes the site name."
        return (
            (None, {"fields": ("customer", "name", "is_default", "description")}),
            (
                "References",
                {"fields": ("site_ref", "integration_id"), "description": reference_note},
            ),
            ("Subsite", {"fields": ("parent",), "description": subsite_note}),
            ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
        )

    def get_readonly_fields(self, request, obj=None):
        fields = (*site_generated_fields(request), "created_at", "updated_at")
        # A site never moves to another customer (site_save refuses it too).
        return fields if obj is None else (*fields, "customer")

    def service_save(self, request, obj, form, change) -> None:
        services.site_save(site=obj)

    def delete_model(self, request: HttpRequest, obj: Site) -> None:
        services.site_delete(site=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Site]) -> None:
        # One by one: deleting a default site hands the default on to another.
        for site in queryset:
            try:
                services.site_delete(site=site)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)


@admin.register(Address)
class AddressAdmin(ServiceModelAdmin):
    form = AddressForm
    list_display = ("__str__", "customer", "address_type", "city", "postcode", "is_default")
    list_filter = ("address_type", "is_default")
    list_select_related = ("customer",)
    search_fields = ("name", "street1", "street2", "city", "postcode", "customer__name")
    autocomplete_fields = ("customer",)
    readonly_fields = ("created_at", "updated_at")
    inlines = (SiteAddressInline,)
    fieldsets = (
        (None, {"fields": ("customer", "name", "address_type", "is_default")}),
        ("Address", {"fields": ("street1", "street2", "street3", "city", "county", "postcode")}),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def get_readonly_fields(self, request, obj=None):
        # An address never moves to another customer (address_save refuses it too).
        return self.readonly_fields if obj is None else (*self.readonly_fields, "customer")

    def service_save(self, request, obj, form, change) -> None:
        services.address_save(address=obj)


@admin.register(SiteAddress)
class SiteAddressAdmin(ServiceModelAdmin):
    form = SiteAddressForm
    list_display = ("address", "site", "customer", "is_site_default")
    list_filter = ("is_site_default",)
    list_select_related = ("address", "site__customer")
    search_fields = ("site__name", "address__street1", "address__postcode", "site__customer__name")
    autocomplete_fields = ("site", "address")

    @admin.display(description="customer", ordering="site__customer__name")
    def customer(self, obj: SiteAddress) -> Customer:
        return obj.site.customer

    def service_save(self, request, obj, form, change) -> None:
        services.site_address_save(link=obj)

    def delete_model(self, request: HttpRequest, obj: SiteAddress) -> None:
        services.site_address_delete(link=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SiteAddress]) -> None:
        for link in queryset:
            services.site_address_delete(link=link)


@admin.register(Contact)
class ContactAdmin(ChangeFormPanelsMixin, ServiceModelAdmin):
    form = ContactForm
    list_display = (
        "__str__",
        "customer",
        "site",
        "contact_type",
        "is_primary",
        "email",
        "telephone",
    )
    list_filter = ("contact_type", "is_primary")
    list_select_related = ("customer", "site", "contact_type")
    search_fields = ("first_name", "last_name", "email", "telephone", "mobile", "customer__name")
    autocomplete_fields = ("customer", "site")
    readonly_fields = ("created_at", "updated_at")

    def service_save(self, request, obj, form, change) -> None:
        services.contact_save(contact=obj)
