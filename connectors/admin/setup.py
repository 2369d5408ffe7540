"""Bindings (read-only), entity settings with their export filters, and value mappings."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from ..base import platform_choices
from ..choices import FilterCondition, role_label
from ..models import Binding, ChargeType, EntitySetting, ExportFilter, ValueMapping
from ..selectors import export_filter_problem
from .common import PlatformFilter, platform_label, platform_name, record_exists, record_link

# --- bindings ------------------------------------------------------------------------


@admin.register(Binding)
class BindingAdmin(admin.ModelAdmin):
    """Which platform record each local record is, per role. Written by the engine (a sync,
    or Map to an existing external id on a failed job), so read-only here."""

    list_display = (
        "platform_name",
        "role_name",
        "entity",
        "record",
        "external_id",
        "first_synced_at",
        "last_synced_at",
    )
    list_filter = (PlatformFilter, "role", "entity")
    list_select_related = False  # no relation shown: records are entity and id
    search_fields = ("=external_id", "=object_id")
    fields = (
        "platform",
        "role",
        "entity",
        "record",
        "external_id",
        "payload_sent",
        "payload_hash",
        "first_synced_at",
        "last_synced_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Binding | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Binding | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Binding]:
        return super().get_queryset(request).annotate(record_exists=record_exists())

    @admin.display(description="platform", ordering="platform")
    def platform_name(self, binding: Binding) -> str:
        return platform_name(binding.platform)

    @admin.display(description="role", ordering="role")
    def role_name(self, binding: Binding) -> str:
        return role_label(binding.role)

    @admin.display(description="record id", ordering="object_id")
    def record(self, binding: Binding) -> str:
        return record_link(binding, f"#{binding.object_id}", self.admin_site)

    @admin.display(description="payload last sent")
    def payload_sent(self, binding: Binding) -> str:
        text = json.dumps(binding.payload, indent=2, sort_keys=True, default=str)
        return format_html('<pre class="sync-excerpt">{}</pre>', text)


# --- entity settings and export filters --------------------------------------------------


class ExportFilterFormSet(forms.BaseInlineFormSet):
    """Checks each condition against the setting's entity (``export_filter_problem``): a
    field the record does not have is an error on the field name, a value missing or given
    where the condition takes none an error on the value."""

    def clean(self) -> None:
        super().clean()
        entity = self.instance.entity
        for form in self.forms:
            if not form.has_changed() or not form.is_valid():
                continue
            if form.cleaned_data.get("DELETE"):
                continue
            field = form.cleaned_data["field"]
            condition = form.cleaned_data["condition"]
            value = form.cleaned_data.get("value", "")
            # The field alone first (is-not-empty takes no value, so only the field can
            # fail it), so each problem lands on the input that causes it.
            field_problem = export_filter_problem(entity, field, FilterCondition.NOT_EMPTY, "")
            if field_problem:
                form.add_error("field", field_problem)
                continue
            problem = export_filter_problem(entity, field, condition, value)
            if problem:
                form.add_error("value", problem)


class ExportFilterInline(admin.TabularInline):
    model = ExportFilter
    formset = ExportFilterFormSet
    fields = ("active", "field", "condition", "value")
    extra = 1


@admin.register(EntitySetting)
class EntitySettingAdmin(admin.ModelAdmin):
    """Per platform and entity: active, direction, primary system, export filters.

    The rows are made for each registered connector's entities (entity_settings_ensure,
    after every migrate), so they are neither added nor deleted here: turn one off instead.
    """

    list_display = (
        "platform_name",
        "entity",
        "active",
        "direction",
        "primary_system",
        "filter_count",
    )
    list_filter = (PlatformFilter, "entity", "active", "direction")
    fields = ("platform_name", "entity", "active", "direction", "primary_system")
    readonly_fields = ("platform_name", "entity")
    inlines = (ExportFilterInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: EntitySetting | None = None):
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[EntitySetting]:
        return super().get_queryset(request).annotate(filter_count=Count("filters"))

    @admin.display(description="platform", ordering="platform")
    def platform_name(self, setting: EntitySetting) -> str:
        return platform_label(setting.platform)

    @admin.display(description="export filters", ordering="filter_count")
    def filter_count(self, setting: EntitySetting) -> int:
        return setting.filter_count


# --- value mappings --------------------------------------------------------------------


class ValueMappingForm(forms.ModelForm):
    platform = forms.ChoiceField(choices=platform_choices)

    class Meta:
        model = ValueMapping
        fields = ("platform", "kind", "layer_value", "external_value")


@admin.register(ValueMapping)
class ValueMappingAdmin(admin.ModelAdmin):
    """The ids a platform knows our values by (a bill run name → an Abillity id), where the
    platform has no list to read them from. A value a sync needs and finds no mapping for
    fails the job with a message naming it; add the mapping here, then retry the job."""

    form = ValueMappingForm
    list_display = ("platform", "kind", "layer_value", "external_value")
    list_filter = (PlatformFilter, "kind")
    search_fields = ("layer_value", "external_value")


# --- charge types ----------------------------------------------------------------------


class ChargeTypeForm(forms.ModelForm):
    platform = forms.ChoiceField(choices=platform_choices)

    class Meta:
        model = ChargeType
        fields = ("platform", "type_id", "name", "frequency")


@admin.register(ChargeType)
class ChargeTypeAdmin(admin.ModelAdmin):
    """A platform's service charge types with the billing frequency each suits (aBILLity
    has no list of them). An inventory item's charge type id is checked against this list
    when it is saved and when its assets sync."""

    form = ChargeTypeForm
    list_display = ("platform", "type_id", "name", "frequency")
    list_filter = (PlatformFilter, "frequency")
    search_fields = ("name", "type_id")
