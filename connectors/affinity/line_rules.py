"""Affinity's rules on the lines routed to it, registered with billing
(``billing.platform_rules``) while its integration is on (seed 002: "advanced data
validation at quotation, sales order, and asset data capture stages"):

- a CLI-based item has a CLI (quote, sales order, data capture by default): error on
  ``cli`` (``identifier`` at data capture);
- the product has an External SKU, the Affinity product code (every stage): error on
  ``inventory_item``;
- the line has a site, as site products live on sites (every stage): ``site``;
- the customer has the billing details Affinity needs (every stage by default): a form
  error (they are fixed on the customer record).

A CLI must be a telephone number on a line Affinity bills (``needs_numbers``). Where the
rule is ours rather than the platform's published one, a setting lets a reseller differ
(docs/affinity.md):

- ``AFFINITY_CLI_IDENTIFIER_FIELDS`` (default CLI, MSISDN, Number: which base-category
  identifiers are CLIs, for every platform and the Billing Export's CLI file);
- ``AFFINITY_CLI_REQUIRED_STAGES`` (default all three: drop ``quote`` where numbers are
  only known once provisioned);
- ``AFFINITY_BILLING_DETAILS_STAGES`` (default all three) and
  ``AFFINITY_REQUIRED_BILLING_FIELDS`` (default payment terms and payment method).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS

from billing.platform_rules import (
    ALL_STAGES,
    DEFAULT_CLI_FIELDS,
    LineFacts,
    PlatformLineRules,
    item_is_cli_based,
)

DEFAULT_BILLING_FIELDS = ("payment_terms", "payment_method")
BILLING_FIELD_LABELS = {
    "bill_run": "bill run",
    "payment_terms": "payment terms",
    "payment_method": "payment method",
    "registered_company_name": "registered company name",
    "email": "email",
}


def _setting(name: str, default: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(value) for value in getattr(settings, name, default))


def affinity_cli_identifier_fields() -> tuple[str, ...]:
    """``AFFINITY_CLI_IDENTIFIER_FIELDS`` (default CLI, MSISDN, Number)."""
    return _setting("AFFINITY_CLI_IDENTIFIER_FIELDS", DEFAULT_CLI_FIELDS)


def affinity_line_errors(facts: LineFacts) -> dict[str, list[str]]:
    """The rules above a line routed to Affinity breaks (field → messages)."""
    errors: dict[str, list[str]] = {}
    item, stage = facts.item, facts.stage
    if (
        item_is_cli_based(item)
        and not facts.cli
        and stage in _setting("AFFINITY_CLI_REQUIRED_STAGES", ALL_STAGES)
    ):
        errors.setdefault(facts.cli_field, []).append(
            f"{item} is a CLI-based item ({item.base_category.identifier_field}) routed to "
            f"Affinity: enter its CLI on {facts.where} (UK numbers, e.g. 07700900123)."
        )
    if not (item.external_sku or "").strip():
        errors.setdefault("inventory_item", []).append(
            f"{item} is routed to Affinity but has no External SKU: set the product up in "
            "Affinity and copy its Affinity product code into the item's External SKU."
        )
    if facts.site is None:
        errors.setdefault("site", []).append(
            "Lines routed to Affinity need a site: Affinity bills products on a customer site. "
            f"Choose the site on {facts.where}."
        )
    customer = facts.customer
    if customer is not None and stage in _setting("AFFINITY_BILLING_DETAILS_STAGES", ALL_STAGES):
        missing = [
            BILLING_FIELD_LABELS.get(name, name.replace("_", " "))
            for name in _setting("AFFINITY_REQUIRED_BILLING_FIELDS", DEFAULT_BILLING_FIELDS)
            if not str(getattr(customer, name, "") or "").strip()
        ]
        if missing:
            them = "them" if len(missing) > 1 else "it"
            errors.setdefault(NON_FIELD_ERRORS, []).append(
                f"Customer {customer} has no {', '.join(missing)}: Affinity needs "
                f"{them} to bill the line. Set {them} on the customer record."
            )
    return errors


# Registered by the Affinity app (``connectors.affinity.apps``).
LINE_RULES = PlatformLineRules(
    check=affinity_line_errors,
    needs_numbers=True,
    cli_identifier_fields=affinity_cli_identifier_fields,
)
