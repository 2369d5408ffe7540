"""The billing platforms and base categories every installation starts with."""

from django.db import migrations

PLATFORMS = [
    ("layer", "The Layer"),
    ("abillity", "Abillity"),
    ("affinity", "Affinity"),
    ("connect", "Connect"),
]

BASE_CATEGORIES = [
    ("Mobile", "MSISDN"),
    ("Fixed Line", "CLI"),
    ("Numbers", "Number"),
    ("Hardware", "Serial"),
]


def create(apps, schema_editor):
    platform = apps.get_model("billing", "BillingPlatform")
    for code, name in PLATFORMS:
        platform.objects.get_or_create(code=code, defaults={"name": name})
    category = apps.get_model("billing", "BaseCategory")
    for name, identifier_field in BASE_CATEGORIES:
        category.objects.get_or_create(name=name, defaults={"identifier_field": identifier_field})


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
