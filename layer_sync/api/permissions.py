"""API permissions."""

from rest_framework.permissions import DjangoModelPermissions


class StrictModelPermissions(DjangoModelPermissions):
    """Django model permissions, reads included.

    DRF's own class lets any authenticated user read; staff data here is
    commercial, so reading needs the model's `view` permission as well.
    Anonymous users are always refused.
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


class ChangeActionPermissions(StrictModelPermissions):
    """For POST actions on an existing record (convert, ...): they need `change`, not `add`.

    DRF maps POST to the `add` permission, which suits creating a record but
    would let a user who may only add customers convert existing ones.
    """

    perms_map = {
        **StrictModelPermissions.perms_map,
        "POST": ["%(app_label)s.change_%(model_name)s"],
    }
