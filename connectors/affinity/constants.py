"""Affinity's platform facts, shared by the connector, its file imports, reconciliation
and its emulator.

The platform's code, the header that carries the API key, and the sandbox's own key (the
connector's default when pointed at the embedded emulator with no key set). The emulator
(``sandbox.py``) imports them from here; production code never imports the emulator.
"""

PLATFORM = "affinity"
API_KEY_HEADER = "X-API-Key"
# The key the emulator accepts when none is configured (the embedded mode).
SANDBOX_API_KEY = "affinity-sandbox-key"
