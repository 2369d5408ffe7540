"""Abillity's rule on the lines routed to it, registered with billing
(``billing.platform_rules``): Abillity takes any Billing ID (a circuit reference, say),
not only a telephone number, up to 17 characters, whether or not its integration is on.
A UK number is still normalised; where another platform that needs numbers (Affinity)
bills the line too, the number rule holds.
"""

from __future__ import annotations

from billing.choices import PlatformCode
from billing.cli import CLI_MAX_LENGTH
from billing.platform_rules import PlatformLineRules, register_platform_line_rules


def abillity_billing_id_errors(billing_id: str) -> list[str]:
    """Why Abillity would refuse ``billing_id`` (empty: it takes it)."""
    if len(billing_id) > CLI_MAX_LENGTH:
        return [
            f'"{billing_id[:40]}" is {len(billing_id)} characters long; Abillity takes a CLI '
            f"of at most {CLI_MAX_LENGTH}."
        ]
    return []


register_platform_line_rules(
    PlatformCode.ABILLITY, PlatformLineRules(billing_ids=abillity_billing_id_errors)
)
