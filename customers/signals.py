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
"""

from django.dispatch import Signal

lead_converted = Signal()
customer_created_direct = Signal()
