"""Shared admin machinery: admin pages whose records the domain services save.

Every app's admin is an adapter over its services (customers.services,
billing.services). Two layers keep a page honest:

- At validation, each form checks its record with the service's read-only
  validator (`ServiceModelForm.service_validate`; inline rows through
  `ServiceInlineFormSet`), so a broken rule is a form error like any other and
  no save is attempted.
- At save, the record goes through its service inside the change view's
  transaction. If the service still refuses (the data changed between
  validation and save), the transaction is rolled back, nothing is saved, and
  the same POST is processed again with the refusal on the form it belongs to
  (`ServiceModelAdmin`).

Actions call services through `run_service_action` and never make an
external HTTP call.

Another app may add a read-only panel to a model's change page without the
model's app knowing it (the dependency rule: `connectors` reads `customers`
and `billing`, never the reverse): it registers a panel provider for the
model's label with `register_change_form_panel`, and the model's admin mixes in
`ChangeFormPanelsMixin`, which renders whatever the providers return.
"""

import copy
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db.models import Model, QuerySet
from django.forms.formsets import DELETION_FIELD_NAME
from django.forms.models import construct_instance
from django.http import HttpRequest
from django.utils.text import capfirst

from .registry import registry

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

    Subclasses name the service's validator in `service_validate`; `clean()`
    calls it on the record as the form would make it, once the fields are
    valid. Inline rows are checked by their formset instead (see
    `ServiceInlineFormSet`), which knows the parent record and the other rows.

    `service_errors` is set, per request, on the form class the admin builds
    when a service refused the first attempt: the form with the matching
    prefix reports those errors.
    """

    service_errors: ClassVar[dict[str | None, ValidationError] | None] = None
    validated_by_formset: ClassVar[bool] = False

    def service_validate(self, instance: Model) -> None:
        """Raise the service's ValidationError if `instance` breaks one of its rules."""

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        # With a field already in error, the record would be judged on a value the user
        # did not give; the rules are checked once the fields are valid.
        if not self.validated_by_formset and not self.errors:
            candidate = construct_instance(
                self, copy.copy(self.instance), self._meta.fields, self._meta.exclude
            )
            self.check_with_service(candidate)
        return cleaned_data

    def check_with_service(self, instance: Model) -> None:
        """Add the service validator's refusal of `instance`, if any, to this form's errors."""
        try:
            self.service_validate(instance)
        except ValidationError as error:
            self.add_service_error(error)

    def full_clean(self) -> None:
        super().full_clean()
        error = (self.service_errors or {}).get(self.prefix)
        if error is not None and self.is_bound:
            self.add_service_error(error)

    def add_service_error(self, error: ValidationError) -> None:
        """Show a service's error on the fields it names (or, for a field not shown, above).

        A message the form already shows is not repeated: after a refusal at save,
        the form's own check may find the same problem when the POST is processed again.
        """
        if hasattr(error, "error_dict"):
            error_dict = error.error_dict
        else:
            error_dict = {NON_FIELD_ERRORS: error.error_list}
        for field, errors in error_dict.items():
            texts = ValidationError(errors).messages
            if field in self.fields and not self.fields[field].widget.is_hidden:
                target = field
            else:
                # A field that is read-only, hidden or not on this form: say which it is.
                target = None
                label = self._field_label(field)
                texts = [f"{label}: {text}" if label else text for text in texts]
            shown = self.errors.get(target or NON_FIELD_ERRORS, [])
            unseen = [text for text in texts if text not in shown]
            if unseen:
                self.add_error(target, unseen)

    def _field_label(self, field: str) -> str:
        if field == NON_FIELD_ERRORS:
            return ""
        try:
            return str(capfirst(self._meta.model._meta.get_field(field).verbose_name))
        except FieldDoesNotExist:
            return capfirst(field.replace("_", " "))


class ServiceInlineFormSet(forms.BaseInlineFormSet):
    """An inline formset whose rows a service saves; it checks each changed row with its
    form's service validator once every row is cleaned.

    Rows are checked here rather than in each form's clean(): the parent may be
    new (not saved yet), so the formset attaches it to each row as saving will; and
    the inline may judge a row in the light of the others (`row_as_saved`).
    """

    service_inline: ClassVar["ServiceInlineMixin"]

    def clean(self) -> None:
        super().clean()
        rows = [
            form
            for form in self.forms
            if form.has_changed()
            and form.is_valid()
            and not form.cleaned_data.get(DELETION_FIELD_NAME, False)
        ]
        for form in rows:
            candidate = copy.copy(form.instance)
            # The parent as this submission makes it (save_new attaches it the same way).
            setattr(candidate, self.fk.name, self.instance)
            form.check_with_service(self.service_inline.row_as_saved(candidate, form, rows))


class ServiceInlineMixin:
    """An inline whose rows a service saves (`service_save`) and deletes (`service_delete`)."""

    form = ServiceModelForm
    formset = ServiceInlineFormSet

    def service_save(self, request: HttpRequest, obj: Model) -> None:
        raise NotImplementedError

    def service_delete(self, request: HttpRequest, obj: Model) -> None:
        obj.delete()

    def ordered_for_save(
        self, pairs: list[tuple[Model, forms.ModelForm]]
    ) -> list[tuple[Model, forms.ModelForm]]:
        """The (record, form) pairs in the order the service should see them."""
        return pairs

    def row_as_saved(self, row: Model, form: forms.ModelForm, rows: list[forms.ModelForm]) -> Model:
        """`row` (a copy) as the service will see it when saved after the other `rows`."""
        return row

    def get_formset(self, request: HttpRequest, obj: Model | None = None, **kwargs: Any):
        formset = super().get_formset(request, obj, **kwargs)
        # Both classes are made afresh for this call, so these attributes stay per request.
        formset.service_inline = self
        formset.form.service_errors = _service_errors(request)
        formset.form.validated_by_formset = True
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

    Its form (a ServiceModelForm) checks the service's rules at validation.
    If the service refuses at save all the same, the whole save (record and
    inlines) is rolled back and the form is shown again with the errors on
    the fields they name.
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
    then: str = "",
    refusals_of: tuple[type[Exception], ...] = (ValidationError,),
) -> None:
    """Call `service` on each record (each call is atomic) and report done and refused counts.

    `then` follows the done count (what happens next, what to do next); `refusals_of` are
    the exception classes the service refuses a record with (their message is shown).
    """
    done_count = 0
    refusals: list[str] = []
    for record in records:
        try:
            service(record)
        except refusals_of as error:
            refusals.append(f"{record}: {refusal_text(error)}")
        else:
            done_count += 1
    if done_count:
        text = f"{done}: {done_count}." + (f" {then}" if then else "")
        modeladmin.message_user(request, text, messages.SUCCESS)
    if refusals:
        modeladmin.message_user(
            request, f"Refused {len(refusals)}: " + " | ".join(refusals), messages.WARNING
        )


def cached_per_request(request: HttpRequest, name: str, compute: Callable[[], Any]) -> Any:
    """`compute()`, once per request: fieldsets, read-only fields and inlines each ask."""
    attr = f"_layer_sync_admin_{name}"
    if not hasattr(request, attr):
        setattr(request, attr, compute())
    return getattr(request, attr)


def refusal_text(error: Exception) -> str:
    """What a service's refusal says: a ValidationError's messages, or the error's message."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(getattr(error, "message", "") or error)


# --- panels on change pages ------------------------------------------------------------

# A panel provider takes the request and the record shown, and returns the panel's HTML
# as safe text (render_to_string with the request, so its forms carry the CSRF token; or
# format_html), or "" to show nothing. Plain text is escaped like any template variable.
PanelProvider = Callable[[HttpRequest, Model], str]

PANEL_POSITIONS = ("top", "bottom")


def register_change_form_panel(
    *model_labels: str, position: str = "bottom"
) -> Callable[[PanelProvider], PanelProvider]:
    """Decorator: show the provider's panel on the change page of each model named
    ("customers.Customer"), below the form (``position="bottom"``) or above it
    (``"top"``: a status at a glance).

    This is how an app shows its own view of another app's records without that
    app importing it: the sync engine shows a record's sync state on the customer
    page, and `customers` knows only that its admin renders panels. The model's
    admin must mix in `ChangeFormPanelsMixin`. Registering a provider twice for a
    model shows it once.
    """
    if position not in PANEL_POSITIONS:
        raise ValueError(f"A panel's position is one of {', '.join(PANEL_POSITIONS)}.")

    def decorator(provider: PanelProvider) -> PanelProvider:
        for label in model_labels:
            providers = registry["change_form_panels"][(label, position)]
            if provider not in providers:
                providers.append(provider)
        return provider

    return decorator


def unregister_change_form_panel(provider: PanelProvider) -> None:
    """Stop showing `provider`'s panel on every page it was registered for."""
    for providers in registry["change_form_panels"].values():
        if provider in providers:
            providers.remove(provider)


def change_form_panels(request: HttpRequest, obj: Model, position: str = "bottom") -> list[str]:
    """The HTML of each panel registered for `obj`'s model at `position` that has something
    to show."""
    providers = registry["change_form_panels"].get((obj._meta.label, position), ())
    panels = (provider(request, obj) for provider in providers)
    return [html for html in panels if html]


class ChangeFormPanelsMixin:
    """A ModelAdmin mixin: the change page of a saved record shows the panels other apps
    registered for its model (`register_change_form_panel`), above or below the form and
    outside it, so a panel may hold its own forms (buttons that POST elsewhere)."""

    change_form_template = "admin/layer_sync/change_form_panels.html"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        saved = obj is not None and obj.pk
        context["layer_sync_panels"] = change_form_panels(request, obj) if saved else []
        context["layer_sync_top_panels"] = change_form_panels(request, obj, "top") if saved else []
        return super().render_change_form(request, context, add, change, form_url, obj)


# --- inline rows that fit the page ----------------------------------------------------------


class CompactInlineMixin:
    """An inline whose rows carry no add / change / delete / view icons beside their
    related-record fields: four icons per field made a row of a few such fields wider than
    a 1,366 px window. The record itself stays one click away (each row's change link,
    ``show_change_link``), and the related records have their own admin pages."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        from django.contrib.admin.widgets import RelatedFieldWidgetWrapper

        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        widget = getattr(formfield, "widget", None)
        if isinstance(widget, RelatedFieldWidgetWrapper):
            widget.can_add_related = False
            widget.can_change_related = False
            widget.can_delete_related = False
            widget.can_view_related = False
        return formfield


# --- columns of a changelist ------------------------------------------------------------------


@dataclass(frozen=True)
class ChangelistColumn:
    """A column another app adds to a model's changelist (the sync engine's sync state on
    the customer list), read from the list's own query: ``annotate`` adds what the column
    needs to the queryset (subqueries, so a page costs one query however many rows it has)
    and ``render`` turns one annotated row into the cell's HTML (safe text).

    ``legend`` is the HTML shown above the list saying what the column's symbols mean;
    ``visible`` says whether the user may see the column at all.
    """

    name: str
    header: str
    annotate: Callable[[QuerySet], QuerySet]
    render: Callable[[Model], str]
    legend: Callable[[], str] = lambda: ""
    visible: Callable[[HttpRequest], bool] = lambda request: True


def register_changelist_column(model_label: str, column: ChangelistColumn) -> None:
    """Show ``column`` on the changelist of the model named ("customers.Customer"), whose
    admin mixes in `ChangelistColumnsMixin`. Registering a column of the same name again
    replaces it."""
    registry["changelist_columns"][model_label][column.name] = column


def unregister_changelist_column(model_label: str, name: str) -> None:
    registry["changelist_columns"].get(model_label, {}).pop(name, None)


def changelist_columns(model_label: str) -> list[ChangelistColumn]:
    return list(registry["changelist_columns"].get(model_label, {}).values())


class ChangelistColumnsMixin:
    """A ModelAdmin mixin: the changelist shows the columns other apps registered for its
    model (`register_changelist_column`) after its own, and above the list the legend of
    every symbol its columns use: the registered columns' and the admin's own
    (`list_legends`)."""

    change_list_template = "admin/layer_sync/change_list_legends.html"

    def list_legends(self, request: HttpRequest) -> list[str]:
        """The HTML legends of this admin's own columns' symbols (none by default)."""
        return []

    def _visible_columns(self, request: HttpRequest) -> list[ChangelistColumn]:
        return [
            column
            for column in changelist_columns(self.model._meta.label)
            if column.visible(request)
        ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        for column in self._visible_columns(request):
            queryset = column.annotate(queryset)
        return queryset

    def get_list_display(self, request: HttpRequest):
        extra = []
        for column in self._visible_columns(request):
            cell = admin.display(description=column.header)(column.render)
            extra.append(cell)
        return (*super().get_list_display(request), *extra)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        legends = [*self.list_legends(request)]
        legends += [column.legend() for column in self._visible_columns(request)]
        extra_context = {
            **(extra_context or {}),
            "layer_sync_legends": [text for text in legends if text],
        }
        return super().changelist_view(request, extra_context)
