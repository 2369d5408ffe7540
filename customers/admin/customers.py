"""Admin for customers (and leads), company settings, customer classes and contact types.

A customer is saved through customers.services (its lead record too); a
lead becomes a customer only through conversion: the Convert button on its page, or the
list's action for many.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Model, OuterRef, QuerySet, Subquery
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.urls import path, reverse

from layer_sync.admin import (
    ChangeFormPanelsMixin,
    ChangelistColumnsMixin,
    ServiceModelAdmin,
    refusal_text,
    run_service_action,
)

from .. import services
from ..choices import ConversionSource, CustomerStage
from ..models import (
    AccountType,
    CompanySettings,
    ContactType,
    Customer,
    CustomerClass,
    Lead,
    Site,
)
from .sites import AddressInline, ContactInline, SiteInline

# --- company settings and small lookup tables ------------------------------------


# The inventory item fields that may hold a billing platform's charge type ids (seed 001).
CHARGE_TYPE_FIELD_CHOICES = [
    ("data_description", "Data Description"),
    ("pricing_tier", "Pricing Tier"),
    ("custom_field_1", "Custom field 1"),
    ("custom_field_2", "Custom field 2"),
]


class CompanySettingsForm(forms.ModelForm):
    upfront_charge_type_field = forms.ChoiceField(
        label="Up-front charge type field", choices=CHARGE_TYPE_FIELD_CHOICES
    )
    recurring_charge_type_field = forms.ChoiceField(
        label="Recurring charge type field", choices=CHARGE_TYPE_FIELD_CHOICES
    )

    class Meta:
        model = CompanySettings
        fields = [
            "auto_generate_site_reference",
            "sage_sync_active",
            "new_and_cease_enabled",
            "update_action_enabled",
            "upfront_charge_type_field",
            "recurring_charge_type_field",
        ]


@admin.register(CompanySettings)
class CompanySettingsAdmin(admin.ModelAdmin):
    """The single settings row: no add once it exists, no delete; the list opens the row."""

    form = CompanySettingsForm

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if obj.new_and_cease_enabled and obj.update_action_enabled:
            # Seed 001: Update is the alternative to New & Cease, less suited to the
            # billing integrations.
            self.message_user(
                request,
                "New & Cease is on and so is Update: disable Update (it is less compatible "
                "with the billing integrations than New & Cease).",
                messages.WARNING,
            )

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


@admin.register(AccountType)
class AccountTypeAdmin(admin.ModelAdmin):
    """Residential and Virtual (made by a migration) and any custom types."""

    list_display = ("name", "code")
    search_fields = ("name", "code")
    prepopulated_fields = {"code": ("name",)}

    def get_readonly_fields(self, request, obj=None):
        # Platforms recognise the built-in types by code (Connect's Residential / Virtual).
        if obj is not None and obj.code in (AccountType.RESIDENTIAL, AccountType.VIRTUAL):
            return ("code",)
        return ()

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None else self.prepopulated_fields

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if obj is not None and obj.code in (AccountType.RESIDENTIAL, AccountType.VIRTUAL):
            return False
        return super().has_delete_permission(request, obj)


@admin.register(ContactType)
class ContactTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "is_billing")
    list_filter = ("is_billing",)
    search_fields = ("name",)


# --- customers -------------------------------------------------------------------


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


VAT_HELP = (
    "Kept in The Layer only: the Abillity API cannot mark a customer as VAT-registered, "
    "so VAT registration is not sent to Abillity."
)


@admin.register(Customer)
class CustomerAdmin(ChangelistColumnsMixin, ChangeFormPanelsMixin, ServiceModelAdmin):
    change_form_template = "admin/customers/customer/change_form.html"
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
            {
                "fields": (
                    "name",
                    "registered_company_name",
                    "stage",
                    "status",
                    "customer_class",
                    "account_type",
                )
            },
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

    # --- the lead's Convert button (seed 000: "Manual lead conversion to customer (through
    # 'Sales' menu)"): what the list's action does, for the lead on the page.

    def get_urls(self):
        convert = path(
            "<path:object_id>/convert/",
            self.admin_site.admin_view(self.convert_lead_view),
            name="customers_customer_convert",
        )
        return [convert, *super().get_urls()]

    def convert_lead_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST: convert the lead to a customer (as the list's action does), then back to its
        page with what happened. The CSRF middleware checks the form's token."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"], "Convert a lead with its page's button.")
        # The permission first: without it, a missing record is refused like any other.
        if not self.has_change_permission(request):
            raise PermissionDenied("Converting a lead needs the permission to change customers.")
        customer = self.get_object(request, unquote(object_id))
        if customer is None:
            raise Http404(f"No customer or lead with id {object_id}.")
        if not self.has_change_permission(request, customer):
            raise PermissionDenied("Converting a lead needs the permission to change customers.")
        try:
            services.customer_convert_lead(
                customer=customer, source=ConversionSource.MANUAL, user=request.user
            )
        except ValidationError as error:
            self.message_user(
                request, f"{customer} was not converted: {refusal_text(error)}", messages.ERROR
            )
        else:
            self.message_user(
                request,
                f"{customer} is now a customer (status Pending): it is sent to the billing "
                "platforms whose integration is on.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:customers_customer_change", args=[customer.pk]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["convert_lead_url"] = (
            reverse("admin:customers_customer_convert", args=[obj.pk])
            if obj is not None
            and obj.stage == CustomerStage.LEAD
            and self.has_change_permission(request, obj)
            else ""
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

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
