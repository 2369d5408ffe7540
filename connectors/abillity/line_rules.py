"""Abillity's rule on the lines routed to it, registered with billing
(``billing.platform_rules``): Abillity takes any Billing ID (a circuit reference, say),
not only a telephone number, up to 17 characters, whether or not its integration is on.
A UK number is still normalised; where another platform that needs numbers (Affinity)
bills the line too, the number rule holds.
"""

from __future__ import annotations

from billing.cli import CLI_MAX_LENGTH
from billing.platform_rules import PlatformLineRules


def abillity_billing_id_errors(billing_id: str) -> list[str]:
    """Why Abillity would refuse ``billing_id`` (empty: it takes it)."""
    if len(billing_id) > CLI_MAX_LENGTH:
        return [
            f'"{billing_id[:40]}" is {len(billing_id)} characters long; Abillity takes a CLI '
            f"of at most {CLI_MAX_LENGTH}."
        ]
    return []


# Registered by the Abillity app (``connectors.abillity.apps``).
LINE_RULES = PlatformLineRules(billing_ids=abillity_billing_id_errors)
