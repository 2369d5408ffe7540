from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Sign-in protection: API tokens (hashed, expiring) and the login lockout's admin."""

    default = True  # this module also names knox's and axes' configurations
    name = "layer_sync.accounts"
    label = "accounts"
    verbose_name = "Accounts and API tokens"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import schema  # noqa: F401 (registers the OpenAPI security scheme)


class ApiTokensConfig(AppConfig):
    """django-rest-knox, named for staff: its tokens are the API's."""

    name = "knox"
    label = "knox"
    verbose_name = "API tokens"


class LoginLockoutConfig(AxesAppConfig):
    """django-axes, named for staff: its records are the admin login lockout's."""

    verbose_name = "Login lockout"
