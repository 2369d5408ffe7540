"""URLs of the sandbox emulators, mounted under /sandbox/ in the embedded mode only.

Each view finds the platform's emulator in the registry (``registry["emulators"]``,
filled by the platforms' ``AppConfig.ready``): nothing here imports an emulator.
"""

from django.urls import path

from .sandbox_page import emulator_api, emulator_faults, emulator_reset, emulator_state

urlpatterns = [
    path("<str:platform>/_emulator/", emulator_state, name="emulator-state"),
    path("<str:platform>/_emulator/reset", emulator_reset, name="emulator-reset"),
    path("<str:platform>/_emulator/faults", emulator_faults, name="emulator-faults"),
    path("<str:platform>/", emulator_api, name="emulator-api-root"),
    path("<str:platform>/<path:path>", emulator_api, name="emulator-api"),
]
