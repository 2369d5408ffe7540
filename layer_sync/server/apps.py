from django.apps import AppConfig


class ServerConfig(AppConfig):
    """The server's own address (``runserver`` records it). Listed before
    django.contrib.staticfiles so that its ``runserver`` is the one ``manage.py`` runs."""

    name = "layer_sync.server"
    label = "layer_sync_server"
    verbose_name = "Server"
