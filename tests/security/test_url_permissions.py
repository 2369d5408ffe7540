"""Every URL the project serves, walked: anonymous users are refused, a user without the
permission a page needs is refused (403), and a user holding exactly that permission gets
through (never a 500).

The walk starts from ``django.urls.get_resolver()``: a route this file does not classify
fails ``test_every_url_is_classified``, so a new page cannot slip by unchecked. The admin's
own model pages (changelist, add, change, history, delete) are walked per registered
model in a loop of their own.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from connectors.abillity.sandbox import SANDBOX_CREDENTIALS
from tests.api.conftest import token_key_for, user_with_perms
from tests.security.conftest import staff_with

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]

VIEW_JOBS = "connectors.view_syncjob"
REQUEST_JOBS = "connectors.add_syncjob"
ACT_ON_JOBS = "connectors.retry_syncjob"
BILLING_APPS = "billing.use_billing_apps"


@dataclass(frozen=True)
class Check:
    """One request to a route: who may make it and what they get.

    ``perms``: exactly what the request needs (empty: any signed-in user, or any staff
    user for ``staff`` pages). ``ok``: the statuses a permitted user may get (a 4xx for a
    deliberately bad body shows the permission check was passed).
    """

    method: str
    url: str  # a template naming keys of the ``records`` fixture
    perms: tuple[str, ...] = ()
    ok: tuple[int, ...] = (200,)
    data: dict | None = None
    kind: str = "api"  # api (token or session, 401 anonymous), staff (admin login), public
    staff: bool = False
    refused: tuple[int, ...] = (403,)  # what a user without ``perms`` gets
    format: str = "json"

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.url}"


def api(method: str, url: str, *perms: str, ok=(200,), data=None, **options) -> Check:
    return Check(method, url, tuple(perms), tuple(ok), data, "api", **options)


def staff(method: str, url: str, *perms: str, ok=(200,), data=None, **options) -> Check:
    return Check(method, url, tuple(perms), tuple(ok), data, "staff", staff=True, **options)


def crud(prefix: str, perm: str, key: str, *, writable: bool) -> list[Check]:
    checks = [
        api("get", f"/api/v1/{prefix}/", perm % "view"),
        api("get", f"/api/v1/{prefix}/{{{key}}}/", perm % "view"),
    ]
    if writable:
        checks += [
            api("post", f"/api/v1/{prefix}/", perm % "add", ok=(400,), data={}),
            api("patch", f"/api/v1/{prefix}/{{{key}}}/", perm % "change", data={}),
        ]
    return checks


API = "api/v1/"

# Every route outside the admin's own model pages: route → the requests that check it.
ROUTES: dict[str, list[Check]] = {
    API: [api("get", "/api/v1/")],
    f"{API}^customers/$": crud("customers", "customers.%s_customer", "customer", writable=True)[
        ::2
    ],
    f"{API}^customers/(?P<pk>[^/.]+)/$": crud(
        "customers", "customers.%s_customer", "customer", writable=True
    )[1::2],
    f"{API}^customers/(?P<pk>[^/.]+)/convert/$": [
        api("post", "/api/v1/customers/{lead}/convert/", "customers.change_customer")
    ],
    f"{API}^sites/$": crud("sites", "customers.%s_site", "site", writable=True)[::2],
    f"{API}^sites/(?P<pk>[^/.]+)/$": crud("sites", "customers.%s_site", "site", writable=True)[
        1::2
    ],
    f"{API}^addresses/$": crud("addresses", "customers.%s_address", "address", writable=True)[::2],
    f"{API}^addresses/(?P<pk>[^/.]+)/$": crud(
        "addresses", "customers.%s_address", "address", writable=True
    )[1::2],
    f"{API}^contacts/$": crud("contacts", "customers.%s_contact", "contact", writable=True)[::2],
    f"{API}^contacts/(?P<pk>[^/.]+)/$": crud(
        "contacts", "customers.%s_contact", "contact", writable=True
    )[1::2],
    f"{API}^inventory-items/$": crud(
        "inventory-items", "billing.%s_inventoryitem", "inventory_item", writable=False
    )[:1],
    f"{API}^inventory-items/(?P<pk>[^/.]+)/$": crud(
        "inventory-items", "billing.%s_inventoryitem", "inventory_item", writable=False
    )[1:],
    f"{API}^sales-orders/$": crud(
        "sales-orders", "billing.%s_salesorder", "sales_order", writable=False
    )[:1],
    f"{API}^sales-orders/(?P<pk>[^/.]+)/$": crud(
        "sales-orders", "billing.%s_salesorder", "sales_order", writable=False
    )[1:],
    f"{API}^assets/$": crud("assets", "billing.%s_asset", "asset", writable=False)[:1],
    f"{API}^assets/(?P<pk>[^/.]+)/$": crud("assets", "billing.%s_asset", "asset", writable=False)[
        1:
    ],
    f"{API}^charge-imports/$": [
        api("get", "/api/v1/charge-imports/", "billing.view_chargeimport"),
        api(
            "post",
            "/api/v1/charge-imports/",
            "billing.add_chargeimport",
            ok=(400,),
            data={},
            format="multipart",
        ),
    ],
    f"{API}^charge-imports/(?P<pk>[^/.]+)/$": [
        api("get", "/api/v1/charge-imports/{charge_import}/", "billing.view_chargeimport")
    ],
    f"{API}^charge-imports/(?P<pk>[^/.]+)/rows/$": [
        api("get", "/api/v1/charge-imports/{charge_import}/rows/", "billing.view_chargeimport")
    ],
    f"{API}^charge-imports/(?P<pk>[^/.]+)/rematch/$": [
        api("post", "/api/v1/charge-imports/{charge_import}/rematch/", "billing.add_chargeimport")
    ],
    f"{API}billing-export/lines/": [
        api("get", "/api/v1/billing-export/lines/?route=affinity", BILLING_APPS)
    ],
    f"{API}billing-export/cli.csv": [
        api("get", "/api/v1/billing-export/cli.csv?route=affinity", BILLING_APPS)
    ],
    f"{API}billing-export/products.csv": [
        api("get", "/api/v1/billing-export/products.csv?route=affinity", BILLING_APPS)
    ],
    f"{API}billing-export/transfer/": [
        api("post", "/api/v1/billing-export/transfer/", BILLING_APPS, ok=(400,), data={})
    ],
    f"{API}^sync-jobs/$": [api("get", "/api/v1/sync-jobs/", VIEW_JOBS)],
    f"{API}^sync-jobs/(?P<pk>[^/.]+)/$": [api("get", "/api/v1/sync-jobs/{job}/", VIEW_JOBS)],
    f"{API}^sync-jobs/(?P<pk>[^/.]+)/retry/$": [
        api("post", "/api/v1/sync-jobs/{job}/retry/", ACT_ON_JOBS, ok=(202,))
    ],
    f"{API}^sync-jobs/(?P<pk>[^/.]+)/skip/$": [
        api("post", "/api/v1/sync-jobs/{job}/skip/", ACT_ON_JOBS, data={"reason": "walk"})
    ],
    f"{API}customers/<int:pk>/sync/": [
        api(
            "post",
            "/api/v1/customers/{customer}/sync/",
            REQUEST_JOBS,
            ok=(202,),
            data={"platform": "{platform}"},
        )
    ],
    f"{API}customers/<int:pk>/sync-status/": [
        api("get", "/api/v1/customers/{customer}/sync-status/?platform={platform}", VIEW_JOBS)
    ],
    f"{API}sync-preview/": [
        api(
            "get",
            "/api/v1/sync-preview/?platform={platform}&entity=customer&id={customer}",
            VIEW_JOBS,
        )
    ],
    f"{API}reconciliation/": [
        # The fake platform cannot be reconciled: a 400 once the permission is passed.
        api("get", "/api/v1/reconciliation/?platform={platform}", VIEW_JOBS, ok=(400,))
    ],
    f"{API}customers/<int:pk>/send-to-connect/": [
        # A lead is refused by our rules (400) or the integration is off (409): Connect is
        # never called.
        api("post", "/api/v1/customers/{lead}/send-to-connect/", REQUEST_JOBS, ok=(400, 409))
    ],
    "api/schema/": [api("get", "/api/schema/")],
    "api/docs/": [api("get", "/api/docs/")],
    "billing-export/": [
        staff("get", "/billing-export/", BILLING_APPS),
        staff("post", "/billing-export/", BILLING_APPS, ok=(302,), data={"action": "cli"}),
    ],
    "health/": [Check("get", "/health/", kind="public")],
    # The site's root only redirects to the admin, which asks for a sign-in itself.
    "": [Check("get", "/", ok=(302,), kind="public")],
    # Help pages: any signed-in staff member, no permission needed.
    "help/": [staff("get", "/help/")],
    "help/<slug:page>/": [staff("get", "/help/connect/")],
    # --- the admin site's own views -------------------------------------------------------
    "admin/": [staff("get", "/admin/")],
    "admin/login/": [Check("get", "/admin/login/", kind="public")],
    # Signing out needs no sign-in (it goes back to the admin, which then asks for one).
    "admin/logout/": [Check("post", "/admin/logout/", ok=(200, 302), kind="public")],
    "admin/password_change/": [staff("get", "/admin/password_change/")],
    "admin/password_change/done/": [staff("get", "/admin/password_change/done/")],
    "admin/autocomplete/": [
        # A staff user with no permission on the model asked about is refused by Django
        # itself (the view's own 403 after the login wall).
        staff("get", "/admin/autocomplete/", ok=(403,))
    ],
    "admin/jsi18n/": [staff("get", "/admin/jsi18n/")],
    "admin/r/<path:content_type_id>/<path:object_id>/": [staff("get", "/admin/r/0/0/", ok=(404,))],
    # The admin's catch-all: the login wall first, then "no such page".
    "admin/(?P<url>.*)$": [staff("get", "/admin/no-such-page/", ok=(404,))],
    "admin/^(?P<app_label>auth|axes|knox|customers|billing|connectors)/$": [
        # An app's index is "not found" (404) for staff holding nothing in the app.
        staff("get", "/admin/customers/", "customers.view_customer", refused=(404,)),
        staff("get", "/admin/connectors/", VIEW_JOBS, refused=(404,)),
    ],
    # --- our own admin views ---------------------------------------------------------------
    "admin/connectors/syncjob/dashboard/": [
        staff("get", "/admin/connectors/syncjob/dashboard/", VIEW_JOBS)
    ],
    "admin/connectors/syncjob/<int:job_id>/status.json": [
        staff("get", "/admin/connectors/syncjob/{job}/status.json", VIEW_JOBS)
    ],
    "admin/billing/backgroundimport/<int:pk>/status/": [
        staff(
            "get",
            "/admin/billing/backgroundimport/{background_import}/status/",
            "billing.view_backgroundimport",
        )
    ],
    "admin/connectors/affinityimport/<int:pk>/status/": [
        staff(
            "get",
            "/admin/connectors/affinityimport/{affinity_import}/status/",
            "connectors.view_affinityimport",
        )
    ],
    "admin/billing/chargeimport/sample.csv": [
        staff("get", "/admin/billing/chargeimport/sample.csv", "billing.add_chargeimport")
    ],
    "admin/customers/customer/<path:object_id>/convert/": [
        staff(
            "post",
            "/admin/customers/customer/{lead}/convert/",
            "customers.change_customer",
            ok=(302,),
        )
    ],
    "admin/billing/chargeimport/<int:pk>/rematch/": [
        staff(
            "post",
            "/admin/billing/chargeimport/{charge_import}/rematch/",
            "billing.add_chargeimport",
            ok=(302,),
        )
    ],
    "admin/billing/batchsheet/<int:pk>/state/<slug:action>/": [
        staff(
            "post",
            "/admin/billing/batchsheet/{batch_sheet}/state/complete/",
            "billing.change_batchsheet",
            ok=(302,),
        )
    ],
    "admin/connectors/syncjob/record/<str:platform>/<str:entity>/<int:object_id>/sync/": [
        staff(
            "post",
            "/admin/connectors/syncjob/record/{platform}/customer/{customer}/sync/",
            REQUEST_JOBS,
            ok=(302,),
        )
    ],
    "admin/connectors/syncjob/record/<str:platform>/<str:entity>/<int:object_id>/preview/": [
        staff(
            "get",
            "/admin/connectors/syncjob/record/{platform}/customer/{customer}/preview/",
            VIEW_JOBS,
        )
    ],
    "admin/connectors/syncjob/customer/<str:platform>/<int:customer_id>/": [
        staff("get", "/admin/connectors/syncjob/customer/{platform}/{customer}/", VIEW_JOBS),
        staff(
            "post",
            "/admin/connectors/syncjob/customer/{platform}/{customer}/",
            VIEW_JOBS,
            REQUEST_JOBS,
            ok=(200, 302),
        ),
    ],
    "admin/connectors/syncjob/search/<str:platform>/<str:entity>/": [
        # Abillity searches its companies: the (unreachable) platform answers 502 JSON.
        staff(
            "get",
            "/admin/connectors/syncjob/search/abillity/customer/?q=a",
            REQUEST_JOBS,
            ok=(200, 502),
        )
    ],
    "admin/connectors/syncjob/reconciliation/<str:platform>/": [
        staff("get", "/admin/connectors/syncjob/reconciliation/affinity/", VIEW_JOBS)
    ],
    "admin/connectors/syncjob/reconciliation/<str:platform>/data/": [
        staff(
            "get",
            "/admin/connectors/syncjob/reconciliation/affinity/data/",
            VIEW_JOBS,
            ok=(200, 502),
        )
    ],
    "admin/connectors/syncjob/<int:job_id>/retry/": [
        staff("post", "/admin/connectors/syncjob/{job}/retry/", ACT_ON_JOBS, ok=(302,))
    ],
    "admin/connectors/syncjob/<int:job_id>/skip/": [
        staff(
            "post",
            "/admin/connectors/syncjob/{job}/skip/",
            ACT_ON_JOBS,
            ok=(302,),
            data={"reason": "walk"},
        )
    ],
    "admin/connectors/syncjob/<int:job_id>/map/": [
        staff(
            "post",
            "/admin/connectors/syncjob/{job}/map/",
            ACT_ON_JOBS,
            ok=(200, 302),
            data={"external_id": "F-9"},
        )
    ],
}

# The sandbox emulators (mounted in the embedded mode and the tests, never in production).
SANDBOX_ROUTES: dict[str, list[Check]] = {
    "sandbox/<str:platform>/_emulator/": [staff("get", "/sandbox/abillity/_emulator/")],
    "sandbox/<str:platform>/_emulator/reset": [staff("post", "/sandbox/abillity/_emulator/reset")],
    "sandbox/<str:platform>/_emulator/faults": [staff("get", "/sandbox/abillity/_emulator/faults")],
}
# The emulated platform APIs: no Django login (a platform is called by our clients), but
# the platform's own credentials, as the real service would ask.
SANDBOX_PLATFORM_API = ("sandbox/<str:platform>/", "sandbox/<str:platform>/<path:path>")

# The admin's own pages of each registered model, by the suffix of the route.
ADMIN_MODEL_ROUTE = re.compile(
    r"admin/(?P<app>\w+)/(?P<model>\w+)/"
    r"(?P<page>|add/|<path:object_id>/|<path:object_id>/(?:history|delete|change)/)"
)
# UserAdmin's own extra page.
ADMIN_USER_PASSWORD = "admin/auth/user/<id>/password/"


def walk(patterns, prefix: str = "") -> list[tuple[str, URLPattern]]:
    """Every (route, pattern) under ``patterns``, resolvers opened recursively."""
    found = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += walk(pattern.url_patterns, route)
        else:
            found.append((route, pattern))
    return found


def registered_model_routes() -> set[str]:
    return {f"admin/{m._meta.app_label}/{m._meta.model_name}/" for m in admin.site._registry}


def classify(route: str) -> str | None:
    """Which part of this file checks ``route`` (None: nothing does)."""
    if route in ROUTES:
        return "routes"
    if route in SANDBOX_ROUTES:
        return "sandbox"
    if route in SANDBOX_PLATFORM_API:
        return "sandbox platform API"
    if route == ADMIN_USER_PASSWORD:
        return "admin user password"
    match = ADMIN_MODEL_ROUTE.fullmatch(route)
    if match and f"admin/{match['app']}/{match['model']}/" in registered_model_routes():
        return "admin model pages"
    return None


def test_every_url_is_classified():
    routes = [route for route, _ in walk(get_resolver().url_patterns)]

    unknown = [route for route in routes if classify(route) is None]

    assert len(routes) > 150
    assert not unknown, f"Routes this walk does not know how to check: {unknown}"
    # And every route this file names still exists (a stale entry checks nothing).
    assert not (set(ROUTES) | set(SANDBOX_ROUTES)) - set(routes)


def test_the_walk_refuses_an_unknown_route():
    assert classify("api/v1/brand-new/") is None
    assert classify("admin/billing/notregistered/") is None


# --- the routes ------------------------------------------------------------------------------
ALL_CHECKS = [c for checks in (*ROUTES.values(), *SANDBOX_ROUTES.values()) for c in checks]


def filled(check: Check, records: dict) -> tuple[str, dict | None]:
    data = check.data
    if data is not None:
        data = {k: v.format(**records) if isinstance(v, str) else v for k, v in data.items()}
    return check.url.format(**records), data


def send(client, check: Check, records: dict):
    url, data = filled(check, records)
    if isinstance(client, APIClient):
        return getattr(client, check.method)(url, data, format=check.format)
    return getattr(client, check.method)(url, data or {})


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.id)
def test_anonymous_users_are_refused(check, records):
    client = APIClient() if check.kind == "api" else Client()

    response = send(client, check, records)

    if check.kind == "public":
        assert response.status_code in check.ok
    elif check.kind == "api":
        assert response.status_code in (401, 403), response.content[:300]
    else:
        assert is_login_redirect(response), (response.status_code, response.get("Location"))


@pytest.mark.parametrize("check", [c for c in ALL_CHECKS if c.kind != "public"], ids=lambda c: c.id)
def test_a_signed_in_user_without_the_permission_is_refused(check, records):
    if check.staff:
        user = staff_with()
        client = Client()
    else:
        user = user_with_perms()
        client = APIClient()
    client.force_login(user)

    response = send(client, check, records)

    if check.perms:
        assert response.status_code in check.refused, (response.status_code, response.content[:300])
    else:
        assert response.status_code in check.ok, response.content[:300]


@pytest.mark.parametrize("check", [c for c in ALL_CHECKS if c.kind == "staff"], ids=lambda c: c.id)
def test_a_user_who_is_not_staff_never_enters_a_staff_page(check, records):
    client = Client()
    client.force_login(user_with_perms(*check.perms))

    response = send(client, check, records)

    if check.url.startswith("/billing-export/"):
        assert response.status_code == 403  # login_required, then the staff check
    else:
        assert is_login_redirect(response), response.status_code


@pytest.mark.parametrize("check", [c for c in ALL_CHECKS if c.kind != "public"], ids=lambda c: c.id)
def test_a_user_with_exactly_the_permission_is_let_through(check, records):
    user = staff_with(*check.perms) if check.staff else user_with_perms(*check.perms)
    client = Client() if check.staff else APIClient()
    client.force_login(user)

    response = send(client, check, records)

    assert response.status_code in check.ok, (response.status_code, response.content[:300])


def test_api_requests_by_token_are_checked_the_same_way(records):
    key = token_key_for(user_with_perms(VIEW_JOBS))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert client.get("/api/v1/sync-jobs/").status_code == 200
    assert client.get("/api/v1/customers/").status_code == 403


# --- the sandbox emulators' platform API --------------------------------------------------------
@pytest.mark.parametrize("path", ["/sandbox/abillity/", "/sandbox/abillity/company"])
def test_the_emulated_platform_api_asks_for_the_platforms_credentials(path, settings):
    settings.ABILLITY_SYSTEM_INFORMATION = ""
    settings.ABILLITY_USERNAME = ""
    settings.ABILLITY_PASSWORD = ""
    client = Client()

    refused = client.get(path)
    allowed = client.get(
        path,
        headers={
            "systeminformation": SANDBOX_CREDENTIALS["systeminformation"],
            "username": SANDBOX_CREDENTIALS["username"],
            "password": SANDBOX_CREDENTIALS["password"],
        },
    )

    assert refused.status_code == 401
    assert allowed.status_code in (200, 404)  # signed in: a resource, or "no such resource"


def production_env() -> dict[str, str]:
    from tests.test_settings import good_production_env

    return good_production_env()


def test_production_settings_mount_no_sandbox_emulator_url():
    code = (
        "import django\n"
        "django.setup()\n"
        "from django.urls import Resolver404, get_resolver, resolve\n"
        "routes = []\n"
        "def walk(ps, prefix=''):\n"
        "    for p in ps:\n"
        "        if hasattr(p, 'url_patterns'):\n"
        "            walk(p.url_patterns, prefix + str(p.pattern))\n"
        "        else:\n"
        "            routes.append(prefix + str(p.pattern))\n"
        "walk(get_resolver().url_patterns)\n"
        "print('SANDBOX_ROUTES', [r for r in routes if r.startswith('sandbox/')])\n"
        "for path in ('/sandbox/abillity/', '/sandbox/abillity/_emulator/'):\n"
        "    try:\n"
        "        resolve(path)\n"
        "    except Resolver404:\n"
        "        print('NOT MOUNTED', path)\n"
    )
    result = subprocess.run(  # noqa: S603 (this interpreter, our code)
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", **production_env()},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "SANDBOX_ROUTES []" in result.stdout
    assert "NOT MOUNTED /sandbox/abillity/" in result.stdout
    assert "NOT MOUNTED /sandbox/abillity/_emulator/" in result.stdout


# --- the admin's model pages -------------------------------------------------------------------
ADMIN_MODELS = sorted(admin.site._registry, key=lambda m: m._meta.label)


def model_urls(model, object_id) -> dict[str, str]:
    info = (model._meta.app_label, model._meta.model_name)
    pages = {
        "changelist": reverse("admin:{}_{}_changelist".format(*info)),
        "add": reverse("admin:{}_{}_add".format(*info)),
    }
    for page in ("change", "history", "delete"):
        pages[page] = reverse(f"admin:{info[0]}_{info[1]}_{page}", args=[object_id])
    return pages


def first_id(model):
    row = model._default_manager.order_by("pk").first()
    assert row is not None, f"the records fixture has no {model._meta.label}"
    return row.pk


# Admin pages that need a permission beyond the model's own (the billing apps' pages).
EXTRA_PERMS = {
    "billing.BillingTransfer": (BILLING_APPS,),
    "billing.ChangeQueueEntry": (BILLING_APPS,),
}


def admin_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_admin_model_pages_send_anonymous_users_to_the_login(model, records):
    client = Client()

    for page, url in model_urls(model, first_id(model)).items():
        response = client.get(url)
        assert is_login_redirect(response), (page, response.status_code)


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_admin_model_pages_refuse_staff_without_the_models_permission(model, records):
    client = Client()
    client.force_login(staff_with())

    for page, url in model_urls(model, first_id(model)).items():
        assert client.get(url).status_code == 403, page


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_admin_model_pages_open_for_a_superuser_where_the_admin_allows_them(
    model, records, superuser
):
    client = Client()
    client.force_login(superuser)
    model_admin = admin.site._registry[model]
    request = admin_request(superuser)
    object_id = first_id(model)
    obj = model_admin.get_object(request, str(object_id))
    assert obj is not None
    allowed = {
        "changelist": model_admin.has_view_or_change_permission(request),
        "add": model_admin.has_add_permission(request),
        "change": model_admin.has_view_or_change_permission(request, obj),
        "history": model_admin.has_view_or_change_permission(request, obj),
        "delete": model_admin.has_delete_permission(request, obj),
    }

    for page, url in model_urls(model, object_id).items():
        response = client.get(url)
        expected = (200,) if allowed[page] else (403,)
        if page == "changelist":
            expected = (*expected, 302)  # a singleton's list goes to its one row
        assert response.status_code in expected, (page, response.status_code)


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_the_models_view_permission_opens_its_list_and_pages_but_not_add(model, records):
    perm = f"{model._meta.app_label}.view_{model._meta.model_name}"
    extra = EXTRA_PERMS.get(model._meta.label, ())
    client = Client()
    urls = model_urls(model, first_id(model))
    if extra:
        client.force_login(staff_with(perm))
        assert client.get(urls["changelist"]).status_code == 403
    client.force_login(staff_with(perm, *extra))

    assert client.get(urls["changelist"]).status_code in (200, 302)
    assert client.get(urls["change"]).status_code == 200
    assert client.get(urls["add"]).status_code == 403
    assert client.get(urls["delete"]).status_code == 403


def test_the_user_password_page_needs_the_change_user_permission(records, superuser):
    url = reverse("admin:auth_user_password_change", args=[superuser.pk])
    client = Client()

    assert is_login_redirect(client.get(url))
    client.force_login(staff_with("auth.view_user"))
    assert client.get(url).status_code == 403
    client.force_login(staff_with("auth.change_user"))
    assert client.get(url).status_code == 200
