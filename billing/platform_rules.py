"""The billing platforms' rules on a line, checked before anything is sent (seed 002:
"advanced data validation at quotation, sales order, and asset data capture stages").

One function (``platform_line_check``) is called at the three stages. Billing holds the
rule every line keeps, whatever its platform: a CLI given for a CLI-based item is a valid
number, normalised to UK national format, at most 17 digits (every stage, whether or not
an integration is on), the error on ``cli`` (``identifier`` at data capture).

Each platform's own rules are **registered by its connector**
(``register_platform_line_rules``, from the platform app's ``ready``; billing names no
platform), as a ``PlatformLineRules``:

- ``check``: the platform's rules on a line routed (up-front or recurring) to it while its
  integration is on (a CLI required, a product code, a site, the customer's billing
  details...), field → messages;
- ``billing_ids``: the platform takes any Billing ID, not only a telephone number (a
  circuit reference, say), whether or not its integration is on: a CLI that is not a
  number is then checked by this instead (its messages, empty when it is fine), unless
  a platform that ``needs_numbers`` routes the line too with its integration on;
- ``cli_identifier_fields``: which base-category identifiers are CLIs (a reseller
  setting, when the platform's connector offers one; default CLI, MSISDN, Number).

Each platform's rules, and the settings that tune them, are with its connector
(``connectors/<platform>/line_rules.py``) and in its page under docs/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError

from layer_sync.registry import registry

from .choices import IdentifierField
from .cli import cli_normalise


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


@dataclass(frozen=True)
class LineFacts:
    """What a platform's ``check`` reads of a line at one stage. ``cli`` is as normalised
    by billing's own rule (as given when it could not be); ``cli_field`` is where errors
    on it go."""

    stage: Stage
    item: Any
    site: Any
    cli: str
    customer: Any
    cli_field: str

    @property
    def where(self) -> str:
        return STAGE_LABELS[self.stage]


@dataclass(frozen=True)
class PlatformLineRules:
    """A platform's rules on the lines routed to it, registered by its connector (see the
    module's docstring for when each applies)."""

    check: Callable[[LineFacts], dict[str, list[str]]] | None = None
    needs_numbers: bool = False
    billing_ids: Callable[[str], list[str]] | None = None
    cli_identifier_fields: Callable[[], tuple[str, ...]] | None = None


def register_platform_line_rules(code: str, rules: PlatformLineRules) -> None:
    """Register the line rules of the platform whose routes have ``code``
    (``registry["platform_line_rules"]``, from the platform's ``AppConfig.ready``;
    registering again replaces)."""
    registry["platform_line_rules"][code] = rules


def _platform_rules() -> dict[str, PlatformLineRules]:
    return registry["platform_line_rules"]


def cli_identifier_fields() -> tuple[str, ...]:
    """The base-category identifiers that are CLIs: as a registered platform's connector
    says (a reseller setting), else CLI, MSISDN and Number (a Serial is not a CLI)."""
    for rules in _platform_rules().values():
        if rules.cli_identifier_fields is not None:
            return tuple(str(value) for value in rules.cli_identifier_fields())
    return tuple(str(value) for value in DEFAULT_CLI_FIELDS)


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
    on = [
        (code, rules)
        for code, rules in _platform_rules().items()
        if code in routed_platforms(upfront_route, recurring_route)
    ]
    route_codes = {route.code for route in (upfront_route, recurring_route) if route is not None}
    billing_ids = [
        rules.billing_ids
        for code, rules in _platform_rules().items()
        if code in route_codes and rules.billing_ids is not None
    ]
    if any(rules.needs_numbers for _, rules in on):
        billing_ids = []
    cli = (cli or "").strip()
    if item_is_cli_based(item) and cli:
        # A CLI is normalised at capture whether or not an integration is on (UK national
        # format): every file and platform then gets the one form.
        try:
            cli = cli_normalise(cli)
        except ValidationError as error:
            messages = (
                [message for check in billing_ids for message in check(cli)]
                if billing_ids
                else error.messages
            )
            if messages:
                errors.setdefault(cli_field, []).extend(messages)
    facts = LineFacts(
        stage=stage, item=item, site=site, cli=cli, customer=customer, cli_field=cli_field
    )
    for _, rules in on:
        if rules.check is not None:
            for field, messages in rules.check(facts).items():
                errors.setdefault(field, []).extend(messages)
    return errors, cli


def platform_line_check(**kwargs: Any) -> str:
    """``platform_line_errors`` raising ValidationError (field → messages) when a rule is
    broken; else the CLI normalised."""
    errors, cli = platform_line_errors(**kwargs)
    if errors:
        raise ValidationError(errors)
    return cli
