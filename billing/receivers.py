"""Billing's receivers of other apps' signals (connected in ``BillingConfig.ready``)."""

from __future__ import annotations

from typing import Any

from customers.models import QuoteLine
from customers.signals import quote_line_validating

from .platform_rules import Stage, platform_line_check


def quote_line_platform_check(sender: Any, *, line: QuoteLine, **kwargs: Any) -> None:
    """A quote line keeps the billing platforms' rules (``billing.platform_rules``, at the
    quote stage, routed as its item is); its CLI is normalised in place."""
    quote = getattr(line, "quote", None)
    item = line.inventory_item
    line.cli = platform_line_check(
        stage=Stage.QUOTE,
        item=item,
        upfront_route=item.upfront_route,
        recurring_route=item.recurring_route,
        site=line.site,
        cli=line.cli,
        customer=quote.customer if quote is not None else None,
    )


def connect_receivers() -> None:
    quote_line_validating.connect(
        quote_line_platform_check, sender=QuoteLine, dispatch_uid="billing_quote_line_rules"
    )
