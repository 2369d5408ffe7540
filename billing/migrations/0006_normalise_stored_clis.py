"""Stored CLIs in UK national format: the one form every file and platform gets.

CLIs were normalised at capture only while an integration was on; this puts the
numbers already stored (quote and sales order lines' captured CLI, CLI-based assets'
identifiers) in the same form. A value that is not a number (a circuit reference kept
for Abillity) is left as it is.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import migrations

DEFAULT_CLI_FIELDS = ("CLI", "MSISDN", "Number")


def normalise_stored_clis(apps, schema_editor):
    from billing.cli import cli_normalise

    cli_fields = tuple(getattr(settings, "AFFINITY_CLI_IDENTIFIER_FIELDS", DEFAULT_CLI_FIELDS))

    def normalised(value: str) -> str:
        try:
            return cli_normalise(value)
        except ValidationError:
            return value

    for model, field in (
        (apps.get_model("customers", "QuoteLine"), "cli"),
        (apps.get_model("billing", "SalesOrderLine"), "cli"),
        (apps.get_model("billing", "Asset"), "identifier"),
    ):
        rows = model.objects.filter(
            inventory_item__base_category__identifier_field__in=cli_fields
        ).exclude(**{field: ""})
        for pk, value in rows.values_list("pk", field).iterator():
            fixed = normalised(value)
            if fixed != value:
                model.objects.filter(pk=pk).update(**{field: fixed})


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_connect_call_charges"),
        ("customers", "0005_account_types"),
    ]

    operations = [migrations.RunPython(normalise_stored_clis, migrations.RunPython.noop)]
