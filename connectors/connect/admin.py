"""The customer page's *Send to Connect* panel (seed 004), registered by Connect's
``AppConfig.ready`` so customers never imports connectors (``register_change_form_panel``).

Before sending: the button (for staff who may request syncs), what will be sent, and
that contacts, services and rooms are not. After: no button, the link to the client in
Connect, its id, status and dates, and who sent it when. The button posts to
``POST /api/v1/customers/{id}/send-to-connect/`` (``connectors.connect.api``) with the
page's session and CSRF token; the view answers a browser form with a redirect back here.
"""

from __future__ import annotations

from django.db.models import Model
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer

from ..admin.common import REQUEST_JOBS, VIEW_JOBS
from ..base import registered
from . import mappers
from .constants import PLATFORM
from .services import (
    NOT_SENT,
    connect_client_state,
    connect_integration_on,
    connect_send_refusal,
)


def connect_client_panel(request: HttpRequest, obj: Model) -> str:
    """The customer's Connect client, or the Send to Connect button."""
    if (
        not isinstance(obj, Customer)
        or PLATFORM not in registered()
        or not (request.user.has_perm(VIEW_JOBS) or request.user.has_perm(REQUEST_JOBS))
    ):
        return ""
    state = connect_client_state(obj)
    integration_on = connect_integration_on()
    if state is None and not integration_on:
        return ""
    preview = None
    if state is None:
        preview = mappers.client_payload(obj, sent_at=timezone.now())
    context = {
        "customer": obj,
        "client": state,
        "preview": preview,
        "refusal": connect_send_refusal(obj) if state is None else "",
        "may_send": request.user.has_perm(REQUEST_JOBS) and integration_on,
        "send_url": reverse("customer-send-to-connect", args=[obj.pk]),
        "next": request.get_full_path(),
        "not_sent": NOT_SENT,
    }
    return render_to_string("admin/connectors/connect_client_panel.html", context, request=request)
