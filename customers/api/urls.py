"""Routes of the customers API, mounted under /api/v1/ by layer_sync.urls.

The API root view listing every app's routes is layer_sync.urls's, so this
router has none of its own (two roots at one path would hide each other).
"""

from rest_framework.routers import DefaultRouter

from .views import AddressViewSet, ContactViewSet, CustomerViewSet, SiteViewSet

router = DefaultRouter()
router.include_root_view = False
router.include_format_suffixes = False
router.register("customers", CustomerViewSet, basename="customer")
router.register("sites", SiteViewSet, basename="site")
router.register("addresses", AddressViewSet, basename="address")
router.register("contacts", ContactViewSet, basename="contact")

urlpatterns = router.urls
