"""The billing platforms' rules on a line, checked before anything is sent (seed 002:
"advanced data validation at quotation, sales order, and asset data capture stages").

The rules, in one function (``platform_line_check``) called at the three stages:

- a CLI-based item has a CLI (Affinity; quote, sales order, data capture by default):
  error on ``cli`` (``identifier`` at data capture);
- a CLI given for a CLI-based item is a valid number, normalised to UK national
  format, at most 17 digits (every stage, whether or not an integration is on): the
  same field. Lines routed to Abillity alone: a UK number is normalised too, and any
  other Billing ID (a circuit reference) may have at most 17 characters (Abillity's
  limit);
- the product has an External SKU, the Affinity product code (Affinity; every stage):
  error on ``inventory_item``;
- the line has a site, as site products live on sites (Affinity; every stage): ``site``;
- the customer has the billing details Affinity needs (Affinity; every stage by default):
  a form error (they are fixed on the customer record).

The other rules apply only to a line routed (up-front or recurring) to a platform
whose integration is on. An item is CLI-based when its base category names its identifier
CLI, MSISDN or Number (``AFFINITY_CLI_IDENTIFIER_FIELDS``; Serial is not a CLI).
Where the rule is ours rather than the platform's published one, a setting lets a
reseller differ (docs/affinity.md):

- ``AFFINITY_CLI_IDENTIFIER_FIELDS`` (default CLI, MSISDN, Number);
- ``AFFINITY_CLI_REQUIRED_STAGES`` (default all three: drop ``quote`` where numbers are
  only known once provisioned);
- ``AFFINITY_BILLING_DETAILS_STAGES`` (default all three) and
  ``AFFINITY_REQUIRED_BILLING_FIELDS`` (default payment terms and payment method).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from .choices import IdentifierField, PlatformCode
from .cli import CLI_MAX_LENGTH, cli_normalise


class Stage(StrEnum):
    QUOTE = "quote"
    SALES_ORDER = "sales_order"
    DATA_CAPTURE = "data_capture"


STAGE_LABELS = {
    Stage.QUOTE: "the quote",
    Stage.SALES_ORDER: "the sales order",
    Stage.DATA_CAPTURE: "data capture",
}
ALL_STAGES = tuple(Stage)
DEFAULT_CLI_FIELDS = (IdentifierField.CLI, IdentifierField.MSISDN, IdentifierField.NUMBER)
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


def cli_identifier_fields() -> tuple[str, ...]:
    """The base-category identifiers that are CLIs (``AFFINITY_CLI_IDENTIFIER_FIELDS``;
    default CLI, MSISDN, Number: a Serial is not a CLI)."""
    return _setting("AFFINITY_CLI_IDENTIFIER_FIELDS", DEFAULT_CLI_FIELDS)


def item_is_cli_based(item: Any) -> bool:
    """Whether an inventory item's assets are identified by a CLI (its base category's
    identifier is one of ``cli_identifier_fields()``)."""
    category = getattr(item, "base_category", None)
    if category is None:
        return False
    return category.identifier_field in cli_identifier_fields()


def routed_platforms(*routes: Any) -> set[str]:
    """The codes of the routes' platforms whose integration is on."""
    return {route.code for route in routes if route is not None and route.integration_enabled}


def platform_line_errors(
    *,
    stage: Stage,
    item: Any,
    upfront_route: Any,
    recurring_route: Any,
    site: Any,
    cli: str,
    customer: Any,
    cli_field: str = "cli",
) -> tuple[dict[str, list[str]], str]:
    """The platform rules a line breaks (field → messages) and its CLI normalised.

    ``cli`` is returned as given when no rule touches it.
    """
    errors: dict[str, list[str]] = {}
    if item is None:
        return errors, cli
    platforms = routed_platforms(upfront_route, recurring_route)
    affinity = PlatformCode.AFFINITY in platforms
    # Abillity, alone, takes any Billing ID (a circuit reference, say) up to 17 characters,
    # whether or not its integration is on yet.
    route_codes = {route.code for route in (upfront_route, recurring_route) if route is not None}
    abillity_only = PlatformCode.ABILLITY in route_codes and not affinity
    where = STAGE_LABELS[stage]
    cli = (cli or "").strip()
    if item_is_cli_based(item):
        # A CLI is normalised at capture whether or not an integration is on (UK national
        # format): every file and platform then gets the one form.
        if cli:
            try:
                cli = cli_normalise(cli)
            except ValidationError as error:
                if not abillity_only:
                    errors.setdefault(cli_field, []).extend(error.messages)
                elif len(cli) > CLI_MAX_LENGTH:
                    # Abillity takes any Billing ID (a circuit reference, say) up to 17.
                    errors.setdefault(cli_field, []).append(
                        f'"{cli[:40]}" is {len(cli)} characters long; Abillity takes a CLI '
                        f"of at most {CLI_MAX_LENGTH}."
                    )
        elif affinity and stage in _setting("AFFINITY_CLI_REQUIRED_STAGES", ALL_STAGES):
            errors.setdefault(cli_field, []).append(
                f"{item} is a CLI-based item ({item.base_category.identifier_field}) routed to "
                f"Affinity: enter its CLI on {where} (UK numbers, e.g. 07700900123)."
            )
    if not affinity:
        return errors, cli
    if not (item.external_sku or "").strip():
        errors.setdefault("inventory_item", []).append(
            f"{item} is routed to Affinity but has no External SKU: set the product up in "
            "Affinity and copy its Affinity product code into the item's External SKU."
        )
    if site is None:
        errors.setdefault("site", []).append(
            "Lines routed to Affinity need a site: Affinity bills products on a customer site. "
            f"Choose the site on {where}."
        )
    if customer is not None and stage in _setting("AFFINITY_BILLING_DETAILS_STAGES", ALL_STAGES):
        missing = [
            BILLING_FIELD_LABELS.get(name, name.replace("_", " "))
            for name in _setting("AFFINITY_REQUIRED_BILLING_FIELDS", DEFAULT_BILLING_FIELDS)
            if not str(getattr(customer, name, "") or "").strip()
        ]
        if missing:
            errors.setdefault(NON_FIELD_ERRORS, []).append(
                f"Customer {customer} has no {', '.join(missing)}: Affinity needs "
                f"{'them' if len(missing) > 1 else 'it'} to bill the line. Set "
                f"{'them' if len(missing) > 1 else 'it'} on the customer record."
            )
    return errors, cli


def platform_line_check(**kwargs: Any) -> str:
    """``platform_line_errors`` raising ValidationError (field → messages) when a rule is
    broken; else the CLI normalised."""
    errors, cli = platform_line_errors(**kwargs)
    if errors:
        raise ValidationError(errors)
    return cli
