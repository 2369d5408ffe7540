"""The one registry (issue 20, item 4: "One registry (as NetBox's) holding connectors,
emulators, direct routes, admin panels and secret settings, filled from AppConfig.ready"),
and item 3: "no production module imports an emulator".

Start-up is proven in fresh interpreters: what a process registers depends only on its
settings and its apps' ``ready``, never on which modules a test happened to import.
"""

import json

import pytest

from layer_sync.registry import registry
from tests.test_settings import good_production_env, run

STORES = {
    "connectors",
    "emulators",
    "secret_settings",
    "direct_routes",
    "item_validators",
    "platform_line_rules",
    "change_form_panels",
    "changelist_columns",
}

# What a process holds once django.setup() has run every app's ready.
AFTER_SETUP = """
import json, django
django.setup()
from layer_sync.registry import registry
print(json.dumps({
    "connectors": sorted(registry["connectors"]),
    "emulators": sorted(registry["emulators"]),
    "direct_routes": sorted(registry["direct_routes"]),
    "platform_line_rules": sorted(registry["platform_line_rules"]),
    "secret_settings": sorted(registry["secret_settings"]),
    "panels": sorted("|".join(key) for key in registry["change_form_panels"]),
    "columns": sorted(registry["changelist_columns"]),
}))
"""


def after_setup(env: dict[str, str]) -> dict:
    result = run(["-c", AFTER_SETUP], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_registry_has_a_fixed_set_of_stores():
    assert set(registry) == STORES
    with pytest.raises(TypeError):
        registry["widgets"] = {}
    with pytest.raises(TypeError):
        del registry["connectors"]
    with pytest.raises(KeyError, match="No such registry store: 'conectors'"):
        registry["conectors"]


def test_apps_ready_registers_each_platforms_connector_emulator_route_and_panels():
    held = after_setup({"DJANGO_SETTINGS_MODULE": "layer_sync.settings_test"})

    assert {"abillity", "affinity", "connect", "fake"} <= set(held["connectors"])
    assert {"abillity", "affinity", "connect", "fake"} <= set(held["emulators"])
    assert held["direct_routes"] == ["abillity"]
    assert held["platform_line_rules"] == ["abillity", "affinity"]
    assert {
        "ABILLITY_PASSWORD",
        "ABILLITY_SYSTEM_INFORMATION",
        "AFFINITY_API_KEY",
        "CONNECT_API_TOKEN",
        "FAKE_API_KEY",
    } <= set(held["secret_settings"])
    assert {"customers.Customer|top", "billing.Asset|top", "customers.Site|bottom"} <= set(
        held["panels"]
    )
    assert held["columns"] == ["customers.Customer"]


def test_production_settings_register_the_connectors_but_no_emulator():
    held = after_setup(good_production_env())

    assert held["connectors"] == ["abillity", "affinity", "connect"]
    assert held["emulators"] == []


def test_importing_emulators_and_platform_facts_registers_nothing():
    """Without the apps' ready, importing an emulator, a connector's constants or its
    client leaves every store empty: registration is never an import's side effect."""
    code = (
        "import connectors.abillity.sandbox, connectors.affinity.sandbox\n"
        "import connectors.connect.sandbox, connectors.affinity.client\n"
        "import connectors.abillity.constants, connectors.connect.constants\n"
        "from layer_sync.registry import registry\n"
        "print(sum(len(store) for store in registry.values()))\n"
    )
    result = run(["-c", code], {"DJANGO_SETTINGS_MODULE": "layer_sync.settings_test"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"
