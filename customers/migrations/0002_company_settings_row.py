"""The single company-settings row, and the contact types seed 000 relies on."""

from django.db import migrations


def create(apps, schema_editor):
    apps.get_model("customers", "CompanySettings").objects.get_or_create(pk=1)
    contact_type = apps.get_model("customers", "ContactType")
    for name, is_billing in (("Billing", True), ("Technical", False), ("General", False)):
        contact_type.objects.get_or_create(name=name, defaults={"is_billing": is_billing})


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
