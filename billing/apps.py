from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import background_imports  # noqa: F401 (registers the call charge import)
        from .receivers import connect_receivers

        connect_receivers()
