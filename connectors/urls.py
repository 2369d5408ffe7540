"""URLs of the sandbox emulators, mounted under /sandbox/ in the embedded mode only."""

from django.urls import path

from . import sandbox

urlpatterns = [
    path("<str:platform>/_emulator/", sandbox.emulator_state, name="emulator-state"),
    path("<str:platform>/_emulator/reset", sandbox.emulator_reset, name="emulator-reset"),
    path("<str:platform>/_emulator/faults", sandbox.emulator_faults, name="emulator-faults"),
    path("<str:platform>/", sandbox.emulator_api, name="emulator-api-root"),
    path("<str:platform>/<path:path>", sandbox.emulator_api, name="emulator-api"),
]
