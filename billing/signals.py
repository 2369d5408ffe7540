"""Signals the billing app sends; other apps (the sync engine) subscribe.

Sent inside the transaction that makes the change (see customers.signals).

sales_order_created
    A sales order was created: one of seed 000's initial sync events.
    Sent once per order. Arguments: ``order`` (SalesOrder), ``customer``
    (Customer), ``user`` (or None).

assets_bulk_updated
    ``billing.services.assets_bulk_update`` changed assets with one UPDATE (which
    sends no ``post_save``). Arguments: ``asset_ids`` (list of ints), ``user``.

lines_transferred
    A Transfer to Billing moved line components to In Billing
    (``billing.export.billing_transfer``), inside its transaction. Arguments:
    ``transfer`` (BillingTransfer), ``route`` (BillingPlatform), ``line_ids``.

demo_data_loaded
    ``seed_demo`` has loaded the demo data (inside its transaction). Receivers
    prepare their own demo setup (the sync engine turns the platforms' sandbox
    integrations on) and may return a line of text that the command prints.
"""

from django.dispatch import Signal

sales_order_created = Signal()
demo_data_loaded = Signal()
assets_bulk_updated = Signal()
lines_transferred = Signal()
