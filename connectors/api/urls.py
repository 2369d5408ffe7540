"""Routes of the sync engine's API, mounted under /api/v1/ by layer_sync.urls.

A customer's sync routes live here, not in customers.api: the domain apps
never import the engine. The API root listing every app's routes is
layer_sync.urls's, so this router has none of its own.
"""

from django.urls import path
from rest_framework.routers import DefaultRouter

from ..connect.api import CustomerSendToConnectView
from .reconciliation import ReconciliationView
from .views import CustomerSyncStatusView, CustomerSyncView, SyncJobViewSet, SyncPreviewView

router = DefaultRouter()
router.include_root_view = False
router.include_format_suffixes = False
router.register("sync-jobs", SyncJobViewSet, basename="sync-job")

# Routes that are not a viewset's, listed in the API root by URL name.
root_routes = {"sync-preview": "sync-preview", "reconciliation": "reconciliation"}

urlpatterns = [
    *router.urls,
    path("customers/<int:pk>/sync/", CustomerSyncView.as_view(), name="customer-sync"),
    path(
        "customers/<int:pk>/sync-status/",
        CustomerSyncStatusView.as_view(),
        name="customer-sync-status",
    ),
    path("sync-preview/", SyncPreviewView.as_view(), name="sync-preview"),
    path("reconciliation/", ReconciliationView.as_view(), name="reconciliation"),
    path(
        "customers/<int:pk>/send-to-connect/",
        CustomerSendToConnectView.as_view(),
        name="customer-send-to-connect",
    ),
]
