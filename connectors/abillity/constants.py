"""aBILLity's platform facts, shared by the connector and its emulator.

The platform's code, the email patterns of the public API (``platforms/abillity-api.md``:
one address, or a list separated by semicolons), and the sandbox's own credentials and
service charge types, which the connector uses as defaults when it is pointed at the
embedded emulator (no credentials set). The emulator (``sandbox.py``) imports them from
here; production code never imports the emulator.
"""

from __future__ import annotations

import re

PLATFORM = "abillity"

# Credentials the emulator accepts when none are configured (the embedded mode).
SANDBOX_CREDENTIALS = {
    "systeminformation": "layer-sandbox",
    "username": "layer",
    "password": "sandbox-password",
}

# The emulator's service charge types: id → (RecurringChargeType, FrequencyTypeId, Rental).
SANDBOX_CHARGE_TYPES = {
    1001: ("Line installation", 3, False),
    1100: ("Handset", 3, False),
    2010: ("Line rental", 2, True),
    2030: ("Broadband rental", 2, True),
    2100: ("Handset lease", 2, True),
    2200: ("Annual support", 1, True),
    2300: ("Quarterly maintenance", 4, True),
}

EMAIL_SINGLE = re.compile(
    r"^([a-zA-Z0-9_\-\.]+)@((\[?[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\]?)"
    r"|(([a-zA-Z0-9\-]+\.)+)([a-zA-Z0-9]{2,63}))$"
)
EMAIL_LIST = re.compile(
    r"^(([a-zA-Z0-9_\-\.]+)@((\[?[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\]?)"
    r"|(([a-zA-Z0-9\-]+\.)+)([a-zA-Z0-9]{2,63}))(\s*;\s*|\s*$))*$"
)
