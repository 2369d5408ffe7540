"""Helpers of the admin tests: a rendered page's form data (to post back with changes), its
inline formsets and messages, and changelist query counts."""

from typing import Any

from django import forms
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext


def _field_data(bound: forms.BoundField) -> dict[str, Any]:
    widget = getattr(bound.field.widget, "widget", bound.field.widget)
    value = bound.value()
    if isinstance(widget, forms.CheckboxInput):
        return {bound.html_name: "on"} if value else {}
    if isinstance(widget, forms.MultiWidget):
        parts = widget.decompress(value)
        return {
            f"{bound.html_name}{suffix}": "" if part is None else str(part)
            for suffix, part in zip(widget.widgets_names, parts, strict=True)
        }
    if value is None:
        return {bound.html_name: ""}
    if isinstance(value, list | tuple):
        return {bound.html_name: [str(item) for item in value]}
    return {bound.html_name: str(value)}


def admin_form_data(response) -> dict[str, Any]:
    """The POST data of a rendered admin add/change page as it stands (no extra inline rows)."""
    data: dict[str, Any] = {}
    page_forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            value = management[name].value()
            data[f"{management.prefix}-{name}"] = "" if value is None else str(value)
        data[f"{formset.prefix}-TOTAL_FORMS"] = str(len(formset.initial_forms))
        page_forms.extend(formset.initial_forms)
    for form in page_forms:
        for name in form.fields:
            data.update(_field_data(form[name]))
    return data


def add_inline_row(data: dict[str, Any], prefix: str, **fields: Any) -> None:
    """Append a new row to the inline formset `prefix` of `data`."""
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
    for name, value in fields.items():
        data[f"{prefix}-{index}-{name}"] = value


def inline_formset(response, prefix: str):
    """The formset `prefix` of a rendered admin page."""
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.prefix == prefix:
            return inline.formset
    raise AssertionError(f"no inline formset {prefix!r} on the page")


def page_messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def changelist_query_counts(client, url: str, populate, *, small: int = 5, large: int = 20):
    """Queries for `url` with `small` then `large` sets of records, and the rows shown."""
    client.get(url)  # Warm process-wide caches (content types) outside the measure.
    populate(small)
    with CaptureQueriesContext(connection) as small_queries:
        small_response = client.get(url)
    populate(large - small)
    with CaptureQueriesContext(connection) as large_queries:
        large_response = client.get(url)
    assert small_response.status_code == large_response.status_code == 200
    rows = (small_response.context["cl"].result_count, large_response.context["cl"].result_count)
    return len(small_queries), len(large_queries), rows
