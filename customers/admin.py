"""Admin for customers (and leads), sites, addresses, contacts, quotes and company settings.

The admin is an adapter: every write of a customer, site, address, site
address, contact or quote goes through `customers.services`, and a service's
ValidationError is shown as a form error on the field it names (see
`ServiceModelAdmin`), never as a server error. Actions call services and
never make an external HTTP call.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db.models import Count, Model, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.text import capfirst

from . import services
from .choices import ConversionSource
from .models import (
    Address,
    CompanySettings,
    Contact,
    ContactType,
    Customer,
    CustomerClass,
    Lead,
    Quote,
    QuoteLine,
    Site,
    SiteAddress,
)
from .selectors import integration_active

# --- service errors as form errors ---------------------------------------------
#
# The services validate and write in one atomic call, and some of their rules
# (one default site, subsites while an integration is active, records of
# another customer) have no read-only validation helper the forms could call.
# So the admin saves through the service inside the change view's transaction;
# when the service refuses, the transaction is rolled back (nothing is saved)
# and the same POST is processed again with the refusal attached to the form
# it belongs to, which renders it next to the field it names.

_SERVICE_ERRORS_ATTR = "_layer_sync_admin_service_errors"


class ServiceRejected(Exception):
    """A service refused a save made for the form with `prefix` (None: the main form)."""

    def __init__(self, prefix: str | None, error: ValidationError) -> None:
        super().__init__(prefix, error)
        self.prefix = prefix
        self.error = error


@contextmanager
def rejected_as_form_errors(prefix: str | None) -> Iterator[None]:
    """Turn a service's ValidationError into ServiceRejected for the form with `prefix`."""
    try:
        yield
    except ValidationError as error:
        raise ServiceRejected(prefix, error) from error


def _service_errors(request: HttpRequest) -> dict[str | None, ValidationError] | None:
    return getattr(request, _SERVICE_ERRORS_ATTR, None)


class ServiceModelForm(forms.ModelForm):
    """The base of every admin form whose model a service saves.

    `service_errors` is set, per request, on the form class the admin builds
    when a service refused the first attempt: the form with the matching
    prefix reports those errors. `flags_kept_by_service` names boolean fields
    of "one per customer/site" constraints that the service keeps by clearing
    the previous holder: model validation must not refuse them first.
    """

    service_errors: ClassVar[dict[str | None, ValidationError] | None] = None
    flags_kept_by_service: ClassVar[tuple[str, ...]] = ()

    def full_clean(self) -> None:
        super().full_clean()
        error = (self.service_errors or {}).get(self.prefix)
        if error is not None and self.is_bound:
            self._add_service_error(error)

    def _get_validation_exclusions(self) -> set[str]:
        exclusions = super()._get_validation_exclusions()
        exclusions.update(self.flags_kept_by_service)
        return exclusions

    def _add_service_error(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            error_dict = error.error_dict
        else:
            error_dict = {NON_FIELD_ERRORS: error.error_list}
        for field, errors in error_dict.items():
            if field in self.fields and not self.fields[field].widget.is_hidden:
                self.add_error(field, errors)
                continue
            # A field that is read-only, hidden or not on this form: say which it is.
            label = self._field_label(field)
            messages_ = ValidationError(errors).messages
            self.add_error(None, [f"{label}: {text}" if label else text for text in messages_])

    def _field_label(self, field: str) -> str:
        if field == NON_FIELD_ERRORS:
            return ""
        try:
            return str(capfirst(self._meta.model._meta.get_field(field).verbose_name))
        except FieldDoesNotExist:
            return capfirst(field.replace("_", " "))


class ServiceInlineMixin:
    """An inline whose rows a service saves (`service_save`) and deletes (`service_delete`)."""

    form = ServiceModelForm

    def service_save(self, request: HttpRequest, obj: Model) -> None:
        raise NotImplementedError

    def service_delete(self, request: HttpRequest, obj: Model) -> None:
        obj.delete()

    def ordered_for_save(
        self, pairs: list[tuple[Model, forms.ModelForm]]
    ) -> list[tuple[Model, forms.ModelForm]]:
        """The (record, form) pairs in the order the service should see them."""
        return pairs

    def get_formset(self, request: HttpRequest, obj: Model | None = None, **kwargs: Any):
        formset = super().get_formset(request, obj, **kwargs)
        # Both classes are made afresh for this call, so these attributes stay per request.
        formset.service_inline = self
        formset.form.service_errors = _service_errors(request)
        return formset

    def save_through_services(self, request: HttpRequest, formset: forms.BaseModelFormSet) -> None:
        """Save the formset's changes row by row through the services."""
        formset.save(commit=False)
        form_of = {id(form.instance): form for form in formset.forms}
        for obj in formset.deleted_objects:
            with rejected_as_form_errors(form_of[id(obj)].prefix):
                self.service_delete(request, obj)
        pairs = [(form.instance, form) for form in formset.saved_forms]
        for obj, form in self.ordered_for_save(pairs):
            with rejected_as_form_errors(form.prefix):
                self.service_save(request, obj)
        formset.save_m2m()


class ServiceModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose saves go through a service (`service_save`).

    A service's ValidationError re-renders the form with the errors on the
    fields they name, and the whole save (record and inlines) is rolled back.
    """

    form = ServiceModelForm

    def service_save(
        self, request: HttpRequest, obj: Model, form: forms.ModelForm, change: bool
    ) -> None:
        raise NotImplementedError

    def save_model(self, request, obj, form, change) -> None:
        with rejected_as_form_errors(form.prefix):
            self.service_save(request, obj, form, change)

    def save_formset(self, request, form, formset, change) -> None:
        inline = getattr(formset, "service_inline", None)
        if inline is None:
            super().save_formset(request, form, formset, change)
        else:
            inline.save_through_services(request, formset)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        # modelform_factory made this class for this call: the attribute is per request.
        form.service_errors = _service_errors(request)
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRejected as rejected:
            # The view's atomic block rolled the attempt back; show the same POST again,
            # now with the service's errors on the form they belong to.
            setattr(request, _SERVICE_ERRORS_ATTR, {rejected.prefix: rejected.error})
            return super().changeform_view(request, object_id, form_url, extra_context)


def run_service_action(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    records: Iterable[Model],
    *,
    service: Callable[[Model], object],
    done: str,
) -> None:
    """Call `service` on each record (each call is atomic) and report done and refused counts."""
    done_count = 0
    refusals: list[str] = []
    for record in records:
        try:
            service(record)
        except ValidationError as error:
            refusals.append(f"{record}: {' '.join(error.messages)}")
        else:
            done_count += 1
    if done_count:
        modeladmin.message_user(request, f"{done}: {done_count}.", messages.SUCCESS)
    if refusals:
        modeladmin.message_user(
            request, f"Refused {len(refusals)}: " + " | ".join(refusals), messages.WARNING
        )


def _cached_per_request(request: HttpRequest, name: str, compute: Callable[[], Any]) -> Any:
    # Fieldsets, read-only fields and inlines each ask; one query per request is enough.
    attr = f"_layer_sync_admin_{name}"
    if not hasattr(request, attr):
        setattr(request, attr, compute())
    return getattr(request, attr)


def _integration_active(request: HttpRequest) -> bool:
    return _cached_per_request(request, "integration_active", integration_active)


def _company(request: HttpRequest) -> CompanySettings:
    return _cached_per_request(request, "company", CompanySettings.load)


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


# --- company settings and small lookup tables ------------------------------------


@admin.register(CompanySettings)
class CompanySettingsAdmin(admin.ModelAdmin):
    """The single settings row: no add once it exists, no delete; the list opens the row."""

    fieldsets = (
        ("Sites", {"fields": ("auto_generate_site_reference", "sage_sync_active")}),
        ("Data capture", {"fields": ("new_and_cease_enabled", "update_action_enabled")}),
        ("Charge types", {"fields": ("upfront_charge_type_field", "recurring_charge_type_field")}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not CompanySettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        row = CompanySettings.objects.filter(pk=CompanySettings.SINGLETON_PK).first()
        if row is not None and self.has_view_or_change_permission(request, row):
            return HttpResponseRedirect(
                reverse("admin:customers_companysettings_change", args=[row.pk])
            )
        return super().changelist_view(request, extra_context)


@admin.register(CustomerClass)
class CustomerClassAdmin(admin.ModelAdmin):
    list_display = ("code", "description", "customer_count")
    search_fields = ("code", "description")

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomerClass]:
        return super().get_queryset(request).annotate(customer_count=Count("customers"))

    @admin.display(description="customers", ordering="customer_count")
    def customer_count(self, obj: CustomerClass) -> int:
        return obj.customer_count


@admin.register(ContactType)
class ContactTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "is_billing")
    list_filter = ("is_billing",)
    search_fields = ("name",)


# --- inlines ---------------------------------------------------------------------


class LeadInline(admin.StackedInline):
    """The customer's lead record (seed 000), read-only: the services write it."""

    model = Lead
    fields = ("origin", "created_at", "converted_at", "conversion_source", "converted_by")
    readonly_fields = fields
    can_delete = False
    verbose_name = "lead record"
    verbose_name_plural = "lead record"

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Part of the customer: whoever may see the customer sees how it became one.
        return request.user.has_perm("customers.view_customer") or request.user.has_perm(
            "customers.change_customer"
        )

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class SiteForm(ServiceModelForm):
    # site_save makes a newly ticked default site the only one.
    flags_kept_by_service = ("is_default",)


class SiteInline(ServiceInlineMixin, admin.TabularInline):
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


class AddressForm(ServiceModelForm):
    # address_save makes a newly ticked customer default the only one.
    flags_kept_by_service = ("is_default",)


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


class ContactInline(ServiceInlineMixin, admin.TabularInline):
    model = Contact
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
    # site_address_save makes a newly ticked site default the only one.
    flags_kept_by_service = ("is_site_default",)


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


class QuoteLineInline(admin.TabularInline):
    # Quote lines have no service (no rule beyond their fields): saved as they are.
    model = QuoteLine
    fields = ("inventory_item", "quantity", "sell_price", "recurring_sell_price", "site", "cli")
    autocomplete_fields = ("inventory_item", "site")
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        if obj is not None and "site" in formset.form.base_fields:
            # Nothing else checks a line's site: offer only the quote customer's sites.
            site_field = formset.form.base_fields["site"]
            site_field.queryset = Site.objects.filter(customer_id=obj.customer_id)
        return formset


# --- customers -------------------------------------------------------------------

VAT_HELP = (
    "Kept in The Layer only: the Abillity API cannot mark a customer as VAT-registered, "
    "so VAT registration is not sent to Abillity."
)


@admin.register(Customer)
class CustomerAdmin(ServiceModelAdmin):
    list_display = (
        "name",
        "stage",
        "status",
        "customer_class",
        "default_site",
        "bill_run",
        "sage_account_number",
        "created_at",
    )
    list_filter = ("stage", "status", "customer_class", "bill_run", "payment_method")
    list_select_related = ("customer_class",)
    search_fields = (
        "name",
        "registered_company_name",
        "sage_account_number",
        "email",
        "telephone",
    )
    readonly_fields = ("created_at", "updated_at")
    inlines = (LeadInline, SiteInline, AddressInline, ContactInline)
    actions = ("convert_leads",)
    fieldsets = (
        (
            None,
            {"fields": ("name", "registered_company_name", "stage", "status", "customer_class")},
        ),
        ("Contact details", {"fields": ("email", "telephone", "vat_number")}),
        (
            "Billing",
            {
                "fields": ("bill_run", "payment_terms", "payment_method", "sage_account_number"),
                "description": "Bill run, payment terms and payment method are sent to every "
                "Abillity site of the customer once, when the lead is converted.",
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        default_site = Site.objects.filter(customer=OuterRef("pk"), is_default=True)
        return (
            super()
            .get_queryset(request)
            .annotate(default_site_name=Subquery(default_site.values("name")[:1]))
        )

    def get_inlines(self, request, obj):
        # The services write the lead record when the customer is saved: nothing to show yet.
        return self.inlines if obj else tuple(i for i in self.inlines if i is not LeadInline)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        # A lead becomes a customer only through conversion (the action below).
        return (*self.readonly_fields, "stage")

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs.setdefault("help_texts", {"vat_number": VAT_HELP})
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description="default site", ordering="default_site_name")
    def default_site(self, obj: Customer) -> str:
        return obj.default_site_name or "-"

    def service_save(self, request, obj, form, change) -> None:
        services.customer_save(customer=obj, user=request.user)

    @admin.action(description="Convert lead to customer", permissions=["change"])
    def convert_leads(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        run_service_action(
            self,
            request,
            queryset,
            service=lambda customer: services.customer_convert_lead(
                customer=customer, source=ConversionSource.MANUAL, user=request.user
            ),
            done="Converted to customers",
        )


# --- sites, addresses, contacts --------------------------------------------------


@admin.register(Site)
class SiteAdmin(ServiceModelAdmin):
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
class ContactAdmin(ServiceModelAdmin):
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


# --- quotes ----------------------------------------------------------------------


@admin.register(Quote)
class QuoteAdmin(ServiceModelAdmin):
    """Quotes; billing.admin extends this with the sales order column and action."""

    list_display = ("__str__", "customer", "status", "contact", "won_at", "created_at")
    list_filter = ("status",)
    list_select_related = ("customer", "contact")
    search_fields = ("reference", "customer__name")
    autocomplete_fields = ("customer", "contact", "invoice_address")
    readonly_fields = ("won_at", "created_at", "updated_at")
    inlines = (QuoteLineInline,)
    actions = ("mark_won",)
    fields = (
        "customer",
        "reference",
        "status",
        "contact",
        "invoice_address",
        "won_at",
        "created_at",
        "updated_at",
    )

    def service_save(self, request, obj, form, change) -> None:
        # Won here is won through quote_mark_won: a lead is converted (quote win).
        services.quote_save(quote=obj, user=request.user)

    @admin.action(description="Mark won (converts a lead)", permissions=["change"])
    def mark_won(self, request: HttpRequest, queryset: QuerySet[Quote]) -> None:
        run_service_action(
            self,
            request,
            queryset.select_related("customer"),
            service=lambda quote: services.quote_mark_won(quote=quote, user=request.user),
            done="Marked won",
        )
