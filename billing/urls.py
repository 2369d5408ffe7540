"""The billing app's staff pages (outside the admin's model pages)."""

from django.urls import path

from .views import billing_export_view

urlpatterns = [
    path("", billing_export_view, name="billing-export"),
]
