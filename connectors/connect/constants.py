"""Connect's platform facts (docs/connect.md), shared by the connector and its emulator.

The platform's code, the sandbox's own token (the connector's default when pointed at
the embedded emulator with no token set) and the limits of a client's fields. The
emulator (``sandbox.py``) imports them from here; production code never imports the
emulator.
"""

PLATFORM = "connect"
# The token the emulator takes when CONNECT_API_TOKEN is unset (the embedded mode).
SANDBOX_TOKEN = "connect-sandbox-token"  # noqa: S105 - the emulator's own, not a secret
NAME_MAX = 100
BILLING_REFERENCE_MAX = 50
