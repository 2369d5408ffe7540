"""URL configuration: the admin, the REST API under /api/v1/, its schema and docs."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from billing.api.urls import router as billing_router
from connectors.api.urls import root_routes as connectors_root_routes
from connectors.api.urls import router as connectors_router
from customers.api.urls import router as customers_router

from .api.views import ApiDocsView
from .help import help_index, help_page
from .views import health

# A request Django refuses while reading it (too big, too many fields): JSON under /api/.
handler400 = "layer_sync.views.bad_request"
handler404 = "layer_sync.views.not_found"

admin.site.site_header = "layer_sync back office"
admin.site.site_title = "layer_sync"
admin.site.index_title = "Customers, orders and billing"

# One browsable root listing every app's routes (each app's router has none): each
# viewset's list, and the routes that are not a viewset's, by URL name.
api_root_routes = {
    prefix: f"{basename}-list"
    for prefix, _viewset, basename in [
        *customers_router.registry,
        *billing_router.registry,
        *connectors_router.registry,
    ]
}
api_root_routes.update(connectors_root_routes)
api_root_view = DefaultRouter.APIRootView.as_view(api_root_dict=api_root_routes)

api_v1 = [
    path("", api_root_view, name="api-root"),
    path("", include("customers.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("connectors.api.urls")),
]

urlpatterns = [
    # The product is the admin: the site's root (and the admin's "View site") leads there.
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("billing-export/", include("billing.urls")),
    path("health/", health, name="health"),
    path("help/", help_index, name="help-index"),
    path("help/<slug:page>/", help_page, name="help-page"),
]
if settings.SANDBOX_EMULATORS_ENABLED:
    urlpatterns.append(path("sandbox/", include("connectors.urls")))
