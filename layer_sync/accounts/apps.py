from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Sign-in protection: API tokens (hashed, expiring) and the login lockout's admin."""

    name = "layer_sync.accounts"
    label = "accounts"
    verbose_name = "Accounts and API tokens"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import schema  # noqa: F401 (registers the OpenAPI security scheme)
