"""Signals the customers app sends; other apps (the sync engine) subscribe.

They are sent inside the transaction that makes the change, so a receiver
that writes (an outbox row, say) commits or rolls back with it. Receivers
must only record work, never call a remote system.

lead_converted
    A lead became a customer: one of seed 000's initial sync events.
    Sent once per customer. Arguments: ``customer`` (Customer),
    ``source`` (ConversionSource.QUOTE_WIN or .MANUAL), ``quote`` (the won
    Quote, or None), ``user`` (who did it, or None).

customer_created_direct
    A customer was created directly, skipping the lead stage; its lead
    record was made automatically. Arguments: ``customer``, ``user``.

quote_line_validating
    A quote line is being checked (``customers.services.quote_line_validate``), before
    it is saved. Receivers (billing's platform line rules) raise ValidationError for a
    rule the line breaks, and may normalise it in place (its CLI). Argument: ``line``
    (QuoteLine, with its inventory item set). The one signal here whose receivers
    validate instead of recording work: it lets customers check a line against billing's
    rules without depending on billing.
"""

from django.dispatch import Signal

lead_converted = Signal()
customer_created_direct = Signal()
quote_line_validating = Signal()
