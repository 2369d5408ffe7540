"""Routes of the billing API (read-only), mounted under /api/v1/ by layer_sync.urls.

The API root view listing every app's routes is layer_sync.urls's, so this
router has none of its own.
"""

from rest_framework.routers import DefaultRouter

from .export import urlpatterns as export_urlpatterns
from .views import AssetViewSet, ChargeImportViewSet, InventoryItemViewSet, SalesOrderViewSet

router = DefaultRouter()
router.include_root_view = False
router.include_format_suffixes = False
router.register("inventory-items", InventoryItemViewSet, basename="inventory-item")
router.register("sales-orders", SalesOrderViewSet, basename="sales-order")
router.register("assets", AssetViewSet, basename="asset")
router.register("charge-imports", ChargeImportViewSet, basename="charge-import")

urlpatterns = [*router.urls, *export_urlpatterns]
